#include "common/backoff.hpp"

#include <gtest/gtest.h>

namespace baker {
namespace {

using std::chrono::seconds;

TEST(Backoff, DoublesUpToTheCeilingAndResetsOnSuccess) {
  Backoff b({seconds(1), seconds(5)});
  EXPECT_EQ(b.failed(), seconds(1));
  EXPECT_EQ(b.failed(), seconds(2));
  EXPECT_EQ(b.failed(), seconds(4));
  EXPECT_EQ(b.failed(), seconds(5));
  EXPECT_EQ(b.failed(), seconds(5));
  EXPECT_EQ(b.failures(), 5);
  b.succeeded();
  EXPECT_EQ(b.failures(), 0);
  EXPECT_EQ(b.peek(), seconds(1));
  EXPECT_EQ(b.failed(), seconds(1));
}

TEST(Backoff, ImmediateFirstRetriesAtOnceThenBacksOff) {
  using std::chrono::milliseconds;
  Backoff b({milliseconds(400), seconds(5), /*immediate_first=*/true});
  EXPECT_EQ(b.peek(), milliseconds(0));
  EXPECT_EQ(b.failed(), milliseconds(0));
  EXPECT_EQ(b.peek(), milliseconds(400));
  EXPECT_EQ(b.failed(), milliseconds(400));
  EXPECT_EQ(b.failed(), milliseconds(800));
  EXPECT_EQ(b.failed(), milliseconds(1600));
  EXPECT_EQ(b.failed(), milliseconds(3200));
  EXPECT_EQ(b.failed(), seconds(5));
  EXPECT_EQ(b.failures(), 6);
  b.succeeded();
  EXPECT_EQ(b.failed(), milliseconds(0));
}

TEST(Backoff, DelayAfterACountOfFailures) {
  const BackoffSettings s{std::chrono::milliseconds(250), seconds(4)};
  EXPECT_EQ(backoff_delay(s, 0), std::chrono::milliseconds(250));
  EXPECT_EQ(backoff_delay(s, 1), std::chrono::milliseconds(500));
  EXPECT_EQ(backoff_delay(s, 4), seconds(4));
  EXPECT_EQ(backoff_delay(s, 5), seconds(4));
  EXPECT_EQ(backoff_delay(s, 4'000'000'000u), seconds(4)) << "no overflow";
}

}  // namespace
}  // namespace baker
