// A core source that keeps the rule: time comes in as `now`.
#include "common/clock.hpp"

namespace fixture {
baker::TimePoint later(baker::TimePoint now) { return now + std::chrono::seconds(1); }
}  // namespace fixture
