#include "watson/log_rate_limit.hpp"

#include <gtest/gtest.h>

namespace baker::watson {
namespace {

using namespace std::chrono_literals;

TEST(LogRateLimit, OneLinePerPeriodAndCountsTheRest) {
  ManualTimeSource clock;
  LogRateLimit limit(30s);
  EXPECT_TRUE(limit.allow(clock.now()));
  for (int i = 0; i < 29; ++i) {
    clock.advance(1s);
    EXPECT_FALSE(limit.allow(clock.now()));
  }
  clock.advance(1s);
  EXPECT_TRUE(limit.allow(clock.now()));
  EXPECT_EQ(limit.take_suppressed(), 29u);
  EXPECT_EQ(limit.take_suppressed(), 0u);
}

}  // namespace
}  // namespace baker::watson
