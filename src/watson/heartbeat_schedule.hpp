#pragma once
// When the next heartbeat goes out. Each gap is drawn uniformly from
// [(1 - jitter) x interval, interval]: thousands of watsons started together drift out of step,
// and none ever beats later than the interval it announces (which the directory's expiry uses).
#include <functional>

#include "common/clock.hpp"

namespace baker::watson {

class HeartbeatSchedule {
 public:
  // Uniform random number in [0, 1). Injected so tests are deterministic.
  using Uniform = std::function<double()>;

  // jitter is clamped to [0, 0.5].
  HeartbeatSchedule(Duration interval, double jitter, Uniform uniform);

  // The moment of the heartbeat after one sent at `sent`.
  TimePoint next_after(TimePoint sent);
  Duration interval() const { return interval_; }
  Duration min_gap() const;

 private:
  Duration interval_;
  double jitter_;
  Uniform uniform_;
};

// A Uniform from a seeded engine (the daemon seeds it from the OS entropy source).
HeartbeatSchedule::Uniform make_uniform(std::uint64_t seed);

}  // namespace baker::watson
