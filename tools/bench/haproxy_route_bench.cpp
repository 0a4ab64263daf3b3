// Route change -> request lands on the new instance, through a real haproxy run by the HAProxy
// driver in managed mode. Each round replaces the service's only instance (A <-> B): the sink gets
// the change, and a keep-alive client that sends requests back to back through the frontend
// records when the first answer from the new instance arrives. Prints p50/p90/p99/max of
//   apply:   change handed to the sink -> HAProxy confirmed every command (driver's own figure)
//   landing: change handed to the sink -> first answer from the new instance
// and counts answers from the old instance after HAProxy confirmed (must be 0).
//
// usage: haproxy_route_bench [rounds (default 500)] [haproxy binary (default haproxy)]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "sherlock/haproxy_shell.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace hx = baker::sherlock::haproxy;

int listen_loopback(std::uint16_t& port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 64) != 0) return -1;
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

std::uint16_t free_port() {
  std::uint16_t port = 0;
  close(listen_loopback(port));
  return port;
}

// Keep-alive HTTP server answering every request with its one-letter id: one thread polling the
// listening socket and every connection, so a new connection costs no thread start (what is
// measured is Baker and haproxy, not this server).
class Backend {
 public:
  explicit Backend(char id) : id_(id) {
    fd_ = listen_loopback(port_);
    thread_ = std::thread([this] { loop(); });
  }
  ~Backend() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::uint16_t port() const { return port_; }
  baker::wire::Route route() const {
    baker::wire::Route r;
    r.service = "web";
    r.instance = std::string(1, id_);
    r.address = baker::wire::IpAddress::v4(127, 0, 0, 1);
    r.port = port_;
    return r;
  }

