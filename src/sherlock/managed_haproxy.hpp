#pragma once
// Managed mode's shell: performs what ManagedReloader (the sans-I/O core: configuration planning,
// start-up, reloads, restarts) asks for with files, child processes (ManagedProcess), the master
// CLI (master_cli) and one Asio timer, and feeds the outcomes back. Start-up is blocking (before
// the io_context runs): the same core, with its actions performed synchronously.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sherlock/haproxy_driver.hpp"
#include "sherlock/managed_process.hpp"
#include "sherlock/managed_reloader.hpp"
#include "sherlock/master_cli.hpp"

namespace baker::sherlock::haproxy {

class ManagedHaproxy {
 public:
  // Called (on the io_context) when a new worker serves a new admin socket: after each reload and
  // after a restart. The sink points the transport there and has the driver re-read everything.
  using NewWorker = std::function<void(const std::string& admin_socket)>;
  using Routes = ManagedReloader::Routes;

  // `driver` (the sink's) outlives this object: configurations are planned from it.
  ManagedHaproxy(boost::asio::io_context& io, ManagedSettings settings, const HaproxyDriver& driver,
                 NewWorker on_new_worker);
  ~ManagedHaproxy();
  ManagedHaproxy(const ManagedHaproxy&) = delete;
  ManagedHaproxy& operator=(const ManagedHaproxy&) = delete;

  // Blocking: creates the run directory and locks it (one sherlock per run directory), then adopts
  // the haproxy an earlier sherlock left running there, if its state file names a live master.
  // True if adopted (haproxy serves); false if there is none to adopt (start() next). Throws
  // std::runtime_error with the reason: the run dir is locked, or a live haproxy does not answer.
  bool adopt();
  // Blocking start-up: writes the first configuration (every service of `all` with routes, may be
  // null), checks it, starts haproxy and waits until it serves. Throws std::runtime_error with the
  // reason (haproxy's own words when it has some).
  void start(const Routes* all = nullptr);
  bool started() const { return started_; }
  std::string admin_socket() const { return core_ ? core_->admin_socket() : std::string(); }
  const std::string& run_dir() const { return run_dir_; }
  std::string stable_socket() const { return core_ ? core_->stable_socket() : std::string(); }
  std::string master_socket() const { return core_ ? core_->master_socket() : std::string(); }
  int master_pid() const;

  // After each replica change (`all`) and admin-socket session (null): reload if a service with
  // routes is not in the running configuration yet or a backend has instances waiting for a slot.
  void update(const Routes* all);
  bool reloading() const { return core_ && core_->reloading(); }
  std::uint64_t reloads() const { return core_ ? core_->counters().reloads : 0; }
  // With stop_on_exit: soft-stops haproxy (waiting up to stop_grace) and removes a run directory
  // it created; otherwise leaves haproxy serving for the next sherlock. Releases the lock.
  void stop();
  void append_metrics(std::string& out) const;

 private:
  void feed(reloader::Actions actions);
  void perform(reloader::Action& action);
  void perform_check(const reloader::RunCheck& check);
  void perform_query(const reloader::QueryMaster& query);
  void perform_start_master(const reloader::StartMaster& start);
  void watch_master();
  void perform_stop_master(const reloader::StopMaster& stop);
  void cancel_pending();
  void deliver_reply(const std::string& command, const boost::system::error_code& ec,
                     const std::string& reply);
  void arm_timer();
  void prepare_run_dir();
  void run_blocking(reloader::Actions first);

  boost::asio::io_context& io_;
  ManagedSettings settings_;
  const HaproxyDriver& driver_;
  NewWorker on_new_worker_;
  std::string run_dir_;
  bool own_run_dir_ = false;
  int lock_fd_ = -1;  // flock on <run dir>/sherlock.lock, held while this object lives
  std::optional<ManagedReloader> core_;
  std::deque<reloader::Action> queue_;  // actions still to perform, in order
  bool performing_ = false;
  bool blocking_ = false;  // start-up: perform every action synchronously
  bool started_ = false;
  std::optional<std::string> start_error_;
  bool stopped_ = false;
  std::shared_ptr<ManagedProcess> master_;
  std::shared_ptr<ManagedProcess> check_;
  std::shared_ptr<MasterCliRequest> cli_;
  boost::asio::steady_timer timer_;
  std::optional<TimePoint> armed_;  // the deadline timer_ waits for
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace baker::sherlock::haproxy
