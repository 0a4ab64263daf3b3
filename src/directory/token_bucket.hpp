#pragma once
// A token bucket (rate per second, burst), refilled from the `now` it is given.
#include <algorithm>
#include <chrono>

#include "common/clock.hpp"

namespace baker::directory {

class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(double rate_per_s, double burst, TimePoint now)
      : rate_(rate_per_s), burst_(burst), tokens_(burst), at_(now) {}

  bool take(TimePoint now) {
    refill(now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }
  double tokens(TimePoint now) {
    refill(now);
    return tokens_;
  }

 private:
  void refill(TimePoint now) {
    if (now <= at_) return;
    tokens_ = std::min(burst_, tokens_ + rate_ * std::chrono::duration<double>(now - at_).count());
    at_ = now;
  }
  double rate_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  TimePoint at_{};
};

}  // namespace baker::directory
