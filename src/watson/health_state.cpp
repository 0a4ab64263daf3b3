#include "watson/health_state.hpp"

#include <algorithm>

#include "common/enum_names.hpp"

namespace baker::watson {

constexpr std::array<std::string_view, 3> kHealthNames = {"unknown", "healthy", "unhealthy"};
static_assert(names_every_value(kHealthNames, Health::unhealthy));

std::string_view to_string(Health h) noexcept {
  return enum_name(kHealthNames, h, "?");
}

HealthState::HealthState(unsigned healthy_threshold, unsigned unhealthy_threshold)
    : rise_(std::max(1u, healthy_threshold)), fall_(std::max(1u, unhealthy_threshold)) {}

bool HealthState::on_result(bool passed) {
  if (passed) {
    ++passes_;
    failures_ = 0;
  } else {
    ++failures_;
    passes_ = 0;
  }
  const Health before = health_;
  switch (health_) {
    case Health::unknown:
      health_ = passed ? Health::healthy : Health::unhealthy;
      break;
    case Health::healthy:
      if (failures_ >= fall_) health_ = Health::unhealthy;
      break;
    case Health::unhealthy:
      if (passes_ >= rise_) health_ = Health::healthy;
      break;
  }
  return health_ != before;
}

}  // namespace baker::watson
