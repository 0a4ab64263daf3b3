#include "sherlock/haproxy_shell.hpp"

#include <gtest/gtest.h>

#include "common/startup_error.hpp"

namespace baker::sherlock::haproxy {
namespace {

namespace po = boost::program_options;

po::variables_map parse(std::vector<std::string> args) {
  po::options_description flags;
  add_haproxy_options(flags);
  std::vector<const char*> argv{"sherlock"};
  for (const auto& a : args) argv.push_back(a.c_str());
  po::variables_map v;
  po::store(po::parse_command_line(static_cast<int>(argv.size()), argv.data(), flags), v);
  po::notify(v);
  return v;
}

// The message of a bad flag: from the flag's own parser (a duration) or from shell_settings_from.
std::string error_of(std::vector<std::string> args) {
  try {
    shell_settings_from(parse(std::move(args)));
  } catch (const UsageError& e) {
    return e.what();
  } catch (const po::error& e) {
    return e.what();
  }
  return "";
}

TEST(HaproxyOptions, DefaultsToManagedMode) {
  const auto s = shell_settings_from(parse({}));
  EXPECT_FALSE(s.socket);
  EXPECT_TRUE(s.driver.managed);
  EXPECT_FALSE(s.driver.plan.allow_add_server);
  EXPECT_EQ(s.managed.frontend_host, "127.0.0.1");
  EXPECT_EQ(s.managed.frontend_port, 8000);
  EXPECT_EQ(s.managed.balance, "roundrobin");
  EXPECT_EQ(s.managed.slots, 16);
  EXPECT_EQ(s.managed.haproxy_bin, "haproxy");
  EXPECT_EQ(s.managed.reload_timeout, std::chrono::seconds(30));
}

TEST(HaproxyOptions, HaproxyTimeoutBoundsStartAndReload) {
  const auto s = shell_settings_from(parse({"--haproxy-timeout", "1m"}));
  EXPECT_EQ(s.managed.start_timeout, std::chrono::seconds(60));
  EXPECT_EQ(s.managed.reload_timeout, std::chrono::seconds(60));
  EXPECT_EQ(error_of({"--haproxy-timeout", "10ms"}),
            "--haproxy-timeout: '10ms': must be from 100ms to 24h");
  EXPECT_NE(error_of({"--haproxy-sock", "/x", "--haproxy-timeout", "1s"}).find("managed mode only"),
            std::string::npos);
}

TEST(HaproxyOptions, DurationsTakeAUnit) {
  auto s = shell_settings_from(parse({"--drain-timeout", "2.5s", "--reconcile-interval", "1m"}));
  EXPECT_EQ(s.driver.plan.drain_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(s.driver.reconcile_interval, std::chrono::minutes(1));
  s = shell_settings_from(parse({"--drain-timeout", "0s"}));
  EXPECT_EQ(s.driver.plan.drain_timeout, Duration::zero());
  s = shell_settings_from(parse({}));
  EXPECT_EQ(s.driver.plan.drain_timeout, std::chrono::seconds(10));
  EXPECT_EQ(s.driver.reconcile_interval, std::chrono::seconds(10));
  EXPECT_EQ(error_of({"--drain-timeout", "10000"}),
            "--drain-timeout: '10000': a duration needs a unit: 250ms, 2s, 1m");
  EXPECT_EQ(error_of({"--reconcile-interval", "50ms"}),
            "--reconcile-interval: '50ms': must be from 100ms to 24h");
  EXPECT_NE(error_of({"--drain-timeout", "-1s"}).find("cannot be negative"), std::string::npos);
}

TEST(HaproxyOptions, ExternalSocketPathOrAddress) {
  auto s = shell_settings_from(parse({"--haproxy-sock", "/run/haproxy.sock"}));
  ASSERT_TRUE(s.socket);
  EXPECT_EQ(s.socket->path, "/run/haproxy.sock");
  EXPECT_FALSE(s.driver.managed);
  EXPECT_TRUE(s.driver.plan.allow_add_server);
  s = shell_settings_from(parse({"--haproxy-sock", "127.0.0.1:9999", "--no-add-server"}));
  EXPECT_EQ(s.socket->host, "127.0.0.1");
  EXPECT_EQ(s.socket->port, 9999);
  EXPECT_FALSE(s.driver.plan.allow_add_server);
}

TEST(HaproxyOptions, SlotsSizeTheSuggestedLinesWithAnExternalSocket) {
  const auto s = shell_settings_from(parse({"--haproxy-sock", "/x", "--slots", "64"}));
  EXPECT_EQ(s.driver.suggested_slots, 64);
}

TEST(HaproxyOptions, TcpPortsBecomeExtraBackends) {
  const auto s = shell_settings_from(
      parse({"--tcp-port", "db=5432", "--tcp-port", "cache=6379", "--backend-prefix", "bk_"}));
  EXPECT_EQ(s.managed.tcp_ports.at("db"), 5432);
  EXPECT_EQ(s.managed.tcp_ports.at("cache"), 6379);
  EXPECT_EQ(s.driver.extra_backends.at("db"), std::vector<std::string>{"bk_db.tcp"});
}

TEST(HaproxyOptions, BadValuesNameTheirFlag) {
  EXPECT_NE(error_of({"--haproxy-sock", "localhost:9999"}).find("--haproxy-sock"),
            std::string::npos);
  EXPECT_NE(error_of({"--haproxy-sock", "/x", "--tcp-port", "db=1"}).find("--tcp-port"),
            std::string::npos);
  EXPECT_NE(error_of({"--tcp-port", "db"}).find("--tcp-port"), std::string::npos);
  EXPECT_NE(error_of({"--tcp-port", "db=70000"}).find("--tcp-port"), std::string::npos);
  EXPECT_NE(error_of({"--tcp-port", "Bad=1"}).find("--tcp-port"), std::string::npos);
  EXPECT_NE(error_of({"--tcp-port", "db=1", "--tcp-port", "db=2"}).find("twice"),
            std::string::npos);
  EXPECT_NE(error_of({"--frontend", "nowhere"}).find("--frontend"), std::string::npos);
  EXPECT_NE(error_of({"--balance", "source"}).find("--balance"), std::string::npos);
  EXPECT_NE(error_of({"--backend-prefix", "a b"}).find("--backend-prefix"), std::string::npos);
  EXPECT_NE(error_of({"--backend-prefix", "a.b"}).find("--backend-prefix"), std::string::npos);
  EXPECT_NE(error_of({"--slots", "0"}).find("--slots"), std::string::npos);
  EXPECT_NE(error_of({"--haproxy-sock", "/x", "--add-server-options", "enabled"})
                .find("--add-server-options"),
            std::string::npos);
  EXPECT_NE(error_of({"--haproxy-sock", "/x", "--add-server-options", "check; shutdown"})
                .find("--add-server-options"),
            std::string::npos);
  EXPECT_NE(error_of({"--no-add-server"}).find("--no-add-server"), std::string::npos);
  EXPECT_NE(error_of({"--balance", "random(0)"}).find("--balance"), std::string::npos);
  EXPECT_NE(error_of({"--balance", "random(x)"}).find("--balance"), std::string::npos);
  EXPECT_EQ(error_of({"--balance", "random(2)"}), "");
  EXPECT_EQ(error_of({"--balance", "leastconn"}), "");
}

}  // namespace
}  // namespace baker::sherlock::haproxy
