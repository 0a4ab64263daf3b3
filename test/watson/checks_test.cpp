// The health checks against real loopback sockets and real processes (each case well under 1 s).
#include "watson/checks.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "sockets.hpp"

namespace baker::watson {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// A listening socket on 127.0.0.1 with an ephemeral port. With `serve`, a thread answers every
// request with `status`; without, connections sit in the backlog unanswered.
class LocalServer {
 public:
  explicit LocalServer(bool serve) {
    fd_ = baker::testing::tcp_listen_loopback(16, port_);
    if (serve) thread_ = std::thread([this] { loop(); });
  }
  ~LocalServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  std::uint16_t port() const { return port_; }
  tcp::endpoint endpoint() const { return {asio::ip::make_address("127.0.0.1"), port_}; }
  std::atomic<int> status{200};
  std::atomic<int> requests{0};
  std::string last_request() {
    std::lock_guard lock(mutex_);
    return last_request_;
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string req;
      char buf[1024];
      while (req.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
      }
      {
        // Recorded before answering: the check's callback can only run after the answer.
        std::lock_guard lock(mutex_);
        last_request_ = req;
      }
      const std::string resp = "HTTP/1.1 " + std::to_string(status.load()) +
                               " X\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
      send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      close(c);
      ++requests;
    }
  }
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::string last_request_;
  std::thread thread_;
};

std::uint16_t closed_port() {
  LocalServer s(false);
  return s.port();  // closed again when s goes
}

struct Outcome {
  std::optional<CheckResult> result;
  std::chrono::milliseconds took{};
};

Outcome run_check(asio::io_context& io, HealthCheck& check) {
  Outcome out;
  const auto t0 = std::chrono::steady_clock::now();
  check.start([&](CheckResult r) {
    out.result = std::move(r);
    out.took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0);
  });
  io.restart();
  while (!out.result && std::chrono::steady_clock::now() - t0 < 5s) io.run_for(10ms);
  return out;
}

TEST(HttpCheck, PassesOnExpectedStatusAndFailsOnOthers) {
  asio::io_context io;
  LocalServer server(true);
  auto check = make_http_check(io, server.endpoint(), "localhost:" + std::to_string(server.port()),
                               "/health?x=1", {{200, 299}}, 1000ms);
  auto out = run_check(io, *check);
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->passed);
  EXPECT_EQ(out.result->detail, "HTTP 200");
  const auto request = server.last_request();
  EXPECT_EQ(request.rfind("GET /health?x=1 HTTP/1.1\r\n", 0), 0u) << request;
  EXPECT_NE(request.find("Host: localhost:"), std::string::npos) << request;

  server.status = 503;
  out = run_check(io, *check);
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->passed);
  EXPECT_EQ(out.result->detail, "HTTP 503");

  auto only_301 = make_http_check(io, server.endpoint(), "h", "/", {{301, 301}}, 1000ms);
  server.status = 301;
  out = run_check(io, *only_301);
  EXPECT_TRUE(out.result && out.result->passed);
  server.status = 200;
  out = run_check(io, *only_301);
  EXPECT_TRUE(out.result && !out.result->passed);
}

TEST(HttpCheck, SilentServerTimesOut) {
  asio::io_context io;
  LocalServer silent(false);  // connects (backlog) but never answers
  auto check = make_http_check(io, silent.endpoint(), "h", "/", {{200, 299}}, 200ms);
  const auto out = run_check(io, *check);
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->passed);
  EXPECT_NE(out.result->detail.find("timed out"), std::string::npos) << out.result->detail;
  EXPECT_GE(out.took, 150ms);
  EXPECT_LT(out.took, 1000ms);
}

TEST(HttpCheck, RefusedConnectionFails) {
  asio::io_context io;
  auto check = make_http_check(io, {asio::ip::make_address("127.0.0.1"), closed_port()}, "h", "/",
                               {{200, 299}}, 1000ms);
  const auto out = run_check(io, *check);
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->passed);
  EXPECT_NE(out.result->detail.find("connect"), std::string::npos);
}

TEST(HttpCheck, CancelledCheckNeverCallsBack) {
  asio::io_context io;
  LocalServer silent(false);
  auto check = make_http_check(io, silent.endpoint(), "h", "/", {{200, 299}}, 300ms);
  bool called = false;
  check->start([&](CheckResult) { called = true; });
  io.run_for(50ms);
  check->cancel();
  io.run_for(500ms);
  EXPECT_FALSE(called);
}

TEST(TcpCheck, PassesWhileListeningFailsWhenRefused) {
  asio::io_context io;
  LocalServer listening(false);
  auto check = make_tcp_check(io, listening.endpoint(), 500ms);
  auto out = run_check(io, *check);
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->passed) << out.result->detail;

  auto refused = make_tcp_check(io, {asio::ip::make_address("127.0.0.1"), closed_port()}, 500ms);
  out = run_check(io, *refused);
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->passed);
  EXPECT_NE(out.result->detail.find("refused"), std::string::npos) << out.result->detail;
}

TEST(ExecCheck, ExitStatusDecides) {
  asio::io_context io;
  auto ok = make_exec_check(io, "exit 0", 2000ms);
  auto out = run_check(io, *ok);
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->passed);
  EXPECT_EQ(out.result->detail, "exit status 0");
  out = run_check(io, *ok);  // and again: the check is reusable
  EXPECT_TRUE(out.result && out.result->passed);

  auto fails = make_exec_check(io, "echo noise; exit 3", 2000ms);
  out = run_check(io, *fails);
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->passed);
  EXPECT_EQ(out.result->detail, "exit status 3");

  auto missing = make_exec_check(io, "/nonexistent/command", 2000ms);
  out = run_check(io, *missing);
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->passed);
  EXPECT_EQ(out.result->detail, "exit status 127");
}

bool process_gone(pid_t pid) {
  if (kill(pid, 0) != 0) return true;
  // A zombie waiting for its (re)parent to reap it is gone for our purpose.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

TEST(ExecCheck, TimeoutKillsTheWholeProcessGroup) {
  asio::io_context io;
  char tmpl[] = "/tmp/watson-exec-XXXXXX";
  close(mkstemp(tmpl));
  const std::string pid_file = tmpl;
  auto check = make_exec_check(io, "sleep 30 & echo $! > " + pid_file + "; wait", 300ms);
  const auto out = run_check(io, *check);
  ASSERT_TRUE(out.result);
  EXPECT_FALSE(out.result->passed);
  EXPECT_NE(out.result->detail.find("timed out"), std::string::npos) << out.result->detail;
  EXPECT_GE(out.took, 250ms);
  EXPECT_LT(out.took, 2000ms);
  pid_t grandchild = 0;
  std::ifstream(pid_file) >> grandchild;
  std::remove(pid_file.c_str());
  ASSERT_GT(grandchild, 0);
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!process_gone(grandchild) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(process_gone(grandchild)) << "the sleep the command started must die too";
}

TEST(ExecCheck, CancelKillsTheRunningCommand) {
  asio::io_context io;
  auto check = make_exec_check(io, "sleep 30", 10000ms);
  bool called = false;
  const auto t0 = std::chrono::steady_clock::now();
  check->start([&](CheckResult) { called = true; });
  io.run_for(50ms);
  check->cancel();
  io.run_for(100ms);
  EXPECT_FALSE(called);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST(NoCheck, AlwaysPasses) {
  asio::io_context io;
  auto check = make_no_check(io);
  const auto out = run_check(io, *check);
  ASSERT_TRUE(out.result);
  EXPECT_TRUE(out.result->passed);
}

}  // namespace
}  // namespace baker::watson
