#include "sherlock/haproxy_driver.hpp"

#include <gtest/gtest.h>

#include "driver_harness.hpp"
#include "haproxy_fake.hpp"
#include "metrics_check.hpp"

namespace baker::sherlock::haproxy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::DriverHarness;
using testing::FakeHaproxy;

using Routes = std::map<std::string, std::vector<wire::Route>>;

wire::Route route(const std::string& service, const std::string& id, const std::string& addr,
                  std::uint16_t port, std::uint16_t weight = 100,
                  wire::InstanceState state = wire::InstanceState::up) {
  wire::Route r;
  r.service = service;
  r.instance = id;
  r.address = *wire::IpAddress::parse(addr);
  r.port = port;
  r.weight = weight;
  r.state = state;
  return r;
}

TEST(HaproxyDriver, FirstSessionConnectsAndReadsState) {
  DriverHarness h;
  h.haproxy.add_backend("web", 4);
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  auto s = h.driver.on_timer(h.clock.now());
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->fresh_connection);
  ASSERT_EQ(s->commands.size(), 2u);
  EXPECT_EQ(s->commands[0].text, "show info");
  EXPECT_EQ(s->commands[1].text, "show servers state web");
  // One session in flight at a time.
  EXPECT_FALSE(h.driver.on_timer(h.clock.now()));
  EXPECT_FALSE(h.driver.next_deadline());
}

TEST(HaproxyDriver, AppliesAtOnceWithoutAWindow) {
  DriverHarness h;
  h.haproxy.add_backend("web", 4);
  h.set({{"web", {}}}, {"web"});
  h.run_due();
  ASSERT_TRUE(h.driver.settled());
  // A change while idle is sent in the same instant: no coalescing delay.
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  ASSERT_EQ(h.run_due(), 1);
  EXPECT_EQ(h.last_lines(), (std::vector<std::string>{
                                "set server web/slot1 addr 10.0.0.1 port 80",
                                "set server web/slot1 weight 100",
                                "set server web/slot1 state ready",
                            }));
  EXPECT_EQ(h.haproxy.ready_endpoints("web"), std::vector<std::string>{"10.0.0.1:80"});
  EXPECT_TRUE(h.driver.settled());
  ASSERT_TRUE(h.driver.counters().last_apply);
  EXPECT_EQ(*h.driver.counters().last_apply, Duration::zero());
  EXPECT_EQ(h.driver.counters().applies, 1u);
}

TEST(HaproxyDriver, BatchesWhatArrivesDuringASession) {
  DriverHarness h;
  h.haproxy.add_backend("web", 4);
  h.haproxy.add_backend("api", 4);
  h.set({{"web", {}}, {"api", {}}}, {"web", "api"});
  h.run_due();
  Routes all{{"web", {route("web", "a", "10.0.0.1", 80)}}, {"api", {}}};
  h.set(all, {"web"});
  auto first = h.driver.on_timer(h.clock.now());
  ASSERT_TRUE(first);
  // While it is in flight, three more changes arrive.
  all["web"].push_back(route("web", "b", "10.0.0.2", 80));
  h.set(all, {"web"});
  all["api"].push_back(route("api", "x", "10.0.1.1", 90));
  h.set(all, {"api"});
  all["web"].push_back(route("web", "c", "10.0.0.3", 80));
  h.set(all, {"web"});
  EXPECT_FALSE(h.driver.on_timer(h.clock.now()));
  std::vector<std::string> lines;
  for (const auto& c : first->commands) lines.push_back(c.text);
  h.driver.on_replies(h.haproxy.run(lines), h.clock.now());
  // All three go out together in the next session.
  ASSERT_EQ(h.run_due(), 1);
  EXPECT_EQ(h.sessions.back().commands.size(), 9u);
  EXPECT_EQ(h.haproxy.ready_endpoints("web").size(), 3u);
  EXPECT_EQ(h.haproxy.ready_endpoints("api"), std::vector<std::string>{"10.0.1.1:90"});
}

