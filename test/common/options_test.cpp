#include "common/options.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace baker {
namespace {

using namespace std::chrono_literals;

struct Parsed {
  ParsedOptions options;
  std::string err;
  std::string out;
};

Parsed parse(std::vector<std::string> args) {
  po::options_description flags("options");
  flags.add_options()("help", "help")("version", "version")("config", po::value<std::string>(), "file")(
      "lease", duration_value(1s, 1h), "lease")("tick", duration_value(1s, 10ms, 1min), "tick");
  args.insert(args.begin(), "/usr/sbin/test");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  Parsed p;
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  p.options = parse_options(static_cast<int>(argv.size()), argv.data(), flags, "usage: test");
  p.out = ::testing::internal::GetCapturedStdout();
  p.err = ::testing::internal::GetCapturedStderr();
  return p;
}

TEST(DurationOption, ReadsTheGrammarWithDefaults) {
  const auto p = parse({"--lease", "1.5s"});
  ASSERT_FALSE(p.options.exit_code) << p.err;
  EXPECT_EQ(p.options.values["lease"].as<Duration>(), 1500ms);
  EXPECT_EQ(p.options.values["tick"].as<Duration>(), 1s);
  EXPECT_TRUE(p.options.values["tick"].defaulted());
}

TEST(DurationOption, ErrorsNameTheFlagAndTheForms) {
  auto p = parse({"--lease", "5"});
  EXPECT_EQ(p.options.exit_code, 2);
  EXPECT_EQ(p.err, "error: --lease: '5': a duration needs a unit: 250ms, 2s, 1m\n(see --help)\n");
  p = parse({"--tick", "5ms"});
  EXPECT_EQ(p.options.exit_code, 2);
  EXPECT_EQ(p.err, "error: --tick: '5ms': must be from 10ms to 1m\n(see --help)\n");
}

TEST(DurationOption, ConfigFileErrorsNameTheSetting) {
  const std::string path = ::testing::TempDir() + "/options_test.conf";
  std::ofstream(path) << "lease = 30\n";
  const auto p = parse({"--config", path});
  std::remove(path.c_str());
  EXPECT_EQ(p.options.exit_code, 2);
  EXPECT_NE(p.err.find("lease"), std::string::npos) << p.err;
  EXPECT_NE(p.err.find("'30': a duration needs a unit"), std::string::npos) << p.err;
}

TEST(DurationOption, HelpShowsTheDefaultAsADuration) {
  const auto p = parse({"--help"});
  EXPECT_EQ(p.options.exit_code, 0);
  EXPECT_NE(p.out.find("--tick DURATION (=1s)"), std::string::npos) << p.out;
}

TEST(VersionOption, PrintsTheProgramAndTheProjectVersion) {
  const auto p = parse({"--version", "--lease", "5s"});
  EXPECT_EQ(p.options.exit_code, 0);
  EXPECT_EQ(p.out, "test (Baker) " + std::string(baker_version()) + "\n");
  EXPECT_FALSE(baker_version().empty());
  EXPECT_TRUE(p.err.empty()) << p.err;
}

}  // namespace
}  // namespace baker
