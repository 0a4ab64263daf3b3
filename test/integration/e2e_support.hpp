#pragma once
// A whole Baker on loopback for end-to-end tests: the real directory, watsons beside real sample
// services (tools/greeting-service.py), a real sherlock, and HAProxy (managed by sherlock, or the
// test's own with sherlock driving it through --haproxy-sock).
#include <memory>
#include <set>
#include <string>
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

class Cluster {
 public:
  Cluster();
  ~Cluster();

  const TempDir& dir() const { return dir_; }
  std::uint16_t directory_port() const { return directory_port_; }
  std::uint16_t directory_metrics_port() const { return directory_metrics_; }
  std::uint16_t sherlock_http_port() const { return sherlock_http_; }
  std::uint16_t frontend_port() const { return frontend_; }

  void start_directory(std::vector<std::string> extra = {});
  ChildProcess& directory() { return *directory_; }
  void kill_directory();  // SIGKILL: no goodbye, no clean-up

  // Starts the sample service and its watson (heartbeat every 200 ms). Returns its index.
  std::size_t add_instance(const std::string& version, std::vector<std::string> watson_extra = {});
  Instance& instance(std::size_t i) { return *instances_.at(i); }
  void start_watson(std::size_t i, std::vector<std::string> extra = {});
  // Makes instance i's /health answer 503 (false) or 200 (true); its watson notices at its next
  // checks (fall 2, rise 1).
  void set_healthy(std::size_t i, bool healthy);
  void set_watson_interval_ms(int ms) { watson_interval_ms_ = ms; }

  // Sherlock modes: replica only, managed HAProxy (frontend on frontend_port()), or an HAProxy
  // the test runs (admin socket path).
  void start_sherlock_replica_only(std::vector<std::string> extra = {});
  void start_sherlock_managed(std::vector<std::string> extra = {});
  void start_sherlock_external(const std::string& admin_socket,
                               std::vector<std::string> extra = {});
  ChildProcess& sherlock() { return *sherlock_; }
  void stop_sherlock() { sherlock_.reset(); }

  // "instance@address:port/weight/state" of every route, from each side's /routes JSON.
  std::set<std::string> directory_routes(const std::string& service = "");
  std::set<std::string> sherlock_routes(const std::string& service = "");
  std::size_t sherlock_count(const std::string& service) { return sherlock_routes(service).size(); }
  std::string directory_metrics();
  // Value of a Prometheus sample line starting with `prefix` (e.g. `baker_x{reason="y"}`); -1 if
  // absent.
  double directory_metric(const std::string& prefix);

 private:
  TempDir dir_;
  std::uint16_t directory_port_, directory_metrics_, sherlock_http_, frontend_;
  std::unique_ptr<ChildProcess> directory_;
  std::unique_ptr<ChildProcess> sherlock_;
  std::vector<std::unique_ptr<Instance>> instances_;
  std::vector<std::string> directory_args_;
  int watson_interval_ms_ = 200;
};

// Parses "instance", "address", "port", "weight" and "state" of every route object in a JSON text.
std::set<std::string> route_set(const std::string& json);

// Path of tools/greeting-service.py.
std::string greeting_service();

}  // namespace baker::testing
