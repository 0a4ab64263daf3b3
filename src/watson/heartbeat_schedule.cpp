#include "watson/heartbeat_schedule.hpp"

#include <algorithm>
#include <memory>
#include <random>

namespace baker::watson {

HeartbeatSchedule::HeartbeatSchedule(Duration interval, double jitter, Uniform uniform)
    : interval_(interval), jitter_(std::clamp(jitter, 0.0, 0.5)), uniform_(std::move(uniform)) {}

Duration HeartbeatSchedule::min_gap() const {
  return std::chrono::duration_cast<Duration>(interval_ * (1.0 - jitter_));
}

TimePoint HeartbeatSchedule::next_after(TimePoint sent) {
  double u = uniform_ ? uniform_() : 0.0;
  u = std::clamp(u, 0.0, 1.0);
  const auto spread = interval_ - min_gap();
  // u in [0, 1): the gap is in [min_gap, interval].
  return sent + interval_ - std::chrono::duration_cast<Duration>(spread * u);
}

HeartbeatSchedule::Uniform make_uniform(std::uint64_t seed) {
  auto engine = std::make_shared<std::mt19937_64>(seed);
  return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

}  // namespace baker::watson
