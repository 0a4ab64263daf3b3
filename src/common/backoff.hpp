#pragma once
// The one retry backoff: a first delay that doubles on each failure up to a ceiling, back to the
// first on success. Pure (no clock): the caller adds the delay to its own `now`.
#include <algorithm>

#include "common/clock.hpp"

namespace baker {

struct BackoffSettings {
  Duration first = std::chrono::seconds(1);
  Duration max = std::chrono::seconds(30);
};

class Backoff {
 public:
  explicit Backoff(BackoffSettings settings = {}) : settings_(settings), next_(settings.first) {}

  // The delay to wait after this failure; the one after the next failure is twice as long.
  Duration failed() {
    const auto delay = next_;
    next_ = std::min<Duration>(next_ * 2, settings_.max);
    ++failures_;
    return delay;
  }
  // What failed() would return now, without counting a failure.
  Duration peek() const { return next_; }
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
