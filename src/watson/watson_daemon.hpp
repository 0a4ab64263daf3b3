#pragma once
// The Asio shell around WatsonCore: owns the check, the directory sockets, one timer and the
// signals; passes `now` to the core and performs what it returns. Logs every state change.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/systemd_link.hpp"
#include "watson/checks.hpp"
#include "watson/config.hpp"
#include "watson/directory_link.hpp"
#include "watson/watson_core.hpp"
#include "wire/auth.hpp"
#include "wire/codec.hpp"

namespace baker::watson {

struct DaemonSetup {
  WatsonConfig config;
  CoreSettings core;  // route (resolved address), incarnation, timing
  std::unique_ptr<HealthCheck> check;
  std::vector<std::pair<boost::asio::ip::udp::endpoint, std::string>> directories;
  std::optional<wire::Keyring> keys;  // MAC heartbeats with the primary key
  std::uint64_t jitter_seed = 0;
};

class WatsonDaemon {
 public:
  WatsonDaemon(boost::asio::io_context& io, DaemonSetup setup);
  // Starts checking; io.run() returns once shutdown has said its goodbyes.
  void start();

 private:
  TimePoint synced_now();
  void apply(Actions actions);
  void arm_timer();
  void on_wakeup();
  void on_check_done(CheckResult result);
  void do_await_signal();
  Actions poll_drain_file();
  void reload_keys();
  void log_transitions(Health health_before, bool announced_before, bool draining_before);
  void stop();
  std::string systemd_status() const;

  boost::asio::io_context& io_;
  SystemdLink systemd_;  // first: it takes NOTIFY_SOCKET out of the environment
  WatsonConfig config_;
  WatsonCore core_;
  std::unique_ptr<HealthCheck> check_;
  std::vector<std::unique_ptr<DirectoryLink>> links_;
  std::optional<wire::Keyring> keys_;
  boost::asio::steady_timer timer_;
  boost::asio::signal_set signals_;
  wire::Bytes buffer_;
  std::optional<CheckResult> last_result_;
  std::optional<bool> drain_file_present_;
  std::uint64_t heartbeats_sent_ = 0;
  std::uint64_t goodbyes_sent_ = 0;
};

}  // namespace baker::watson
