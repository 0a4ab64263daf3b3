#include "watson/watson_options.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace baker::watson {
namespace {

using namespace std::chrono_literals;

std::vector<ConfigEntry> entries(const std::string& text) {
  auto r = parse_config_text(text);
  EXPECT_TRUE(r.ok());
  return r.ok() ? r.value() : std::vector<ConfigEntry>{};
}

TEST(WatsonOptions, FlagsWinOverTheFile) {
  Settings flags;
  flags["period"] = {{"5"}, "--period"};
  const auto r = merge_settings(flags, entries("service_name: foo\nperiod: 3\n"), "watson.conf");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().at("period").values, std::vector<std::string>{"5"});
  EXPECT_EQ(r.value().at("period").origin, "--period");
  EXPECT_EQ(r.value().at("service_name").origin, "watson.conf line 1");
}

TEST(WatsonOptions, RepeatableSettingsAccumulateAcrossLinesAndAliases) {
  const auto r = merge_settings(
      {}, entries("[Datawire]\ndirectory_host = 10.0.0.1\n[Watson]\ndirectory: 10.0.0.2:7500\n"),
      "w.conf");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r.value().at("directory").values,
            (std::vector<std::string>{"10.0.0.1", "10.0.0.2:7500"}));
}

TEST(WatsonOptions, FileErrorsNameFileAndLine) {
  auto r = merge_settings({}, entries("service_name: a\ncolour: blue\n"), "w.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "w.conf line 2: unknown setting 'colour'");
  r = merge_settings({}, entries("period: 1\n\nperiod: 2\n"), "w.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "w.conf line 3: 'period' already set on line 1");
}

class LoadConfig : public ::testing::Test {
 protected:
  void TearDown() override {
    if (!path_.empty()) std::remove(path_.c_str());
  }
  std::string write(const std::string& text) {
    char tmpl[] = "/tmp/watson-conf-XXXXXX";
    const int fd = mkstemp(tmpl);
    close(fd);
    path_ = tmpl;
    std::ofstream(path_) << text;
    return path_;
  }
  LoadedConfig load(std::vector<std::string> args, std::string* err = nullptr) {
    args.insert(args.begin(), "watson");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::testing::internal::CaptureStderr();
    ::testing::internal::CaptureStdout();
    auto r = load_config(static_cast<int>(args.size()), argv.data());
    ::testing::internal::GetCapturedStdout();
    const auto e = ::testing::internal::GetCapturedStderr();
    if (err) *err = e;
    return r;
  }
  std::string path_;
};

TEST_F(LoadConfig, BakerStreetFileWithAFlagOverride) {
  const auto path = write(
      "[Watson]\nservice_name: foo\nservice_url: http://127.0.0.1:9000\n"
      "health_check_url: http://127.0.0.1:9000/health\nperiod: 3\nlogging: DEBUG\n");
  const auto r = load({"--config", path, "--period", "2"});
  ASSERT_TRUE(r.config.has_value());
  EXPECT_EQ(r.config->service_name, "foo");
  EXPECT_EQ(r.config->interval, 2000ms);
  EXPECT_EQ(r.config->log_level, "debug");
  EXPECT_EQ(r.config->check, CheckKind::http);
}

TEST_F(LoadConfig, AllFromFlags) {
  const auto r = load({"--service-name", "svc", "--service-url", "http://127.0.0.1:1", "--check",
                       "none", "--directory", "127.0.0.1:1", "--directory", "127.0.0.1:2",
                       "--draining", "--tags", "a", "--tags", "b"});
  ASSERT_TRUE(r.config.has_value());
  EXPECT_EQ(r.config->directories.size(), 2u);
  EXPECT_TRUE(r.config->draining);
  EXPECT_EQ(r.config->tags, (std::vector<std::string>{"a", "b"}));
}

TEST_F(LoadConfig, ErrorsExitWithStatusTwoAndSayWhy) {
  std::string err;
  auto r =
      load({"--service-name", "Bad Name", "--service-url", "http://127.0.0.1:1", "--check", "none"},
           &err);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(err.find("invalid service_name (--service-name) 'Bad Name'"), std::string::npos) << err;

  r = load({"--no-such-flag"}, &err);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(err.find("no-such-flag"), std::string::npos) << err;

  r = load({"--config", "/nonexistent/watson.conf"}, &err);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(err.find("/nonexistent/watson.conf"), std::string::npos) << err;

  const auto path = write("service_name: foo\nperiod = 0.2\n");
  r = load({"--config", path, "--service-url", "http://127.0.0.1:1", "--check", "none"}, &err);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(err.find("invalid period (" + path + " line 2)"), std::string::npos) << err;

  write("service_name: foo\ngarbage\n");
  r = load({"--config", path_}, &err);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(err.find(path_ + " line 2"), std::string::npos) << err;
}

TEST_F(LoadConfig, HelpExitsZero) {
  const auto r = load({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.config.has_value());
}

}  // namespace
}  // namespace baker::watson
