// The whole data path on real processes, in both HAProxy modes: watsons beside sample services ->
// directory -> sherlock -> HAProxy. Instances that turn unhealthy, join, recover and say goodbye
// show up in HAProxy's own `show servers state`, and requests through HAProxy reach exactly the
// healthy instances.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "e2e_support.hpp"
#include "metrics_check.hpp"

namespace baker::testing {
namespace {

constexpr auto kConverge = 10000ms;

enum class Mode { external, managed };

std::string port_text(std::uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

class EndToEndRouting : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    c.start_directory();
    for (int i = 0; i < 3; ++i) c.add_instance("v1");
    if (GetParam() == Mode::external) {
      haproxy =
          std::make_unique<TestHaproxy>(hdir,
                                        "frontend fe\n"
                                        "    bind 127.0.0.1:{FRONTEND}\n"
                                        "    default_backend greeting\n"
                                        "backend greeting\n"
                                        "    balance random\n"
                                        "    http-reuse always\n"
                                        "    server-template slot 1-8 127.0.0.1:9 disabled\n");
      admin_socket = haproxy->admin_socket();
      frontend = haproxy->frontend_port();
      c.start_sherlock_external(admin_socket);
    } else {
      c.start_sherlock_managed();
      admin_socket = c.dir().file("haproxy-run") + "/haproxy.sock";
      frontend = c.frontend_port();
    }
  }

  std::set<std::string> ready() {
    const auto v = ready_servers(admin_socket, "greeting");
    return {v.begin(), v.end()};
  }

  // The instances (address:port) that answer `n` requests through HAProxy, one connection each;
  // a failed request shows as "failed".
  std::set<std::string> answering(int n = 60) {
    std::set<std::string> out;
    for (int i = 0; i < n; ++i) {
      const auto r = http_get("127.0.0.1", frontend, "/greeting/");
      const auto at = r ? r->body.find(" at ") : std::string::npos;
      if (!r || r->status != 200 || at == std::string::npos) {
        out.insert("failed");
        continue;
      }
      out.insert(r->body.substr(at + 4, r->body.find(' ', at + 4) - at - 4));
    }
    return out;
  }

  // HAProxy's own state reaches `expected`; then, at once, requests reach exactly those.
  void expect_routing(const std::set<std::string>& expected, const char* step) {
    SCOPED_TRACE(step);
    EXPECT_TRUE(wait_until([&] { return ready() == expected; }, kConverge))
        << "show servers state has " << ready().size() << " ready servers\n"
        << c.sherlock().log();
    EXPECT_EQ(answering(), expected);
  }

  std::string port_of(std::size_t i) { return port_text(c.instance(i).port); }

  Cluster c;
  TempDir hdir;
  std::unique_ptr<TestHaproxy> haproxy;
  std::string admin_socket;
  std::uint16_t frontend = 0;
};

TEST_P(EndToEndRouting, HaproxyServesExactlyTheHealthyInstances) {
  expect_routing({port_of(0), port_of(1), port_of(2)}, "three healthy instances");

  c.set_healthy(1, false);  // its watson says goodbye after 2 failed checks
  expect_routing({port_of(0), port_of(2)}, "instance 1 unhealthy");

  c.add_instance("v2");
  expect_routing({port_of(0), port_of(2), port_of(3)}, "instance 3 joined");

  c.set_healthy(1, true);
  expect_routing({port_of(0), port_of(1), port_of(2), port_of(3)}, "instance 1 healthy again");

  c.instance(0).watson->stop();  // SIGTERM: goodbye
  expect_routing({port_of(1), port_of(2), port_of(3)}, "instance 0 said goodbye");

  // What left is parked in maintenance once idle, not deleted (slots are reused).
  const auto gone_port = c.instance(0).port;
  EXPECT_TRUE(wait_until(
      [&] {
        for (const auto& row : servers_state(admin_socket, "greeting")) {
          if (row.port == gone_port && !row.in_maint()) return false;
        }
        return true;
      },
      kConverge));
}

// Every /metrics page of the running system: the directory's, and sherlock's with the driver's
// (and in managed mode the managed haproxy's) families appended.
TEST_P(EndToEndRouting, MetricsPagesPassTheExpositionCheck) {
  expect_routing({port_of(0), port_of(1), port_of(2)}, "three healthy instances");
  const auto directory = c.directory_metrics();
  EXPECT_EQ(check_metrics(directory), std::vector<std::string>{}) << directory;
  const auto sherlock = http_get("127.0.0.1", c.sherlock_http_port(), "/metrics");
  ASSERT_TRUE(sherlock);
  EXPECT_NE(sherlock->body.find("baker_sherlock_haproxy_connected 1\n"), std::string::npos);
  EXPECT_EQ(check_metrics(sherlock->body), std::vector<std::string>{}) << sherlock->body;
}

TEST_P(EndToEndRouting, MetricsPagesPassPromtool) {
  expect_routing({port_of(0), port_of(1), port_of(2)}, "three healthy instances");
  const auto directory = c.directory_metrics();
  EXPECT_EQ(promtool_check(directory), "") << directory;
  const auto sherlock = http_get("127.0.0.1", c.sherlock_http_port(), "/metrics");
  ASSERT_TRUE(sherlock);
  EXPECT_EQ(promtool_check(sherlock->body), "") << sherlock->body;
}

INSTANTIATE_TEST_SUITE_P(BothModes, EndToEndRouting,
                         ::testing::Values(Mode::external, Mode::managed), [](const auto& info) {
                           return info.param == Mode::external ? "ExternalSocket" : "Managed";
                         });

}  // namespace
}  // namespace baker::testing
