#pragma once
// Managed mode: sherlock writes HAProxy's configuration and runs haproxy itself (master-worker,
// `-W -S <run-dir>/master.sock`). Instance changes go through the admin socket (HaproxyDriver);
// this class only reloads, hitlessly, when a service appears for the first time or a backend runs
// out of slots: the new configuration lists every current server statically, is checked with
// `haproxy -c`, and is loaded with the master socket's `reload` (verified with `show proc`, as 2.6
// answers nothing to `reload`). Reloads are batched: what arrives during one goes into the next.
// If haproxy dies, it is restarted with backoff.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "sherlock/haproxy_driver.hpp"
#include "sherlock/managed_config.hpp"
#include "sherlock/managed_process.hpp"

namespace baker::sherlock::haproxy {

struct ManagedSettings {
  std::string haproxy_bin = "haproxy";
  std::string run_dir;  // empty: a fresh directory under /tmp, removed on stop
  std::string frontend_host = "127.0.0.1";
  std::uint16_t frontend_port = 8000;
  std::map<std::string, std::uint16_t> tcp_ports;  // service -> TCP listener port
  int slots = 16;                                  // initial slots per backend
  std::string balance = "random";
  std::string backend_prefix;
  SlotNaming naming;
  // --haproxy-timeout: a configuration with 10k servers takes ~10 s to load on 2 cores.
  Duration start_timeout = std::chrono::seconds(30);
  Duration reload_timeout = std::chrono::seconds(30);
};

class ManagedHaproxy {
 public:
  // Called (on the io_context) when a new worker serves a new admin socket: after each reload and
  // after a restart. The sink points the transport there and has the driver re-read everything.
  using NewWorker = std::function<void(const std::string& admin_socket)>;

  ManagedHaproxy(boost::asio::io_context& io, ManagedSettings settings, NewWorker on_new_worker);
  ~ManagedHaproxy();
  ManagedHaproxy(const ManagedHaproxy&) = delete;
  ManagedHaproxy& operator=(const ManagedHaproxy&) = delete;

  // Blocking start-up (before the io_context runs): writes the first configuration, checks it,
  // starts haproxy and waits until its admin socket answers. Throws std::runtime_error with the
  // reason (haproxy's own words when it has some).
  void start();
  std::string admin_socket() const;
  const std::string& run_dir() const { return run_dir_; }
  std::string stable_socket() const { return run_dir_ + "/haproxy.sock"; }
  std::string master_socket() const { return run_dir_ + "/master.sock"; }
  int master_pid() const;

  // After each replica change and admin-socket session: reload if a service with routes is not in
  // the running configuration yet or a backend has instances waiting for a slot.
  void update(const HaproxyDriver& driver,
              const std::map<std::string, std::vector<wire::Route>>* all);
  bool reloading() const { return phase_ != Phase::idle; }
  std::uint64_t reloads() const { return reloads_; }
  // Stops haproxy (SIGTERM, then SIGKILL after 3 s) and removes a run directory it created.
  void stop();
  void append_metrics(std::string& out) const;

 private:
  enum class Phase { idle, checking, reloading, restarting };
  struct Plan {
    std::map<std::string, int> http;  // service -> slot count
    std::map<std::string, int> tcp;
    std::uint64_t generation = 0;
    std::string text;
  };

  Plan build(const HaproxyDriver& driver, const std::set<std::string>& add,
             const std::set<std::string>& grow) const;
  std::string socket_path(std::uint64_t generation) const;
  std::string config_path() const { return run_dir_ + "/haproxy.cfg"; }
  void start_reload(const HaproxyDriver& driver);
  void on_checked(int status);
  void send_reload();
  void poll_reload();
  void restart_master();
  void reload_done(bool ok, const std::string& why);
  void start_master();
  void on_master_exit(int status);
  void retry_later(Duration delay);

  boost::asio::io_context& io_;
  ManagedSettings settings_;
  NewWorker on_new_worker_;
  std::string run_dir_;
  bool own_run_dir_ = false;
  bool stopping_ = false;
  Phase phase_ = Phase::idle;
  std::shared_ptr<ManagedProcess> master_;
  std::shared_ptr<ManagedProcess> check_;
  std::uint64_t generation_ = 0;     // of the running configuration
  std::map<std::string, int> http_;  // running configuration: service -> slots
  std::map<std::string, int> tcp_;
  std::set<std::string> want_add_;   // services waiting for a reload
  std::set<std::string> want_grow_;  // backends waiting for more slots
  Plan pending_;                     // the configuration being checked / loaded
  int reloads_before_ = 0;
  int failed_before_ = 0;
  TimePoint reload_started_{};
  TimePoint master_started_{};
  boost::asio::steady_timer timer_;
  TimePoint retry_at_{};
  Duration backoff_ = std::chrono::seconds(1);
  const HaproxyDriver* driver_ = nullptr;  // the sink's, set by update(); outlives this object
  std::uint64_t reloads_ = 0;
  std::uint64_t reload_failures_ = 0;
  std::uint64_t restarts_ = 0;
  std::optional<Duration> last_reload_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace baker::sherlock::haproxy
