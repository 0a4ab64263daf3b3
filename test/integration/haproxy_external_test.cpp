// The HAProxy driver against a real haproxy (Debian's 2.6.12) that the test starts itself, with a
// server-template backend: the external-socket mode (`sherlock --haproxy-sock`).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "haproxy_test_support.hpp"
#include "http_load.hpp"

namespace baker::testing {
namespace {

using sherlock::haproxy::ShellSettings;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const char* kConfig =
    "frontend fe\n"
    "    bind 127.0.0.1:{FRONTEND}\n"
    "    option idle-close-on-response\n"
    "    default_backend web\n"
    "backend web\n"
    "    balance random\n"
    "    http-reuse always\n"
    "    server-template slot 1-4 127.0.0.1:9 disabled weight 1\n";

ShellSettings external(const TestHaproxy& haproxy) {
  ShellSettings s;
  s.socket = sherlock::haproxy::CliEndpoint{haproxy.admin_socket(), "", 0};
  s.driver.plan.allow_add_server = true;
  s.driver.plan.drain_timeout = std::chrono::seconds(5);
  return s;
}

std::string endpoint(const TestBackend& b) {
  return "127.0.0.1:" + std::to_string(b.port());
}

TEST(HaproxyExternal, FactsOfThisHaproxyBuild) {
  // Re-checks what the driver relies on (docs/HAPROXY-DRIVER.md, /work/shared/HAPROXY.md).
  TempDir dir;
  TestHaproxy haproxy(dir, kConfig);
  const auto sock = haproxy.admin_socket();
  // A template slot starts in maintenance and can be re-pointed ("addr A port P").
  EXPECT_EQ(servers_state(sock, "web").at(0).admin_state, 5);
  EXPECT_THAT(cli(sock, "set server web/slot1 addr 127.0.0.1 port 1234"),
              ::testing::StartsWith("no need to change the addr, port changed"));
  // `add server` needs no experimental mode; the new server starts in maintenance.
  EXPECT_THAT(cli(sock, "add server web/x 127.0.0.1:1235 weight 3"),
              ::testing::StartsWith("New server registered."));
  const auto rows = servers_state(sock, "web");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_TRUE(rows.back().in_maint());
  // It accepts an address it cannot use: the driver validates addresses itself.
  EXPECT_THAT(cli(sock, "add server web/y localhost:1 weight 1"),
              ::testing::StartsWith("New server registered."));
  // del server only from maintenance.
  cli(sock, "set server web/x state ready");
  EXPECT_THAT(cli(sock, "del server web/x"),
              ::testing::StartsWith("Only servers in maintenance mode can be deleted."));
  // In interactive mode not every reply ends with a blank line: read up to each prompt.
  const auto raw = cli_session(sock, {"set server web/x state maint",
                                      "add server web/z "
                                      "127.0.0.1:1236 weight 1",
                                      "del server web/x"});
  EXPECT_EQ(raw, "\n> \n> New server registered.\n\n> Server deleted.\n> ");
  // Only dynamic balance algorithms take dynamic servers.
  TempDir dir2;
  TestHaproxy static_rr(dir2, "backend b\n    balance static-rr\n    server s 127.0.0.1:9\n");
  EXPECT_THAT(cli(static_rr.admin_socket(), "add server b/n 127.0.0.1:1 weight 1"),
              ::testing::Not(::testing::StartsWith("New server registered.")));
}

TEST(HaproxyExternal, AddedAndRemovedInstancesShowInServersStateAndRouting) {
  TempDir dir;
  TestHaproxy haproxy(dir, kConfig);
  TestBackend a("a"), b("b"), c("c");
  SinkRunner sink(external(haproxy));
  Replica replica(sink);
  const auto sock = haproxy.admin_socket();
  const auto port = haproxy.frontend_port();

  replica.set("web", {a.route("web"), b.route("web")});
  ASSERT_TRUE(wait_until([&] { return ready_servers(sock, "web").size() == 2; }, 3000ms));
  EXPECT_THAT(ready_servers(sock, "web"), UnorderedElementsAre(endpoint(a), endpoint(b)));
  EXPECT_THAT(distinct_ids(port, "/", 60), ElementsAre("a", "b"));

  // c arrives draining (no new requests), a leaves.
  replica.set("web", {b.route("web"), c.route("web", 100, wire::InstanceState::draining)});
  ASSERT_TRUE(wait_until([&] { return ready_servers(sock, "web").size() == 1; }, 3000ms));
  EXPECT_THAT(ready_servers(sock, "web"), ElementsAre(endpoint(b)));
  EXPECT_THAT(distinct_ids(port, "/", 40), ElementsAre("b"));
  // a's slot goes through drain to maint (no sessions left), and is free again.
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& r : servers_state(sock, "web")) {
          if (r.port == a.port() && !r.in_maint()) return false;
        }
        return true;
      },
      3000ms));

  // c becomes healthy; a comes back.
  replica.set("web", {a.route("web"), b.route("web"), c.route("web")});
  ASSERT_TRUE(wait_until([&] { return ready_servers(sock, "web").size() == 3; }, 3000ms));
  EXPECT_THAT(distinct_ids(port, "/", 90), ElementsAre("a", "b", "c"));

  // Everyone leaves: nothing answers but HAProxy's own 503.
  replica.set("web", {});
  ASSERT_TRUE(wait_until([&] { return ready_servers(sock, "web").empty(); }, 3000ms));
  EXPECT_THAT(distinct_ids(port, "/", 10), ElementsAre(""));
  EXPECT_TRUE(wait_until([&] { return sink.settled(); }, 3000ms));
  const auto metrics = sink.metrics();
  EXPECT_THAT(metrics, ::testing::HasSubstr("baker_sherlock_haproxy_command_errors_total 0\n"));
}

