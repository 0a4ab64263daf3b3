#pragma once
// HaproxyPlan: what HAProxy has for one backend (parsed `show servers state`, plus `show stat`
// loads while removals wait) + the routes the replica wants there -> the admin-socket commands that
// make HAProxy match, in order. Pure and deterministic: no sockets, `now` passed in.
//
// Instances live in pre-declared slots (`server-template <prefix> 1-N 127.0.0.1:9 weight 0`), which
// keep backend connection reuse; `add server` is only a fallback when slots run out (such servers
// never reuse connections in HAProxy 2.6.12). A slot is not an instance id: an instance is matched
// to the slot holding its address:port, so the mapping is rebuilt from HAProxy's own state after
// any reconnect or restart. See docs/HAPROXY-DRIVER.md.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "sherlock/haproxy_commands.hpp"
#include "sherlock/haproxy_replies.hpp"
#include "wire/messages.hpp"

namespace baker::sherlock::haproxy {

// Which servers of a backend are Baker's: template slots "<prefix><n>" and fallback dynamic servers
// "<prefix>-add<n>". Any other server (an operator's static one) is never touched.
struct SlotNaming {
  std::string prefix = "slot";

  std::optional<int> slot_number(std::string_view server) const;
  std::optional<int> dynamic_number(std::string_view server) const;
  std::string slot_name(int n) const { return prefix + std::to_string(n); }
  std::string dynamic_name(int n) const { return prefix + "-add" + std::to_string(n); }
};

// A server being removed: put in drain at `since`, in admin-socket session number `session`.
struct Removal {
  TimePoint since{};
  std::uint64_t session = 0;
  friend bool operator==(const Removal&, const Removal&) = default;
};

// What is known about one backend in HAProxy.
struct BackendSnapshot {
  std::vector<ServerStateRow> rows;
  std::map<std::string, ServerLoad> loads;  // server -> latest `show stat` row
  // Session whose `show stat` gave `loads` (0: none). Loads count for a removal only if read in
  // the session of its drain (sent after it) or later: sessions are numbered, not timed, so this
  // holds in simulated time too.
  std::uint64_t loads_session = 0;
  std::optional<TimePoint> loads_at;        // when they were read (the caller's poll pacing)
  std::map<std::string, Removal> removals;  // kept by the caller between plans
};

struct PlanSettings {
  SlotNaming naming;
  Duration drain_timeout = std::chrono::seconds(10);
  bool allow_add_server = false;   // fall back to `add server` when no slot is free
  std::string add_server_options;  // written explicitly on each `add server` (no default-server)
};

struct BackendPlan {
  std::vector<Command> commands;                  // in the order to send them
  std::map<std::string, std::string> assignment;  // instance -> server holding it
  std::vector<std::string> unplaced;              // instances that found no free server
  std::map<std::string, Removal> removals;        // the snapshot's, updated
  bool needs_loads = false;  // a removal waits for sessions to end: read `show stat` again
  std::optional<TimePoint> next_deadline;  // earliest drain timeout among waiting removals
  int slots_total = 0;                     // template slots in the backend
  int slots_used = 0;                      // template slots holding an instance or draining one
  int dynamic_servers = 0;                 // fallback servers present
};

// `desired` are the service's routes (state up or draining). Commands per server go address ->
// weight -> state, so a reused slot leaves maintenance only once it points at its new instance.
// `session` numbers the session the commands will be sent in (increasing).
BackendPlan plan_backend(const std::string& backend, const BackendSnapshot& current,
                         const std::vector<wire::Route>& desired, const PlanSettings& settings,
                         TimePoint now, std::uint64_t session = 1);

// Managed mode's static configuration: slot n (index n-1) -> the route it holds, keeping every
// instance in the slot it holds in `rows` (HAProxy's current state, may be empty) so a reload moves
// nothing. Routes that do not fit are left out; `slot_count` should cover them (slots_needed).
std::vector<std::optional<wire::Route>> assign_slots(const std::vector<ServerStateRow>& rows,
                                                     const std::vector<wire::Route>& desired,
                                                     int slot_count, const SlotNaming& naming);
// How many slots a static configuration needs for `desired`: at least `minimum`, doubled until
// every routable instance fits.
int slots_needed(const std::vector<wire::Route>& desired, int minimum);

}  // namespace baker::sherlock::haproxy
