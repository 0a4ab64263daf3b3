#pragma once
// One subscriber's snapshot of the table as of sequence `seq`, built chunk by chunk while the
// table keeps changing. At start it records which routes belong to the snapshot (slot order) and
// where each chunk begins (from the routes' cached encoded sizes plus their versions'), so `count`
// is known up front. Before a route that has not been sent yet changes, the core calls
// before_change() and the job keeps the route's old value and version (copy on write): every
// chunk is exactly the table at `seq`. A route that does not change is sent with its version as
// it is then (a later heartbeat of the same route); the core calls before_change() too before a
// version grows in encoded size, so no chunk outgrows the size it was planned with.
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "directory/route_table.hpp"
#include "wire/messages.hpp"

namespace baker::directory {

class SnapshotJob {
 public:
  // filter: sorted service ids; empty = every service.
  SnapshotJob(std::uint64_t epoch, wire::Addressee to, std::uint64_t seq, std::uint8_t flags,
              const RouteTable& table, std::span<const ServiceId> filter, std::size_t budget);

  std::uint64_t seq() const { return seq_; }
  std::uint32_t count() const { return static_cast<std::uint32_t>(bounds_.size() - 1); }
  std::size_t route_count() const { return slots_.size(); }
  bool done() const { return next_ == count(); }
  std::size_t stashed() const { return stash_.size(); }

  // Call before route i changes (update, goodbye, expiry), or its version grows in encoded size,
  // while it still has its old value and version.
  void before_change(RouteIndex i, const RouteTable& table);
  // The next chunk; only while !done().
  wire::SnapshotChunk next_chunk(const RouteTable& table);

 private:
  bool wants(ServiceId s) const;

  std::uint64_t epoch_;
  wire::Addressee to_;
  std::uint64_t seq_;
  std::uint8_t flags_;
  std::vector<ServiceId> filter_;
  std::vector<RouteIndex> slots_;      // the routes at seq_, ascending
  std::vector<std::uint32_t> bounds_;  // chunk k = slots_[bounds_[k] .. bounds_[k+1])
  std::uint32_t next_ = 0;
  struct Stashed {
    wire::Route route;
    wire::Version version;
  };
  std::unordered_map<RouteIndex, Stashed> stash_;  // old values of routes changed since
};

}  // namespace baker::directory
