#include "sherlock/managed_reloader.hpp"

#include <gtest/gtest.h>

#include "haproxy_fake.hpp"
#include "sherlock/managed_state.hpp"

namespace baker::sherlock::haproxy {
namespace {

using namespace reloader;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Routes = ManagedReloader::Routes;

wire::Route route(const std::string& service, const std::string& id, const std::string& addr,
                  std::uint16_t port) {
  wire::Route r;
  r.service = service;
  r.instance = id;
  r.address = *wire::IpAddress::parse(addr);
  r.port = port;
  return r;
}

ProcessList procs(int reloads, int failed = 0, bool current_worker = true) {
  ProcessList p;
  p.master_pid = 100;
  p.reloads = reloads;
  p.failed_reloads = failed;
  if (current_worker) p.workers.push_back({101, 0});
  return p;
}

template <class T>
const T* first(const Actions& actions) {
  for (const auto& a : actions) {
    if (const auto* t = std::get_if<T>(&a)) return t;
  }
  return nullptr;
}

template <class T>
int count(const Actions& actions) {
  int n = 0;
  for (const auto& a : actions) n += std::holds_alternative<T>(a) ? 1 : 0;
  return n;
}

// Actions that ask the shell to do something (log lines left out), to compare sequences.
std::vector<std::size_t> kinds(const Actions& actions) {
  std::vector<std::size_t> out;
  for (const auto& a : actions) {
    if (!std::holds_alternative<Log>(a)) out.push_back(a.index());
  }
  return out;
}

template <class T>
std::size_t kind() {
  return Action(T{}).index();
}

std::string logged(const Actions& actions, LogLevel level) {
  std::string out;
  for (const auto& a : actions) {
    if (const auto* l = std::get_if<Log>(&a); l && l->level == level) out += l->text + "\n";
  }
  return out;
}

// The core in simulated time: `now` moves only when a test says so, and the shell's part (files,
// processes, sockets) is played by the test, one reported outcome at a time.
class ReloaderTest : public ::testing::Test {
 protected:
  explicit ReloaderTest(ManagedSettings settings = {}) : settings_(std::move(settings)) {
    DriverSettings d;
    d.managed = true;
    driver_ = std::make_unique<HaproxyDriver>(d);
    core_ = std::make_unique<ManagedReloader>(settings_, "/run", *driver_);
  }

  void advance(Duration d) { now_ += d; }
  // Moves time to the core's next deadline and fires it.
  Actions fire() {
    const auto at = core_->next_deadline();
    EXPECT_TRUE(at);
    if (!at) return {};
    EXPECT_GE(*at, now_);
    now_ = *at;
    return core_->on_timer(now_);
  }

  // start() -> Started, with every step succeeding at once.
  void start_up() {
    auto a = core_->start(now_);
    ASSERT_TRUE(first<WriteConfig>(a));
    a = core_->on_config_written("", now_);
    ASSERT_TRUE(first<WriteServerState>(a));
    a = core_->on_server_state_written("", now_);
    ASSERT_TRUE(first<RunCheck>(a));
    a = core_->on_check_done(0, "", now_);
    ASSERT_TRUE(first<StartMaster>(a));
    a = core_->on_master_started(100, "", now_);
    ASSERT_TRUE(first<ProbeSocket>(a));
    a = core_->on_socket_probed(true, now_);
    ASSERT_TRUE(first<QueryMaster>(a));
    a = core_->on_show_proc(procs(0), "", now_);
    ASSERT_TRUE(first<Started>(a));
    ASSERT_TRUE(core_->started());
  }

  // A reload that has written its candidate: the check passes, it is installed, the master is
  // asked, reloaded and confirms at the first poll. Returns the actions of the confirmation.
  Actions finish_reload(int reloads_before = 0) {
    auto a = core_->on_config_written("", now_);
    EXPECT_TRUE(first<RunCheck>(a));
    a = core_->on_check_done(0, "", now_);
    EXPECT_TRUE(first<InstallConfig>(a));
    a = core_->on_config_installed("", now_);
    EXPECT_TRUE(first<QueryMaster>(a));
    a = core_->on_show_proc(procs(reloads_before), "", now_);
    EXPECT_TRUE(first<WriteServerState>(a));
    a = core_->on_server_state_written("", now_);
    EXPECT_TRUE(first<QueryMaster>(a));
    a = core_->on_reload_sent("", now_);
    EXPECT_TRUE(a.empty());
    a = fire();
    EXPECT_TRUE(first<QueryMaster>(a));
    return core_->on_show_proc(procs(reloads_before + 1), "", now_);
  }

  // As the sink does: the driver learns the routes first, then the core looks at them.
  Actions routes_changed(const Routes& routes) {
    std::vector<std::string> names;
    for (const auto& [service, r] : routes) names.push_back(service);
    driver_->set_routes(routes, names, now_);
    return core_->on_routes(&routes, now_);
  }

  Routes web() { return {{"web", {route("web", "a", "10.0.0.1", 80)}}}; }

  // Runs the driver's sessions against `haproxy` until it has nothing more to send.
  void drive(testing::FakeHaproxy& haproxy) {
    for (int i = 0; i < 20; ++i) {
      auto s = driver_->on_timer(now_);
      if (!s) return;
      std::vector<std::string> lines;
      for (const auto& c : s->commands) lines.push_back(c.text);
      driver_->on_replies(haproxy.run(lines), now_);
    }
  }

