#pragma once
// ManagedReloader: managed mode's sans-I/O core. It plans HAProxy's configuration (every current
// server listed statically in its slot), starts haproxy (master-worker, `-W -S master.sock`), and
// reloads it hitlessly when a service appears for the first time or a backend runs out of slots:
// write the candidate, `haproxy -c` it, rename it over haproxy.cfg, read the master's `show proc`
// reload counter, write the server-state file from the driver's state at that moment (how each
// slot starts in the new worker), send `reload` (2.6 answers nothing), poll `show proc` until the
// counter moves (a moved `[failed: N]` is a failed reload). Reloads are batched: what arrives
// during one goes into the next. A failed reload is retried with backoff; a master that exits is
// restarted with backoff. Fed events with `now`, it returns actions; it never touches a clock,
// file, socket or process. The Asio shell (managed_haproxy.cpp) performs the actions and reports
// their outcome.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/backoff.hpp"
#include "common/clock.hpp"
#include "sherlock/haproxy_driver.hpp"
#include "sherlock/haproxy_replies.hpp"
#include "sherlock/managed_config.hpp"

namespace baker::sherlock::haproxy {

struct ManagedState;  // managed_state.hpp

struct ManagedSettings {
  std::string haproxy_bin = "haproxy";
  std::string run_dir;  // empty: a fresh directory under /tmp, removed on stop
  std::string frontend_host = "127.0.0.1";
  std::uint16_t frontend_port = 8000;
  std::map<std::string, std::uint16_t> tcp_ports;  // service -> TCP listener port
  int slots = 16;                                  // initial slots per backend
  std::string balance = "roundrobin";              // random costs weight x 16 tree nodes per server
  std::string backend_prefix;
  SlotNaming naming;
  // --haproxy-timeout: a configuration with 10k servers takes ~10 s to load on 2 cores.
  Duration start_timeout = std::chrono::seconds(30);
  Duration reload_timeout = std::chrono::seconds(30);      // reload start -> `show proc` confirms
  Duration poll_interval = std::chrono::milliseconds(10);  // start-up readiness, reload `show proc`
  Duration cli_timeout = std::chrono::seconds(2);          // one master CLI command, run time
  Duration startup_cli_timeout = std::chrono::milliseconds(500);  // one `show proc`, start-up
  BackoffSettings reload_backoff;                                 // retry a failed reload
  BackoffSettings restart_backoff;                                // restart a master that exited
  // A master that ran this long before exiting is restarted after restart_backoff.first again.
  Duration restart_backoff_reset = std::chrono::seconds(60);
  // On sherlock's exit: stop haproxy (a soft stop: it stops listening and finishes the requests
  // in flight), or leave it serving for the next sherlock with this run dir to adopt (sherlock's
  // flag defaults to that). A crash always leaves it running.
  bool stop_on_exit = true;
  // How long a soft stop may take before haproxy is told to stop at once (SIGTERM): requests in
  // flight longer than this are cut, and 2.6.12 may miss a soft stop sent right after its start.
  Duration stop_grace = std::chrono::seconds(10);
  // A fresh start waits up to this long for the replica's first snapshot, so the first
  // configuration already holds every service and instance (no 503 for a service the replica
  // holds). Zero starts at once (sherlock's flag defaults to 5 s).
  Duration routes_wait = Duration::zero();
};

// What the core asks its shell to do, in order. Those that say "report" expect the matching event.
namespace reloader {
// Write `text` to `path` (a temporary file renamed over it). Report on_config_written.
struct WriteConfig {
  std::string path;
  std::string text;
};
// Write the server-state file the next haproxy loads (a temporary file renamed over it): before
// the first check, before a restart's master and right before each `reload`. Report
// on_server_state_written.
struct WriteServerState {
  std::string path;
  std::string text;
};
// Run `argv` (`haproxy -c -q -f <file>`) with its output to `log_path`. Report on_check_done.
struct RunCheck {
  std::vector<std::string> argv;
  std::string log_path;
};
// Rename the checked candidate `from` over `to`. Report on_config_installed.
struct InstallConfig {
  std::string from;
  std::string to;
};
// Spawn the master, `argv` (`haproxy -W -S ...`). Report on_master_started, and on_master_exit
// when it exits.
struct StartMaster {
  std::vector<std::string> argv;
};
// Start-up only: does the worker's admin socket accept a connection? Report on_socket_probed.
struct ProbeSocket {
  std::string path;
};
// One command on the master CLI within `timeout`: "show proc" (report on_show_proc) or "reload"
// (report on_reload_sent).
struct QueryMaster {
  std::string socket;
  std::string command;
  Duration timeout{};
};
// Abandon the check (kill it) or master command in flight; its outcome is not to be reported.
struct CancelPending {};
// Soft-stop the master if it runs (SIGUSR1: stop listening, finish the requests in flight) and
// wait up to `grace` for it to exit; then SIGTERM (haproxy's hard stop) and a short wait.
struct StopMaster {
  Duration grace{};
};
// Write the state file (ManagedState) for the next sherlock; a failure is only logged.
struct SaveState {
  std::string path;
  std::string text;
};
// A new worker serves `admin_socket` (after a reload or a restart): point the driver there.
struct NewWorker {
  std::string admin_socket;
};
// A file no longer used (an old generation's admin socket).
struct RemoveFile {
  std::string path;
};
// Start-up is complete: haproxy serves.
struct Started {};
// Start-up failed; `why` is for the operator (haproxy's own words when it has some).
struct StartFailed {
  std::string why;
};
enum class LogLevel { info, warn, error };
struct Log {
  LogLevel level = LogLevel::info;
  std::string text;
};

using Action = std::variant<WriteConfig, WriteServerState, RunCheck, InstallConfig, StartMaster,
                            ProbeSocket, QueryMaster, CancelPending, StopMaster, SaveState,
                            NewWorker, RemoveFile, Started, StartFailed, Log>;
using Actions = std::vector<Action>;
}  // namespace reloader

struct ReloaderCounters {
  std::uint64_t reloads = 0;
  std::uint64_t reload_failures = 0;
  std::uint64_t restarts = 0;
  std::optional<Duration> last_reload;  // reload start -> `show proc` confirmed it
};

class ManagedReloader {
 public:
  using Actions = reloader::Actions;
  using Routes = std::map<std::string, std::vector<wire::Route>>;

