#pragma once
// Time and randomness are injected into every core so tests run in simulated time,
// deterministically. The real sources (the steady clock, the OS entropy) are in
// common/real_clock.hpp, for shells only.
#include <chrono>
#include <cstdint>

namespace baker {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;
using std::chrono::milliseconds;

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual TimePoint now() const = 0;
};

// For tests: time moves only when the test says so.
class ManualTimeSource final : public TimeSource {
 public:
  explicit ManualTimeSource(TimePoint start = TimePoint{} + std::chrono::hours(1)) : now_(start) {}
  TimePoint now() const override { return now_; }
  void advance(Duration d) { now_ += d; }
  void set(TimePoint t) { now_ = t; }

 private:
  TimePoint now_;
};

}  // namespace baker
