#include "directory/freshness.hpp"

#include <gtest/gtest.h>

namespace baker::directory {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kStartMs = 1'796'000'000'000ULL;

struct WallClockTest : ::testing::Test {
  TimePoint start = TimePoint{} + 1h;
  WallClock wall;
  void SetUp() override { wall.set(kStartMs, start, start); }
};

TEST_F(WallClockTest, UnknownUntilTheShellSetsIt) {
  WallClock fresh;
  EXPECT_FALSE(fresh.known());
  EXPECT_FALSE(fresh.check(1, TimePoint{}, 2s).has_value());  // no rule without a clock
}

TEST_F(WallClockTest, RunsWithSteadyTimeAndKeepsTheStartAcrossResyncs) {
  EXPECT_EQ(wall.at(start + 1500ms), static_cast<std::int64_t>(kStartMs + 1500));
  wall.set(kStartMs + 10'000, start + 9s, start);  // the shell's clock stepped 1 s ahead
  EXPECT_EQ(wall.at(start + 9s), static_cast<std::int64_t>(kStartMs + 10'000));
  EXPECT_EQ(wall.start_ms(), static_cast<std::int64_t>(kStartMs));
}

TEST_F(WallClockTest, FreshnessWindowIsInclusiveAtPlusMinusTheSkew) {
  const TimePoint now = start + 10s;
  const std::uint64_t wall_now = kStartMs + 10'000;
  EXPECT_FALSE(wall.check(wall_now, now, 2s));
  EXPECT_FALSE(wall.check(wall_now - 2000, now, 2s));
  EXPECT_EQ(wall.check(wall_now - 2001, now, 2s), AnnounceReject::stale_timestamp);
  EXPECT_FALSE(wall.check(wall_now + 2000, now, 2s));
  EXPECT_EQ(wall.check(wall_now + 2001, now, 2s), AnnounceReject::future_timestamp);
  EXPECT_EQ(wall.check(~std::uint64_t{0}, now, 2s), AnnounceReject::future_timestamp);
}

TEST_F(WallClockTest, OnlyDatagramsStampedAfterStartPlusSkewCount) {
  const TimePoint now = start + 3s;
  EXPECT_EQ(wall.check(kStartMs + 2000, now, 2s), AnnounceReject::before_start);  // fresh, but
  EXPECT_FALSE(wall.check(kStartMs + 2001, now, 2s));
}

TEST(OnceLog, EachKeyOnceAndBounded) {
  OnceLog log(2);
  EXPECT_TRUE(log.first("web", "a", 1, 0));
  EXPECT_FALSE(log.first("web", "a", 1, 0));
  EXPECT_TRUE(log.first("web", "a", 2, 0));   // another process of the instance
  EXPECT_FALSE(log.first("web", "b", 1, 0));  // full: a flood of strangers stops the logging
  EXPECT_TRUE(log.report_overflow());
  EXPECT_FALSE(log.report_overflow());
}

}  // namespace
}  // namespace baker::directory
