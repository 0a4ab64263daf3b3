#pragma once
// A whole Baker on loopback for end-to-end tests: the real directory (or several), watsons beside
// real sample services (tools/greeting-service.py), a real sherlock, and HAProxy (managed by
// sherlock, or the test's own with sherlock driving it through --haproxy-sock). With several
// directories every watson heartbeats to all of them and the sherlock subscribes to all of them;
// partitions and loss are nftables rules in a network namespace the test makes for itself.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "haproxy_test_support.hpp"
#include "process.hpp"

namespace baker::testing {

struct Instance {
  std::string version;
  std::uint16_t port = 0;
  std::unique_ptr<ChildProcess> service;
  std::unique_ptr<ChildProcess> watson;
  std::string unhealthy_file;  // while it exists, the service's /health answers 503
};

// Moves this test process (and so every child it starts from now on) into a fresh network
// namespace with loopback up and an empty nftables table `inet baker_e2e` hooked on input. Nothing
// outside the namespace is touched, and it vanishes with the process. "" on success, else why not.
std::string enter_private_network();

class Cluster {
 public:
  explicit Cluster(std::size_t directories = 1);
  ~Cluster();

  const TempDir& dir() const { return dir_; }
  std::size_t directory_count() const { return directories_.size(); }
  std::uint16_t directory_port(std::size_t k = 0) const { return directories_.at(k).port; }
  std::uint16_t directory_metrics_port(std::size_t k = 0) const {
    return directories_.at(k).metrics;
  }
  std::uint16_t sherlock_http_port() const { return sherlock_http_; }
  std::uint16_t sherlock_udp_port() const { return sherlock_udp_; }  // its --listen
  std::uint16_t frontend_port() const { return frontend_; }
  // Managed mode: the admin socket of the haproxy sherlock runs.
  std::string managed_admin_socket() const { return dir_.file("haproxy-run") + "/haproxy.sock"; }

  // Starts every directory that is not running; `extra` (when given) goes to each of them and is
  // kept for later starts. Waits until each serves /metrics.
  void start_directory(std::vector<std::string> extra = {});
  // Starts (or restarts after a kill) directory k on its own ports; `extra` as above, for k.
  void start_directory(std::size_t k, std::vector<std::string> extra = {});
  ChildProcess& directory(std::size_t k = 0) { return *directories_.at(k).process; }
  bool directory_running(std::size_t k = 0) const { return directories_.at(k).process != nullptr; }
  void kill_directory(std::size_t k = 0);  // SIGKILL: no goodbye, no clean-up

  // Starts the sample service and its watson (heartbeat every 200 ms unless set otherwise).
  // Returns its index.
  std::size_t add_instance(const std::string& version, std::vector<std::string> watson_extra = {});
  // An instance without a sample service: its watson runs with --check none (always healthy) for
  // a port nothing listens on. For tests of the routing state only (no requests).
  std::size_t add_checkless_instance(const std::string& version,
                                     std::vector<std::string> watson_extra = {});
  Instance& instance(std::size_t i) { return *instances_.at(i); }
  std::size_t instance_count() const { return instances_.size(); }
  void start_watson(std::size_t i, std::vector<std::string> extra = {});
  // SIGTERM to instance i's watson (it says goodbye), without waiting for it to exit.
  void say_goodbye(std::size_t i);
  // Makes instance i's /health answer 503 (false) or 200 (true); its watson notices at its next
  // checks (fall 2, rise 1).
  void set_healthy(std::size_t i, bool healthy);
  void set_watson_interval_ms(int ms) { watson_interval_ms_ = ms; }
  // "127.0.0.1:<port>" of instance i, as HAProxy's server state and the sample service show it.
  std::string address_of(std::size_t i) const;

  // Sherlock modes: replica only, managed HAProxy (frontend on frontend_port()), or an HAProxy
  // the test runs (admin socket path). Each subscribes to every directory from
  // sherlock_udp_port().
  void start_sherlock_replica_only(std::vector<std::string> extra = {});
  void start_sherlock_managed(std::vector<std::string> extra = {});
  void start_sherlock_external(const std::string& admin_socket,
                               std::vector<std::string> extra = {});
  ChildProcess& sherlock() { return *sherlock_; }
  void stop_sherlock() { sherlock_.reset(); }
  // Managed mode: the run dir, the master pid its pid file names (-1 if none), and how many haproxy
  // masters run from that run dir (processes started with -W on its master socket whose parent is
  // not one of them).
  std::string managed_run_dir() const { return dir_.file("haproxy-run"); }
  int managed_master_pid() const;
  int managed_masters() const;

