#pragma once
// The directory's wall clock, as its shell reports it, and the timestamp rules for watson
// datagrams (docs/PROTOCOL.md, "Directory table (from heartbeats)"): a datagram is fresh when its
// sent_ms is within max_clock_skew of this clock, and provably sent after this directory started
// when it is later than the start + max_clock_skew. Pure: the shell passes the wall clock in.
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_set>

#include "common/clock.hpp"

namespace baker::directory {

// Watson datagrams (Heartbeat, Goodbye) refused by the replay rules, by reason
// (metrics label = to_string()).
enum class AnnounceReject : std::uint8_t {
  stale_timestamp,   // sent_ms more than max_clock_skew before the directory's wall clock
  future_timestamp,  // sent_ms more than max_clock_skew after the directory's wall clock
  before_start,      // sent_ms not later than the directory's start + max_clock_skew
  old_incarnation,   // an earlier watson process of an instance whose record holds a later one
  duplicate,         // same incarnation, seq not newer than the last accepted (live route)
  tombstoned,        // same incarnation, seq not newer, after the route's Goodbye or expiry
};
inline constexpr int kAnnounceRejectCount = static_cast<int>(AnnounceReject::tombstoned) + 1;
std::string_view to_string(AnnounceReject r) noexcept;

class WallClock {
 public:
  // The wall clock (ms since 1970) at steady `now`. The first call also fixes the start: the
  // wall time at `start` (the core's construction).
  void set(std::uint64_t unix_ms, TimePoint now, TimePoint start);
  // False until the shell set it: then no timestamp rule applies (unit tests of other rules).
  bool known() const { return known_; }
  std::int64_t at(TimePoint now) const;
  std::int64_t start_ms() const { return start_ms_; }

  // The timestamp rules for a datagram stamped sent_ms, received at now; nullopt = passes.
  std::optional<AnnounceReject> check(std::uint64_t sent_ms, TimePoint now,
                                      Duration max_skew) const;

 private:
  bool known_ = false;
  std::int64_t anchor_ms_ = 0;
  TimePoint anchor_{};
  std::int64_t start_ms_ = 0;
};

// Which (service, instance, incarnation, kind) a warning was logged for: each at most once, in a
// bounded set (a flood of strangers' keys fills it, then warnings stop; the metrics still count).
class OnceLog {
 public:
  explicit OnceLog(std::size_t capacity) : capacity_(capacity) {}
  // True the first time for this key while there is room.
  bool first(std::string_view service, std::string_view instance, std::uint64_t incarnation,
             std::uint8_t kind);
  bool full() const { return seen_.size() >= capacity_; }
  std::size_t size() const { return seen_.size(); }
  // True once, the first time it is asked after the set filled.
  bool report_overflow() {
    if (!full() || overflow_reported_) return false;
    overflow_reported_ = true;
    return true;
  }

 private:
  bool overflow_reported_ = false;
  std::size_t capacity_;
  std::unordered_set<std::uint64_t> seen_;
};

}  // namespace baker::directory