TEST(HaproxyDriver, RemovalDrainsWaitsForSessionsAndFreesTheSlot) {
  DriverHarness h;
  h.haproxy.add_backend("web", 2);
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  h.run_due();
  h.haproxy.server("web", "slot1")->sessions = 2;
  h.set({}, {"web"});
  h.run_due();
  EXPECT_EQ(h.haproxy.server("web", "slot1")->admin & 0x08, 0x08);  // draining
  EXPECT_FALSE(h.driver.settled());
  // The driver polls `show stat` while sessions run; none of that is a command error.
  h.advance(milliseconds(500));
  EXPECT_EQ(h.haproxy.server("web", "slot1")->admin & 0x08, 0x08);
  h.haproxy.server("web", "slot1")->sessions = 0;
  h.advance(milliseconds(150));
  EXPECT_EQ(h.haproxy.server("web", "slot1")->admin & 0x01, 0x01);  // maint: free
  EXPECT_TRUE(h.driver.settled());
  EXPECT_EQ(h.driver.counters().command_errors, 0u);
}

TEST(HaproxyDriver, IdleRemovalFinishesWithoutWaitingForAPoll) {
  DriverHarness h;
  h.haproxy.add_backend("web", 2);
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  h.run_due();
  h.set({}, {"web"});
  h.run_due();  // drain + show stat in one round trip, then maint in the next
  EXPECT_EQ(h.haproxy.server("web", "slot1")->admin & 0x01, 0x01);
  EXPECT_TRUE(h.driver.settled());
}

TEST(HaproxyDriver, DrainTimeoutEndsARemoval) {
  DriverSettings settings;
  settings.plan.drain_timeout = seconds(2);
  DriverHarness h(settings);
  h.haproxy.add_backend("web", 2);
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  h.run_due();
  h.haproxy.server("web", "slot1")->sessions = 1;  // a stream that never ends
  h.set({}, {"web"});
  h.advance(milliseconds(1900));
  EXPECT_EQ(h.haproxy.server("web", "slot1")->admin & 0x01, 0);
  h.advance(milliseconds(200));
  EXPECT_EQ(h.haproxy.server("web", "slot1")->admin & 0x01, 0x01);
}

TEST(HaproxyDriver, CommandErrorIsLoggedAndStateReadAgain) {
  DriverHarness h;
  h.haproxy.add_backend("web", 2);
  h.set({{"web", {}}}, {"web"});
  h.run_due();
  h.haproxy.forced_errors["set server web/slot1 weight"] = "No such server.\n";
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  h.run_due();
  EXPECT_GE(h.driver.counters().command_errors, 1u);
  // The error made the driver re-read the backend right away.
  bool reread = false;
  for (std::size_t i = 1; i < h.sessions.size(); ++i) {
    for (const auto& c : h.sessions[i].commands) {
      if (c.text == "show servers state web") reread = true;
    }
  }
  EXPECT_TRUE(reread);
  // Once HAProxy accepts the command again, the next attempt converges.
  h.haproxy.forced_errors.clear();
  h.advance(seconds(6));
  EXPECT_EQ(h.haproxy.server("web", "slot1")->uweight, 100);
  EXPECT_EQ(h.haproxy.ready_endpoints("web"), std::vector<std::string>{"10.0.0.1:80"});
  EXPECT_TRUE(h.driver.settled());
}

TEST(HaproxyDriver, PersistentErrorsBackOffInsteadOfSpinning) {
  DriverHarness h;
  h.haproxy.add_backend("web", 2);
  h.set({{"web", {}}}, {"web"});
  h.run_due();
  h.haproxy.forced_errors["set server web/slot1 state"] = "Permission denied\n";
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  const auto before = h.sessions.size();
  h.advance(seconds(2));
  EXPECT_LT(h.sessions.size() - before, 20u);
}

TEST(HaproxyDriver, ErrorRereadsBackOffAtOnceThenFromTwiceErrorRetry) {
  DriverHarness h;  // error_retry 200 ms, reconnect_max 5 s
  h.haproxy.add_backend("web", 2);
  h.set({{"web", {}}}, {"web"});
  h.run_due();
  h.haproxy.forced_errors["show servers state web"] = "Permission denied\n";
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  h.driver.on_haproxy_restarted(h.clock.now());  // every backend is read again, and fails
  std::vector<Duration> reads;                   // when each failing read ran
  const auto start = h.clock.now();
  for (int step = 0; step < 1700; ++step) {
    const auto before = h.haproxy.log.size();
    h.run_due();
    for (auto i = before; i < h.haproxy.log.size(); ++i) {
      if (h.haproxy.log[i] == "show servers state web") reads.push_back(h.clock.now() - start);
    }
    h.clock.advance(milliseconds(10));
  }
  // The first read fails, the re-read goes at once, then 400 ms, 800 ms, 1.6 s, 3.2 s apart
  // (then 5 s, the ceiling min(error_retry x 32, reconnect_max), but the reconcile at 10 s reads
  // every backend again anyway).
  const std::vector<Duration> expected = {milliseconds(0),    milliseconds(0),
                                          milliseconds(400),  milliseconds(1200),
                                          milliseconds(2800), milliseconds(6000)};
  ASSERT_GE(reads.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(std::chrono::duration_cast<milliseconds>(reads[i]), expected[i]) << i;
  }
}

