#include "directory/config.hpp"

namespace baker::directory {

std::optional<std::string> DirectoryConfig::validate() const {
  if (miss_limit < 1 || miss_limit > 100) return "miss-limit must be 1..100";
  if (warmup_max < Duration::zero()) return "warmup-max must not be negative";
  if (lease < std::chrono::seconds(1) || lease > milliseconds(wire::kMaxLeaseMs)) {
    return "lease must be 1 s .. 3600 s";
  }
  if (tick_interval < milliseconds(10) || tick_interval > lease) {
    return "tick-interval must be 10 ms .. lease";
  }
  if (burst_tick_gap < Duration::zero()) return "burst-tick-gap must not be negative";
  if (log_size < 1) return "log-size must be at least 1";
  if (datagram_budget < wire::kMinDatagramBudget || datagram_budget > wire::kMaxDatagramSize) {
    return "datagram-budget must be 1200..65507";
  }
  if (!(nack_rate_per_s > 0) || !(nack_burst >= 1)) return "nack-rate must be > 0, nack-burst >= 1";
  if (max_snapshots_in_flight < 1) return "max-snapshots must be at least 1";
  if (resync_datagrams_per_slice < 1) return "resync-burst must be at least 1";
  if (resync_slice <= Duration::zero()) return "resync-slice must be positive";
  if (max_batch_changes < 1 || max_expiry_work_per_call < 1) return "batch limits must be >= 1";
  if (max_clock_skew < milliseconds(10) || max_clock_skew > std::chrono::hours(1)) {
    return "max-clock-skew must be 10 ms .. 1 h";
  }
  if (max_tombstones < 1) return "max-tombstones must be at least 1";
  if (max_routes < 1 || max_subscribers < 1) return "max-routes and max-subscribers must be >= 1";
  if (max_subscribers_per_host < 1) return "max-subscribers-per-host must be >= 1";
  if (cookie_lifetime < std::chrono::seconds(10) || cookie_lifetime > std::chrono::hours(24)) {
    return "cookie-lifetime must be 10 s .. 24 h";
  }
  return std::nullopt;
}

}  // namespace baker::directory
