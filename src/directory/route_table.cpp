#include "directory/route_table.hpp"

#include "wire/codec.hpp"
#include "wire/digest.hpp"

namespace baker::directory {

RouteTable::RouteTable() : slots_(1024), mask_(1023) {}

std::uint32_t RouteTable::hash_key(std::string_view service, std::string_view instance) {
  std::uint64_t h = std::hash<std::string_view>{}(service)*0x9E3779B97F4A7C15ull;
  h ^= std::hash<std::string_view>{}(instance) + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return static_cast<std::uint32_t>(h);
}

bool RouteTable::key_equals(RouteIndex i, std::string_view service,
                            std::string_view instance) const {
  const RouteRecord& r = at(i);
  return r.instance == instance && services_.name(r.service) == service;
}

RouteIndex RouteTable::find(std::string_view service, std::string_view instance) const {
  const std::uint32_t h = hash_key(service, instance);
  for (std::size_t pos = h & mask_;; pos = (pos + 1) & mask_) {
    const Slot& s = slots_[pos];
    if (s.index == kNoRoute) return kNoRoute;
    if (s.hash == h && key_equals(s.index, service, instance)) return s.index;
  }
}

void RouteTable::index_insert(RouteIndex i, std::uint32_t h) {
  std::size_t pos = h & mask_;
  while (slots_[pos].index != kNoRoute) pos = (pos + 1) & mask_;
  slots_[pos] = Slot{i, h};
}

void RouteTable::grow_index() {
  std::vector<Slot> old(slots_.size() * 2);
  old.swap(slots_);
  mask_ = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.index != kNoRoute) index_insert(s.index, s.hash);
  }
}

void RouteTable::index_erase(RouteIndex i) {
  const RouteRecord& r = at(i);
  const std::uint32_t h = hash_key(services_.name(r.service), r.instance);
  std::size_t hole = h & mask_;
  while (slots_[hole].index != i) hole = (hole + 1) & mask_;
  // Backward-shift deletion: later entries of the probe run move up so lookups need no
  // tombstones.
  std::size_t j = hole;
  while (true) {
    j = (j + 1) & mask_;
    if (slots_[j].index == kNoRoute) break;
    const std::size_t ideal = slots_[j].hash & mask_;
    const bool ideal_in_range =
        hole <= j ? (hole < ideal && ideal <= j) : (hole < ideal || ideal <= j);
    if (ideal_in_range) continue;
    slots_[hole] = slots_[j];
    hole = j;
  }
  slots_[hole] = Slot{};
}

RouteIndex RouteTable::insert(std::string_view service, std::string_view instance) {
  if ((used_ + 1) * 4 > slots_.size() * 3) grow_index();
  RouteIndex i;
  if (!free_.empty()) {
    i = free_.back();
    free_.pop_back();
  } else {
    i = next_fresh_++;
    if ((i >> kBlockShift) >= blocks_.size()) {
      blocks_.push_back(std::make_unique<RouteRecord[]>(kBlockSize));
    }
  }
  RouteRecord& r = at(i);
  r.instance.assign(instance);
  r.service = services_.acquire(service);
  if (r.service >= per_service_.size()) per_service_.resize(services_.id_limit());
  r.tags = TagSets::kEmpty;
  r.used = true;
  r.live = false;
  r.queued = kNotQueued;
  r.sender_incarnation = 0;
  r.sender_seq = 0;
  r.clock_warned = false;
  r.changed_seq = 0;
  r.digest = 0;
  ++used_;
  index_insert(i, hash_key(service, instance));
  return i;
}

void RouteTable::account(ServiceId s, std::int64_t count, std::uint64_t add, std::uint64_t sub) {
  digest_ += add - sub;
  per_service_[s].digest += add - sub;
  per_service_[s].count = static_cast<std::uint32_t>(per_service_[s].count + count);
  live_ = static_cast<std::size_t>(static_cast<std::int64_t>(live_) + count);
}

void RouteTable::erase(RouteIndex i) {
  RouteRecord& r = at(i);
  if (r.live) clear_route(i);
  index_erase(i);
  services_.release(r.service);
  tags_.release(r.tags);
  const std::uint32_t generation = r.generation + 1;
  r = RouteRecord{};
  r.generation = generation;
  free_.push_back(i);
  --used_;
}

bool RouteTable::same_route(RouteIndex i, const wire::Route& w) const {
  const RouteRecord& r = at(i);
  return r.address == w.address && r.port == w.port && r.weight == w.weight && r.state == w.state &&
         tags_.equals(r.tags, w.tags);
}

void RouteTable::set_route(RouteIndex i, const wire::Route& w) {
  RouteRecord& r = at(i);
  if (!tags_.equals(r.tags, w.tags)) {
    const TagSetId t = tags_.acquire(w.tags);
    tags_.release(r.tags);
    r.tags = t;
  }
  r.address = w.address;
  r.port = w.port;
  r.weight = w.weight;
  r.state = w.state;
  const wire::Route full = to_route(i);  // with the record's own key
  const std::uint64_t d = wire::route_digest(full);
  r.encoded_size = static_cast<std::uint16_t>(wire::encoded_size(full));
  account(r.service, r.live ? 0 : 1, d, r.live ? r.digest : 0);
  r.digest = d;
  r.live = true;
}

void RouteTable::clear_route(RouteIndex i) {
  RouteRecord& r = at(i);
  if (!r.live) return;
  account(r.service, -1, 0, r.digest);
  r.digest = 0;
  r.live = false;
}

wire::Route RouteTable::to_route(RouteIndex i) const {
  const RouteRecord& r = at(i);
  wire::Route w;
  w.service = services_.name(r.service);
  w.instance = r.instance;
  w.address = r.address;
  w.port = r.port;
  w.weight = r.weight;
  w.state = r.state;
  w.tags = tags_.tags(r.tags);
  return w;
}

std::size_t RouteTable::structure_bytes() const {
  return blocks_.size() * kBlockSize * sizeof(RouteRecord) + slots_.capacity() * sizeof(Slot) +
         free_.capacity() * sizeof(RouteIndex) + per_service_.capacity() * sizeof(ServiceAggregate);
}

}  // namespace baker::directory
