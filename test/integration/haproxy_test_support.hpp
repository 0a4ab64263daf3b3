#pragma once
// Support for the HAProxy driver's integration tests: small HTTP backends that answer with their
// own id and count the connections they accept, a real haproxy started on loopback, the sink run on
// its own io_context thread, and a blocking admin-socket client.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"
#include "sherlock/haproxy_replies.hpp"
#include "sherlock/haproxy_shell.hpp"

namespace baker::testing {

// An HTTP/1.1 keep-alive server on 127.0.0.1:<ephemeral> answering every GET with
// "<id> <path>".
class TestBackend {
 public:
  explicit TestBackend(std::string id);
  ~TestBackend();
  TestBackend(const TestBackend&) = delete;
  TestBackend& operator=(const TestBackend&) = delete;
  const std::string& id() const { return id_; }
  std::uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }
  int requests() const { return requests_; }
  wire::Route route(const std::string& service, std::uint16_t weight = 100,
                    wire::InstanceState state = wire::InstanceState::up) const;

 private:
  void accept_loop();
  void serve(int fd);

  std::string id_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> requests_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
};

// haproxy in master-worker mode with the test's own configuration (external-socket mode).
class TestHaproxy {
 public:
  // `body` goes after global/defaults; `{FRONTEND}` in it is replaced by the frontend port.
  TestHaproxy(const TempDir& dir, const std::string& body);
  ~TestHaproxy();
  std::string admin_socket() const { return dir_ + "/admin.sock"; }
  std::string master_socket() const { return dir_ + "/master.sock"; }
  std::uint16_t frontend_port() const { return frontend_port_; }
  void start();
  void kill_hard();  // SIGKILL the whole process group: no clean-up at all
  std::string log() const { return process_ ? process_->log() : ""; }

 private:
  std::string dir_;
  std::uint16_t frontend_port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// One command on a Unix admin socket (non-interactive): the whole reply; "" on failure.
std::string cli(const std::string& socket_path, const std::string& command);
// An interactive session (`prompt`, then `commands`): everything received up to the last prompt.
std::string cli_session(const std::string& socket_path, const std::vector<std::string>& commands);
// Rows of `show servers state <backend>` from HAProxy itself (empty on failure).
std::vector<sherlock::haproxy::ServerStateRow> servers_state(const std::string& socket_path,
                                                             const std::string& backend);
// "addr:port" of each server of `backend` that takes requests (ready, not drain or maint).
std::vector<std::string> ready_servers(const std::string& socket_path, const std::string& backend);

// `n` requests through HAProxy, one connection each: the ids that answered, in order ("" for a
// failure).
std::vector<std::string> ids_answering(std::uint16_t port, const std::string& path, int n);
// The set of distinct ids among `n` requests (failures included as "").
std::vector<std::string> distinct_ids(std::uint16_t port, const std::string& path, int n);

// The sink on its own io_context thread.
class SinkRunner {
 public:
  explicit SinkRunner(sherlock::haproxy::ShellSettings settings);
  ~SinkRunner();
  void set_routes(const sherlock::ServiceRoutes& all, const std::vector<std::string>& changed);
  // Runs `f` on the io_context thread and waits for it.
  template <typename F>
  auto call(F f) -> decltype(f(std::declval<sherlock::haproxy::HaproxyShell&>())) {
    std::packaged_task<decltype(f(*sink_))()> task([&] { return f(*sink_); });
    auto result = task.get_future();
    post([&task] { task(); });
    return result.get();
  }
  bool settled();
  std::string metrics();

 private:
  void post(std::function<void()> f);
  boost::asio::io_context io_;
  std::unique_ptr<sherlock::haproxy::HaproxyShell> sink_;
  std::thread thread_;
};

// Keeps the routes of every service and hands the sink the whole replica on each change.
class Replica {
 public:
  explicit Replica(SinkRunner& sink) : sink_(sink) {}
  void set(const std::string& service, std::vector<wire::Route> routes);

 private:
  SinkRunner& sink_;
  sherlock::ServiceRoutes all_;
};

}  // namespace baker::testing
