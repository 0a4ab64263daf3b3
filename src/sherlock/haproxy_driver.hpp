#pragma once
// HaproxyDriver: the sans-I/O core that keeps HAProxy's backends equal to sherlock's replica.
// Fed the replica's changes and the replies of the sessions it asked for (with `now`), it returns
// the next admin-socket session to run. The Asio shell (haproxy_shell.cpp) only performs sessions.
//
// - No coalescing window: when no session is in flight, a change is planned and sent at once; what
//   arrives while one is in flight is batched into the next session (one round trip each).
// - Every reply is checked; an error is logged and that backend's state is read again.
// - A periodic reconcile re-reads `show servers state`, so drift from any cause heals; a periodic
//   `show info` notices an old, stopping worker (HAProxy reloaded under us) and reconnects.
// - A failed session (socket gone, HAProxy restarted) reconnects with exponential backoff and
//   re-reads, then re-applies, everything.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/backoff.hpp"
#include "common/clock.hpp"
#include "sherlock/haproxy_commands.hpp"
#include "sherlock/haproxy_plan.hpp"
#include "sherlock/haproxy_replies.hpp"
#include "wire/messages.hpp"

namespace baker::sherlock::haproxy {

struct DriverSettings {
  std::string backend_prefix;  // backend of service S is backend_prefix + S
  PlanSettings plan;
  Duration drain_poll = std::chrono::milliseconds(100);  // `show stat` period while removals wait
  Duration probe_interval = std::chrono::milliseconds(500);  // `show info`: current worker?
  Duration reconcile_interval = std::chrono::seconds(10);
  Duration reconnect_min = std::chrono::milliseconds(50);
  Duration reconnect_max = std::chrono::seconds(5);
  Duration error_retry = std::chrono::milliseconds(200);  // re-read delay after a command error
  // Managed mode: sherlock writes the config and adds missing backends itself (by reload), so a
  // missing backend is not a configuration error to report.
  bool managed = false;
  int suggested_slots = 16;  // slot count in the config lines suggested for a missing backend
  // service -> further backends fed the same routes (managed mode's per-service TCP listeners).
  std::map<std::string, std::vector<std::string>> extra_backends;
};

// One admin-socket session: the commands go out pipelined on one connection, and each reply is read
// up to the next prompt.
struct Session {
  bool fresh_connection = false;  // close the connection (if any) and open a new one first
  std::vector<Command> commands;
};

struct DriverCounters {
  std::uint64_t sessions = 0;
  std::uint64_t session_failures = 0;
  std::uint64_t commands_sent = 0;
  std::uint64_t command_errors = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t applies = 0;             // sessions that carried route changes, confirmed
  std::optional<Duration> last_apply;    // change received -> HAProxy confirmed it
  std::optional<Duration> last_session;  // last session: sent -> every reply read
};

class HaproxyDriver {
 public:
  explicit HaproxyDriver(DriverSettings settings);

  // The replica changed: `all` is every service's routes, `changed` the services to look at again.
  void set_routes(const std::map<std::string, std::vector<wire::Route>>& all,
                  const std::vector<std::string>& changed, TimePoint now);

  // The session to run now, or nullopt (nothing due, or one already in flight).
  std::optional<Session> on_timer(TimePoint now);
  // The in-flight session's outcome: one reply per command, or a transport failure.
  void on_replies(const std::vector<std::string>& replies, TimePoint now);
  void on_failure(const std::string& why, TimePoint now);
  // When on_timer may have something to do (timers); nullopt while a session is in flight.
  std::optional<TimePoint> next_deadline() const;

  // HAProxy was reloaded or restarted (managed mode knows when): drop the connection, whatever the
  // in-flight session returns, and re-read every backend from the new worker.
  void on_haproxy_restarted(TimePoint now);

  std::string backend_for(const std::string& service) const;
  bool connected() const { return link_up_; }
  bool busy() const { return busy_; }
  // Backends HAProxy said it does not have.
  std::vector<std::string> missing_backends() const;
  // HAProxy's state of a backend as last read (and updated by successful commands).
  const std::vector<ServerStateRow>* rows_of(const std::string& backend) const;
  // The routes the replica wants in a backend (empty if none).
  const std::vector<wire::Route>& desired_of(const std::string& backend) const;
  // backend -> instances that found no free server in the last plan.
  std::map<std::string, std::vector<std::string>> unplaced() const;
  // True once every backend is read and every change is applied (tests, benchmarks).
  bool settled() const;
  const DriverCounters& counters() const { return counters_; }
  void append_metrics(std::string& out) const;

 private:
  enum class Knowledge { unknown, known, missing };
  struct Backend {
    std::string service;
    Knowledge knowledge = Knowledge::unknown;
    BackendSnapshot snapshot;
    std::vector<wire::Route> desired;
    bool dirty = true;
    std::optional<TimePoint> dirty_since;  // oldest change not yet confirmed by HAProxy
    std::optional<TimePoint> read_not_before;
    std::optional<TimePoint> next_load_poll;
    std::optional<TimePoint> removal_deadline;
    bool missing_logged = false;
    std::vector<std::string> unplaced;
    std::map<std::string, std::string> assignment;  // instance -> server
    int slots_total = 0;
    int slots_used = 0;
    int dynamic_servers = 0;
    Backoff errors;  // re-reads after command errors (error_backoff_)
  };

  void mark_all_unknown();
  void on_failure_unlocked(const std::string& why, TimePoint now);
  void restore_inflight_changes();
  void process_reply(const Command& command, const std::string& reply, TimePoint now,
                     std::set<std::string>& failed_backends, bool& abandon);
  void apply_to_model(Backend& backend, const Command& command);
  void plan_into(Backend& backend, const std::string& name, Session& session, TimePoint now);
  void log_missing(Backend& backend, const std::string& name);
  static std::vector<wire::Route> routable(const std::vector<wire::Route>& routes,
                                           const std::string& service);

  DriverSettings settings_;
  std::map<std::string, Backend> backends_;
  bool link_up_ = false;
  bool busy_ = false;
  bool inflight_stale_ = false;
  Session inflight_;
  // backend -> oldest change whose commands are in flight (for
  // baker_sherlock_haproxy_last_apply_seconds)
  std::map<std::string, TimePoint> inflight_since_;
  bool ever_connected_ = false;
  std::uint64_t session_seq_ = 0;  // numbers sessions (removal vs `show stat` ordering)
  std::uint64_t inflight_seq_ = 0;
  TimePoint inflight_started_{};
  TimePoint reconnect_at_{};
  Backoff reconnect_;
  BackoffSettings error_backoff_;
  bool failure_logged_ = false;
  std::optional<TimePoint> next_probe_;
  std::optional<TimePoint> next_reconcile_;
  std::optional<int> worker_pid_;
  DriverCounters counters_;
};

}  // namespace baker::sherlock::haproxy
