#pragma once
// The instance's health verdict from a stream of check results, with rise/fall thresholds
// (HAProxy's `rise`/`fall`, Envoy's healthy_threshold/unhealthy_threshold) so that one slow or
// failed answer does not flap the route.
#include <cstdint>
#include <string_view>

namespace baker::watson {

enum class Health : std::uint8_t {
  unknown,    // no check has completed yet
  healthy,    // announced: heartbeats go out
  unhealthy,  // not announced: no heartbeats
};

std::string_view to_string(Health h) noexcept;

class HealthState {
 public:
  // healthy_threshold (rise): consecutive passes that turn an unhealthy instance healthy.
  // unhealthy_threshold (fall): consecutive failures that turn a healthy instance unhealthy.
  // Both at least 1. The very first result decides at once (as Envoy does for a new host), so a
  // freshly started instance is announced after one passing check.
  HealthState(unsigned healthy_threshold, unsigned unhealthy_threshold);

  // Feeds one check result; returns true when the verdict changed.
  bool on_result(bool passed);

  Health health() const { return health_; }
  unsigned consecutive_passes() const { return passes_; }
  unsigned consecutive_failures() const { return failures_; }
  unsigned healthy_threshold() const { return rise_; }
  unsigned unhealthy_threshold() const { return fall_; }

 private:
  unsigned rise_;
  unsigned fall_;
  Health health_ = Health::unknown;
  unsigned passes_ = 0;
  unsigned failures_ = 0;
};

}  // namespace baker::watson
