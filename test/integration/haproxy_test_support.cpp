#include "haproxy_test_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <csignal>
#include <cstring>
#include <set>
#include <stdexcept>

#include "routes.hpp"
#include "sockets.hpp"

namespace baker::testing {

// --- TestBackend ---

TestBackend::TestBackend(std::string id) : id_(std::move(id)) {
  listen_fd_ = tcp_listen_loopback(128, port_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

TestBackend::~TestBackend() {
  stop_ = true;
  acceptor_.join();
  close(listen_fd_);
  std::lock_guard lock(mu_);
  for (auto& t : workers_) t.join();
}

wire::Route TestBackend::route(const std::string& service, std::uint16_t weight,
                               wire::InstanceState state) const {
  return baker::testing::make_route(service, id_, wire::IpAddress::v4(127, 0, 0, 1), port_, weight,
                                    state);
}

void TestBackend::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++accepted_;
    std::lock_guard lock(mu_);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void TestBackend::serve(int fd) {
  std::string buf;
  while (!stop_) {
    const auto end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      const auto sp1 = buf.find(' ');
      const auto sp2 = buf.find(' ', sp1 + 1);
      const auto path = buf.substr(sp1 + 1, sp2 - sp1 - 1);
      const bool close_after = buf.substr(0, end).find("onnection: close") != std::string::npos;
      buf.erase(0, end + 4);
      ++requests_;
      const std::string body = id_ + " " + path;
      const std::string response =
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body;
      if (send(fd, response.data(), response.size(), MSG_NOSIGNAL) < 0 || close_after) break;
      continue;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    char chunk[4096];
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  close(fd);
}

// --- TestHaproxy ---

TestHaproxy::TestHaproxy(const TempDir& dir, const std::string& body) : dir_(dir.path()) {
  frontend_port_ = free_tcp_port();
  std::string text =
      "global\n"
      "    stats socket " +
      admin_socket() +
      " mode 600 level admin expose-fd listeners\n"
      "    stats timeout 1h\n"
      "defaults\n"
      "    mode http\n"
      "    timeout connect 1s\n"
      "    timeout client 20s\n"
      "    timeout server 20s\n"
      "    retries 2\n"
      "    option redispatch 1\n";
  auto rest = body;
  const std::string marker = "{FRONTEND}";
  for (auto p = rest.find(marker); p != std::string::npos; p = rest.find(marker)) {
    rest.replace(p, marker.size(), std::to_string(frontend_port_));
  }
  dir.write("haproxy.cfg", text + rest);
  start();
}

TestHaproxy::~TestHaproxy() {
  if (process_) process_->stop();
}

void TestHaproxy::start() {
  process_ = std::make_unique<ChildProcess>(std::vector<std::string>{
      "haproxy", "-W", "-S", master_socket(), "-f", dir_ + "/haproxy.cfg"});
  if (!wait_until(
          [&] {
            return !cli(admin_socket(), "show info").empty() &&
                   !cli(master_socket(), "show proc").empty();
          },
          5000ms)) {
    throw std::runtime_error("haproxy did not start: " + process_->log());
  }
}

void TestHaproxy::kill_hard() {
  kill(-process_->pid(), SIGKILL);
  process_->wait_exit(2000ms);
  process_.reset();
}

// --- admin socket ---

std::string cli(const std::string& socket_path, const std::string& command) {
  const int fd = unix_connect(socket_path, 2000ms);
  if (fd < 0) return "";
  send_all(fd, command + "\n");
  shutdown(fd, SHUT_WR);
  std::string out = read_to_eof(fd);
  close(fd);
  return out;
}

std::string cli_session(const std::string& socket_path, const std::vector<std::string>& commands) {
  const int fd = unix_connect(socket_path, 2000ms);
  if (fd < 0) return "";
  std::string out = "prompt\n";
  for (const auto& c : commands) out += c + "\n";
  send_all(fd, out);
  std::string in;
  std::size_t prompts = 0;
  char buf[8192];
  while (prompts < commands.size() + 1) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
    prompts = 0;
    for (auto p = in.find("\n> "); p != std::string::npos; p = in.find("\n> ", p + 1)) ++prompts;
  }
  close(fd);
  return in;
}

std::vector<sherlock::haproxy::ServerStateRow> servers_state(const std::string& socket_path,
                                                             const std::string& backend) {
  auto rows =
      sherlock::haproxy::parse_servers_state(cli(socket_path, "show servers state " + backend));
  return rows ? *rows : std::vector<sherlock::haproxy::ServerStateRow>{};
}

std::vector<std::string> ready_servers(const std::string& socket_path, const std::string& backend) {
  std::vector<std::string> out;
  for (const auto& r : servers_state(socket_path, backend)) {
    if (r.ready() && r.address)
      out.push_back(r.address->to_string() + ":" + std::to_string(r.port));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> ids_answering(std::uint16_t port, const std::string& path, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    const auto r = http_get("127.0.0.1", port, path, 2000ms);
    if (!r || r->status != 200) {
      out.push_back("");
      continue;
    }
    out.push_back(r->body.substr(0, r->body.find(' ')));
  }
  return out;
}

std::vector<std::string> distinct_ids(std::uint16_t port, const std::string& path, int n) {
  const auto ids = ids_answering(port, path, n);
  std::set<std::string> s(ids.begin(), ids.end());
  return {s.begin(), s.end()};
}

// --- SinkRunner ---

SinkRunner::SinkRunner(sherlock::haproxy::ShellSettings settings) {
  sink_ = std::make_unique<sherlock::haproxy::HaproxyShell>(io_, std::move(settings));
  thread_ = std::thread([this] {
    auto guard = boost::asio::make_work_guard(io_);
    io_.run();
  });
}

SinkRunner::~SinkRunner() {
  call([](auto& sink) {
    sink.stop();
    return 0;
  });
  io_.stop();
  thread_.join();
  sink_.reset();
}

void SinkRunner::post(std::function<void()> f) {
  boost::asio::post(io_, std::move(f));
}

void SinkRunner::set_routes(const sherlock::ServiceRoutes& all,
                            const std::vector<std::string>& changed) {
  post([this, all, changed] { sink_->routes_changed(all, changed); });
}

bool SinkRunner::settled() {
  return call([](auto& sink) { return sink.driver().settled(); });
}

std::string SinkRunner::metrics() {
  return call([](auto& sink) {
    std::string out;
    sink.append_metrics(out);
    return out;
  });
}

void Replica::set(const std::string& service, std::vector<wire::Route> routes) {
  if (routes.empty()) {
    all_.erase(service);
  } else {
    std::sort(routes.begin(), routes.end(),
              [](const auto& a, const auto& b) { return a.instance < b.instance; });
    all_[service] = std::move(routes);
  }
  sink_.set_routes(all_, {service});
}

}  // namespace baker::testing