 private:
  void loop() {
    const std::string response = std::string("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n") + id_;
    std::vector<pollfd> fds{{fd_, POLLIN, 0}};
    std::vector<std::string> bufs{""};
    char chunk[4096];
    while (!stop_) {
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      for (std::size_t i = fds.size(); i-- > 0;) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (i == 0) {
          const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
          if (c >= 0) {
            fds.push_back({c, POLLIN, 0});
            bufs.emplace_back();
          }
          continue;
        }
        const ssize_t n = recv(fds[i].fd, chunk, sizeof chunk, 0);
        bool keep = n > 0;
        if (keep) {
          bufs[i].append(chunk, static_cast<std::size_t>(n));
          for (auto end = bufs[i].find("\r\n\r\n"); end != std::string::npos;
               end = bufs[i].find("\r\n\r\n")) {
            bufs[i].erase(0, end + 4);
            if (send(fds[i].fd, response.data(), response.size(), MSG_NOSIGNAL) < 0) keep = false;
          }
        }
        if (!keep) {
          close(fds[i].fd);
          fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(i));
          bufs.erase(bufs.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
    }
    for (std::size_t i = 1; i < fds.size(); ++i) close(fds[i].fd);
  }
  char id_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// One keep-alive connection through the frontend; returns the answering id, or 0 on failure.
class Client {
 public:
  explicit Client(std::uint16_t port) : port_(port) {}
  ~Client() {
    if (fd_ >= 0) close(fd_);
  }
  char get() {
    if (fd_ < 0 && !connect_now()) return 0;
    static const std::string request =
        "GET /web/ HTTP/1.1\r\nHost: bench\r\nConnection: keep-alive\r\n\r\n";
    if (send(fd_, request.data(), request.size(), MSG_NOSIGNAL) < 0) return reset();
    std::string buf;
    char chunk[4096];
    while (true) {
      const auto end = buf.find("\r\n\r\n");
      if (end != std::string::npos && buf.size() >= end + 5) {
        const bool closing = buf.find("connection: close") < end;
        const char id = buf[end + 4];
        if (closing || buf.compare(9, 3, "200") != 0) reset();
        return buf.compare(9, 3, "200") == 0 ? id : 0;
      }
      const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return reset();
      buf.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  bool connect_now() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return true;
    reset();
    return false;
  }
  char reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    return 0;
  }
  std::uint16_t port_;
  int fd_ = -1;
};

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

void report(const char* name, std::vector<double> v) {
  if (v.empty()) return;
  std::sort(v.begin(), v.end());
  const auto at = [&](double q) { return v[static_cast<std::size_t>(q * (v.size() - 1))]; };
  std::printf("%-8s n=%zu  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms\n", name, v.size(),
              at(0.5), at(0.9), at(0.99), v.back());
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 500;
  spdlog::set_level(spdlog::level::warn);
  Backend a('A'), b('B');
  hx::ShellSettings settings;
  settings.driver.managed = true;
  settings.managed.frontend_port = free_port();
  settings.managed.slots = 4;
  if (argc > 2) settings.managed.haproxy_bin = argv[2];
  boost::asio::io_context io;
  auto sink = std::make_unique<hx::HaproxyShell>(io, settings);
  std::thread io_thread([&] {
    auto guard = boost::asio::make_work_guard(io);
    io.run();
  });
  const auto on_io = [&](auto f) {
    std::packaged_task<decltype(f())()> task(f);
    auto result = task.get_future();
    boost::asio::post(io, [&task] { task(); });
    return result.get();
  };
  const auto set = [&](const Backend& to) {
    baker::sherlock::ServiceRoutes all{{"web", {to.route()}}};
    boost::asio::post(io, [&sink, all] { sink->routes_changed(all, {"web"}); });
  };
  const auto settled = [&] { return on_io([&] { return sink->driver().settled(); }); };

  // First appearance of the service is a reload (not measured).
  set(a);
  Client client(settings.managed.frontend_port);
  const auto start = Clock::now();
  while (client.get() != 'A') {
    if (Clock::now() - start > 10s) {
      std::fprintf(stderr, "service never became reachable\n");
      return 1;
    }
    std::this_thread::sleep_for(1ms);
  }

  // Baseline: one request's round trip through haproxy, nothing changing.
  std::vector<double> request;
  for (int i = 0; i < 2000; ++i) {
    const auto t = Clock::now();
    client.get();
    request.push_back(ms(Clock::now() - t));
  }

  std::vector<double> apply, landing, session;
  std::vector<double> requests_until_landing;
  std::vector<double> last_request;  // the request that landed: its own round trip
  int stale_after_confirm = 0, failures = 0;
  const Backend* current = &a;
  for (int i = 0; i < rounds; ++i) {
    while (!settled()) std::this_thread::sleep_for(200us);  // previous removal finished
    const Backend* next = current == &a ? &b : &a;
    const char want = next == &a ? 'A' : 'B';
    const auto before = on_io([&] { return sink->driver().counters().applies; });
    const auto t0 = Clock::now();
    set(*next);
    int sent = 0;
    while (true) {
      const auto tr = Clock::now();
      const char id = client.get();
      ++sent;
      if (id == 0) ++failures;
      if (id == want) {
        last_request.push_back(ms(Clock::now() - tr));
        break;
      }
    }
    requests_until_landing.push_back(sent);
    landing.push_back(ms(Clock::now() - t0));
    // Wait for HAProxy's confirmation; after it, no answer may come from the old instance.
    while (on_io([&] { return sink->driver().counters().applies; }) == before) {
      std::this_thread::sleep_for(50us);
    }
    for (int k = 0; k < 5; ++k) {
      const char id = client.get();
      if (id != want) ++stale_after_confirm;
    }
    apply.push_back(ms(*on_io([&] { return sink->driver().counters().last_apply; })));
    session.push_back(ms(*on_io([&] { return sink->driver().counters().last_session; })));
    current = next;
  }
  std::printf("haproxy_route_bench: %d rounds, replace the only instance of a service (A <-> B)\n",
              rounds);
  report("request", request);
  report("apply", apply);
  report("session", session);
  report("landing", landing);
  report("landed", last_request);
  std::sort(requests_until_landing.begin(), requests_until_landing.end());
  std::printf("requests sent until one landed on the new instance: median %.0f, max %.0f\n",
              requests_until_landing[requests_until_landing.size() / 2],
              requests_until_landing.back());
  std::printf("answers from the old instance after HAProxy confirmed: %d; failed requests: %d\n",
              stale_after_confirm, failures);
  on_io([&] {
    sink->stop();
    return 0;
  });
  io.stop();
  io_thread.join();
  return stale_after_confirm == 0 && failures == 0 ? 0 : 1;
}
