#pragma once
// Lets one log line through per period and counts the ones held back, so a directory that stays
// unreachable for hours costs a line every 30 s, not one per heartbeat.
#include <cstdint>

#include "common/clock.hpp"

namespace baker::watson {

class LogRateLimit {
 public:
  explicit LogRateLimit(Duration period) : period_(period) {}

  // True when a line may be logged now. Otherwise counts the event as suppressed.
  bool allow(TimePoint now) {
    if (logged_ && now < last_ + period_) {
      ++suppressed_;
      return false;
    }
    logged_ = true;
    last_ = now;
    return true;
  }
  // Events held back since the last allowed line; resets the count.
  std::uint64_t take_suppressed() {
    const auto n = suppressed_;
    suppressed_ = 0;
    return n;
  }

 private:
  Duration period_;
  bool logged_ = false;
  TimePoint last_{};
  std::uint64_t suppressed_ = 0;
};

}  // namespace baker::watson
