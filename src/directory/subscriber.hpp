#pragma once
// What the directory knows about one sherlock: where it listens, what it asked for, its lease,
// where its own (filtered) stream has got to, and its NACK budget.
#include <cstdint>
#include <optional>
#include <vector>

#include "common/clock.hpp"
#include "directory/endpoint.hpp"
#include "directory/interner.hpp"
#include "directory/token_bucket.hpp"

namespace baker::directory {

struct Subscriber {
  std::uint64_t id = 0;
  std::uint64_t nonce = 0;        // the last accepted of its Subscribe, Nack or Unsubscribe nonces
  Endpoint endpoint;              // its proven address: a valid cookie was presented from there
  std::vector<ServiceId> filter;  // sorted; empty = every service (holds ServiceNames refs)
  bool member = false;            // hears Deltas and Ticks on the multicast group
  TimePoint lease_deadline{};
  // Its last Subscribe (first or renewal): when, and how far behind this epoch's sequence it said
  // it was (nullopt: another epoch, or none yet: it needs a snapshot). The status page shows them.
  TimePoint renewed_at{};
  std::optional<std::uint64_t> lag_at_renewal;
  // Filtered unicast stream: the to_seq of the last Delta (or the seq of the snapshot) sent to
  // it. Its next Delta starts there, so its own stream has no gaps.
  std::uint64_t sent_through = 0;
  bool tick_due = false;   // got Deltas since its last Tick
  bool resyncing = false;  // a paced snapshot or retransmit for it is in flight
  TokenBucket nack_budget;
  // The last resync answer: changes (answered_after, answered_through] at answered_at.
  std::uint64_t answered_after = 0;
  std::uint64_t answered_through = 0;
  TimePoint answered_at{};
  bool answered = false;

  bool filtered() const { return !member && !filter.empty(); }
};

}  // namespace baker::directory