TEST(HaproxyDriver, PeriodicReconcileHealsDrift) {
  DriverSettings settings;
  settings.reconcile_interval = seconds(5);
  DriverHarness h(settings);
  h.haproxy.add_backend("web", 2);
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  h.run_due();
  // Someone puts the server in maintenance behind Baker's back.
  h.haproxy.execute("set server web/slot1 state maint");
  h.advance(seconds(4));
  EXPECT_TRUE(h.haproxy.ready_endpoints("web").empty());
  h.advance(seconds(2));
  EXPECT_EQ(h.haproxy.ready_endpoints("web"), std::vector<std::string>{"10.0.0.1:80"});
}

TEST(HaproxyDriver, ReconnectsWithBackoffAndReappliesEverything) {
  DriverHarness h;
  h.haproxy.add_backend("web", 2);
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  h.run_due();
  EXPECT_TRUE(h.driver.connected());
  // HAProxy restarts: the socket is gone for a while, and the new process has none of the
  // runtime changes.
  h.socket_down = true;
  h.haproxy = FakeHaproxy{};
  h.haproxy.pid = 2000;
  h.haproxy.add_backend("web", 2);
  h.advance(seconds(1));  // the probe fails
  EXPECT_FALSE(h.driver.connected());
  const auto attempts_before = h.sessions.size();
  h.advance(seconds(3));
  const auto attempts = h.sessions.size() - attempts_before;
  EXPECT_GE(attempts, 3u);   // 50, 100, 200, 400, 800 ms ... backoff
  EXPECT_LE(attempts, 10u);  // not a busy loop
  h.socket_down = false;
  h.advance(seconds(6));
  EXPECT_TRUE(h.driver.connected());
  EXPECT_EQ(h.haproxy.ready_endpoints("web"), std::vector<std::string>{"10.0.0.1:80"});
  EXPECT_GE(h.driver.counters().reconnects, 1u);
}

TEST(HaproxyDriver, StoppingWorkerMeansReconnect) {
  DriverHarness h;
  h.haproxy.add_backend("web", 2);
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  h.run_due();
  // After a reload the kept connection is attached to the old worker, which is stopping; the new
  // worker has only the configuration's state.
  h.haproxy.stopping = true;
  h.haproxy.execute("set server web/slot1 state maint");
  h.new_worker_on_connect = true;
  const auto before = h.sessions.size();
  h.advance(milliseconds(1001));
  // The probe saw it; the driver opened a fresh connection, read the state again and re-applied.
  bool fresh = false;
  for (std::size_t i = before; i < h.sessions.size(); ++i) {
    fresh = fresh || h.sessions[i].fresh_connection;
  }
  EXPECT_TRUE(fresh);
  EXPECT_EQ(h.haproxy.ready_endpoints("web"), std::vector<std::string>{"10.0.0.1:80"});
}

TEST(HaproxyDriver, StoppingWorkerOnEveryConnectionBacksOff) {
  DriverHarness h;
  h.haproxy.add_backend("web", 2);
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  h.run_due();
  h.haproxy.stopping = true;
  const auto before = h.sessions.size();
  h.advance(seconds(3));
  EXPECT_LT(h.sessions.size() - before, 15u);
}

TEST(HaproxyDriver, NewWorkerPidMeansReadEverythingAgain) {
  DriverHarness h;
  h.haproxy.add_backend("web", 2);
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  h.run_due();
  // Another process answers on the same connection's socket (restart behind a TCP proxy...):
  // its state is the configuration's.
  h.haproxy.pid = 4242;
  h.haproxy.execute("set server web/slot1 state maint");
  h.advance(milliseconds(1001));
  EXPECT_EQ(h.haproxy.ready_endpoints("web"), std::vector<std::string>{"10.0.0.1:80"});
}

