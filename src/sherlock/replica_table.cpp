#include "sherlock/replica_table.hpp"

#include <algorithm>
#include <utility>

#include "wire/digest.hpp"

namespace baker::sherlock {

ReplicaTable::ReplicaTable(std::vector<std::string> view_filter)
    : filter_(view_filter.begin(), view_filter.end()) {}

bool ReplicaTable::shown(std::string_view service) const {
  return filter_.empty() || filter_.find(service) != filter_.end();
}

void ReplicaTable::mark_changed(const std::string& service) {
  if (track_view_ && shown(service)) changed_.insert(service);
}

bool ReplicaTable::upsert(wire::Route r, wire::Version v) {
  auto sit = services_.find(r.service);
  if (sit == services_.end()) sit = services_.emplace(r.service, Instances{}).first;
  auto& instances = sit->second;
  auto it = instances.find(r.instance);
  if (it != instances.end()) {
    Entry& e = it->second;
    if (e.route == r) {
      if (e.version == v) return false;
      e.version = v;  // the same route, vouched for by a later datagram: no view changes
      if (listener_) listener_->upserted(*this, e);
      return true;
    }
    digest_ -= e.digest;
    e.digest = track_digest_ ? wire::route_digest(r) : 0;
    digest_ += e.digest;
    e.route = std::move(r);
    e.version = v;
  } else {
    const auto d = track_digest_ ? wire::route_digest(r) : 0;
    std::string instance = r.instance;
    it = instances.emplace(std::move(instance), Entry{std::move(r), v, d}).first;
    digest_ += d;
    ++size_;
  }
  mark_changed(sit->first);
  if (listener_) listener_->upserted(*this, it->second);
  return true;
}

void ReplicaTable::erase(Services::iterator sit, Instances::iterator it, Gone why,
                         wire::Version version) {
  digest_ -= it->second.digest;
  --size_;
  mark_changed(sit->first);
  if (!listener_) {
    sit->second.erase(it);
    if (sit->second.empty()) services_.erase(sit);
    return;
  }
  // The listener looks the instance up in this table: it must be gone first, its names kept.
  const std::string instance = it->first;
  sit->second.erase(it);
  const std::string service = sit->first;
  if (sit->second.empty()) services_.erase(sit);
  listener_->removed(*this, service, instance, why, version);
}

bool ReplicaTable::remove(std::string_view service, std::string_view instance, Gone why,
                          wire::Version version) {
  const auto sit = services_.find(service);
  if (sit == services_.end()) return false;
  const auto it = sit->second.find(instance);
  if (it == sit->second.end()) return false;
  erase(sit, it, why, why == Gone::goodbye ? version : it->second.version);
  return true;
}

void ReplicaTable::apply(const wire::DeltaOp& op) {
  if (op.kind == wire::OpKind::remove) {
    remove(op.route.service, op.route.instance,
           op.removal == wire::Removal::goodbye ? Gone::goodbye : Gone::dropped, op.version);
  } else {
    upsert(op.route, op.version);
  }
}

void ReplicaTable::Staged::add(std::vector<wire::Route> routes,
                               const std::vector<wire::Version>& versions) {
  auto service = services_.end();  // routes of one service tend to come together
  for (std::size_t i = 0; i < routes.size(); ++i) {
    auto& r = routes[i];
    const wire::Version v = i < versions.size() ? versions[i] : wire::Version{};
    if (service == services_.end() || service->first != r.service) {
      service = services_.try_emplace(r.service).first;
    }
    const auto d = wire::route_digest(r);
    auto& instances = service->second;
    if (auto it = instances.find(r.instance); it != instances.end()) {
      // The same instance twice in one snapshot: the later one wins.
      digest_ -= it->second.digest;
      it->second = Entry{std::move(r), v, d};
    } else {
      std::string instance = r.instance;
      instances.emplace_hint(it, std::move(instance), Entry{std::move(r), v, d});
      ++size_;
    }
    digest_ += d;
  }
}

void ReplicaTable::replace(std::vector<wire::Route> routes) {
  Staged staged;
  staged.add(std::move(routes));
  replace(std::move(staged));
}

void ReplicaTable::replace(Staged staged) {
  // Report only services that really differ, so a resync that finds little changed does not make
  // the sink reconfigure everything.
  const auto same = [](const Instances& a, const Instances& b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](const auto& x, const auto& y) {
             return x.first == y.first && x.second.digest == y.second.digest &&
                    x.second.route == y.second.route;
           });
  };
  for (const auto& [name, instances] : services_) {
    const auto it = staged.services_.find(name);
    if (it == staged.services_.end() || !same(instances, it->second)) mark_changed(name);
  }
  for (const auto& [name, instances] : staged.services_) {
    if (services_.find(name) == services_.end()) mark_changed(name);
  }
  Services old = std::exchange(services_, std::move(staged.services_));
  digest_ = staged.digest_;
  size_ = staged.size_;
  if (!listener_) return;
  if (old.empty() && !services_.empty() && listener_->filled(*this)) return;
  tell_replaced(old);
}

