// sherlock restarts under keep-alive load through HAProxy (issue "Managed HAProxy"): killed
// (SIGKILL) or stopped (SIGTERM) and started again, in managed mode (the haproxy it ran keeps
// serving and the new sherlock adopts it) and in external mode (the operator's haproxy). No
// request may fail, HAProxy's servers are the same before and after, and exactly one haproxy
// master runs at the end. A fresh managed haproxy starts from the replica's routes: it never
// answers 503 for a service the replica held.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "e2e_support.hpp"
#include "http_load.hpp"

namespace baker::testing {
namespace {

constexpr auto kConverge = 10000ms;

std::set<std::string> ready_set(const std::string& sock, const std::string& backend) {
  auto v = ready_servers(sock, backend);
  return {v.begin(), v.end()};
}

std::string failures_of(const HttpLoad& load) {
  std::string out;
  for (const auto& f : load.failures()) out += f + "\n";
  return out;
}

// SIGKILL (a crash: no clean-up at all) or SIGTERM (a planned restart).
class SherlockRestart : public ::testing::TestWithParam<int> {};

INSTANTIATE_TEST_SUITE_P(Signal, SherlockRestart, ::testing::Values(SIGKILL, SIGTERM),
                         [](const auto& info) { return info.param == SIGKILL ? "Kill" : "Term"; });

void stop_sherlock_with(Cluster& c, int sig) {
  c.sherlock().signal(sig);
  ASSERT_TRUE(c.sherlock().wait_exit(5000ms)) << "sherlock did not exit on signal " << sig;
}

TEST_P(SherlockRestart, ManagedHaproxyKeepsServingAndIsAdopted) {
  Cluster c;
  c.start_directory();
  for (int i = 0; i < 3; ++i) c.add_instance("v1");
  c.start_sherlock_managed();
  const auto sock = c.managed_admin_socket();
  ASSERT_TRUE(wait_until([&] { return ready_set(sock, "greeting").size() == 3; }, kConverge))
      << c.logs();
  const auto before = ready_set(sock, "greeting");
  const int master = c.managed_master_pid();
  ASSERT_GT(master, 1);
  ASSERT_EQ(c.managed_masters(), 1);

  HttpLoad load("127.0.0.1", c.frontend_port(), "/greeting/", 4);
  ASSERT_TRUE(wait_until([&] { return load.ok() > 100; }, kConverge));
  stop_sherlock_with(c, GetParam());
  // sherlock is away: haproxy serves on with every server.
  const auto served = load.ok();
  std::this_thread::sleep_for(700ms);
  EXPECT_GT(load.ok(), served + 50) << "haproxy must serve while sherlock is down";
  EXPECT_EQ(ready_set(sock, "greeting"), before);

  const auto first_log = c.sherlock().log().size();  // the restarted sherlock appends to it
  const auto second_log = [&] { return c.sherlock().log().substr(first_log); };
  c.start_sherlock_managed();
  ASSERT_TRUE(wait_until([&] { return c.sherlock_routes() == c.directory_routes(); }, kConverge))
      << c.logs();
  ASSERT_TRUE(wait_until(
      [&] { return second_log().find("adopted the running haproxy") != std::string::npos; },
      kConverge))
      << second_log();
  std::this_thread::sleep_for(700ms);  // the driver's first passes against the adopted haproxy
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << failures_of(load);
  EXPECT_EQ(ready_set(sock, "greeting"), before);
  EXPECT_EQ(c.managed_master_pid(), master);
  EXPECT_EQ(c.managed_masters(), 1);
  EXPECT_EQ(second_log().find("reloading"), std::string::npos)
      << "adopting with the same settings needs no reload:\n"
      << second_log();

  // The new sherlock drives the adopted haproxy: a new instance gets a server.
  c.add_instance("v2");
  EXPECT_TRUE(wait_until([&] { return ready_set(sock, "greeting").size() == 4; }, kConverge))
      << c.sherlock().log();
  // Slots look like what they are: serving ones with no admin bit, free ones in maintenance set
  // at runtime (1), none with the config-maintenance bit.
  int serving = 0, free = 0;
  for (const auto& row : servers_state(sock, "greeting")) {
    if (row.admin_state == 0) {
      ++serving;
    } else {
      EXPECT_EQ(row.admin_state, 1) << row.server;
      ++free;
    }
  }
  EXPECT_EQ(serving, 4);
  EXPECT_GT(free, 0);
}

TEST_P(SherlockRestart, ExternalHaproxyKeepsItsServers) {
  Cluster c;
  TempDir hdir;
  TestHaproxy haproxy(hdir,
                      "frontend fe\n"
                      "    bind 127.0.0.1:{FRONTEND}\n"
                      "    default_backend greeting\n"
                      "backend greeting\n"
                      "    balance roundrobin\n"
                      "    http-reuse always\n"
                      "    server-template slot 1-8 127.0.0.1:9 disabled weight 1\n");
  c.start_directory();
  for (int i = 0; i < 3; ++i) c.add_instance("v1");
  c.start_sherlock_external(haproxy.admin_socket());
  const auto sock = haproxy.admin_socket();
  ASSERT_TRUE(wait_until([&] { return ready_set(sock, "greeting").size() == 3; }, kConverge))
      << c.logs();
  const auto before = ready_set(sock, "greeting");

  HttpLoad load("127.0.0.1", haproxy.frontend_port(), "/", 4);
  ASSERT_TRUE(wait_until([&] { return load.ok() > 100; }, kConverge));
  stop_sherlock_with(c, GetParam());
  std::this_thread::sleep_for(700ms);
  EXPECT_EQ(ready_set(sock, "greeting"), before);
  c.start_sherlock_external(sock);
  ASSERT_TRUE(wait_until([&] { return c.sherlock_routes() == c.directory_routes(); }, kConverge))
      << c.logs();
  std::this_thread::sleep_for(700ms);
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << failures_of(load);
  EXPECT_EQ(ready_set(sock, "greeting"), before);
}

TEST(SherlockStart, FreshManagedHaproxyNeverAnswers503ForAServiceTheReplicaHeld) {
  Cluster c;
  c.start_directory();
  for (int i = 0; i < 2; ++i) c.add_instance("v1");
  ASSERT_TRUE(wait_until([&] { return c.directory_routes("greeting").size() == 2; }, kConverge));
  // Past the directory's warm-up (a sherlock waits for a live directory's snapshot).
  ASSERT_TRUE(
      wait_until([&] { return c.directory_metric("baker_directory_warmup") == 0; }, kConverge));

  // From the moment the frontend accepts, every answer for /greeting must be a 200.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, not_ok{0};
  std::mutex mu;
  std::string first_bad;
  std::thread poller([&] {
    while (!stop) {
      const auto r = http_get("127.0.0.1", c.frontend_port(), "/greeting/", 500ms);
      if (!r) {
        std::this_thread::sleep_for(1ms);  // not listening yet
        continue;
      }
      if (r->status == 200) {
        ++ok;
      } else {
        if (not_ok++ == 0) {
          std::lock_guard lock(mu);
          first_bad = std::to_string(r->status) + " " + r->body;
        }
      }
    }
  });
  c.start_sherlock_managed();
  const bool served = wait_until([&] { return ok >= 20; }, kConverge);
  stop = true;
  poller.join();
  ASSERT_TRUE(served) << c.logs();
  EXPECT_EQ(not_ok, 0) << "first: " << first_bad << "\n" << c.sherlock().log();
  EXPECT_EQ(c.sherlock().log().find("reloading for new services"), std::string::npos)
      << "the first configuration should hold the service:\n"
      << c.sherlock().log();
}

}  // namespace
}  // namespace baker::testing
