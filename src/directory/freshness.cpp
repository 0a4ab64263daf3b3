#include "directory/freshness.hpp"

#include <array>
#include <functional>
#include <limits>
#include <string>

#include "common/enum_names.hpp"

namespace baker::directory {

constexpr std::array<std::string_view, 6> kAnnounceRejectNames = {
    "stale_timestamp", "future_timestamp", "before_start",
    "old_incarnation", "duplicate",        "tombstoned"};
static_assert(names_every_value(kAnnounceRejectNames, AnnounceReject::tombstoned));

std::string_view to_string(AnnounceReject r) noexcept {
  return enum_name(kAnnounceRejectNames, r);
}

namespace {
std::int64_t to_ms(Duration d) {
  return std::chrono::duration_cast<milliseconds>(d).count();
}
}  // namespace

void WallClock::set(std::uint64_t unix_ms, TimePoint now, TimePoint start) {
  anchor_ms_ = static_cast<std::int64_t>(unix_ms);
  anchor_ = now;
  if (!known_) start_ms_ = anchor_ms_ - to_ms(now - start);
  known_ = true;
}

std::int64_t WallClock::at(TimePoint now) const {
  return anchor_ms_ + to_ms(now - anchor_);
}

std::optional<AnnounceReject> WallClock::check(std::uint64_t sent_ms, TimePoint now,
                                               Duration max_skew) const {
  if (!known_) return std::nullopt;
  const std::int64_t skew = to_ms(max_skew);
  const std::int64_t wall = at(now);
  // sent_ms is at most 2^64-1 on the wire; anything past int64 is simply far in the future.
  if (sent_ms > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / 2))
    return AnnounceReject::future_timestamp;
  const auto sent = static_cast<std::int64_t>(sent_ms);
  if (sent < wall - skew) return AnnounceReject::stale_timestamp;
  if (sent > wall + skew) return AnnounceReject::future_timestamp;
  // A restarted directory remembers nothing: only what was provably sent after it started may
  // change its table, so no datagram captured before the start can ever be replayed into it.
  if (sent <= start_ms_ + skew) return AnnounceReject::before_start;
  return std::nullopt;
}

bool OnceLog::first(std::string_view service, std::string_view instance, std::uint64_t incarnation,
                    std::uint8_t kind) {
  std::uint64_t h = std::hash<std::string_view>{}(service);
  h = h * 0x9e3779b97f4a7c15ULL ^ std::hash<std::string_view>{}(instance);
  h = h * 0x9e3779b97f4a7c15ULL ^ incarnation;
  h = h * 0x9e3779b97f4a7c15ULL ^ kind;
  if (seen_.count(h)) return false;
  if (full()) return false;
  seen_.insert(h);
  return true;
}

}  // namespace baker::directory
