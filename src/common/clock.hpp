#pragma once
// Time and randomness are injected into every core so tests run in simulated time,
// deterministically.
#include <chrono>
#include <cstdint>
#include <random>

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

class RealTimeSource final : public TimeSource {
 public:
  TimePoint now() const override { return Clock::now(); }
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

// A non-zero random 64-bit id (process epochs, subscriber ids) from the OS entropy source.
inline std::uint64_t random_nonzero_u64() {
  std::random_device rd;
  std::uint64_t v = 0;
  while (v == 0) v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return v;
}

}  // namespace baker