TEST(HaproxyDriver, MissingBackendIsReportedAndRecheckedAtReconcile) {
  DriverSettings settings;
  settings.reconcile_interval = seconds(5);
  DriverHarness h(settings);
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  h.run_due();
  EXPECT_EQ(h.driver.missing_backends(), std::vector<std::string>{"web"});
  EXPECT_TRUE(h.driver.settled());
  // Nothing is retried in a loop meanwhile.
  const auto before = h.sessions.size();
  h.advance(seconds(3));
  for (std::size_t i = before; i < h.sessions.size(); ++i) {
    for (const auto& c : h.sessions[i].commands) EXPECT_NE(c.text, "show servers state web");
  }
  // The operator adds it and reloads; the next reconcile finds it and applies the routes.
  h.haproxy.add_backend("web", 2);
  h.advance(seconds(3));
  EXPECT_TRUE(h.driver.missing_backends().empty());
  EXPECT_EQ(h.haproxy.ready_endpoints("web"), std::vector<std::string>{"10.0.0.1:80"});
}

TEST(HaproxyDriver, BackendPrefixAndExtraBackends) {
  DriverSettings settings;
  settings.backend_prefix = "bk_";
  settings.extra_backends["web"] = {"bk_web.tcp"};
  DriverHarness h(settings);
  h.haproxy.add_backend("bk_web", 2);
  h.haproxy.add_backend("bk_web.tcp", 2);
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  h.run_due();
  EXPECT_EQ(h.haproxy.ready_endpoints("bk_web"), std::vector<std::string>{"10.0.0.1:80"});
  EXPECT_EQ(h.haproxy.ready_endpoints("bk_web.tcp"), std::vector<std::string>{"10.0.0.1:80"});
}

