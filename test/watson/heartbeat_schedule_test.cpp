#include "watson/heartbeat_schedule.hpp"

#include <gtest/gtest.h>

namespace baker::watson {
namespace {

using namespace std::chrono_literals;

TEST(HeartbeatSchedule, GapsStayWithinJitterBoundsAndNeverExceedTheInterval) {
  HeartbeatSchedule s(1000ms, 0.1, make_uniform(42));
  const TimePoint t0{};
  Duration lo = 1h;
  Duration hi = 0ms;
  for (int i = 0; i < 100000; ++i) {
    const auto gap = s.next_after(t0) - t0;
    lo = std::min(lo, gap);
    hi = std::max(hi, gap);
    ASSERT_GE(gap, 900ms);
    ASSERT_LE(gap, 1000ms);
  }
  // The draws spread over the whole band (so watsons started together drift apart).
  EXPECT_LT(lo, 905ms);
  EXPECT_GT(hi, 995ms);
}

TEST(HeartbeatSchedule, ExtremesOfTheUniformMapToTheBandEdges) {
  double u = 0;
  HeartbeatSchedule s(2000ms, 0.25, [&u] { return u; });
  const TimePoint t0{};
  u = 0.0;
  EXPECT_EQ(s.next_after(t0) - t0, 2000ms);
  u = 0.999999999;
  const double gap_ms = std::chrono::duration<double, std::milli>(s.next_after(t0) - t0).count();
  EXPECT_NEAR(gap_ms, 1500.0, 0.01);
  u = 7.0;  // out of range input is clamped
  EXPECT_GE(s.next_after(t0) - t0, 1500ms);
}

TEST(HeartbeatSchedule, JitterIsClampedToHalfTheInterval) {
  HeartbeatSchedule s(1000ms, 3.0, [] { return 0.99; });
  EXPECT_EQ(s.min_gap(), 500ms);
  HeartbeatSchedule none(1000ms, 0.0, [] { return 0.7; });
  EXPECT_EQ(none.next_after(TimePoint{}) - TimePoint{}, 1000ms);
}

TEST(HeartbeatSchedule, SeededUniformsAreDeterministic) {
  auto a = make_uniform(7);
  auto b = make_uniform(7);
  auto c = make_uniform(8);
  bool differs = false;
  for (int i = 0; i < 10; ++i) {
    const double x = a();
    EXPECT_EQ(x, b());
    EXPECT_GE(x, 0.0);
    EXPECT_LT(x, 1.0);
    differs = differs || x != c();
  }
  EXPECT_TRUE(differs);
}

}  // namespace
}  // namespace baker::watson