TEST(HaproxyExternal, WeightChangesApply) {
  TempDir dir;
  TestHaproxy haproxy(dir, kConfig);
  TestBackend a("a"), b("b");
  SinkRunner sink(external(haproxy));
  Replica replica(sink);
  replica.set("web", {a.route("web", 100), b.route("web", 0)});
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& r : servers_state(haproxy.admin_socket(), "web")) {
          if (r.port == b.port() && r.user_weight == 0) return true;
        }
        return false;
      },
      3000ms));
  // Weight 0: b is in the farm but gets no requests.
  EXPECT_THAT(distinct_ids(haproxy.frontend_port(), "/", 40), ElementsAre("a"));
}

TEST(HaproxyExternal, SlotServersReuseBackendConnections) {
  TempDir dir;
  TestHaproxy haproxy(dir, kConfig);
  TestBackend a("a");
  SinkRunner sink(external(haproxy));
  Replica replica(sink);
  replica.set("web", {a.route("web")});
  ASSERT_TRUE(
      wait_until([&] { return ready_servers(haproxy.admin_socket(), "web").size() == 1; }, 3000ms));
  {
    HttpLoad load("127.0.0.1", haproxy.frontend_port(), "/", 2);
    ASSERT_TRUE(wait_until([&] { return load.ok() >= 600; }, 10000ms));
    load.stop();
    EXPECT_EQ(load.failed(), 0u);
  }
  const double per_connection = static_cast<double>(a.requests()) / a.accepted();
  RecordProperty("requests_per_backend_connection", std::to_string(per_connection));
  std::printf("slot server: %d requests over %d backend connections (%.0f per connection)\n",
              a.requests(), a.accepted(), per_connection);
  EXPECT_GE(per_connection, 100.0);
}

TEST(HaproxyExternal, SlotsRunOutAddServerFallbackThenCleanUp) {
  TempDir dir;
  TestHaproxy haproxy(dir,
                      "frontend fe\n    bind 127.0.0.1:{FRONTEND}\n    default_backend web\n"
                      "backend web\n    balance random\n    http-reuse always\n"
                      "    server-template slot 1-1 127.0.0.1:9 disabled weight 1\n");
  TestBackend a("a"), b("b");
  auto settings = external(haproxy);
  settings.driver.plan.drain_timeout = std::chrono::seconds(2);
  SinkRunner sink(settings);
  Replica replica(sink);
  const auto sock = haproxy.admin_socket();
  replica.set("web", {a.route("web"), b.route("web")});
  ASSERT_TRUE(wait_until([&] { return ready_servers(sock, "web").size() == 2; }, 3000ms));
  EXPECT_THAT(distinct_ids(haproxy.frontend_port(), "/", 60), ElementsAre("a", "b"));
  const auto rows = servers_state(sock, "web");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].server, "slot-add1");
  // Measure (not assert) reuse for the dynamic server: HAPROXY.md says none in 2.6.12.
  const int before_requests = b.requests(), before_accepted = b.accepted();
  {
    HttpLoad load("127.0.0.1", haproxy.frontend_port(), "/", 1);
    wait_until([&] { return load.ok() >= 200; }, 10000ms);
  }
  std::printf("add-server server: %d requests over %d backend connections\n",
              b.requests() - before_requests, b.accepted() - before_accepted);
  // b leaves: its dynamic server is drained, put in maint and deleted.
  replica.set("web", {a.route("web")});
  ASSERT_TRUE(wait_until([&] { return servers_state(sock, "web").size() == 1; }, 5000ms));
  EXPECT_THAT(ready_servers(sock, "web"), ElementsAre(endpoint(a)));
}