  // `run_dir` exists. `driver` (the sink's) outlives this object; configurations are planned from
  // what it knows (the routes it wants, the slots HAProxy holds them in).
  ManagedReloader(ManagedSettings settings, std::string run_dir, const HaproxyDriver& driver);

  // Start-up: the first configuration (every service of `all` with routes, may be null), its
  // check, the master, then readiness: the worker's admin socket answers AND the master's `show
  // proc` lists a current worker (haproxy opens its sockets before binding the frontend, and exits
  // if that bind fails). Ends in Started or StartFailed.
  Actions start(TimePoint now, const Routes* all = nullptr);
  // Start-up by adopting the haproxy an earlier sherlock left running (its state file): the same
  // readiness checks against its sockets, then Started; a configuration written from other
  // settings is replaced by a reload. Ends in Started or StartFailed.
  Actions adopt(const ManagedState& state, TimePoint now);
  // The replica (`all`, may be null) or the driver's state changed: reload if a service with routes
  // is not in the configuration yet or a backend has instances waiting for a slot.
  Actions on_routes(const Routes* all, TimePoint now);
  // Outcomes of the actions above; `error` is empty on success.
  Actions on_config_written(std::string_view error, TimePoint now);
  Actions on_server_state_written(std::string_view error, TimePoint now);
  Actions on_check_done(int exit_status, std::string_view output, TimePoint now);  // 127: not run
  Actions on_config_installed(std::string_view error, TimePoint now);
  Actions on_master_started(int pid, std::string_view error, TimePoint now);
  Actions on_socket_probed(bool answers, TimePoint now);
  // `procs` is nullopt when the command failed (`error`) or the answer did not parse.
  Actions on_show_proc(const std::optional<ProcessList>& procs, std::string_view error,
                       TimePoint now);
  Actions on_reload_sent(std::string_view error, TimePoint now);
  Actions on_master_exit(int status, TimePoint now);
  Actions on_timer(TimePoint now);
  // Stop: whatever is in flight is abandoned and the master stopped. Later events do nothing.
  Actions stop(TimePoint now);
  // When on_timer has something to do; nullopt: nothing until the next event.
  std::optional<TimePoint> next_deadline() const;

  bool started() const;
  bool stopped() const { return state_ == State::stopped; }
  bool reloading() const;                                   // a reload or a restart is under way
  std::uint64_t generation() const { return generation_; }  // of the running configuration
  int master_pid() const { return master_pid_; }
  const ReloaderCounters& counters() const { return counters_; }
  void append_metrics(std::string& out) const;

