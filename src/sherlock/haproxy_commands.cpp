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
  return wire::Endpoint{address, port}.to_string();
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

namespace {

// A command about `backend` (and `server`, if any), its text started with `verb`.
Command command(CommandKind kind, std::string verb, const std::string& backend,
                const std::string& server = {}) {
  Command c;
  c.kind = kind;
  c.backend = backend;
  c.server = server;
  c.text = std::move(verb);
  if (!backend.empty()) c.text += " " + (server.empty() ? backend : server_ref(backend, server));
  return c;
}

}  // namespace

Command show_servers_state(const std::string& backend) {
  return command(CommandKind::show_servers_state, "show servers state", backend);
}

Command show_stat(const std::string& backend) {
  auto c = command(CommandKind::show_stat, "show stat", backend);
  c.text += " 4 -1";  // type mask 4 = servers only, all server ids
  return c;
}

Command show_info() {
  return command(CommandKind::show_info, "show info", {});
}

Command set_addr(const std::string& backend, const std::string& server,
                 const wire::IpAddress& address, std::uint16_t port) {
  auto c = command(CommandKind::set_addr, "set server", backend, server);
  c.address = address;
  c.port = port;
  // "addr A port P": HAProxy 2.6 does not take "A:P" here.
  c.text += " addr " + address.to_string() + " port " + std::to_string(port);
  return c;
}

Command set_weight(const std::string& backend, const std::string& server, std::uint16_t weight) {
  auto c = command(CommandKind::set_weight, "set server", backend, server);
  c.weight = weight;
  c.text += " weight " + std::to_string(weight);
  return c;
}

Command set_state(const std::string& backend, const std::string& server, AdminState state) {
  auto c = command(CommandKind::set_state, "set server", backend, server);
  c.state = state;
  c.text += " state " + std::string(to_string(state));
  return c;
}

Command add_server(const std::string& backend, const std::string& server,
                   const wire::IpAddress& address, std::uint16_t port, std::uint16_t weight,
                   const std::string& extra_options) {
  auto c = command(CommandKind::add_server, "add server", backend, server);
  c.address = address;
  c.port = port;
  c.weight = weight;
  // default-server is not inherited by dynamic servers: every option is written here.
  c.text += " " + server_address(address, port) + " weight " + std::to_string(weight);
  if (!extra_options.empty()) c.text += " " + extra_options;
  return c;
}

Command del_server(const std::string& backend, const std::string& server) {
  return command(CommandKind::del_server, "del server", backend, server);
}

}  // namespace baker::sherlock::haproxy
