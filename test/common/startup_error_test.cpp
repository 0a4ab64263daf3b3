#include "common/startup_error.hpp"

#include <gtest/gtest.h>

#include "common/key_file.hpp"

namespace baker {
namespace {

TEST(StartupError, UsageErrorsExitTwoAndPointAtHelp) {
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(report_startup_failure(UsageError("--lease: '5': a duration needs a unit")), 2);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "error: --lease: '5': a duration needs a unit\n(see --help)\n");
}

TEST(StartupError, StartupFailuresExitOne) {
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(report_startup_failure(StartupError("cannot listen on UDP 0.0.0.0:7400")), 1);
  EXPECT_EQ(report_startup_failure(KeyFileError("key file k, line 1: bad"), "baker-dump: "), 1);
  EXPECT_EQ(report_startup_failure(std::runtime_error("anything else")), 1);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "error: cannot listen on UDP 0.0.0.0:7400\nbaker-dump: key file k, line 1: bad\n"
            "error: anything else\n");
}

}  // namespace
}  // namespace baker