  const std::string& run_dir() const { return run_dir_; }
  std::string config_path() const { return run_dir_ + "/haproxy.cfg"; }
  std::string candidate_path() const { return config_path() + ".new"; }
  std::string server_state_path() const { return run_dir_ + "/servers.state"; }
  std::string stable_socket() const { return run_dir_ + "/haproxy.sock"; }
  std::string master_socket() const { return run_dir_ + "/master.sock"; }
  std::string state_path() const { return run_dir_ + "/sherlock.state"; }
  std::string pid_path() const { return run_dir_ + "/haproxy.pid"; }
  bool adopted() const { return adopted_; }
  std::string socket_path(std::uint64_t generation) const;
  std::string admin_socket() const { return socket_path(generation_); }

 private:
  enum class State {
    created,
    start_writing,        // the first configuration
    start_writing_state,  // its server-state file
    start_checking,       // haproxy -c
    start_spawning,
    start_probing,   // the worker's admin socket
    start_querying,  // the master's `show proc`
    start_waiting,   // poll_at_
    idle,            // running; retry_at_ may hold back the next reload
    writing,         // the candidate
    checking,
    installing,
    counting,         // `show proc` before `reload`
    writing_state,    // the server-state file, right before `reload`
    sending,          // `reload`
    settling,         // poll_at_
    polling,          // `show proc` after `reload`
    restart_waiting,  // restart_at_
    restart_writing,
    restart_writing_state,
    restart_spawning,
    failed,  // start-up failed
    stopped,
  };
  struct Plan {
    std::map<std::string, int> http;  // service -> slot count
    std::map<std::string, int> tcp;
    std::uint64_t generation = 0;
    ManagedConfig config;  // its slots: the server-state file is written from them
    std::string text;
  };

  Plan build(const std::set<std::string>& add, const std::set<std::string>& grow) const;
  void commit(Plan& plan);
  reloader::WriteServerState server_state(const Plan& plan) const;
  std::vector<std::string> check_argv(const std::string& path) const;
  bool wants_reload() const { return !want_add_.empty() || !want_grow_.empty() || want_rewrite_; }
  std::vector<std::string> master_argv() const;
  reloader::SaveState save_state() const;
  void maybe_start_reload(TimePoint now, Actions& out);
  void start_reload(TimePoint now, Actions& out);
  void reload_succeeded(TimePoint now, Actions& out);
  void reload_failed(const std::string& why, TimePoint now, Actions& out);
  void requeue_pending();
  void restart(Actions& out);
  void restart_later(const std::string& why, TimePoint now, Actions& out);
  void start_failed(const std::string& why, Actions& out);
  void start_wait(const std::string& why, TimePoint now, Actions& out);
  reloader::QueryMaster master_command(const std::string& command, Duration timeout) const;

  ManagedSettings settings_;
  std::string run_dir_;
  const HaproxyDriver& driver_;
  State state_ = State::created;
  std::uint64_t generation_ = 0;     // of the running configuration
  std::map<std::string, int> http_;  // running configuration: service -> slots
  std::map<std::string, int> tcp_;
  std::set<std::string> want_add_;   // services waiting for a reload
  std::set<std::string> want_grow_;  // backends waiting for more slots
  bool want_rewrite_ = false;        // an adopted configuration from other settings
  bool pending_rewrite_ = false;
  bool adopted_ = false;
  // The adopted generation's admin socket stayed silent: a reload may have been under way when the
  // last sherlock stopped, so a newer worker serves another socket.
  bool adopted_socket_lost_ = false;
  Plan pending_;            // the configuration being written, checked, loaded
  int reloads_before_ = 0;  // the master's counters before `reload`
  int failed_before_ = 0;
  int master_pid_ = -1;
  TimePoint master_started_{};
  TimePoint reload_started_{};
  TimePoint start_deadline_{};
  std::string start_waiting_for_;  // what start-up still waits for (for the timeout's message)
  TimePoint poll_at_{};
  TimePoint restart_at_{};
  std::optional<TimePoint> retry_at_;  // a failed reload: no new one before this
  Backoff reload_backoff_;
  Backoff restart_backoff_;
  ReloaderCounters counters_;
};

}  // namespace baker::sherlock::haproxy
