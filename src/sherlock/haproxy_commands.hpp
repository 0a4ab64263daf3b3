#pragma once
// HAProxy runtime API (admin socket) commands, built as plain strings; haproxy_replies.hpp's
// classify_reply reads their replies. Pure: no sockets. docs/HAPROXY-DRIVER.md explains the
// command choices.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "wire/address.hpp"

namespace baker::sherlock::haproxy {

enum class CommandKind : std::uint8_t {
  show_servers_state,  // show servers state <backend>
  show_stat,           // show stat <backend> 4 -1   (server rows only: current sessions, queue)
  show_info,           // show info                  (worker pid, stopping flag)
  set_addr,            // set server <be>/<srv> addr <ip> port <port>
  set_weight,          // set server <be>/<srv> weight <0..256>
  set_state,           // set server <be>/<srv> state ready|drain|maint
  add_server,          // add server <be>/<srv> <ip:port> <options>
  del_server,          // del server <be>/<srv>
};

// The administrative states `set server ... state` accepts.
enum class AdminState : std::uint8_t { ready, drain, maint };

struct Command {
  CommandKind kind = CommandKind::show_info;
  std::string backend;
  std::string server;
  std::string text;  // the line sent to HAProxy, without the newline

  // What the command sets, so a caller can update its model of HAProxy once the reply is OK.
  std::optional<wire::IpAddress> address;
  std::uint16_t port = 0;
  std::uint16_t weight = 0;
  AdminState state = AdminState::maint;
  friend bool operator==(const Command&, const Command&) = default;
};

// HAProxy proxy and server names: 1..100 characters of A-Z a-z 0-9 - _ . : (HAProxy's own rule,
// which also keeps spaces, ';' and newlines, the CLI's separators, out of every command we build).
bool valid_haproxy_name(std::string_view name);

// Text for an address in HAProxy's server syntax: "10.0.0.1:80" or "[::1]:80".
std::string server_address(const wire::IpAddress& address, std::uint16_t port);
std::string_view to_string(AdminState s);
std::string_view to_string(CommandKind k);

// Builders. Names must be valid_haproxy_name (the driver validates them once, at start-up or when a
// service appears); weight must be 0..256.
Command show_servers_state(const std::string& backend);
Command show_stat(const std::string& backend);
Command show_info();
Command set_addr(const std::string& backend, const std::string& server,
                 const wire::IpAddress& address, std::uint16_t port);
Command set_weight(const std::string& backend, const std::string& server, std::uint16_t weight);
Command set_state(const std::string& backend, const std::string& server, AdminState state);
// `extra_options` is appended as is (e.g. "maxconn 100"); never "enabled" (upstream issue #2497):
// the server starts in maintenance and is made ready with set_state.
Command add_server(const std::string& backend, const std::string& server,
                   const wire::IpAddress& address, std::uint16_t port, std::uint16_t weight,
                   const std::string& extra_options = "");
Command del_server(const std::string& backend, const std::string& server);

}  // namespace baker::sherlock::haproxy
