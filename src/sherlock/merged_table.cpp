#include "sherlock/merged_table.hpp"

#include <algorithm>
#include <stdexcept>

namespace baker::sherlock {

MergedTable::MergedTable(std::vector<std::string> view_filter) : merged_(std::move(view_filter)) {
  merged_.set_digest_tracking(false);
}

std::size_t MergedTable::add_stream(ReplicaTable& table) {
  if (streams_.size() >= 32) throw std::length_error("MergedTable: at most 32 streams");
  streams_.push_back(Stream{&table, false});
  table.set_listener(this);
  table.set_view_tracking(false);  // the merged table's view is the one shown
  return streams_.size() - 1;
}

std::size_t MergedTable::index_of(const ReplicaTable& table) const {
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    if (streams_[i].table == &table) return i;
  }
  throw std::logic_error("MergedTable: a change from a table it does not follow");
}

MergedTable::Memory* MergedTable::memory(std::string_view service, std::string_view instance) {
  const auto sit = memory_.find(service);
  if (sit == memory_.end()) return nullptr;
  const auto it = sit->second.find(instance);
  return it == sit->second.end() ? nullptr : &it->second;
}

MergedTable::Memory& MergedTable::remember(std::string_view service, std::string_view instance) {
  auto sit = memory_.find(service);
  if (sit == memory_.end()) sit = memory_.emplace(std::string(service), Instances{}).first;
  auto it = sit->second.find(instance);
  if (it == sit->second.end()) it = sit->second.emplace(std::string(instance), Memory{}).first;
  return it->second;
}

void MergedTable::set_disputed(Memory& m, std::uint32_t bits) {
  if ((m.dropped_by != 0) != (bits != 0)) {
    if (bits != 0) {
      ++disputed_count_;
    } else {
      --disputed_count_;
    }
  }
  m.dropped_by = bits;
}

void MergedTable::forget_if_unheld(std::string_view service, std::string_view instance) {
  if (held_anywhere(service, instance)) return;
  const auto sit = memory_.find(service);
  if (sit == memory_.end()) return;
  const auto it = sit->second.find(instance);
  if (it == sit->second.end()) return;
  if (it->second.shadow) --shadow_count_;
  if (it->second.dropped_by) --disputed_count_;
  sit->second.erase(it);
  if (sit->second.empty()) memory_.erase(sit);
}

bool MergedTable::held_anywhere(std::string_view service, std::string_view instance) const {
  return highest_held(service, instance).has_value();
}

void MergedTable::raise_shadow(Memory& m, wire::Version to) {
  if (!m.shadow) ++shadow_count_;
  if (!m.shadow || to > *m.shadow) m.shadow = to;
}

std::optional<MergedTable::Best> MergedTable::best(std::string_view service,
                                                   std::string_view instance,
                                                   const std::optional<wire::Version>& shadow,
                                                   bool live_only) const {
  std::optional<Best> out;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    if (live_only && !streams_[i].live) continue;
    const auto* e = streams_[i].table->find_entry(service, instance);
    if (!e || (shadow && e->version <= *shadow)) continue;
    if (!out || e->version > out->entry->version) out = Best{e, i};  // ties: the lower index
  }
  return out;
}

std::optional<wire::Version> MergedTable::highest_held(std::string_view service,
                                                       std::string_view instance) const {
  std::optional<wire::Version> out;
  for (const auto& s : streams_) {
    const auto* e = s.table->find_entry(service, instance);
    if (e && (!out || e->version > *out)) out = e->version;
  }
  return out;
}

void MergedTable::show(const Best& b) {
  merged_.upsert(b.entry->route, b.entry->version);
}

void MergedTable::drop(std::string_view service, std::string_view instance, wire::Version removed) {
  Memory& m = remember(service, instance);
  raise_shadow(m, std::max(removed, highest_held(service, instance).value_or(removed)));
  set_disputed(m, 0);
  merged_.remove(service, instance);
  forget_if_unheld(service, instance);
}

void MergedTable::upserted(const ReplicaTable& table, const ReplicaTable::Entry& entry) {
  const std::size_t stream = index_of(table);
  const auto& service = entry.route.service;
  const auto& instance = entry.route.instance;
  Memory* m = memory(service, instance);
  if (m) set_disputed(*m, m->dropped_by & ~(std::uint32_t{1} << stream));
  const std::optional<wire::Version> shadow = m ? m->shadow : std::nullopt;
  if (shadow && entry.version <= *shadow) ++stats_.shadowed;
  if (const auto b = best(service, instance, shadow, false)) {
    show(*b);
  } else {
    merged_.remove(service, instance);
  }
}

void MergedTable::removed(const ReplicaTable& table, std::string_view service,
                          std::string_view instance, ReplicaTable::Gone why,
                          wire::Version version) {
  const std::size_t stream = index_of(table);
  if (why == ReplicaTable::Gone::goodbye) {
    Memory& m = remember(service, instance);
    raise_shadow(m, version);
    if (const auto b = best(service, instance, m.shadow, false)) {
      show(*b);  // a newer incarnation, heard by some directory
    } else {
      if (merged_.find(service, instance)) ++stats_.goodbyes;
      set_disputed(m, 0);
      merged_.remove(service, instance);
    }
    forget_if_unheld(service, instance);
    return;
  }
  Memory* m = memory(service, instance);
  const std::optional<wire::Version> shadow = m ? m->shadow : std::nullopt;
  if (best(service, instance, shadow, true)) {
    // Another live directory still hears it: the freshest record stays shown, and the route goes
    // only if the directories keeping it go too.
    ++stats_.kept_by_other;
    Memory& kept = m ? *m : remember(service, instance);
    set_disputed(kept, kept.dropped_by | (std::uint32_t{1} << stream));
    if (const auto b = best(service, instance, shadow, false)) show(*b);
    return;
  }
  if (merged_.find(service, instance)) ++stats_.dropped;
  drop(service, instance, version);
}

bool MergedTable::filled(const ReplicaTable& table) {
  if (merged_.size() != 0 || !memory_.empty()) return false;
  for (const auto& s : streams_) {
    if (s.table != &table && s.table->size() != 0) return false;
  }
  index_of(table);  // one of ours
  merged_.assign_routes_of(table);
  return true;
}

void MergedTable::set_live(std::size_t stream, bool live) {
  Stream& s = streams_.at(stream);
  const bool was = s.live;
  s.live = live;
  if (!was || live || disputed_count_ == 0) return;
  // The routes this stream was keeping against another directory's drop: released if no live
  // directory holds them any more.
  std::vector<std::pair<std::string, std::string>> released;
  for (const auto& [service, instances] : memory_) {
    for (const auto& [instance, m] : instances) {
      if (m.dropped_by != 0 && !best(service, instance, m.shadow, true)) {
        released.emplace_back(service, instance);
      }
    }
  }
  for (const auto& [service, instance] : released) {
    if (merged_.find(service, instance)) ++stats_.released_on_down;
    const auto held = highest_held(service, instance);
    drop(service, instance, held.value_or(wire::Version{}));
  }
}

}  // namespace baker::sherlock