TEST(HaproxyDriver, UnusableRoutesAreNotSent) {
  DriverHarness h;
  h.haproxy.add_backend("web", 2);
  auto zero = route("web", "z", "0.0.0.0", 80);
  auto no_port = route("web", "p", "10.0.0.2", 0);
  h.set({{"web", {zero, no_port, route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  h.run_due();
  EXPECT_EQ(h.haproxy.ready_endpoints("web"), std::vector<std::string>{"10.0.0.1:80"});
}

TEST(HaproxyDriver, SlotExhaustionFallsBackToAddServerAndCleansUp) {
  DriverSettings settings;
  settings.plan.allow_add_server = true;
  DriverHarness h(settings);
  h.haproxy.add_backend("web", 1);
  h.set({{"web", {route("web", "a", "10.0.0.1", 80), route("web", "b", "10.0.0.2", 80)}}}, {"web"});
  h.run_due();
  ASSERT_TRUE(h.haproxy.server("web", "slot-add1"));
  EXPECT_EQ(h.haproxy.ready_endpoints("web").size(), 2u);
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  h.advance(milliseconds(500));
  EXPECT_FALSE(h.haproxy.server("web", "slot-add1"));  // drained, maint, deleted
  EXPECT_EQ(h.driver.counters().command_errors, 0u);
}

TEST(HaproxyDriver, SlotExhaustionWithoutFallbackWaits) {
  DriverHarness h;
  h.haproxy.add_backend("web", 1);
  h.set({{"web", {route("web", "a", "10.0.0.1", 80), route("web", "b", "10.0.0.2", 80)}}}, {"web"});
  h.run_due();
  EXPECT_EQ(h.driver.unplaced().at("web"), std::vector<std::string>{"b"});
  // A slot frees up: b gets it on the next plan.
  h.set({{"web", {route("web", "b", "10.0.0.2", 80)}}}, {"web"});
  h.advance(milliseconds(300));
  EXPECT_EQ(h.haproxy.ready_endpoints("web"), std::vector<std::string>{"10.0.0.2:80"});
  EXPECT_TRUE(h.driver.unplaced().empty());
}

TEST(HaproxyDriver, WeightZeroSlotsAreTakenOrPutInMaintenanceOnFirstSight) {
  // `server-template slot 1-3 127.0.0.1:9 weight 0`: in service but taking no requests, until
  // sherlock arrives; and so again after each reload of an external HAProxy.
  DriverSettings settings;
  settings.plan.allow_add_server = true;
  DriverHarness h(settings);
  h.haproxy.add_backend("web", 3);
  const auto park = [&] {
    for (auto& s : h.haproxy.backend("web")->servers) {
      s = FakeHaproxy::Server{s.id, s.name};
      s.admin = 0;
      s.uweight = s.iweight = 0;
    }
  };
  park();
  const Routes routes = {
      {"web", {route("web", "a", "10.0.0.1", 80), route("web", "b", "10.0.0.2", 80)}}};
  h.set(routes, {"web"});
  h.run_due();
  EXPECT_EQ(h.haproxy.ready_endpoints("web"),
            (std::vector<std::string>{"10.0.0.1:80", "10.0.0.2:80"}));
  EXPECT_EQ(h.haproxy.server("web", "slot1")->uweight, 100);
  EXPECT_EQ(h.haproxy.server("web", "slot3")->admin, 1);  // FMAINT only: no config bit
  EXPECT_FALSE(h.haproxy.server("web", "slot-add1"));
  // The operator reloads: every slot parked again. Same slots, no `add server`.
  park();
  h.haproxy.pid += 1;
  h.driver.on_haproxy_restarted(h.clock.now());
  h.run_due();
  EXPECT_EQ(h.haproxy.ready_endpoints("web"),
            (std::vector<std::string>{"10.0.0.1:80", "10.0.0.2:80"}));
  EXPECT_EQ(h.haproxy.server("web", "slot3")->admin, 1);
  EXPECT_FALSE(h.haproxy.server("web", "slot-add1"));
  EXPECT_EQ(h.driver.counters().command_errors, 0u);
}

TEST(HaproxyDriver, RestartNotificationDropsTheInFlightSession) {
  DriverHarness h;
  h.haproxy.add_backend("web", 2);
  h.set({{"web", {}}}, {"web"});
  h.run_due();
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  auto s = h.driver.on_timer(h.clock.now());
  ASSERT_TRUE(s);
  h.driver.on_haproxy_restarted(h.clock.now());
  h.driver.on_failure("operation aborted", h.clock.now());  // the transport was closed
  auto next = h.driver.on_timer(h.clock.now());
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->fresh_connection);
  std::vector<std::string> lines;
  for (const auto& c : next->commands) lines.push_back(c.text);
  h.driver.on_replies(h.haproxy.run(lines), h.clock.now());
  h.run_due();
  EXPECT_EQ(h.haproxy.ready_endpoints("web"), std::vector<std::string>{"10.0.0.1:80"});
  EXPECT_EQ(h.driver.counters().session_failures, 0u);
}

TEST(HaproxyDriver, MetricsNameEveryBackend) {
  DriverHarness h;
  h.haproxy.add_backend("web", 4);
  h.set({{"web", {route("web", "a", "10.0.0.1", 80)}}}, {"web"});
  h.run_due();
  std::string out;
  h.driver.append_metrics(out);
  EXPECT_NE(out.find("baker_sherlock_haproxy_slots{backend=\"web\",state=\"used\"} 1"),
            std::string::npos);
  EXPECT_NE(out.find("baker_sherlock_haproxy_slots{backend=\"web\",state=\"free\"} 3"),
            std::string::npos);
  EXPECT_NE(out.find("baker_sherlock_haproxy_commands_total 5"), std::string::npos);
  EXPECT_NE(out.find("baker_sherlock_haproxy_sessions_total 2"), std::string::npos);
  EXPECT_NE(out.find("baker_sherlock_haproxy_last_apply_seconds 0"), std::string::npos);
  EXPECT_EQ(baker::testing::check_metrics(out), std::vector<std::string>{}) << out;
  // Appended to what is already there (sherlock's own families come first).
  std::string page = "# HELP baker_sherlock_routes R.\n# TYPE baker_sherlock_routes gauge\n";
  h.driver.append_metrics(page);
  EXPECT_EQ(page.rfind("# HELP baker_sherlock_routes R.\n", 0), 0u);
  EXPECT_EQ(page.substr(page.find('\n', page.find('\n') + 1) + 1), out);
}

}  // namespace
}  // namespace baker::sherlock::haproxy
