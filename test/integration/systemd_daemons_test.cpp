// systemd's service protocol on the real binaries, as a Type=notify unit runs them: READY=1 once
// the sockets are bound (sherlock: once it holds a snapshot, or once --ready-wait ran out),
// WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 + READY=1 around a SIGHUP, STOPPING=1 at the
// end; and log lines for the journal ("<N>" priority, no timestamp) when stderr is JOURNAL_STREAM.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "notify_socket.hpp"
#include "process.hpp"

namespace baker::testing {
namespace {

// Sets the variables systemd gives a Type=notify service with WatchdogSec= for the children
// started while it lives.
class SystemdEnvironment {
 public:
  SystemdEnvironment(const NotifySocket& socket, const std::string& watchdog_usec) {
    ::setenv("NOTIFY_SOCKET", socket.path().c_str(), 1);
    ::setenv("WATCHDOG_USEC", watchdog_usec.c_str(), 1);
  }
  ~SystemdEnvironment() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
  }
};

std::string port_text(std::uint16_t p) {
  return std::to_string(p);
}

std::size_t count(const std::vector<std::string>& v, const std::string& text) {
  return static_cast<std::size_t>(
      std::count_if(v.begin(), v.end(), [&](const std::string& s) { return s == text; }));
}

// The life of one daemon under systemd: ready (unless the test saw it already), pinging,
// reloading, stopping.
void expect_service_protocol(ChildProcess& daemon, NotifySocket& systemd, bool ready_seen = false) {
  if (!ready_seen) {
    const auto ready = systemd.wait_for("READY=1", 5000ms);
    ASSERT_NE(ready, "") << daemon.log();
    EXPECT_NE(ready.find("\nSTATUS="), std::string::npos) << ready;
  }
  // WATCHDOG_USEC=200000: a ping every 100 ms from the event loop.
  const auto pings = systemd.drain(400ms);
  EXPECT_GE(count(pings, "WATCHDOG=1"), 3u) << daemon.log();

  daemon.signal(SIGHUP);
  ASSERT_NE(systemd.wait_for("RELOADING=1", 3000ms), "") << daemon.log();
  ASSERT_NE(systemd.wait_for("READY=1", 3000ms), "") << daemon.log();

  daemon.signal(SIGTERM);
  ASSERT_NE(systemd.wait_for("STOPPING=1", 3000ms), "") << daemon.log();
  const auto status = daemon.wait_exit(5000ms);
  ASSERT_TRUE(status) << daemon.log();
  EXPECT_EQ(*status, 0) << daemon.log();
}

TEST(SystemdDaemons, DirectoryIsReadyOnceBoundPingsReloadsAndStops) {
  NotifySocket systemd;
  SystemdEnvironment env(systemd, "200000");
  const auto metrics = free_tcp_port();
  ChildProcess dir({bin("directory"), "--listen", "127.0.0.1:0", "--metrics",
                    "127.0.0.1:" + port_text(metrics)});
  expect_service_protocol(dir, systemd);
  // READY=1 came once the HTTP listener was bound: its status names the port.
  const auto& got = systemd.received();
  const auto ready = std::find_if(got.begin(), got.end(),
                                  [](const std::string& s) { return s.rfind("READY=1", 0) == 0; });
  ASSERT_NE(ready, got.end());
  EXPECT_NE(ready->find("HTTP on 127.0.0.1:" + port_text(metrics)), std::string::npos) << *ready;
}

TEST(SystemdDaemons, WatsonIsReadyAtStartPingsReloadsAndStops) {
  NotifySocket systemd;
  SystemdEnvironment env(systemd, "200000");
  UdpSocket directory;
  ChildProcess watson({bin("watson"), "--service-name", "greeting", "--service-url",
                       "http://127.0.0.1:8080/", "--directory",
                       "127.0.0.1:" + port_text(directory.port()), "--check", "none", "--interval",
                       "100ms"});
  expect_service_protocol(watson, systemd);
  // The status line follows the instance: healthy and heartbeating once the (no-op) check rose.
  const auto& got = systemd.received();
  EXPECT_TRUE(std::any_of(got.begin(), got.end(), [](const std::string& s) {
    return s.find("STATUS=greeting/127.0.0.1:8080: healthy, heartbeating") != std::string::npos;
  })) << watson.log();
}

TEST(SystemdDaemons, SherlockIsReadyOnceItHoldsADirectorysSnapshot) {
  NotifySocket systemd;
  const auto dir_port = free_udp_port();
  const auto dir_http = free_tcp_port();
  ChildProcess dir({bin("directory"), "--listen", "127.0.0.1:" + port_text(dir_port), "--metrics",
                    "127.0.0.1:" + port_text(dir_http), "--warmup-max", "0s", "--max-clock-skew",
                    "100ms"});
  ChildProcess watson({bin("watson"), "--service-name", "greeting", "--service-url",
                       "http://127.0.0.1:8080/", "--directory", "127.0.0.1:" + port_text(dir_port),
                       "--check", "none", "--interval", "200ms"});
  ASSERT_TRUE(wait_until(
      [&] {
        const auto r = http_get("127.0.0.1", dir_http, "/routes");
        return r && r->body.find("127.0.0.1:8080") != std::string::npos;
      },
      5000ms))
      << dir.log() << watson.log();

  SystemdEnvironment env(systemd, "200000");
  ChildProcess sherlock({bin("sherlock"), "--no-haproxy", "--directory",
                         "127.0.0.1:" + port_text(dir_port), "--listen", "127.0.0.1:0", "--http",
                         "127.0.0.1:0", "--ready-wait", "30s"});
  const auto ready = systemd.wait_for("READY=1", 5000ms);  // long before the 30 s wait
  ASSERT_NE(ready, "") << sherlock.log();
  EXPECT_NE(ready.find("STATUS=holds a snapshot: 1 routes"), std::string::npos) << ready;
  expect_service_protocol(sherlock, systemd, /*ready_seen=*/true);
}

TEST(SystemdDaemons, SherlockWithoutADirectoryIsReadyWhenReadyWaitRunsOut) {
  NotifySocket systemd;
  SystemdEnvironment env(systemd, "200000");
  UdpSocket silent;  // a directory that never answers
  ChildProcess sherlock({bin("sherlock"), "--no-haproxy", "--directory",
                         "127.0.0.1:" + port_text(silent.port()), "--listen", "127.0.0.1:0",
                         "--http", "127.0.0.1:0", "--ready-wait", "1500ms"});
  EXPECT_EQ(systemd.wait_for("READY=1", 1000ms), "") << "ready before the wait ran out";
  // Meanwhile the watchdog is fed: starting up is not being stuck.
  EXPECT_GE(count(systemd.received(), "WATCHDOG=1"), 5u);
  const auto ready = systemd.wait_for("READY=1", 3000ms);
  ASSERT_NE(ready, "") << sherlock.log();
  EXPECT_NE(ready.find("STATUS=no snapshot within 1.5s: serving 0 routes held so far"),
            std::string::npos)
      << ready;
}

TEST(SystemdDaemons, ADaemonStartedWithoutNotifySocketRunsAsBefore) {
  ::unsetenv("NOTIFY_SOCKET");
  ChildProcess dir({bin("directory"), "--listen", "127.0.0.1:0", "--metrics", "off"});
  ASSERT_TRUE(
      wait_until([&] { return dir.log().find("listening on UDP") != std::string::npos; }, 5000ms));
  EXPECT_EQ(dir.log().find("systemd"), std::string::npos) << dir.log();
  EXPECT_EQ(dir.stop(), 0);
}

TEST(JournalLogging, LinesCarryThePriorityAndNoTimestampWhenStderrIsTheJournal) {
  TempDir tmp;
  const auto log = tmp.file("journal");
  {
    std::FILE* f = std::fopen(log.c_str(), "w");
    ASSERT_TRUE(f);
    std::fclose(f);
  }
  struct stat st {};
  ASSERT_EQ(::stat(log.c_str(), &st), 0);
  ::setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)).c_str(),
           1);
  // A check that fails logs a warning; the start-up lines are info.
  ChildProcess watson(
      {bin("watson"), "--service-name", "greeting", "--service-url", "http://127.0.0.1:9/",
       "--directory", "127.0.0.1:9", "--check", "tcp", "--interval", "100ms", "--fall", "1"},
      log);
  ::unsetenv("JOURNAL_STREAM");
  ASSERT_TRUE(
      wait_until([&] { return watson.log().find("<4>warning ") != std::string::npos; }, 5000ms))
      << watson.log();
  EXPECT_EQ(watson.log().rfind("<6>info watson for service 'greeting'", 0), 0u) << watson.log();
  // "<6>info ...": the priority first, no date (the journal stamps each line itself).
  std::istringstream lines(watson.log());
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(line.size() > 3 && line[0] == '<' && line[2] == '>') << line;
  }

  // The same daemon with stderr elsewhere (JOURNAL_STREAM inherited but not this stderr) keeps
  // its own timestamps.
  ::setenv("JOURNAL_STREAM", "1:1", 1);
  ChildProcess plain({bin("watson"), "--service-name", "greeting", "--service-url",
                      "http://127.0.0.1:9/", "--directory", "127.0.0.1:9", "--check", "none"});
  ::unsetenv("JOURNAL_STREAM");
  ASSERT_TRUE(wait_until(
      [&] { return plain.log().find("watson for service") != std::string::npos; }, 5000ms));
  EXPECT_EQ(plain.log().find("<6>"), std::string::npos) << plain.log();
  EXPECT_NE(plain.log().find("info [watson] watson for service"), std::string::npos) << plain.log();
}

}  // namespace
}  // namespace baker::testing
