#pragma once
// Parsers for HAProxy's admin-socket replies (2.6). Pure: strings in, structs out. Tables are
// parsed by their header's column names, never by position, so added columns do not break them.
// classify_reply says what a reply to a command means, in HAProxy 2.6.12's own words (measured).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sherlock/haproxy_commands.hpp"
#include "wire/address.hpp"

namespace baker::sherlock::haproxy {

// srv_admin_state bits (HAProxy's SRV_ADMF_*). CMAINT only records "disabled in the config" and
// does not by itself keep a server out of the farm once FMAINT is cleared.
inline constexpr int kAdminForcedMaint = 0x01;     // FMAINT: set server ... state maint
inline constexpr int kAdminInheritedMaint = 0x02;  // IMAINT: tracked server in maintenance
inline constexpr int kAdminConfigMaint = 0x04;     // CMAINT: `disabled` in the config
inline constexpr int kAdminForcedDrain = 0x08;     // FDRAIN: set server ... state drain
inline constexpr int kAdminInheritedDrain = 0x10;  // IDRAIN
inline constexpr int kAdminResolverMaint = 0x20;   // RMAINT: address resolution failed
inline constexpr int kAdminHostnameMaint = 0x40;   // HMAINT: hostname not resolved yet
inline constexpr int kAdminMaintMask =
    kAdminForcedMaint | kAdminInheritedMaint | kAdminResolverMaint | kAdminHostnameMaint;
inline constexpr int kAdminDrainMask = kAdminForcedDrain | kAdminInheritedDrain;

// One row of `show servers state <backend>`.
struct ServerStateRow {
  int backend_id = 0;
  std::string backend;
  int server_id = 0;
  std::string server;
  std::optional<wire::IpAddress> address;  // nullopt when HAProxy shows "-" (unresolved fqdn)
  std::uint16_t port = 0;
  int op_state = 0;  // 0 stopped, 1 starting, 2 running, 3 stopping
  int admin_state = 0;
  int user_weight = 0;     // srv_uweight: what `set server ... weight` sets
  int initial_weight = 0;  // srv_iweight: the weight in the configuration
  std::string fqdn;        // "" when HAProxy shows "-"

  bool in_maint() const { return (admin_state & kAdminMaintMask) != 0; }
  bool draining() const { return !in_maint() && (admin_state & kAdminDrainMask) != 0; }
  bool ready() const { return !in_maint() && !draining(); }
  friend bool operator==(const ServerStateRow&, const ServerStateRow&) = default;
};

// One server row of `show stat <backend> 4 -1`.
struct ServerLoad {
  std::string backend;
  std::string server;
  int current_sessions = 0;  // scur
  int queued = 0;            // qcur
  std::string status;        // "UP", "MAINT", "DRAIN", "no check", ...
  friend bool operator==(const ServerLoad&, const ServerLoad&) = default;
};

// `show info`: which worker answered and whether it is an old one that is stopping (after a reload
// a connection opened before it stays attached to the old worker).
struct WorkerInfo {
  int pid = 0;
  bool stopping = false;
  friend bool operator==(const WorkerInfo&, const WorkerInfo&) = default;
};

// Master CLI `show proc`.
struct ProcessList {
  int master_pid = 0;
  int reloads = 0;         // master's reload counter
  int failed_reloads = 0;  // "[failed: N]"
  struct Worker {
    int pid = 0;
    int reloads = 0;  // 0 for the current worker, > 0 for old ones still finishing
    friend bool operator==(const Worker&, const Worker&) = default;
  };
  std::vector<Worker> workers;
  std::optional<int> current_worker() const;  // the worker with reloads == 0
  friend bool operator==(const ProcessList&, const ProcessList&) = default;
};

// What HAProxy answered to one command. The error texts are 2.6.12's, captured on this machine
// (test/sherlock/haproxy_replies_test.cpp lists them).
enum class ReplyStatus : std::uint8_t {
  ok,                   // the command's success form: its table, "New server registered.", nothing
  no_such_backend,      // "Can't find backend." / "No such proxy." / "No such backend."
  no_such_server,       // "No such server."
  server_exists,        // add server: "Already exists a server with the same name in backend."
  server_not_in_maint,  // del server: "Only servers in maintenance mode can be deleted."
  server_in_use,        // del server: "Server still has connections attached to it, ..."
  backend_unsupported,  // the backend's static or hash balance takes no dynamic servers or weights
  permission_denied,    // "Permission denied": the socket is not `level admin`
  unknown_command,      // "Unknown command, but maybe ...": not a command of this HAProxy
  bad_argument,         // a malformed command or value: "Invalid addr ...", "Require ..." ...
  empty_reply,          // nothing, where the command answers with text
  unparsable,           // anything else: neither the success form nor an error 2.6 is known to give
};
inline constexpr int kReplyStatusCount = static_cast<int>(ReplyStatus::unparsable) + 1;
std::string_view to_string(ReplyStatus s) noexcept;

struct ClassifiedReply {
  ReplyStatus status = ReplyStatus::ok;
  // For logs, when not ok: HAProxy's first line, trimmed ("empty reply" when there was nothing).
  std::string text;
};

// Classifies `reply`, the text HAProxy sent before the next prompt, as the answer to a command of
// kind `kind`. Each kind has its own success form: set weight/state answer nothing, set addr
// "IP changed ..." or "no need to change the addr ...", add server "New server registered.",
// del server "Server deleted.", show commands the start of their table (the table itself is
// checked by its parser below).
ClassifiedReply classify_reply(CommandKind kind, std::string_view reply);

// Each returns nullopt and sets `error` (if given) when the reply is not the expected table.
std::optional<std::vector<ServerStateRow>> parse_servers_state(std::string_view reply,
                                                               std::string* error = nullptr);
std::optional<std::vector<ServerLoad>> parse_stat(std::string_view reply,
                                                  std::string* error = nullptr);
std::optional<WorkerInfo> parse_show_info(std::string_view reply);
std::optional<ProcessList> parse_show_proc(std::string_view reply);

// Splits what an interactive (`prompt`) CLI session received into replies: each reply is the text
// before the next "\n> ". Returns how many complete replies `buffer` holds from `from` on and
// appends them to `out`; `consumed` receives the bytes used.
std::size_t split_prompt_replies(std::string_view buffer, std::vector<std::string>& out,
                                 std::size_t& consumed);

}  // namespace baker::sherlock::haproxy
