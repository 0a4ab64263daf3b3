#include "common/http_status_server.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "sockets.hpp"

namespace baker {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

// The server runs on this thread's io_context; clients are plain sockets polled between runs, so
// the test reads the server's stats without locks.
class HttpStatusServerTest : public ::testing::Test {
 protected:
  void start(HttpStatusSettings settings = {}) {
    server_ = std::make_unique<HttpStatusServer>(
        io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
        [this](const std::string& path) {
          ++handled_;
          return HttpReply{200, "text/plain", "path " + path + "\n"};
        },
        settings);
  }
  // Runs the io_context until pred holds or timeout passes.
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 2000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.run_for(5ms);
    }
    return true;
  }
  int connect() {
    const int fd = testing::tcp_connect("127.0.0.1", server_->port(), 2000ms);
    EXPECT_GE(fd, 0);
    fds_.push_back(fd);
    return fd;
  }
  // What the server sent on fd until it closed, running the server meanwhile; nullopt if it is
  // still open after timeout.
  std::optional<std::string> reply(int fd, std::chrono::milliseconds timeout = 2000ms) {
    std::string text;
    bool closed = false;
    run_until(
        [&] {
          char buf[4096];
          for (;;) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) {
              text.append(buf, static_cast<std::size_t>(n));
              continue;
            }
            closed = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
            return closed;
          }
        },
        timeout);
    if (!closed) return std::nullopt;
    return text;
  }
  void TearDown() override {
    for (int fd : fds_) ::close(fd);
  }

  asio::io_context io_;
  std::unique_ptr<HttpStatusServer> server_;
  int handled_ = 0;
  std::vector<int> fds_;
};

TEST_F(HttpStatusServerTest, AnswersAGetAndClosesTheConnection) {
  start();
  const int fd = connect();
  ASSERT_TRUE(testing::send_all(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto r = reply(fd);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << *r;
  EXPECT_NE(r->find("\r\n\r\npath /metrics\n"), std::string::npos) << *r;
  EXPECT_TRUE(run_until([&] { return server_->stats().connections == 0; }));
  EXPECT_EQ(server_->stats().accepted, 1u);
}

TEST_F(HttpStatusServerTest, AnIdleConnectionIsClosedAtTheRequestDeadline) {
  HttpStatusSettings settings;
  settings.request_timeout = 100ms;
  start(settings);
  const int idle = connect();
  const int slow = connect();
  ASSERT_TRUE(testing::send_all(slow, "GET /metrics HTTP/1.1\r\n"));  // never finished
  ASSERT_TRUE(run_until([&] { return server_->stats().connections == 2; }));
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(reply(idle), "");
  EXPECT_EQ(reply(slow), "");
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 1s);
  EXPECT_TRUE(run_until([&] { return server_->stats().connections == 0; }));
  EXPECT_EQ(server_->stats().deadline_closes, 2u);
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpStatusServerTest, AtTheCapANewConnectionIsTurnedAwayAtOnce) {
  HttpStatusSettings settings;
  settings.max_connections = 2;
  start(settings);
  connect();
  const int second = connect();
  ASSERT_TRUE(run_until([&] { return server_->stats().connections == 2; }));
  // A flood: each connection past the cap is closed at once (a 503 if the client listens).
  for (int i = 0; i < 5; ++i) {
    const auto r = reply(connect());
    ASSERT_TRUE(r) << "closed at once, not left in the backlog";
    if (!r->empty()) {
      EXPECT_EQ(r->rfind("HTTP/1.1 503", 0), 0u) << *r;
    }
  }
  EXPECT_EQ(server_->stats().rejected_at_capacity, 5u);
  EXPECT_EQ(server_->stats().connections, 2u);
  // One of the open ones goes: the next client is served.
  ::close(second);
  fds_.erase(std::find(fds_.begin(), fds_.end(), second));
  ASSERT_TRUE(run_until([&] { return server_->stats().connections == 1; }));
  const int fd = connect();
  ASSERT_TRUE(testing::send_all(fd, "GET /routes HTTP/1.1\r\n\r\n"));
  const auto r = reply(fd);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << *r;
}

// The highest descriptor open now (RLIMIT_NOFILE bounds descriptor numbers, not their count).
int highest_fd() {
  int highest = 2;
  DIR* d = ::opendir("/proc/self/fd");
  while (d) {
    const dirent* e = ::readdir(d);
    if (!e) break;
    highest = std::max(highest, std::atoi(e->d_name));
  }
  if (d) ::closedir(d);
  return highest;
}

TEST_F(HttpStatusServerTest, FailedAcceptsBackOffInsteadOfSpinning) {
  HttpStatusSettings settings;
  settings.accept_backoff = {50ms, 200ms};
  start(settings);
  // UBSan checks a virtual call's dynamic type with the help of a pipe the first time it meets a
  // type; with no descriptor left that check fails (a false "invalid vptr" in spdlog and fmt). One
  // call through the logger now fills its cache, and nothing is formatted while descriptors are
  // out.
  spdlog::debug("status server test: descriptors about to run out");
  const auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);
  // Room for the test's clients and nothing more: the server's accept fails with EMFILE.
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(highest_fd() + 1 + 4);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> clients;  // four, and as many more as there were gaps below the highest
  for (int fd; (fd = testing::tcp_connect("127.0.0.1", server_->port(), 2000ms)) >= 0;) {
    clients.push_back(fd);
    fds_.push_back(fd);
  }
  ASSERT_GE(clients.size(), 4u);
  run_until([] { return false; }, 600ms);
  const auto errors = server_->stats().accept_errors;
  EXPECT_GE(errors, 1u);
  EXPECT_LE(errors, 8u) << "600 ms at 50, 100, 200, 200 ms: a handful of retries, not a spin";
  EXPECT_EQ(server_->stats().connections, 0u);

  // Descriptors come back: the queued connections are served within one backoff.
  for (std::size_t i = 2; i < clients.size(); ++i) ::close(clients[i]);
  fds_.resize(fds_.size() - (clients.size() - 2));
  ASSERT_TRUE(run_until([&] { return server_->stats().connections >= 1; }, 1000ms));
  ASSERT_TRUE(testing::send_all(clients[0], "GET /metrics HTTP/1.1\r\n\r\n"));
  const auto r = reply(clients[0]);
  ::setrlimit(RLIMIT_NOFILE, &old);
  spdlog::set_level(level);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << *r;
}

TEST_F(HttpStatusServerTest, StopClosesOpenConnectionsSoRunReturns) {
  start();
  const int idle = connect();
  ASSERT_TRUE(run_until([&] { return server_->stats().connections == 1; }));
  server_->stop();
  const auto begin = std::chrono::steady_clock::now();
  io_.run_for(3s);  // returns once no work is left
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 1s);
  EXPECT_EQ(server_->stats().connections, 0u);
  EXPECT_EQ(reply(idle), "");
}

TEST(HttpStatusMetrics, NameTheComponentAndEachReason) {
  HttpStatusStats s;
  s.connections = 3;
  s.rejected_at_capacity = 7;
  s.deadline_closes = 2;
  s.accept_errors = 1;
  const auto text = render_http_metrics("directory", s);
  EXPECT_NE(text.find("# TYPE baker_directory_http_connections gauge\n"
                      "baker_directory_http_connections 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("baker_directory_http_rejected_total{reason=\"at_capacity\"} 7\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("baker_directory_http_rejected_total{reason=\"deadline\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("baker_directory_http_accept_errors_total 1\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace baker
