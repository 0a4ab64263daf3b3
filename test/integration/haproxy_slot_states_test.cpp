// Slots look like what they are in `show servers state`, with a real haproxy (Debian's 2.6.12):
// a serving slot is ready (srv_admin_state 0: no config-maintenance bit), a free one in
// maintenance set at runtime (FMAINT, 1), a draining one in drain (FDRAIN, 8); and a reload never
// flips one (a watcher reads both commands every few milliseconds, whichever worker answers).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "haproxy_test_support.hpp"
#include "http_load.hpp"
#include "sherlock/managed_config.hpp"

namespace baker::testing {
namespace {

using sherlock::haproxy::ServerStateRow;
using sherlock::haproxy::ShellSettings;

std::string endpoint_of(const ServerStateRow& r) {
  return r.address ? r.address->to_string() + ":" + std::to_string(r.port) : "-";
}

std::string endpoint(const TestBackend& b) {
  return "127.0.0.1:" + std::to_string(b.port());
}

constexpr const char* kFree = "127.0.0.1:9";

// One interactive session, so both replies come from the same worker: `show servers state` and
// the sessions each server ever had (`stot` of `show stat`).
struct SlotView {
  std::vector<ServerStateRow> rows;
  std::map<std::string, long> total_sessions;  // server -> stot
};

std::optional<SlotView> view(const std::string& socket, const std::string& backend) {
  const auto raw =
      cli_session(socket, {"show servers state " + backend, "show stat " + backend + " 4 -1"});
  std::vector<std::string> replies;
  for (std::size_t at = 0;;) {
    const auto p = raw.find("\n> ", at);
    if (p == std::string::npos) break;
    replies.push_back(raw.substr(at, p + 1 - at));
    at = p + 3;
  }
  if (replies.size() != 3) return std::nullopt;  // `prompt`, then the two commands
  auto rows = sherlock::haproxy::parse_servers_state(replies[1]);
  if (!rows) return std::nullopt;
  SlotView v{std::move(*rows), {}};
  std::istringstream csv(replies[2]);
  std::string line;
  std::getline(csv, line);  // "# pxname,svname,qcur,qmax,scur,smax,slim,stot,..."
  if (line.rfind("# pxname,svname,", 0) != 0) return std::nullopt;
  std::vector<std::string> header;
  {
    std::istringstream h(line.substr(2));
    for (std::string f; std::getline(h, f, ',');) header.push_back(f);
  }
  const auto stot = std::find(header.begin(), header.end(), "stot") - header.begin();
  while (std::getline(csv, line)) {
    std::vector<std::string> f;
    std::istringstream l(line);
    for (std::string x; std::getline(l, x, ',');) f.push_back(x);
    if (f.size() > static_cast<std::size_t>(stot) && f[0] == backend) {
      v.total_sessions[f[1]] = std::atol(f[stot].c_str());
    }
  }
  return v;
}

// Reads `socket` every few milliseconds while it lives and records what must never be seen:
// a slot at a serving instance's address that is not exactly ready, at a draining one's that is
// not exactly draining, a free slot not exactly in runtime maintenance, or a free slot that ever
// had a session. An instance counts once it has been seen in that state (before, the driver may
// be between `set server addr` and `state ready`).
class SlotWatcher {
 public:
  SlotWatcher(std::string socket, std::string backend)
      : socket_(std::move(socket)), backend_(std::move(backend)), thread_([this] { run(); }) {}
  ~SlotWatcher() { stop(); }
  void serving(const std::string& ep) { set(ep, 0); }
  void draining(const std::string& ep) { set(ep, 8); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::string> violations() const {
    std::lock_guard lock(mu_);
    return violations_;
  }
  int views() const { return views_; }

 private:
  void set(const std::string& ep, int admin) {
    std::lock_guard lock(mu_);
    expected_[ep] = admin;
    established_.erase(ep);
  }
  void run() {
    while (!stop_) {
      if (const auto v = view(socket_, backend_)) check(*v);
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
  }
  void check(const SlotView& v) {
    std::lock_guard lock(mu_);
    ++views_;
    for (const auto& r : v.rows) {
      const auto ep = endpoint_of(r);
      const auto it = expected_.find(ep);
      if (it != expected_.end()) {
        if (r.admin_state == it->second) {
          established_.insert(ep);
        } else if (established_.count(ep)) {
          note(r, "at " + ep + " wants admin_state " + std::to_string(it->second));
        }
        continue;
      }
      if (ep != kFree) continue;
      if (r.admin_state != 1) note(r, "free, wants admin_state 1");
      const auto s = v.total_sessions.find(r.server);
      if (s != v.total_sessions.end() && s->second != 0) {
        note(r, "free, had " + std::to_string(s->second) + " sessions");
      }
    }
  }
  void note(const ServerStateRow& r, const std::string& what) {
    if (violations_.size() < 20) {
      violations_.push_back(r.server + " admin_state " + std::to_string(r.admin_state) + ": " +
                            what);
    }
  }

  std::string socket_, backend_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::map<std::string, int> expected_;
  std::set<std::string> established_;
  std::vector<std::string> violations_;
  std::atomic<int> views_{0};
  std::thread thread_;
};

std::map<std::string, int> admin_by_endpoint(const std::vector<ServerStateRow>& rows) {
  std::map<std::string, int> out;
  for (const auto& r : rows) {
    if (endpoint_of(r) != kFree) out[endpoint_of(r)] = r.admin_state;
  }
  return out;
}

int free_slots_with_admin(const std::vector<ServerStateRow>& rows, int admin) {
  int n = 0;
  for (const auto& r : rows) n += endpoint_of(r) == kFree && r.admin_state == admin ? 1 : 0;
  return n;
}

TEST(HaproxySlotStates, ServerStateFileLoadsWithoutComplaint) {
  // Every line applies: HAProxy warns of a malformed line ("corrupted global server state file":
  // it ignores the rest of the file) and of a value it refuses ("server-state application
  // failed"). A server name it does not have is skipped silently in a global file: the states
  // seen in the tests below check the names.
  TempDir dir;
  sherlock::haproxy::ManagedConfig c;
  c.stable_socket = dir.file("haproxy.sock");
  c.admin_socket = dir.file("sherlock-1.sock");
  c.frontend_port = free_tcp_port();
  c.server_state_file = dir.file("servers.state");
  wire::Route r;
  r.instance = "a";
  r.address = *wire::IpAddress::parse("::1");
  r.port = 8080;
  r.weight = 7;
  c.backends.push_back({"web", "web", std::nullopt, {r, std::nullopt}});
  c.backends.push_back({"db", "db.tcp", free_tcp_port(), {std::nullopt, r}});
  using sherlock::haproxy::AdminState;
  dir.write("servers.state", sherlock::haproxy::write_server_state(
                                 c, {{{AdminState::ready, 3}, {AdminState::maint, 0}},
                                     {{AdminState::maint, 0}, {AdminState::drain, 7}}}));
  dir.write("h.cfg", sherlock::haproxy::write_haproxy_config(c));
  ChildProcess check({"haproxy", "-c", "-f", dir.file("h.cfg")});
  EXPECT_EQ(check.wait_exit(5000ms), 0) << check.log();
  // The one warning: the draining server stays in drain (HAProxy says so for each).
  EXPECT_THAT(check.log(),
              ::testing::HasSubstr("Server db.tcp/slot2 remains in forced drain mode"));
  EXPECT_THAT(check.log(), ::testing::Not(::testing::HasSubstr("server state")));
  EXPECT_THAT(check.log(), ::testing::Not(::testing::HasSubstr("server-state")));
}

TEST(HaproxySlotStates, ManagedSlotsAreReadyFreeOrDrainingAcrossReloadsUnderLoad) {
  TempDir dir;
  const auto port = free_tcp_port();
  TestBackend a("a"), b("b"), c("c"), d("d"), x("x");
  ShellSettings s;
  s.driver.managed = true;
  s.managed.run_dir = dir.file("run");
  s.managed.frontend_port = port;
  s.managed.slots = 8;
  s.managed.routes_wait = Duration::zero();  // start at once, web comes by reload
  SinkRunner sink(s);
  Replica replica(sink);
  const auto reloads = [&] { return sink.call([](auto& k) { return k.managed()->reloads(); }); };
  const auto worker_socket = [&] {
    return sink.call([](auto& k) { return k.managed()->admin_socket(); });
  };
  const auto stable = sink.call([](auto& k) { return k.managed()->stable_socket(); });

  replica.set("web", {a.route("web"), b.route("web"), c.route("web")});
  ASSERT_TRUE(wait_until([&] { return reloads() == 1u; }, 5000ms));
  ASSERT_TRUE(wait_until([&] { return ready_servers(stable, "web").size() == 3; }, 3000ms));
  // The first worker with web: its slots started from the server-state file.
  EXPECT_EQ(admin_by_endpoint(servers_state(worker_socket(), "web")),
            (std::map<std::string, int>{{endpoint(a), 0}, {endpoint(b), 0}, {endpoint(c), 0}}));
  EXPECT_EQ(free_slots_with_admin(servers_state(worker_socket(), "web"), 1), 5);

  SlotWatcher watch(stable, "web");
  for (const auto* be : {&a, &b, &c}) watch.serving(endpoint(*be));
  HttpLoad load("127.0.0.1", port, "/web/x", 8);
  ASSERT_TRUE(wait_until([&] { return load.ok() > 300; }, 5000ms));

  // c drains; d arrives and takes a free slot at runtime.
  watch.draining(endpoint(c));
  watch.serving(endpoint(d));
  replica.set("web", {a.route("web"), b.route("web"),
                      c.route("web", 100, wire::InstanceState::draining), d.route("web")});
  ASSERT_TRUE(wait_until(
      [&] {
        const auto m = admin_by_endpoint(servers_state(stable, "web"));
        return m.count(endpoint(d)) && m.at(endpoint(d)) == 0 && m.at(endpoint(c)) == 8;
      },
      3000ms));
  // A new service forces a reload; web's slots carry over as they are.
  const auto before = load.ok();
  replica.set("api", {x.route("api")});
  ASSERT_TRUE(wait_until([&] { return reloads() == 2u; }, 5000ms));
  ASSERT_TRUE(wait_until([&] { return load.ok() > before + 2000; }, 10000ms));
  load.stop();
  watch.stop();
  const auto rows = servers_state(worker_socket(), "web");
  EXPECT_EQ(admin_by_endpoint(rows),
            (std::map<std::string, int>{
                {endpoint(a), 0}, {endpoint(b), 0}, {endpoint(c), 8}, {endpoint(d), 0}}));
  EXPECT_EQ(free_slots_with_admin(rows, 1), 4);
  std::printf("%llu keep-alive requests, %llu failed, %d views of the slots\n",
              static_cast<unsigned long long>(load.ok()),
              static_cast<unsigned long long>(load.failed()), watch.views());
  EXPECT_EQ(load.failed(), 0u) << (load.failures().empty() ? "" : load.failures().front());
  EXPECT_GT(watch.views(), 20);
  EXPECT_THAT(watch.violations(), ::testing::IsEmpty());
  std::set<std::string> ids;  // d, placed at runtime, served
  for (const auto& [body, n] : load.bodies()) ids.insert(body.substr(0, body.find(' ')));
  EXPECT_TRUE(ids.count("d"));
}

// The suggested lines for an operator's HAProxy (HaproxyDriver::log_missing).
const char* kWeightZeroSlots =
    "frontend fe\n"
    "    bind 127.0.0.1:{FRONTEND}\n"
    "    option idle-close-on-response\n"
    "    default_backend web\n"
    "backend web\n"
    "    balance random\n"
    "    http-reuse always\n"
    "    server-template slot 1-4 127.0.0.1:9 weight 0\n";

TEST(HaproxySlotStates,
     ExternalWeightZeroSlotsTakeNothingBeforeSherlockAndServeWithoutTheConfigBit) {
  TempDir dir;
  TestHaproxy haproxy(dir, kWeightZeroSlots);
  const auto sock = haproxy.admin_socket();
  const auto port = haproxy.frontend_port();
  // Before sherlock: in service at weight 0, so no request reaches 127.0.0.1:9 (503, no server).
  EXPECT_EQ(http_get("127.0.0.1", port, "/")->status, 503);
  for (const auto& r : servers_state(sock, "web")) {
    EXPECT_EQ(r.admin_state, 0);
    EXPECT_EQ(r.user_weight, 0);
  }
  const auto before = view(sock, "web");
  ASSERT_TRUE(before);
  for (const auto& [server, n] : before->total_sessions) EXPECT_EQ(n, 0) << server;

  TestBackend a("a"), b("b");
  ShellSettings s;
  s.socket = sherlock::haproxy::CliEndpoint{sock, "", 0};
  s.driver.plan.allow_add_server = true;  // it must not be needed
  SinkRunner sink(s);
  Replica replica(sink);
  replica.set("web", {a.route("web"), b.route("web")});
  ASSERT_TRUE(wait_until([&] { return ready_servers(sock, "web").size() == 2; }, 3000ms));
  ASSERT_TRUE(wait_until([&] { return free_slots_with_admin(servers_state(sock, "web"), 1) == 2; },
                         3000ms));
  EXPECT_EQ(admin_by_endpoint(servers_state(sock, "web")),
            (std::map<std::string, int>{{endpoint(a), 0}, {endpoint(b), 0}}));
  {
    SlotWatcher watch(sock, "web");
    watch.serving(endpoint(a));
    watch.serving(endpoint(b));
    HttpLoad load("127.0.0.1", port, "/", 4);
    ASSERT_TRUE(wait_until([&] { return load.ok() > 1000; }, 10000ms));
    load.stop();
    watch.stop();
    EXPECT_EQ(load.failed(), 0u) << (load.failures().empty() ? "" : load.failures().front());
    EXPECT_THAT(watch.violations(), ::testing::IsEmpty());
  }
  // The operator reloads: every slot is back at weight 0; the driver takes the same kind of slots
  // again (no `add server`) and puts the rest in maintenance.
  cli(haproxy.master_socket(), "reload");
  ASSERT_TRUE(wait_until(
      [&] {
        const auto rows = servers_state(sock, "web");
        return rows.size() == 4 && free_slots_with_admin(rows, 1) == 2 &&
               admin_by_endpoint(rows) ==
                   std::map<std::string, int>{{endpoint(a), 0}, {endpoint(b), 0}};
      },
      5000ms));
  EXPECT_EQ(distinct_ids(port, "/", 40), (std::vector<std::string>{"a", "b"}));
  EXPECT_THAT(sink.metrics(),
              ::testing::HasSubstr("baker_sherlock_haproxy_dynamic_servers{backend=\"web\"} 0\n"));
}

}  // namespace
}  // namespace baker::testing