  // "instance@address:port/weight/state" of every route, from each side's /routes JSON.
  std::set<std::string> directory_routes(const std::string& service = "", std::size_t k = 0);
  std::set<std::string> sherlock_routes(const std::string& service = "");
  std::size_t sherlock_count(const std::string& service) { return sherlock_routes(service).size(); }
  std::string directory_metrics(std::size_t k = 0);
  // Value of a Prometheus sample line starting with `prefix` (e.g. `baker_x{reason="y"}`); -1 if
  // absent.
  double directory_metric(const std::string& prefix, std::size_t k = 0);
  std::string sherlock_metrics();
  std::string sherlock_digest();  // the /digest JSON ("" if it did not answer)
  // Sherlock's stream of directory k, from the "directories" array of /digest; nullopt if
  // sherlock did not answer or shows no such stream.
  struct Stream {
    std::string epoch;
    std::uint64_t seq = 0, routes = 0;
    bool synced = false, reachable = false, warmup = false, live = false;
  };
  std::optional<Stream> stream(std::size_t k);
  // Everything the processes logged, for a failure message.
  std::string logs();

  // Partitions and loss on directory k's UDP port (needs enter_private_network() first; throws
  // if an nft command fails). Each replaces what was set for k before; heal removes it.
  void cut_directory_from_watsons(std::size_t k);   // every UDP peer but the sherlock
  void cut_directory_from_sherlock(std::size_t k);  // the sherlock only
  void set_directory_loss(std::size_t k, int percent);
  void heal_directory(std::size_t k);
  std::uint64_t directory_drops(std::size_t k);  // datagrams the rules for k dropped so far

 private:
  struct Directory {
    std::uint16_t port = 0, metrics = 0;
    std::vector<std::string> args;  // of its last start: a restart uses them again
    std::unique_ptr<ChildProcess> process;
  };
  void filter_directory(std::size_t k, const std::vector<std::string>& rules);
  std::vector<std::string> sherlock_base() const;

  TempDir dir_;
  std::vector<Directory> directories_;
  std::uint16_t sherlock_http_, sherlock_udp_, frontend_;
  std::unique_ptr<ChildProcess> sherlock_;
  std::vector<std::unique_ptr<Instance>> instances_;
  int watson_interval_ms_ = 200;
};

// Watches sherlock's /routes (and, given an admin socket, HAProxy's ready servers) from a thread
// polling every 10 ms: the sequence of distinct sets seen, each with the time it was first seen.
// Flaps show as extra entries; polls that fail are skipped, not recorded as empty.
class RouteWatch {
 public:
  using Clock = std::chrono::steady_clock;
  struct Seen {
    Clock::time_point at;
    std::set<std::string> items;
  };
  // Returns once the first sets are seen (or after 5 s).
  RouteWatch(std::uint16_t sherlock_http_port, std::string service, std::string admin_socket = "");
  ~RouteWatch();  // stops and joins
  void stop();

  std::vector<Seen> routes() const;  // sherlock's /routes/<service>
  std::vector<Seen> ready() const;   // HAProxy's ready servers (address:port)
  // When the first set satisfying pred was seen at or after `from`; nullopt if not yet.
  std::optional<Clock::time_point> first_ready(
      Clock::time_point from, const std::function<bool(const std::set<std::string>&)>& pred) const;
  std::optional<Clock::time_point> first_route(
      Clock::time_point from, const std::function<bool(const std::set<std::string>&)>& pred) const;
  // The number of changes seen at or after `from` (sherlock's routes and HAProxy's ready set).
  std::size_t route_changes_since(Clock::time_point from) const;
  std::size_t ready_changes_since(Clock::time_point from) const;
  std::string describe() const;  // the history, for failure messages

 private:
  void run();
  static void note(std::vector<Seen>& history, std::set<std::string> items);

  std::uint16_t port_;
  std::string service_, admin_socket_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Seen> routes_, ready_;
  std::thread thread_;
};

// Parses "instance", "address", "port", "weight" and "state" of every route object in a JSON text.
std::set<std::string> route_set(const std::string& json);

// Path of tools/greeting-service.py.
std::string greeting_service();

}  // namespace baker::testing
