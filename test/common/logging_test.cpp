#include "common/logging.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

namespace baker {
namespace {

TEST(JournalStream, MatchesOnlyThisDeviceAndInode) {
  EXPECT_TRUE(journal_stream_matches("8:1234", 8, 1234));
  EXPECT_FALSE(journal_stream_matches("8:1235", 8, 1234));  // stderr redirected elsewhere
  EXPECT_FALSE(journal_stream_matches("9:1234", 8, 1234));
  EXPECT_FALSE(journal_stream_matches("", 8, 1234));
  EXPECT_FALSE(journal_stream_matches("8", 8, 1234));
  EXPECT_FALSE(journal_stream_matches("8:", 8, 1234));
  EXPECT_FALSE(journal_stream_matches(":1234", 8, 1234));
  EXPECT_FALSE(journal_stream_matches("8:1234x", 8, 1234));
  EXPECT_FALSE(journal_stream_matches("-8:1234", 8, 1234));
}

TEST(JournalPriority, FollowsSyslogLevels) {
  EXPECT_EQ(journal_priority(spdlog::level::trace), 7);
  EXPECT_EQ(journal_priority(spdlog::level::debug), 7);
  EXPECT_EQ(journal_priority(spdlog::level::info), 6);
  EXPECT_EQ(journal_priority(spdlog::level::warn), 4);
  EXPECT_EQ(journal_priority(spdlog::level::err), 3);
  EXPECT_EQ(journal_priority(spdlog::level::critical), 2);
}

}  // namespace
}  // namespace baker
