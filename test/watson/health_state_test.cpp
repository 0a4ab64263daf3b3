#include "watson/health_state.hpp"

#include <gtest/gtest.h>

namespace baker::watson {
namespace {

TEST(HealthState, StartsUnknownAndFirstResultDecides) {
  HealthState up(2, 3);
  EXPECT_EQ(up.health(), Health::unknown);
  EXPECT_TRUE(up.on_result(true));
  EXPECT_EQ(up.health(), Health::healthy);

  HealthState down(2, 3);
  EXPECT_TRUE(down.on_result(false));
  EXPECT_EQ(down.health(), Health::unhealthy);
}

TEST(HealthState, FallsOnlyAfterUnhealthyThresholdConsecutiveFailures) {
  HealthState h(2, 3);
  h.on_result(true);
  EXPECT_FALSE(h.on_result(false));
  EXPECT_FALSE(h.on_result(false));
  EXPECT_EQ(h.health(), Health::healthy);
  EXPECT_TRUE(h.on_result(false));
  EXPECT_EQ(h.health(), Health::unhealthy);
}

TEST(HealthState, OnePassBetweenFailuresResetsTheFallCount) {
  HealthState h(2, 3);
  h.on_result(true);
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(h.on_result(false));
    EXPECT_FALSE(h.on_result(false));
    EXPECT_FALSE(h.on_result(true));  // one slow answer does not flap the route
  }
  EXPECT_EQ(h.health(), Health::healthy);
}

TEST(HealthState, RisesOnlyAfterHealthyThresholdConsecutivePasses) {
  HealthState h(2, 1);
  h.on_result(false);
  EXPECT_FALSE(h.on_result(true));
  EXPECT_FALSE(h.on_result(false));
  EXPECT_FALSE(h.on_result(true));
  EXPECT_EQ(h.health(), Health::unhealthy);
  EXPECT_TRUE(h.on_result(true));
  EXPECT_EQ(h.health(), Health::healthy);
  EXPECT_EQ(h.consecutive_passes(), 2u);
}

TEST(HealthState, ThresholdsOfZeroActAsOne) {
  HealthState h(0, 0);
  EXPECT_EQ(h.healthy_threshold(), 1u);
  EXPECT_EQ(h.unhealthy_threshold(), 1u);
  h.on_result(true);
  EXPECT_TRUE(h.on_result(false));
  EXPECT_TRUE(h.on_result(true));
}

}  // namespace
}  // namespace baker::watson
