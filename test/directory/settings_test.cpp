#include "directory/settings.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace baker::directory {
namespace {

using namespace std::chrono_literals;

LoadedSettings load(std::vector<std::string> args) {
  args.insert(args.begin(), "directory");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return load_settings(static_cast<int>(argv.size()), argv.data());
}

TEST(DirectorySettings, DefaultsMatchTheProtocol) {
  const auto s = load({});
  ASSERT_FALSE(s.exit_code);
  EXPECT_EQ(s.settings.listen.host, "0.0.0.0");
  EXPECT_EQ(s.settings.listen.port, 7400);
  ASSERT_TRUE(s.settings.metrics);
  EXPECT_EQ(s.settings.metrics->host, "127.0.0.1");
  EXPECT_EQ(s.settings.metrics->port, 7401);
  EXPECT_EQ(s.settings.core.miss_limit, 5u);
  EXPECT_EQ(s.settings.core.lease, 15s);
  EXPECT_EQ(s.settings.core.log_size, 65536u);
  EXPECT_EQ(s.settings.core.nack_rate_per_s, 20);
  EXPECT_EQ(s.settings.core.nack_burst, 40);
  EXPECT_EQ(s.settings.core.max_snapshots_in_flight, 8u);
  EXPECT_EQ(s.settings.core.warmup_max, 30s);
  EXPECT_FALSE(s.settings.core.multicast);
}

TEST(DirectorySettings, FlagsAreRead) {
  const auto s = load({"--listen", "127.0.0.1:9000", "--multicast", "239.255.74.1:7410",
                       "--multicast-ttl", "4", "--multicast-if", "127.0.0.1", "--miss-limit", "5",
                       "--metrics", "off", "--warmup-max", "2s", "--lease", "30s"});
  ASSERT_FALSE(s.exit_code);
  EXPECT_EQ(s.settings.listen.port, 9000);
  ASSERT_TRUE(s.settings.multicast);
  EXPECT_EQ(s.settings.multicast->host, "239.255.74.1");
  EXPECT_EQ(s.settings.multicast_ttl, 4);
  EXPECT_TRUE(s.settings.core.multicast);
  EXPECT_EQ(s.settings.core.miss_limit, 5u);
  EXPECT_FALSE(s.settings.metrics);
  EXPECT_EQ(s.settings.core.warmup_max, 2s);
  EXPECT_EQ(s.settings.core.lease, 30s);
}

TEST(DirectorySettings, ConfigFileIsReadAndFlagsWin) {
  const std::string path = ::testing::TempDir() + "/directory-settings-test.conf";
  std::ofstream(path) << "miss-limit = 6\nlease = 20s\nlisten = 127.0.0.1:7500\n";
  const auto s = load({"--config", path, "--miss-limit", "2"});
  std::remove(path.c_str());
  ASSERT_FALSE(s.exit_code);
  EXPECT_EQ(s.settings.core.miss_limit, 2u);  // the flag
  EXPECT_EQ(s.settings.core.lease, 20s);      // the file
  EXPECT_EQ(s.settings.listen.port, 7500);
}

TEST(DirectorySettings, BadValuesExitWithStatusTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--miss-limit", "0"},
           {"--miss-limit", "-1"},
           {"--miss-limit", "3x"},
           {"--listen", "localhost:7400"},
           {"--listen", "127.0.0.1"},
           {"--multicast", "127.0.0.1:7410"},
           {"--multicast-ttl", "2"},
           {"--multicast", "239.1.1.1:7410", "--multicast-ttl", "256"},
           {"--lease", "0s"},
           {"--tick-interval", "20s"},
           {"--datagram-budget", "100"},
           {"--log-level", "loud"},
           {"--warmup-max", "forever"},
           {"--warmup-max", "0"},
           {"--tick-interval", "1000"},
           {"--no-such-flag"},
           {"--config", "/nonexistent/directory.conf"},
       }) {
    const auto s = load(args);
    EXPECT_EQ(s.exit_code, 2) << args[0];
  }
}

TEST(DirectorySettings, ReplayRuleFlagsHaveUnitsAndBounds) {
  const auto d = load({});
  ASSERT_FALSE(d.exit_code);
  EXPECT_EQ(d.settings.core.max_clock_skew, 2s);
  EXPECT_EQ(d.settings.core.max_tombstones, 262'144u);
  const auto s = load({"--max-clock-skew", "250ms", "--max-tombstones", "1000"});
  ASSERT_FALSE(s.exit_code);
  EXPECT_EQ(s.settings.core.max_clock_skew, 250ms);
  EXPECT_EQ(s.settings.core.max_tombstones, 1000u);
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--max-clock-skew", "2"},  // a bare number is refused
           {"--max-clock-skew", "5ms"},
           {"--max-clock-skew", "2h"},
           {"--max-tombstones", "0"},
       }) {
    EXPECT_EQ(load(args).exit_code, 2) << args[0] << " " << args[1];
  }
}

TEST(DirectorySettings, HelpExitsZero) {
  EXPECT_EQ(load({"--help"}).exit_code, 0);
}

TEST(DirectorySettings, DurationsTakeUnits) {
  auto s = load({"--tick-interval", "250ms", "--lease", "1.5m", "--warmup-max", "0s",
                 "--burst-tick-gap", "0s", "--resync-slice", "1.5ms"});
  ASSERT_FALSE(s.exit_code);
  EXPECT_EQ(s.settings.core.tick_interval, 250ms);
  EXPECT_EQ(s.settings.core.lease, 90s);
  EXPECT_EQ(s.settings.core.warmup_max, 0s);
  EXPECT_EQ(s.settings.core.burst_tick_gap, 0s);
  EXPECT_EQ(s.settings.core.resync_slice, 1500us);
}

TEST(DirectorySettings, ABareNumberIsNotADuration) {
  ::testing::internal::CaptureStderr();
  const auto s = load({"--lease", "30"});
  const auto err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(s.exit_code, 2);
  EXPECT_EQ(err, "error: --lease: '30': a duration needs a unit: 250ms, 2s, 1m\n(see --help)\n");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(load({"--resync-slice", "2s"}).exit_code, 2);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "error: --resync-slice: '2s': must be from 1ms to 1s\n(see --help)\n");
}

}  // namespace
}  // namespace baker::directory
