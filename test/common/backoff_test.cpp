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

}  // namespace
}  // namespace baker