TEST(HaproxyExternal, HaproxyRestartedServersComeBack) {
  TempDir dir;
  TestHaproxy haproxy(dir, kConfig);
  TestBackend a("a"), b("b");
  SinkRunner sink(external(haproxy));
  Replica replica(sink);
  const auto sock = haproxy.admin_socket();
  replica.set("web", {a.route("web"), b.route("web")});
  ASSERT_TRUE(wait_until([&] { return ready_servers(sock, "web").size() == 2; }, 3000ms));
  haproxy.kill_hard();
  std::this_thread::sleep_for(300ms);  // the socket is gone for a while: reconnect with backoff
  haproxy.start();                     // a fresh process: runtime changes are lost
  ASSERT_TRUE(wait_until([&] { return ready_servers(sock, "web").size() == 2; }, 8000ms));
  EXPECT_THAT(distinct_ids(haproxy.frontend_port(), "/", 60), ElementsAre("a", "b"));
  EXPECT_THAT(sink.metrics(), ::testing::HasSubstr("baker_sherlock_haproxy_reconnects_total 1\n"));
}

TEST(HaproxyExternal, ReloadUnderTheDriverIsNoticedAndReapplied) {
  TempDir dir;
  TestHaproxy haproxy(dir, kConfig);
  TestBackend a("a");
  SinkRunner sink(external(haproxy));
  Replica replica(sink);
  const auto sock = haproxy.admin_socket();
  replica.set("web", {a.route("web")});
  ASSERT_TRUE(wait_until([&] { return ready_servers(sock, "web").size() == 1; }, 3000ms));
  // The operator reloads HAProxy: the new worker starts from the configuration (slots disabled),
  // and the driver's kept connection is attached to the old, stopping worker.
  cli(haproxy.master_socket(), "reload");
  ASSERT_TRUE(wait_until([&] { return ready_servers(sock, "web").empty(); }, 3000ms))
      << "the new worker should start without runtime changes";
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return ready_servers(sock, "web").size() == 1; }, 5000ms));
  std::printf("re-applied %lld ms after the reload was visible\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - start)
                                         .count()));
  EXPECT_THAT(distinct_ids(haproxy.frontend_port(), "/", 10), ElementsAre("a"));
}

TEST(HaproxyExternal, MissingBackendIsLoggedWithTheLinesToAdd) {
  TempDir dir;
  TestHaproxy haproxy(dir, kConfig);
  TestBackend a("a");
  SinkRunner sink(external(haproxy));
  Replica replica(sink);
  replica.set("other", {a.route("other")});
  ASSERT_TRUE(wait_until(
      [&] {
        return sink.metrics().find("baker_sherlock_haproxy_backend_missing{backend=\"other\"} 1") !=
               std::string::npos;
      },
      3000ms));
  // The web backend is untouched and the driver stays healthy.
  replica.set("web", {a.route("web")});
  ASSERT_TRUE(
      wait_until([&] { return ready_servers(haproxy.admin_socket(), "web").size() == 1; }, 3000ms));
}

TEST(HaproxyExternal, TcpAdminSocket) {
  TempDir dir;
  const auto cli_port = free_tcp_port();
  TestHaproxy haproxy(dir, std::string("global\n    stats socket 127.0.0.1:") +
                               std::to_string(cli_port) + " level admin\n" + kConfig);
  TestBackend a("a");
  ShellSettings s;
  s.socket = sherlock::haproxy::CliEndpoint{"", "127.0.0.1", cli_port};
  SinkRunner sink(s);
  Replica replica(sink);
  replica.set("web", {a.route("web")});
  ASSERT_TRUE(
      wait_until([&] { return ready_servers(haproxy.admin_socket(), "web").size() == 1; }, 3000ms));
  EXPECT_THAT(distinct_ids(haproxy.frontend_port(), "/", 10), ElementsAre("a"));
}

}  // namespace
}  // namespace baker::testing
