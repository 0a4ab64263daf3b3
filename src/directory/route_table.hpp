#pragma once
// The directory's table: one compact record per (service, instance), in fixed-size blocks (no
// reallocation stalls, stable addresses), found through an open-addressing index of 8-byte slots.
// Keeps the table digest and per-service digests and counts up to date in O(1) per change.
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "directory/interner.hpp"
#include "wire/messages.hpp"

namespace baker::directory {

using RouteIndex = std::uint32_t;
inline constexpr RouteIndex kNoRoute = std::numeric_limits<RouteIndex>::max();
inline constexpr std::int64_t kNotQueued = std::numeric_limits<std::int64_t>::max();

// A used record is either live (a route) or a tombstone: the instance said Goodbye or expired,
// and its incarnation and seq are kept for a while so no replay or reordered older datagram can
// revive it (docs/PROTOCOL.md, "Directory table (from heartbeats)").
struct RouteRecord {
  std::string instance;
  std::int64_t deadline = 0;             // expiry (live) or purge (tombstone), clock ticks
  std::int64_t queued = kNotQueued;      // deadline of this record's newest expiry-index entry
  std::uint64_t sender_incarnation = 0;  // its process start, us since 1970
  std::uint64_t sender_seq = 0;          // last heartbeat/goodbye seq accepted from it
  std::uint64_t changed_seq = 0;         // directory seq of the last change (snapshots use it)
  std::uint64_t digest = 0;              // wire::route_digest of the current route (live only)
  wire::IpAddress address;
  std::uint16_t port = 0;
  std::uint16_t weight = 0;
  std::uint16_t encoded_size = 0;  // wire::encoded_size of the current route (array(7), no version)
  wire::InstanceState state = wire::InstanceState::up;
  bool used = false;
  bool live = false;
  bool clock_warned = false;  // a clock-off warning was logged for sender_incarnation (once each)
  ServiceId service = 0;
  TagSetId tags = TagSets::kEmpty;
  std::uint32_t interval_ms = 0;
  std::uint32_t generation = 0;  // bumped when the slot is freed (stale index entries)
};
// docs/BENCHMARKS.md, "Memory per route": <= 256 B per route at 1M routes needs this.
static_assert(sizeof(RouteRecord) <= 128, "RouteRecord grew past two cache lines");

class RouteTable {
 public:
  RouteTable();
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  RouteIndex find(std::string_view service, std::string_view instance) const;
  // Adds a used, not yet live record for a key that is absent.
  RouteIndex insert(std::string_view service, std::string_view instance);
  // Frees the record (live or tombstone) and its key.
  void erase(RouteIndex i);

  RouteRecord& at(RouteIndex i) { return blocks_[i >> kBlockShift][i & kBlockMask]; }
  const RouteRecord& at(RouteIndex i) const { return blocks_[i >> kBlockShift][i & kBlockMask]; }

  // True if address, port, weight, state and tags equal the record's.
  bool same_route(RouteIndex i, const wire::Route& r) const;
  // Makes the record live with r's fields (service and instance are the record's key).
  void set_route(RouteIndex i, const wire::Route& r);
  // Live -> tombstone.
  void clear_route(RouteIndex i);

  wire::Route to_route(RouteIndex i) const;
  // The watson datagram the record was last set by: (sender_incarnation, sender_seq).
  wire::Version version(RouteIndex i) const { return {at(i).sender_incarnation, at(i).sender_seq}; }
  const std::string& service_name(RouteIndex i) const { return services_.name(at(i).service); }

  std::uint64_t digest() const { return digest_; }
  std::size_t live_count() const { return live_; }
  std::size_t used_count() const { return used_; }
  std::uint64_t service_digest(ServiceId s) const {
    return s < per_service_.size() ? per_service_[s].digest : 0;
  }
  std::uint32_t service_count(ServiceId s) const {
    return s < per_service_.size() ? per_service_[s].count : 0;
  }
  RouteIndex slot_limit() const { return next_fresh_; }  // every used index is below this

  ServiceNames& services() { return services_; }
  const ServiceNames& services() const { return services_; }
  TagSets& tag_sets() { return tags_; }
  const TagSets& tag_sets() const { return tags_; }

  // Bytes held by the table's own structures (records, index), without heap strings.
  std::size_t structure_bytes() const;

 private:
  static constexpr unsigned kBlockShift = 12;
  static constexpr RouteIndex kBlockSize = 1u << kBlockShift;
  static constexpr RouteIndex kBlockMask = kBlockSize - 1;

  struct Slot {
    RouteIndex index = kNoRoute;
    std::uint32_t hash = 0;
  };
  struct ServiceAggregate {
    std::uint64_t digest = 0;
    std::uint32_t count = 0;
  };

  static std::uint32_t hash_key(std::string_view service, std::string_view instance);
  bool key_equals(RouteIndex i, std::string_view service, std::string_view instance) const;
  void grow_index();
  void index_insert(RouteIndex i, std::uint32_t h);
  void index_erase(RouteIndex i);
  void account(ServiceId s, std::int64_t count, std::uint64_t add, std::uint64_t sub);

  std::vector<std::unique_ptr<RouteRecord[]>> blocks_;
  std::vector<RouteIndex> free_;
  RouteIndex next_fresh_ = 0;
  std::size_t used_ = 0;
  std::size_t live_ = 0;

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;

  std::uint64_t digest_ = 0;
  std::vector<ServiceAggregate> per_service_;
  ServiceNames services_;
  TagSets tags_;
};

}  // namespace baker::directory
