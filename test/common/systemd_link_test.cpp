#include "common/systemd_link.hpp"

#include <gtest/gtest.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "notify_socket.hpp"

namespace baker {
namespace {

using namespace std::chrono_literals;

TEST(ParseNotifySocket, TakesAPathOrAnAbstractName) {
  const auto path = parse_notify_socket("/run/systemd/notify");
  ASSERT_TRUE(path);
  EXPECT_STREQ(path->address.sun_path, "/run/systemd/notify");
  EXPECT_EQ(path->length, offsetof(sockaddr_un, sun_path) + 20);  // with its NUL

  const auto abstract = parse_notify_socket("@baker/notify");
  ASSERT_TRUE(abstract);
  EXPECT_EQ(abstract->address.sun_path[0], '\0');
  EXPECT_EQ(std::string(abstract->address.sun_path + 1, 12), "baker/notify");
  EXPECT_EQ(abstract->length, offsetof(sockaddr_un, sun_path) + 13);  // no NUL counted
}

TEST(ParseNotifySocket, RefusesWhatSystemdNeverSets) {
  EXPECT_FALSE(parse_notify_socket(""));
  EXPECT_FALSE(parse_notify_socket("/"));
  EXPECT_FALSE(parse_notify_socket("@"));
  EXPECT_FALSE(parse_notify_socket("relative/path"));
  EXPECT_FALSE(parse_notify_socket("/" + std::string(sizeof(sockaddr_un{}.sun_path), 'x')));
  EXPECT_TRUE(parse_notify_socket("/" + std::string(sizeof(sockaddr_un{}.sun_path) - 2, 'x')));
}

TEST(WatchdogPingInterval, IsHalfTheTimeoutForThisProcessOnly) {
  EXPECT_EQ(watchdog_ping_interval("30000000", nullptr, 42), std::chrono::seconds(15));
  EXPECT_EQ(watchdog_ping_interval("30000000", "42", 42), std::chrono::seconds(15));
  EXPECT_EQ(watchdog_ping_interval("30000000", "", 42), std::chrono::seconds(15));
  EXPECT_FALSE(watchdog_ping_interval("30000000", "43", 42));  // meant for another process
  EXPECT_FALSE(watchdog_ping_interval(nullptr, nullptr, 42));
  EXPECT_FALSE(watchdog_ping_interval("0", nullptr, 42));
  EXPECT_FALSE(watchdog_ping_interval("-5", nullptr, 42));
  EXPECT_FALSE(watchdog_ping_interval("10s", nullptr, 42));
  EXPECT_FALSE(watchdog_ping_interval("30000000", "x", 42));
}

using testing::NotifySocket;

TEST(SystemdLink, WithoutNotifySocketDoesNothing) {
  ::unsetenv("NOTIFY_SOCKET");
  ::setenv("WATCHDOG_USEC", "100000", 1);
  boost::asio::io_context io;
  SystemdLink link(io);
  EXPECT_FALSE(link.active());
  EXPECT_FALSE(link.watchdog_interval());  // nobody to ping: no timer keeps run() busy
  link.ready("x");
  link.stopping();
  EXPECT_EQ(io.run_for(50ms), 0u);
  EXPECT_EQ(std::getenv("WATCHDOG_USEC"), nullptr);
}

TEST(SystemdLink, TellsReadyReloadingStoppingAndTakesItsVariablesFromChildren) {
  NotifySocket systemd;
  ::setenv("NOTIFY_SOCKET", systemd.path().c_str(), 1);
  ::unsetenv("WATCHDOG_USEC");
  boost::asio::io_context io;
  SystemdLink link(io);
  EXPECT_TRUE(link.active());
  EXPECT_EQ(std::getenv("NOTIFY_SOCKET"), nullptr);  // a child must not speak for us
  link.ready("listening on UDP 0.0.0.0:7400");
  link.reloading();
  link.reloaded();
  link.stopping("bye");
  link.stopping("twice");  // told once
  EXPECT_EQ(systemd.drain(),
            (std::vector<std::string>{
                "READY=1\nSTATUS=listening on UDP 0.0.0.0:7400", "RELOADING=1",
                "READY=1\nSTATUS=listening on UDP 0.0.0.0:7400", "STOPPING=1\nSTATUS=bye"}));
}

TEST(SystemdLink, PingsTheWatchdogFromTheEventLoopUntilStopping) {
  NotifySocket systemd;
  ::setenv("NOTIFY_SOCKET", systemd.path().c_str(), 1);
  ::setenv("WATCHDOG_USEC", "40000", 1);  // 40 ms: a ping every 20 ms
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  boost::asio::io_context io;
  SystemdLink link(io);
  ASSERT_EQ(link.watchdog_interval(), std::chrono::milliseconds(20));
  EXPECT_EQ(std::getenv("WATCHDOG_USEC"), nullptr);
  EXPECT_EQ(std::getenv("WATCHDOG_PID"), nullptr);
  io.run_for(110ms);
  const auto pings = systemd.drain();
  EXPECT_GE(pings.size(), 4u);  // at 0, 20, 40, 60, 80, 100 ms
  for (const auto& p : pings) EXPECT_EQ(p, "WATCHDOG=1");

  // A blocked loop sends nothing: the pings come from the loop, not from a thread.
  usleep(100'000);
  EXPECT_TRUE(systemd.drain().empty());

  link.stopping();
  io.restart();
  EXPECT_EQ(io.run_for(100ms), 1u);  // the cancelled timer's handler, then nothing armed
  EXPECT_EQ(systemd.drain(), std::vector<std::string>{"STOPPING=1\nSTATUS=stopping"});
}

TEST(SystemdLink, AWatchdogForAnotherPidIsNotPinged) {
  NotifySocket systemd;
  ::setenv("NOTIFY_SOCKET", systemd.path().c_str(), 1);
  ::setenv("WATCHDOG_USEC", "40000", 1);
  ::setenv("WATCHDOG_PID", "1", 1);
  boost::asio::io_context io;
  SystemdLink link(io);
  EXPECT_FALSE(link.watchdog_interval());
  io.run_for(60ms);
  EXPECT_TRUE(systemd.drain().empty());
}

}  // namespace
}  // namespace baker
