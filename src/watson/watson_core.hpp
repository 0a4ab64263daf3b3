#pragma once
// The watson agent as a sans-I/O state machine: fed check results, timer wake-ups, drain changes
// and shutdown (each with `now`), it returns what to send to the directories and whether to start
// a health check; next_deadline() says when to call on_timer() again. No sockets, clocks or
// logging.
#include <cstdint>
#include <optional>
#include <vector>

#include "common/clock.hpp"
#include "watson/health_state.hpp"
#include "watson/heartbeat_schedule.hpp"
#include "wire/messages.hpp"

namespace baker::watson {

struct CoreSettings {
  wire::Route route;  // what heartbeats announce; route.state is set by the core
  // The process: its start on the wall clock, us since 1970, taken once by the shell; never 0.
  // The directory orders processes of an instance by it (docs/PROTOCOL.md, "Rules").
  std::uint64_t incarnation = 0;
  Duration heartbeat_interval = std::chrono::seconds(1);
  Duration check_interval = std::chrono::seconds(1);
  double jitter = 0.1;               // see HeartbeatSchedule
  unsigned healthy_threshold = 2;    // rise
  unsigned unhealthy_threshold = 3;  // fall
  unsigned goodbye_count = 3;        // UDP may drop one: say it several times, spaced
  Duration goodbye_spacing = std::chrono::milliseconds(100);
  bool start_draining = false;
};

struct Actions {
  std::vector<wire::Message> send;  // to every directory, in this order
  bool start_check = false;         // start one health check now; report it with on_check_result
  bool finished = false;            // shutdown complete (goodbyes said): the shell may exit
};

// Why the instance is draining; it drains while any source says so.
enum class DrainSource : std::uint8_t {
  operator_request,  // --draining at start, SIGUSR1 (on) / SIGUSR2 (off)
  drain_file,        // --drain-file exists
};

class WatsonCore {
 public:
  WatsonCore(CoreSettings settings, HeartbeatSchedule::Uniform uniform);

  // First thing after construction: the first health check starts at once.
  Actions start(TimePoint now);
  // A wake-up at or after next_deadline(): sends what is due, starts the check if due.
  Actions on_timer(TimePoint now);
  // The result of the check that the last start_check asked for.
  Actions on_check_result(bool passed, TimePoint now);
  // Draining on/off from one source. A change of the announced state is sent at once.
  Actions set_draining(DrainSource source, bool on, TimePoint now);
  // SIGTERM/SIGINT: stop checking and heartbeating, say Goodbye (if announced), then finish.
  Actions on_shutdown(TimePoint now);

  std::optional<TimePoint> next_deadline() const;

  // The wall clock (ms since 1970) at `now`: every datagram carries it as sent_ms. The shell sets
  // it before each event (the core never reads a clock); between calls it runs with `now`.
  void set_wall_clock(std::uint64_t unix_ms, TimePoint now);
  std::uint64_t wall_ms(TimePoint now) const;

  Health health() const { return health_.health(); }
  const HealthState& health_state() const { return health_; }
  bool announced() const { return announced_; }  // heartbeating
  bool draining() const { return operator_draining_ || file_draining_; }
  bool shutting_down() const { return shutting_down_; }
  bool finished() const { return finished_; }
  std::uint64_t incarnation() const { return settings_.incarnation; }
  std::uint64_t last_seq() const { return seq_; }
  const CoreSettings& settings() const { return settings_; }

 private:
  void send_heartbeat(TimePoint now, Actions& out);
  void send_goodbye(TimePoint now, Actions& out);
  void begin_goodbyes(TimePoint now, Actions& out);
  void maybe_finish(Actions& out);

  CoreSettings settings_;
  HeartbeatSchedule schedule_;
  HealthState health_;
  std::uint64_t seq_ = 0;  // last sequence number used in this incarnation
  std::uint64_t wall_anchor_ms_ = 0;
  TimePoint wall_anchor_{};
  bool announced_ = false;
  bool operator_draining_ = false;
  bool file_draining_ = false;
  bool shutting_down_ = false;
  bool finished_ = false;
  bool check_in_flight_ = false;
  TimePoint check_started_{};
  std::optional<TimePoint> next_check_;
  std::optional<TimePoint> next_heartbeat_;
  std::optional<TimePoint> next_goodbye_;
  unsigned goodbyes_left_ = 0;
};

}  // namespace baker::watson
