#include "sherlock/haproxy_commands.hpp"

#include <algorithm>

#include "common/enum_names.hpp"

namespace baker::sherlock::haproxy {

namespace {

std::string server_ref(const std::string& backend, const std::string& server) {
  return backend + "/" + server;
}

}  // namespace

bool valid_haproxy_name(std::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':';
  });
}

std::string server_address(const wire::IpAddress& address, std::uint16_t port) {
  if (address.family == wire::IpAddress::Family::v6) {
    return "[" + address.to_string() + "]:" + std::to_string(port);
  }
  return address.to_string() + ":" + std::to_string(port);
}

constexpr std::array<std::string_view, 3> kAdminStateNames = {"ready", "drain", "maint"};
static_assert(names_every_value(kAdminStateNames, AdminState::maint));

std::string_view to_string(AdminState s) {
  return enum_name(kAdminStateNames, s, "?");
}

constexpr std::array<std::string_view, 8> kCommandKindNames = {
    "show_servers_state", "show_stat", "show_info",  "set_addr",
    "set_weight",         "set_state", "add_server", "del_server"};
static_assert(names_every_value(kCommandKindNames, CommandKind::del_server));

std::string_view to_string(CommandKind k) {
  return enum_name(kCommandKindNames, k, "?");
}

Command show_servers_state(const std::string& backend) {
  Command c;
  c.kind = CommandKind::show_servers_state;
  c.backend = backend;
  c.text = "show servers state " + backend;
  return c;
}

Command show_stat(const std::string& backend) {
  Command c;
  c.kind = CommandKind::show_stat;
  c.backend = backend;
  c.text = "show stat " + backend + " 4 -1";  // type mask 4 = servers only, all server ids
  return c;
}

Command show_info() {
  Command c;
  c.kind = CommandKind::show_info;
  c.text = "show info";
  return c;
}

Command set_addr(const std::string& backend, const std::string& server,
                 const wire::IpAddress& address, std::uint16_t port) {
  Command c;
  c.kind = CommandKind::set_addr;
  c.backend = backend;
  c.server = server;
  c.address = address;
  c.port = port;
  // "addr A port P": HAProxy 2.6 does not take "A:P" here.
  c.text = "set server " + server_ref(backend, server) + " addr " + address.to_string() + " port " +
           std::to_string(port);
  return c;
}

Command set_weight(const std::string& backend, const std::string& server, std::uint16_t weight) {
  Command c;
  c.kind = CommandKind::set_weight;
  c.backend = backend;
  c.server = server;
  c.weight = weight;
  c.text = "set server " + server_ref(backend, server) + " weight " + std::to_string(weight);
  return c;
}

Command set_state(const std::string& backend, const std::string& server, AdminState state) {
  Command c;
  c.kind = CommandKind::set_state;
  c.backend = backend;
  c.server = server;
  c.state = state;
  c.text = "set server " + server_ref(backend, server) + " state " + std::string(to_string(state));
  return c;
}

Command add_server(const std::string& backend, const std::string& server,
                   const wire::IpAddress& address, std::uint16_t port, std::uint16_t weight,
                   const std::string& extra_options) {
  Command c;
  c.kind = CommandKind::add_server;
  c.backend = backend;
  c.server = server;
  c.address = address;
  c.port = port;
  c.weight = weight;
  // default-server is not inherited by dynamic servers: every option is written here.
  c.text = "add server " + server_ref(backend, server) + " " + server_address(address, port) +
           " weight " + std::to_string(weight);
  if (!extra_options.empty()) c.text += " " + extra_options;
  return c;
}

Command del_server(const std::string& backend, const std::string& server) {
  Command c;
  c.kind = CommandKind::del_server;
  c.backend = backend;
  c.server = server;
  c.text = "del server " + server_ref(backend, server);
  return c;
}

}  // namespace baker::sherlock::haproxy