  ManagedSettings settings_;
  std::unique_ptr<HaproxyDriver> driver_;
  std::unique_ptr<ManagedReloader> core_;
  TimePoint now_ = TimePoint{} + std::chrono::hours(1);
};

// Start-up.

TEST_F(ReloaderTest, StartUpWritesChecksAndStartsTheFirstConfiguration) {
  auto a = core_->start(now_);
  ASSERT_EQ(a.size(), 1u);
  const auto* write = first<WriteConfig>(a);
  ASSERT_TRUE(write);
  EXPECT_EQ(write->path, "/run/haproxy.cfg");  // nothing runs yet: no candidate
  EXPECT_NE(write->text.find("stats socket /run/sherlock-1.sock"), std::string::npos);
  EXPECT_NE(write->text.find("stats socket /run/haproxy.sock"), std::string::npos);
  a = core_->on_config_written("", now_);
  ASSERT_TRUE(first<WriteServerState>(a));
  EXPECT_EQ(first<WriteServerState>(a)->path, "/run/servers.state");
  a = core_->on_server_state_written("", now_);
  ASSERT_TRUE(first<RunCheck>(a));
  EXPECT_EQ(first<RunCheck>(a)->argv,
            (std::vector<std::string>{"haproxy", "-c", "-q", "-f", "/run/haproxy.cfg"}));
  a = core_->on_check_done(0, "", now_);
  ASSERT_TRUE(first<StartMaster>(a));
  EXPECT_EQ(first<StartMaster>(a)->argv,
            (std::vector<std::string>{"haproxy", "-W", "-S", "/run/master.sock,mode,600", "-p",
                                      "/run/haproxy.pid", "-f", "/run/haproxy.cfg"}));
  EXPECT_EQ(core_->generation(), 1u);
}

TEST_F(ReloaderTest, StartUpWritesTheServerStateFileFromTheRoutesBeforeTheCheck) {
  Routes routes = web();
  routes["web"].push_back(route("web", "b", "10.0.0.2", 80));
  routes["web"].back().state = wire::InstanceState::draining;  // not placed: no slot
  driver_->set_routes(routes, {"web"}, now_);
  auto a = core_->start(now_, &routes);
  ASSERT_TRUE(first<WriteConfig>(a));
  EXPECT_NE(first<WriteConfig>(a)->text.find("    server-state-file /run/servers.state\n"),
            std::string::npos);
  EXPECT_NE(first<WriteConfig>(a)->text.find("    load-server-state-from-file global\n"),
            std::string::npos);
  a = core_->on_config_written("", now_);
  ASSERT_EQ(kinds(a), std::vector<std::size_t>{kind<WriteServerState>()});
  const auto& text = first<WriteServerState>(a)->text;
  EXPECT_EQ(text.rfind("1\n# be_id be_name srv_id srv_name ", 0), 0u);
  EXPECT_NE(text.find("\n0 web 1 slot1 - 2 0 100 100 0 1 0 0 0 0 0 0 - 80 -\n"), std::string::npos);
  EXPECT_NE(text.find("\n0 web 2 slot2 - 2 1 0 0 0 1 0 0 0 0 0 0 - 9 -\n"), std::string::npos);
  EXPECT_EQ(text.find("slot17"), std::string::npos);  // 16 slots, one line each
  EXPECT_NE(text.find("\n0 web 16 slot16 "), std::string::npos);
  // A file that cannot be written is a start-up failure.
  ManagedReloader other(settings_, "/run", *driver_);
  other.start(now_, &routes);
  other.on_config_written("", now_);
  a = other.on_server_state_written("No space left on device", now_);
  ASSERT_TRUE(first<StartFailed>(a));
  EXPECT_NE(first<StartFailed>(a)->why.find("cannot write /run/servers.state: No space left"),
            std::string::npos);
}

TEST_F(ReloaderTest, StartUpIsReadyOnlyWhenTheAdminSocketAnswersAndTheMasterListsAWorker) {
  core_->start(now_);
  core_->on_config_written("", now_);
  core_->on_server_state_written("", now_);
  core_->on_check_done(0, "", now_);
  auto a = core_->on_master_started(100, "", now_);
  ASSERT_TRUE(first<ProbeSocket>(a));
  EXPECT_EQ(first<ProbeSocket>(a)->path, "/run/sherlock-1.sock");
  // The admin socket does not answer yet: probe again after the poll interval.
  a = core_->on_socket_probed(false, now_);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(core_->next_deadline(), now_ + milliseconds(10));
  EXPECT_TRUE(core_->on_timer(now_ + milliseconds(5)).empty());  // early: nothing
  a = fire();
  ASSERT_TRUE(first<ProbeSocket>(a));
  // It answers, but the master lists no current worker (the frontend bind may still fail).
  a = core_->on_socket_probed(true, now_);
  ASSERT_TRUE(first<QueryMaster>(a));
  EXPECT_EQ(first<QueryMaster>(a)->socket, "/run/master.sock");
  EXPECT_EQ(first<QueryMaster>(a)->command, "show proc");
  EXPECT_EQ(first<QueryMaster>(a)->timeout, milliseconds(500));
  a = core_->on_show_proc(procs(0, 0, false), "", now_);
  EXPECT_FALSE(first<Started>(a));
  EXPECT_FALSE(core_->started());
  a = fire();
  ASSERT_TRUE(first<ProbeSocket>(a));
  a = core_->on_socket_probed(true, now_);
  a = core_->on_show_proc(std::nullopt, "Connection refused", now_);  // master CLI not up yet
  EXPECT_FALSE(first<Started>(a));
  a = fire();
  a = core_->on_socket_probed(true, now_);
  a = core_->on_show_proc(procs(0), "", now_);
  EXPECT_EQ(count<Started>(a), 1);
  EXPECT_NE(logged(a, LogLevel::info).find("running (master pid 100, configuration generation 1)"),
            std::string::npos);
  EXPECT_TRUE(core_->started());
  EXPECT_FALSE(core_->next_deadline());
}

TEST_F(ReloaderTest, MasterExitingDuringStartUpIsAStartUpFailureNamingTheCause) {
  core_->start(now_);
  core_->on_config_written("", now_);
  core_->on_server_state_written("", now_);
  core_->on_check_done(0, "", now_);
  core_->on_master_started(100, "", now_);
  core_->on_socket_probed(true, now_);  // haproxy opens its sockets before binding the frontend
  core_->on_show_proc(procs(0, 0, false), "", now_);
  const auto a = core_->on_master_exit(1, now_ + milliseconds(10));
  const auto* failed = first<StartFailed>(a);
  ASSERT_TRUE(failed);
  EXPECT_NE(failed->why.find("exited during start-up with status 1"), std::string::npos);
  EXPECT_NE(failed->why.find("--frontend 127.0.0.1:8000"), std::string::npos);
  EXPECT_FALSE(core_->started());
  EXPECT_FALSE(core_->next_deadline());
  // Nothing more happens; stop still stops whatever master may run.
  EXPECT_TRUE(core_->on_timer(now_ + seconds(1)).empty());
  EXPECT_EQ(count<StopMaster>(core_->stop(now_)), 1);
}

TEST_F(ReloaderTest, StartUpTimesOutWhenHaproxyNeverServes) {
  core_->start(now_);
  core_->on_config_written("", now_);
  core_->on_server_state_written("", now_);
  core_->on_check_done(0, "", now_);
  core_->on_master_started(100, "", now_);
  const auto started = now_;
  Actions a = core_->on_socket_probed(false, now_);
  int probes = 1;
  while (!first<StartFailed>(a) && probes < 10000) {
    a = fire();
    ASSERT_TRUE(first<ProbeSocket>(a));
    a = core_->on_socket_probed(false, now_);
    ++probes;
  }
  const auto* failed = first<StartFailed>(a);
  ASSERT_TRUE(failed);
  EXPECT_GE(now_ - started, seconds(30));
  EXPECT_LE(now_ - started, seconds(30) + milliseconds(10));
  EXPECT_NE(failed->why.find("start-up timeout (--haproxy-timeout)"), std::string::npos);
  EXPECT_NE(failed->why.find("/run/sherlock-1.sock does not answer"), std::string::npos);
}

TEST_F(ReloaderTest, RejectedFirstConfigurationAndMissingBinaryAreStartUpFailures) {
  core_->start(now_);
  core_->on_config_written("", now_);
  core_->on_server_state_written("", now_);
  auto a = core_->on_check_done(1, "[ALERT] parsing error", now_);
  ASSERT_TRUE(first<StartFailed>(a));
  EXPECT_NE(first<StartFailed>(a)->why.find("rejected the managed configuration /run/haproxy.cfg"),
            std::string::npos);
  EXPECT_NE(first<StartFailed>(a)->why.find("[ALERT] parsing error"), std::string::npos);
  EXPECT_FALSE(first<StartMaster>(a));

  ManagedReloader other(settings_, "/run", *driver_);
  other.start(now_);
  other.on_config_written("", now_);
  other.on_server_state_written("", now_);
  a = other.on_check_done(127, "", now_);
  ASSERT_TRUE(first<StartFailed>(a));
  EXPECT_EQ(first<StartFailed>(a)->why, "--haproxy-bin: cannot run 'haproxy'");
}

// Reloads.

TEST_F(ReloaderTest, NewServiceIsReloadedAndVerifiedByShowProc) {
  start_up();
  const auto routes = web();
  auto a = routes_changed(routes);
  EXPECT_NE(logged(a, LogLevel::info).find("reloading for new services web"), std::string::npos);
  const auto* write = first<WriteConfig>(a);
  ASSERT_TRUE(write);
  EXPECT_EQ(write->path, "/run/haproxy.cfg.new");
  EXPECT_NE(write->text.find("backend web\n"), std::string::npos);
  EXPECT_NE(write->text.find("server slot1 10.0.0.1:80"), std::string::npos);
  EXPECT_NE(write->text.find("stats socket /run/sherlock-2.sock"), std::string::npos);
  EXPECT_TRUE(core_->reloading());

  a = core_->on_config_written("", now_);
  ASSERT_TRUE(first<RunCheck>(a));
  EXPECT_EQ(first<RunCheck>(a)->argv,
            (std::vector<std::string>{"haproxy", "-c", "-q", "-f", "/run/haproxy.cfg.new"}));
  advance(milliseconds(50));
  a = core_->on_check_done(0, "", now_);
  ASSERT_TRUE(first<InstallConfig>(a));
  EXPECT_EQ(first<InstallConfig>(a)->from, "/run/haproxy.cfg.new");
  EXPECT_EQ(first<InstallConfig>(a)->to, "/run/haproxy.cfg");
  a = core_->on_config_installed("", now_);
  ASSERT_TRUE(first<QueryMaster>(a));
  EXPECT_EQ(first<QueryMaster>(a)->command, "show proc");
  EXPECT_EQ(first<QueryMaster>(a)->timeout, seconds(2));
  a = core_->on_show_proc(procs(3), "", now_);
  ASSERT_TRUE(first<WriteServerState>(a));
  a = core_->on_server_state_written("", now_);
  ASSERT_TRUE(first<QueryMaster>(a));
  EXPECT_EQ(first<QueryMaster>(a)->command, "reload");
  // 2.6 answers nothing to `reload`: the counter in `show proc` tells.
  EXPECT_TRUE(core_->on_reload_sent("", now_).empty());
  a = fire();
  ASSERT_TRUE(first<QueryMaster>(a));
  EXPECT_EQ(first<QueryMaster>(a)->command, "show proc");
  a = core_->on_show_proc(std::nullopt, "Connection refused", now_);  // re-executing
  EXPECT_TRUE(kinds(a).empty());
  a = fire();
  a = core_->on_show_proc(procs(3), "", now_);  // not yet
  EXPECT_TRUE(kinds(a).empty());
  a = fire();
  advance(milliseconds(10));
  a = core_->on_show_proc(procs(4), "", now_);
  ASSERT_EQ(kinds(a), (std::vector<std::size_t>{kind<RemoveFile>(), kind<SaveState>(),
                                                kind<reloader::NewWorker>()}));
  EXPECT_EQ(first<RemoveFile>(a)->path, "/run/sherlock-1.sock");
  EXPECT_EQ(first<reloader::NewWorker>(a)->admin_socket, "/run/sherlock-2.sock");
  EXPECT_EQ(core_->admin_socket(), "/run/sherlock-2.sock");
  EXPECT_EQ(core_->generation(), 2u);
  EXPECT_FALSE(core_->reloading());
  EXPECT_EQ(core_->counters().reloads, 1u);
  EXPECT_EQ(core_->counters().last_reload, milliseconds(50 + 10 + 10 + 10 + 10));
  std::string metrics;
  core_->append_metrics(metrics);
  EXPECT_NE(metrics.find("baker_sherlock_haproxy_reloads_total 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("baker_sherlock_haproxy_config_generation 2\n"), std::string::npos);
  EXPECT_NE(metrics.find("baker_sherlock_haproxy_last_reload_seconds 0.09\n"), std::string::npos);
  // The same routes again: the service is in the configuration, no reload.
  EXPECT_TRUE(routes_changed(routes).empty());
  EXPECT_FALSE(core_->next_deadline());
}

TEST_F(ReloaderTest, ChangesArrivingMidReloadGoIntoTheNextReload) {
  start_up();
  auto routes = web();
  auto a = routes_changed(routes);
  ASSERT_TRUE(first<WriteConfig>(a));
  a = core_->on_config_written("", now_);
  // While web's reload is checked, two further services arrive, one after the other.
  routes["api"] = {route("api", "x", "10.0.1.1", 90)};
  EXPECT_TRUE(routes_changed(routes).empty());
  routes["db"] = {route("db", "y", "10.0.2.1", 5432)};
  EXPECT_TRUE(routes_changed(routes).empty());
  routes["gone"] = {};  // a service without routes needs no backend
  EXPECT_TRUE(routes_changed(routes).empty());
  a = core_->on_check_done(0, "", now_);
  a = core_->on_config_installed("", now_);
  a = core_->on_show_proc(procs(0), "", now_);
  a = core_->on_server_state_written("", now_);
  EXPECT_TRUE(routes_changed(routes).empty());
  a = core_->on_reload_sent("", now_);
  a = fire();
  a = core_->on_show_proc(procs(1), "", now_);
  // Web's reload done, the next one starts at once with both new services.
  ASSERT_EQ(count<WriteConfig>(a), 1);
  EXPECT_NE(logged(a, LogLevel::info).find("reloading for new services api, db\n"),
            std::string::npos);
  const auto& text = first<WriteConfig>(a)->text;
  EXPECT_NE(text.find("backend web\n"), std::string::npos);
  EXPECT_NE(text.find("backend api\n"), std::string::npos);
  EXPECT_NE(text.find("backend db\n"), std::string::npos);
  EXPECT_EQ(text.find("backend gone\n"), std::string::npos);
  EXPECT_NE(text.find("stats socket /run/sherlock-3.sock"), std::string::npos);
  a = finish_reload(1);
  ASSERT_TRUE(first<reloader::NewWorker>(a));
  EXPECT_EQ(first<reloader::NewWorker>(a)->admin_socket, "/run/sherlock-3.sock");
  EXPECT_FALSE(first<WriteConfig>(a));  // nothing further waits
  EXPECT_EQ(core_->counters().reloads, 2u);
}

TEST_F(ReloaderTest, RejectedCheckKeepsTheRunningConfigAndRetriesWithBackoff) {
  start_up();
  const auto routes = web();
  routes_changed(routes);
  core_->on_config_written("", now_);
  auto a = core_->on_check_done(1, "[ALERT] bad line", now_);
  EXPECT_TRUE(kinds(a).empty());  // not installed, no reload
  const auto errors = logged(a, LogLevel::error);
  EXPECT_NE(errors.find("rejected the new configuration (the running one stays): [ALERT] bad line"),
            std::string::npos);
  EXPECT_NE(errors.find("retrying in 1 s"), std::string::npos);
  EXPECT_EQ(core_->generation(), 1u);
  EXPECT_EQ(core_->counters().reload_failures, 1u);
  EXPECT_EQ(core_->next_deadline(), now_ + seconds(1));
  // Routes arriving meanwhile wait for the retry.
  advance(milliseconds(500));
  EXPECT_TRUE(routes_changed(routes).empty());
  a = fire();
  ASSERT_TRUE(first<WriteConfig>(a));
  EXPECT_NE(first<WriteConfig>(a)->text.find("backend web\n"), std::string::npos);
  // Rejected again: the delay doubles.
  core_->on_config_written("", now_);
  a = core_->on_check_done(1, "", now_);
  EXPECT_NE(logged(a, LogLevel::error).find("retrying in 2 s"), std::string::npos);
  EXPECT_EQ(core_->next_deadline(), now_ + seconds(2));
  a = fire();
  ASSERT_TRUE(first<WriteConfig>(a));
  core_->on_config_written("", now_);
  a = core_->on_check_done(1, "", now_);
  EXPECT_EQ(core_->next_deadline(), now_ + seconds(4));
  // A success resets it.
  fire();
  a = finish_reload();
  ASSERT_TRUE(first<reloader::NewWorker>(a));
  EXPECT_EQ(core_->counters().reload_failures, 3u);
  Routes more = web();
  more["api"] = {route("api", "x", "10.0.1.1", 90)};
  routes_changed(more);
  core_->on_config_written("", now_);
  a = core_->on_check_done(1, "", now_);
  EXPECT_EQ(core_->next_deadline(), now_ + seconds(1));
}

TEST_F(ReloaderTest, ShowProcReportingAFailedReloadIsAFailure) {
  start_up();
  const auto routes = web();
  routes_changed(routes);
  core_->on_config_written("", now_);
  core_->on_check_done(0, "", now_);
  core_->on_config_installed("", now_);
  core_->on_show_proc(procs(2, 1), "", now_);
  core_->on_server_state_written("", now_);
  core_->on_reload_sent("", now_);
  fire();
  const auto a = core_->on_show_proc(procs(3, 2), "", now_);
  EXPECT_TRUE(kinds(a).empty());  // no new worker announced
  EXPECT_NE(logged(a, LogLevel::error).find("the master reports the reload failed"),
            std::string::npos);
  EXPECT_EQ(core_->generation(), 1u);
  EXPECT_EQ(core_->admin_socket(), "/run/sherlock-1.sock");
  EXPECT_EQ(core_->counters().reload_failures, 1u);
  EXPECT_EQ(core_->counters().reloads, 0u);
  // The service is retried.
  ASSERT_EQ(core_->next_deadline(), now_ + seconds(1));
  EXPECT_TRUE(first<WriteConfig>(fire()));
}

TEST_F(ReloaderTest, ReloadTimesOutWhenNoNewWorkerAppears) {
  start_up();
  const auto routes = web();
  routes_changed(routes);
  const auto started = now_;
  core_->on_config_written("", now_);
  core_->on_check_done(0, "", now_);
  core_->on_config_installed("", now_);
  core_->on_show_proc(procs(0), "", now_);
  core_->on_server_state_written("", now_);
  core_->on_reload_sent("", now_);
  Actions a;
  for (int polls = 0; polls < 10000; ++polls) {
    a = fire();
    ASSERT_TRUE(first<QueryMaster>(a));
    a = core_->on_show_proc(procs(0), "", now_);
    if (!logged(a, LogLevel::error).empty()) break;
  }
  EXPECT_NE(logged(a, LogLevel::error).find("no new worker within the reload timeout"),
            std::string::npos);
  EXPECT_GT(now_ - started, seconds(30));
  EXPECT_LE(now_ - started, seconds(30) + milliseconds(10));
  EXPECT_FALSE(first<reloader::NewWorker>(a));
  EXPECT_EQ(core_->counters().reload_failures, 1u);
  EXPECT_EQ(core_->next_deadline(), now_ + seconds(1));
}

TEST_F(ReloaderTest, MasterCliFailuresFailTheReload) {
  start_up();
  const auto routes = web();
  routes_changed(routes);
  core_->on_config_written("", now_);
  core_->on_check_done(0, "", now_);
  auto a = core_->on_config_installed("", now_);
  a = core_->on_show_proc(std::nullopt, "Connection refused", now_);
  EXPECT_NE(logged(a, LogLevel::error).find("master socket 'show proc': Connection refused"),
            std::string::npos);
  EXPECT_FALSE(first<QueryMaster>(a));
  fire();
  core_->on_config_written("", now_);
  core_->on_check_done(0, "", now_);
  core_->on_config_installed("", now_);
  core_->on_show_proc(procs(0), "", now_);
  core_->on_server_state_written("", now_);
  a = core_->on_reload_sent("Broken pipe", now_);
  EXPECT_NE(logged(a, LogLevel::error).find("master socket 'reload': Broken pipe"),
            std::string::npos);
  EXPECT_EQ(core_->counters().reload_failures, 2u);
}

TEST_F(ReloaderTest, BackendOutOfSlotsReloadsWithTwiceTheSlots) {
  settings_.slots = 2;
  core_ = std::make_unique<ManagedReloader>(settings_, "/run", *driver_);
  start_up();
  Routes routes = web();
  routes_changed(routes);
  finish_reload();
  // The new worker has web's 2 slots; three instances come: one finds no slot.
  testing::FakeHaproxy haproxy;
  haproxy.add_backend("web", 2);
  routes["web"].push_back(route("web", "b", "10.0.0.2", 80));
  routes["web"].push_back(route("web", "c", "10.0.0.3", 80));
  driver_->set_routes(routes, {"web"}, now_);
  drive(haproxy);
  ASSERT_EQ(driver_->unplaced().count("web"), 1u);
  const auto a = core_->on_routes(nullptr, now_);
  EXPECT_NE(logged(a, LogLevel::info).find("more slots in web"), std::string::npos);
  const auto* write = first<WriteConfig>(a);
  ASSERT_TRUE(write);
  // Doubled: 2 -> 4, every instance in a slot, the two placed ones where they are.
  EXPECT_NE(write->text.find("server slot4 127.0.0.1:9 weight 0\n"), std::string::npos);
  EXPECT_EQ(write->text.find("server slot5"), std::string::npos);
  EXPECT_NE(write->text.find(" 10.0.0.3:80 "), std::string::npos);
}

TEST_F(ReloaderTest, ServerStateIsWrittenFromTheDriverRightBeforeTheReload) {
  settings_.slots = 2;
  core_ = std::make_unique<ManagedReloader>(settings_, "/run", *driver_);
  start_up();
  Routes routes = web();
  routes_changed(routes);
  finish_reload();
  testing::FakeHaproxy haproxy;
  haproxy.add_backend("web", 2);
  drive(haproxy);  // a in slot1
  ASSERT_EQ(haproxy.ready_endpoints("web"), std::vector<std::string>{"10.0.0.1:80"});

  // A new service: the plan has a in slot1, slot2 free.
  routes["api"] = {route("api", "x", "10.0.1.1", 90)};
  auto a = routes_changed(routes);
  ASSERT_TRUE(first<WriteConfig>(a));
  EXPECT_NE(first<WriteConfig>(a)->text.find("server slot1 10.0.0.1:80 weight 100\n"),
            std::string::npos);
  EXPECT_NE(first<WriteConfig>(a)->text.find("server slot2 127.0.0.1:9 weight 0\n"),
            std::string::npos);
  core_->on_config_written("", now_);
  // While it is checked, a leaves (a request still on it) and b arrives: the running worker
  // drains a and puts b in slot2.
  haproxy.server("web", "slot1")->sessions = 1;
  routes["web"] = {route("web", "b", "10.0.0.2", 80)};
  driver_->set_routes(routes, {"web"}, now_);
  drive(haproxy);
  ASSERT_EQ(haproxy.ready_endpoints("web"), std::vector<std::string>{"10.0.0.2:80"});
  core_->on_check_done(0, "", now_);
  core_->on_config_installed("", now_);
  a = core_->on_show_proc(procs(1), "", now_);
  ASSERT_EQ(kinds(a), std::vector<std::size_t>{kind<WriteServerState>()});
  const auto& text = first<WriteServerState>(a)->text;
  // a starts draining in the new worker, as in the old one; slot2's line is the free address, so
  // it starts in maintenance (b reaches the new worker when the driver reads it).
  EXPECT_NE(text.find("\n0 web 1 slot1 - 2 8 100 100 "), std::string::npos) << text;
  EXPECT_NE(text.find("\n0 web 2 slot2 - 2 1 "), std::string::npos) << text;
  EXPECT_NE(text.find("\n0 api 1 slot1 - 2 0 100 100 0 1 0 0 0 0 0 0 - 90 -\n"), std::string::npos);
  a = core_->on_server_state_written("", now_);
  ASSERT_TRUE(first<QueryMaster>(a));
  EXPECT_EQ(first<QueryMaster>(a)->command, "reload");
}

TEST_F(ReloaderTest, UnwritableServerStateFailsTheReloadBeforeItIsSent) {
  start_up();
  routes_changed(web());
  core_->on_config_written("", now_);
  core_->on_check_done(0, "", now_);
  core_->on_config_installed("", now_);
  core_->on_show_proc(procs(0), "", now_);
  auto a = core_->on_server_state_written("Read-only file system", now_);
  EXPECT_FALSE(first<QueryMaster>(a));  // no `reload` with a stale file
  EXPECT_NE(logged(a, LogLevel::error)
                .find("reload failed: cannot write /run/servers.state: Read-only file system"),
            std::string::npos);
  EXPECT_EQ(core_->counters().reload_failures, 1u);
  ASSERT_EQ(core_->next_deadline(), now_ + seconds(1));
  a = fire();
  ASSERT_TRUE(first<WriteConfig>(a));  // web is retried
  EXPECT_NE(first<WriteConfig>(a)->text.find("backend web\n"), std::string::npos);
  a = finish_reload();
  ASSERT_TRUE(first<reloader::NewWorker>(a));
}

TEST_F(ReloaderTest, MasterExitWhileTheServerStateIsWrittenRestartsWithItsServices) {
  start_up();
  routes_changed(web());
  core_->on_config_written("", now_);
  core_->on_check_done(0, "", now_);
  core_->on_config_installed("", now_);
  ASSERT_TRUE(first<WriteServerState>(core_->on_show_proc(procs(0), "", now_)));
  auto a = core_->on_master_exit(1, now_);
  EXPECT_EQ(count<CancelPending>(a), 0);  // a file write: nothing in flight to abandon
  EXPECT_TRUE(core_->on_server_state_written("", now_).empty());  // its late outcome
  a = fire();
  ASSERT_TRUE(first<WriteConfig>(a));
  EXPECT_EQ(first<WriteConfig>(a)->path, "/run/haproxy.cfg");
  EXPECT_NE(first<WriteConfig>(a)->text.find("backend web\n"), std::string::npos);
  a = core_->on_config_written("", now_);
  ASSERT_TRUE(first<WriteServerState>(a));
  EXPECT_NE(first<WriteServerState>(a)->text.find("\n0 web 1 slot1 - 2 0 100 100 "),
            std::string::npos);
  a = core_->on_server_state_written("", now_);
  ASSERT_TRUE(first<StartMaster>(a));
}

// Restarts.

TEST_F(ReloaderTest, MasterExitRestartsAfterBackoffThatDoublesAndResetsAfterAMinuteOfUptime) {
  start_up();
  const auto restart = [&](Duration uptime, Duration expected_delay, std::uint64_t generation) {
    advance(uptime);
    auto a = core_->on_master_exit(137, now_);
    EXPECT_TRUE(kinds(a).empty());
    EXPECT_NE(logged(a, LogLevel::error).find("exited with status 137"), std::string::npos);
    EXPECT_EQ(core_->next_deadline(), now_ + expected_delay);
    EXPECT_TRUE(core_->on_timer(now_ + expected_delay - milliseconds(1)).empty());
    a = fire();
    const auto* write = first<WriteConfig>(a);
    EXPECT_TRUE(write);
    if (!write) return;
    EXPECT_EQ(write->path, "/run/haproxy.cfg");  // no master runs: written in place
    a = core_->on_config_written("", now_);
    EXPECT_TRUE(first<WriteServerState>(a));
    a = core_->on_server_state_written("", now_);
    EXPECT_TRUE(first<StartMaster>(a));
    a = core_->on_master_started(200, "", now_);
    EXPECT_TRUE(first<reloader::NewWorker>(a));
    if (first<reloader::NewWorker>(a)) {
      EXPECT_EQ(first<reloader::NewWorker>(a)->admin_socket,
                "/run/sherlock-" + std::to_string(generation) + ".sock");
    }
    EXPECT_EQ(core_->master_pid(), 200);
  };
  restart(seconds(5), seconds(1), 2);
  restart(seconds(10), seconds(2), 3);
  restart(seconds(10), seconds(4), 4);
  restart(seconds(61), seconds(1), 5);  // it ran over a minute: back to the first delay
  restart(seconds(1), seconds(2), 6);
  EXPECT_EQ(core_->counters().restarts, 5u);
  std::string metrics;
  core_->append_metrics(metrics);
  EXPECT_NE(metrics.find("baker_sherlock_haproxy_restarts_total 5\n"), std::string::npos);
}

TEST_F(ReloaderTest, MasterExitDuringAReloadAbandonsItAndTheRestartTakesItsServices) {
  start_up();
  const auto routes = web();
  routes_changed(routes);
  core_->on_config_written("", now_);  // checking
  auto a = core_->on_master_exit(1, now_);
  EXPECT_EQ(count<CancelPending>(a), 1);
  EXPECT_TRUE(core_->on_check_done(0, "", now_).empty());  // the killed check's late outcome
  a = fire();
  ASSERT_TRUE(first<WriteConfig>(a));
  EXPECT_NE(first<WriteConfig>(a)->text.find("backend web\n"), std::string::npos);
  core_->on_config_written("", now_);
  core_->on_server_state_written("", now_);
  a = core_->on_master_started(300, "", now_);
  EXPECT_FALSE(first<WriteConfig>(a));  // nothing left for a reload
  EXPECT_EQ(core_->generation(), 2u);
  EXPECT_TRUE(routes_changed(routes).empty());
}

TEST_F(ReloaderTest, FailedRestartIsRetriedWithBackoff) {
  start_up();
  core_->on_master_exit(1, now_);
  fire();
  core_->on_config_written("", now_);
  core_->on_server_state_written("", now_);
  auto a = core_->on_master_started(-1, "fork failed: Resource temporarily unavailable", now_);
  EXPECT_NE(logged(a, LogLevel::error).find("cannot restart haproxy: fork failed"),
            std::string::npos);
  EXPECT_EQ(core_->next_deadline(), now_ + seconds(2));
  a = fire();
  ASSERT_TRUE(first<WriteConfig>(a));
  core_->on_config_written("", now_);
  core_->on_server_state_written("", now_);
  a = core_->on_master_started(-1, "fork failed", now_);
  EXPECT_EQ(core_->next_deadline(), now_ + seconds(4));  // doubled
  EXPECT_EQ(core_->counters().restarts, 1u);             // one exit, however many attempts
}

// Stop.

TEST_F(ReloaderTest, StopDuringAReloadAbandonsIt) {
  start_up();
  const auto routes = web();
  routes_changed(routes);
  core_->on_config_written("", now_);
  core_->on_check_done(0, "", now_);
  core_->on_config_installed("", now_);
  core_->on_show_proc(procs(0), "", now_);
  core_->on_server_state_written("", now_);
  core_->on_reload_sent("", now_);
  fire();  // a `show proc` is in flight
  auto a = core_->stop(now_);
  ASSERT_EQ(kinds(a), (std::vector<std::size_t>{kind<CancelPending>(), kind<StopMaster>(),
                                                kind<RemoveFile>()}));
  EXPECT_EQ(first<StopMaster>(a)->grace, seconds(10));
  EXPECT_TRUE(core_->stopped());
  EXPECT_FALSE(core_->next_deadline());
  // What the shell might still report changes nothing.
  EXPECT_TRUE(core_->on_show_proc(procs(1), "", now_).empty());
  EXPECT_TRUE(core_->on_master_exit(0, now_).empty());
  EXPECT_TRUE(routes_changed(routes).empty());
  EXPECT_TRUE(core_->on_timer(now_ + seconds(60)).empty());
  EXPECT_TRUE(core_->stop(now_).empty());
  EXPECT_EQ(core_->counters().reloads, 0u);
  EXPECT_EQ(core_->counters().restarts, 0u);
}

TEST_F(ReloaderTest, StopWhileIdleStopsTheMaster) {
  start_up();
  const auto a = core_->stop(now_);
  EXPECT_EQ(kinds(a), (std::vector<std::size_t>{kind<StopMaster>(), kind<RemoveFile>()}));
  EXPECT_EQ(first<RemoveFile>(a)->path, "/run/sherlock.state");  // nothing left to adopt
}

TEST(ReloaderKeep, KeepOnExitLeavesHaproxyServingAndItsStateFile) {
  ManagedSettings settings;
  settings.stop_on_exit = false;
  DriverSettings d;
  d.managed = true;
  HaproxyDriver driver(d);
  ManagedReloader core(settings, "/run", driver);
  const TimePoint now{};
  core.start(now);
  core.on_config_written("", now);
  core.on_server_state_written("", now);
  core.on_check_done(0, "", now);
  core.on_master_started(100, "", now);
  core.on_socket_probed(true, now);
  ASSERT_TRUE(first<Started>(core.on_show_proc(procs(0), "", now)));
  const auto a = core.stop(now);
  EXPECT_EQ(count<StopMaster>(a), 0);
  EXPECT_EQ(count<RemoveFile>(a), 0);
  EXPECT_NE(logged(a, LogLevel::info).find("leaving haproxy serving (master pid 100)"),
            std::string::npos);
}

// Start from the routes, and the state the next sherlock adopts.

TEST_F(ReloaderTest, StartWithRoutesWritesEveryServiceIntoTheFirstConfiguration) {
  Routes routes = web();
  routes["api"] = {route("api", "b", "10.0.0.2", 81)};
  routes["empty"] = {};
  std::vector<std::string> names{"web", "api", "empty"};
  driver_->set_routes(routes, names, now_);
  const auto a = core_->start(now_, &routes);
  const auto* write = first<WriteConfig>(a);
  ASSERT_TRUE(write);
  EXPECT_NE(write->text.find("backend web\n"), std::string::npos);
  EXPECT_NE(write->text.find("backend api\n"), std::string::npos);
  EXPECT_EQ(write->text.find("backend empty\n"), std::string::npos);  // no route, no backend
  EXPECT_NE(write->text.find("server slot1 10.0.0.1:80"), std::string::npos);
  EXPECT_NE(write->text.find("server slot1 10.0.0.2:81"), std::string::npos);
  core_->on_config_written("", now_);
  core_->on_server_state_written("", now_);
  core_->on_check_done(0, "", now_);
  core_->on_master_started(100, "", now_);
  core_->on_socket_probed(true, now_);
  // Started with both services: the same routes need no reload.
  ASSERT_TRUE(first<Started>(core_->on_show_proc(procs(0), "", now_)));
  EXPECT_TRUE(routes_changed(routes).empty());
}

TEST_F(ReloaderTest, StartedAndReloadedSaveWhatTheNextSherlockAdopts) {
  start_up();
  routes_changed(web());
  const auto a = finish_reload();
  const auto* save = first<SaveState>(a);
  ASSERT_TRUE(save);
  EXPECT_EQ(save->path, "/run/sherlock.state");
  std::string why;
  const auto state = parse_managed_state(save->text, &why);
  ASSERT_TRUE(state) << why;
  EXPECT_EQ(state->master_pid, 100);
  EXPECT_EQ(state->generation, 2u);
  EXPECT_EQ(state->settings, settings_fingerprint(settings_));
  EXPECT_EQ(state->http, (std::map<std::string, int>{{"web", 16}}));
}

ManagedState adoptable(const ManagedSettings& settings) {
  ManagedState s;
  s.master_pid = 4242;
  s.generation = 7;
  s.settings = settings_fingerprint(settings);
  s.http = {{"web", 16}};
  return s;
}

TEST_F(ReloaderTest, AdoptionProbesTheRunningHaproxyAndSpawnsNothing) {
  auto a = core_->adopt(adoptable(settings_), now_);
  ASSERT_EQ(kinds(a), (std::vector<std::size_t>{kind<ProbeSocket>()}));
  EXPECT_EQ(first<ProbeSocket>(a)->path, "/run/sherlock-7.sock");
  a = core_->on_socket_probed(true, now_);
  ASSERT_TRUE(first<QueryMaster>(a));
  EXPECT_EQ(first<QueryMaster>(a)->command, "show proc");
  a = core_->on_show_proc(procs(0), "", now_);
  EXPECT_EQ(count<Started>(a), 1);
  EXPECT_EQ(count<StartMaster>(a) + count<WriteConfig>(a), 0);
  EXPECT_NE(logged(a, LogLevel::info)
                .find("adopted the running haproxy (master pid 4242, "
                      "configuration generation 7)"),
            std::string::npos);
  EXPECT_TRUE(core_->adopted());
  EXPECT_EQ(core_->generation(), 7u);
  EXPECT_EQ(core_->admin_socket(), "/run/sherlock-7.sock");
  // web is in the adopted configuration: its routes need no reload; a new service does, with the
  // next generation, reloaded through the adopted master.
  EXPECT_TRUE(routes_changed(web()).empty());
  Routes more = web();
  more["api"] = {route("api", "b", "10.0.0.2", 81)};
  a = routes_changed(more);
  ASSERT_TRUE(first<WriteConfig>(a));
  EXPECT_NE(first<WriteConfig>(a)->text.find("stats socket /run/sherlock-8.sock"),
            std::string::npos);
  // Stopping an adopted haproxy stops the adopted master (this core's settings say stop).
  EXPECT_EQ(count<StopMaster>(core_->stop(now_)), 1);
}

TEST_F(ReloaderTest, AdoptingAConfigurationFromOtherSettingsReloadsWithOurs) {
  auto state = adoptable(settings_);
  state.settings = "frontend=127.0.0.1:9000 balance=first";
  core_->adopt(state, now_);
  core_->on_socket_probed(true, now_);
  const auto a = core_->on_show_proc(procs(0), "", now_);
  ASSERT_TRUE(first<Started>(a));
  const auto* write = first<WriteConfig>(a);
  ASSERT_TRUE(write);
  EXPECT_EQ(write->path, "/run/haproxy.cfg.new");
  EXPECT_NE(write->text.find("bind 127.0.0.1:8000"), std::string::npos);
  EXPECT_NE(write->text.find("backend web\n"), std::string::npos);  // the adopted slots stay
  EXPECT_NE(logged(a, LogLevel::info).find("the adopted configuration is replaced by ours"),
            std::string::npos);
}

TEST_F(ReloaderTest, AdoptedSocketSilentButAWorkerRunsIsReloadedWithANewGeneration) {
  // The last sherlock stopped during a reload: the state names generation 7, but the worker
  // serves generation 8's socket. After a second of silence the master is asked.
  core_->adopt(adoptable(settings_), now_);
  auto a = core_->on_socket_probed(false, now_);
  EXPECT_FALSE(first<QueryMaster>(a));
  while (now_ < TimePoint{} + std::chrono::hours(1) + seconds(1)) {
    a = fire();
    ASSERT_TRUE(first<ProbeSocket>(a));
    a = core_->on_socket_probed(false, now_);
    if (first<QueryMaster>(a)) break;
  }
  ASSERT_TRUE(first<QueryMaster>(a));
  EXPECT_EQ(first<QueryMaster>(a)->command, "show proc");
  a = core_->on_show_proc(procs(0), "", now_);
  ASSERT_TRUE(first<Started>(a));
  EXPECT_NE(logged(a, LogLevel::warn).find("does not answer but its master lists a worker"),
            std::string::npos);
  const auto* write = first<WriteConfig>(a);
  ASSERT_TRUE(write);
  EXPECT_NE(write->text.find("stats socket /run/sherlock-9.sock"), std::string::npos);
}

TEST_F(ReloaderTest, AdoptedHaproxyThatNeverAnswersFailsNamingItsRunDirectory) {
  core_->adopt(adoptable(settings_), now_);
  Actions a = core_->on_socket_probed(false, now_);
  for (int i = 0; i < 100000 && !first<StartFailed>(a); ++i) {
    a = fire();
    if (first<ProbeSocket>(a)) {
      a = core_->on_socket_probed(false, now_);
    }
    if (first<QueryMaster>(a)) a = core_->on_show_proc(std::nullopt, "Connection refused", now_);
  }
  const auto* failed = first<StartFailed>(a);
  ASSERT_TRUE(failed);
  EXPECT_NE(failed->why.find("the haproxy (master pid 4242) running from run dir /run"),
            std::string::npos);
  EXPECT_NE(failed->why.find("stop it, or give another --run-dir"), std::string::npos);
}

}  // namespace
}  // namespace baker::sherlock::haproxy