void ReplicaTable::tell_replaced(const Services& old) {
  // Per instance, what the swap changed: a merge join of the old and new tables (both ordered).
  const auto removed_all = [&](const std::string& service, const Instances& gone) {
    for (const auto& [instance, e] : gone) {
      listener_->removed(*this, service, instance, Gone::dropped, e.version);
    }
  };
  const auto upserted_all = [&](const Instances& added) {
    for (const auto& [instance, e] : added) listener_->upserted(*this, e);
  };
  auto o = old.begin();
  auto n = services_.begin();
  while (o != old.end() || n != services_.end()) {
    if (n == services_.end() || (o != old.end() && o->first < n->first)) {
      removed_all(o->first, o->second);
      ++o;
    } else if (o == old.end() || n->first < o->first) {
      upserted_all(n->second);
      ++n;
    } else {
      auto oi = o->second.begin();
      auto ni = n->second.begin();
      while (oi != o->second.end() || ni != n->second.end()) {
        if (ni == n->second.end() || (oi != o->second.end() && oi->first < ni->first)) {
          listener_->removed(*this, o->first, oi->first, Gone::dropped, oi->second.version);
          ++oi;
        } else if (oi == o->second.end() || ni->first < oi->first) {
          listener_->upserted(*this, ni->second);
          ++ni;
        } else {
          if (oi->second.version != ni->second.version || oi->second.route != ni->second.route) {
            listener_->upserted(*this, ni->second);
          }
          ++oi;
          ++ni;
        }
      }
      ++o;
      ++n;
    }
  }
}

void ReplicaTable::merge(std::vector<wire::Route> routes) {
  for (auto& r : routes) upsert(std::move(r));
}

void ReplicaTable::merge(Staged staged) {
  if (services_.empty()) return replace(std::move(staged));  // the same, in one move
  for (auto& [name, instances] : staged.services_) {
    for (auto& [instance, entry] : instances) upsert(std::move(entry.route), entry.version);
  }
}

void ReplicaTable::assign_routes_of(const ReplicaTable& other) {
  for (const auto& [name, instances] : services_) mark_changed(name);
  services_ = other.services_;
  size_ = other.size_;
  digest_ = 0;
  for (auto& [name, instances] : services_) {
    mark_changed(name);
    for (auto& [instance, e] : instances) {
      if (track_digest_) {
        digest_ += e.digest;
      } else {
        e.digest = 0;
      }
    }
  }
}

void ReplicaTable::clear() {
  Staged empty;
  replace(std::move(empty));
}

const ReplicaTable::Entry* ReplicaTable::find_entry(std::string_view service,
                                                    std::string_view instance) const {
  const auto sit = services_.find(service);
  if (sit == services_.end()) return nullptr;
  const auto it = sit->second.find(instance);
  return it == sit->second.end() ? nullptr : &it->second;
}

const wire::Route* ReplicaTable::find(std::string_view service, std::string_view instance) const {
  const auto sit = services_.find(service);
  if (sit == services_.end()) return nullptr;
  const auto it = sit->second.find(instance);
  return it == sit->second.end() ? nullptr : &it->second.route;
}

std::vector<wire::Route> ReplicaTable::all_routes() const {
  std::vector<wire::Route> out;
  out.reserve(size_);
  for (const auto& [service, instances] : services_) {
    for (const auto& [instance, entry] : instances) out.push_back(entry.route);
  }
  return out;
}

std::vector<std::string> ReplicaTable::take_changes() {
  std::vector<std::string> out(changed_.begin(), changed_.end());
  changed_.clear();
  for (const auto& service : out) {
    const auto sit = services_.find(service);
    if (sit == services_.end()) {
      view_.erase(service);
      continue;
    }
    auto& list = view_[service];
    list.clear();
    list.reserve(sit->second.size());
    for (const auto& [instance, entry] : sit->second) list.push_back(entry.route);
  }
  return out;
}

}  // namespace baker::sherlock
