#pragma once
// The one retry backoff: a first delay that doubles on each failure up to a ceiling, back to the
// first on success. Pure (no clock): the caller adds the delay to its own `now`.
#include <algorithm>

#include "common/clock.hpp"

namespace baker {

struct BackoffSettings {
  Duration first = std::chrono::seconds(1);
  Duration max = std::chrono::seconds(30);
  // The first failure is retried at once (delay 0); `first` is then the delay after the second.
  bool immediate_first = false;
};

// The delay after `failures` earlier failures: first x 2^failures, at most max (no overflow for
// any count). Ignores immediate_first (the caller's count already says which failure this is).
inline Duration backoff_delay(const BackoffSettings& s, unsigned failures) {
  Duration d = s.first;
  for (unsigned i = 0; i < failures && d < s.max; ++i) d *= 2;
  return std::min(d, s.max);
}

class Backoff {
 public:
  explicit Backoff(BackoffSettings settings = {}) : settings_(settings), next_(settings.first) {}

  // The delay to wait after this failure; the one after the next failure is twice as long.
  Duration failed() {
    ++failures_;
    if (settings_.immediate_first && failures_ == 1) return Duration::zero();
    const auto delay = next_;
    next_ = std::min<Duration>(next_ * 2, settings_.max);
    return delay;
  }
  // What failed() would return now, without counting a failure.
  Duration peek() const {
    return settings_.immediate_first && failures_ == 0 ? Duration::zero() : next_;
  }
  void succeeded() {
    next_ = settings_.first;
    failures_ = 0;
  }
  // Failures since the last success.
  int failures() const { return failures_; }
  const BackoffSettings& settings() const { return settings_; }

 private:
  BackoffSettings settings_;
  Duration next_;
  int failures_ = 0;
};

}  // namespace baker
