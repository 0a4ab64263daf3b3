#include "sherlock/managed_config.hpp"

#include <map>
#include <utility>

#include "common/host_port.hpp"
#include "sherlock/haproxy_commands.hpp"

namespace baker::sherlock::haproxy {

namespace {

// A free slot's line: weight 0 takes no requests even without the server-state file (it starts
// ready then, and the driver puts it in maintenance).
constexpr const char* kFreeSlotAddress = "127.0.0.1:9";
constexpr std::uint16_t kFreeSlotPort = 9;

void write_slots(std::string& out, const ManagedBackend& b, const std::string& prefix) {
  for (std::size_t i = 0; i < b.slots.size(); ++i) {
    const auto name = prefix + std::to_string(i + 1);
    const auto& route = b.slots[i];
    if (!route) {
      out += "    server " + name + " " + kFreeSlotAddress + " weight 0\n";
      continue;
    }
    // Never `disabled`, not even a draining instance: that bit would stay on while it serves. The
    // server-state file says how each slot starts.
    out += "    server " + name + " " + server_address(route->address, route->port) + " weight " +
           std::to_string(route->weight) + "\n";
  }
}

int admin_bits(AdminState s) {
  switch (s) {
    case AdminState::ready:
      return 0;
    case AdminState::drain:
      return kAdminForcedDrain;
    case AdminState::maint:
      break;
  }
  return kAdminForcedMaint;
}

}  // namespace

std::string tcp_listener_name(const std::string& backend) {
  return backend + ".tcp";
}

std::string write_haproxy_config(const ManagedConfig& c) {
  std::string out;
  out += "# Written by sherlock (Baker), managed mode; rewritten at every reload: do not edit.\n";
  out += "global\n";
  out += "    stats socket " + c.stable_socket + " mode 600 level admin expose-fd listeners\n";
  out += "    stats socket " + c.admin_socket + " mode 600 level admin\n";
  // How each slot starts in a new worker (ready, drain, maintenance): see write_server_state.
  if (!c.server_state_file.empty()) out += "    server-state-file " + c.server_state_file + "\n";
  // hard-stop-after: old workers finish their requests after a reload, but not forever.
  // retries + redispatch: an instance that died before Baker noticed is retried on another server.
  out += R"(    stats timeout 1h
    hard-stop-after 2m

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout queue 5s
    retries 2
    option redispatch 1
)";
  if (!c.server_state_file.empty()) out += "    load-server-state-from-file global\n";
  out += "\n";
  out += std::string("frontend ") + kFrontendName + "\n";
  // Hitless reload with keep-alive clients: an old worker closes an idle client connection only
  // after answering its next request, never under a request in flight (HTTP only).
  out += "    option idle-close-on-response\n";
  out += "    bind " + HostPort{c.frontend_host, c.frontend_port}.to_string() + "\n";
  std::vector<const ManagedBackend*> http;
  for (const auto& b : c.backends) {
    if (!b.tcp_port) http.push_back(&b);
  }
  // /<service>/...: an exact-match ACL on the first path segment (indexed by HAProxy), then the
  // backend named after it. At most 32 names per line (HAProxy caps arguments per line).
  for (std::size_t i = 0; i < http.size(); i += 32) {
    out += "    acl baker_service path,field(2,/) -m str";
    for (std::size_t j = i; j < http.size() && j < i + 32; ++j) out += " " + http[j]->service;
    out += "\n";
  }
  if (!http.empty()) {
    // The backend name is prefix + service; the prefix is the part of the name before the service.
    const auto& first = *http.front();
    const auto prefix = first.name.substr(0, first.name.size() - first.service.size());
    out += "    use_backend " + prefix + "%[path,field(2,/)] if baker_service\n";
  }
  out += std::string("    default_backend ") + kUnknownServiceBackend + "\n";
  out += "\n";
  out += std::string("backend ") + kUnknownServiceBackend + "\n";
  out += "    http-request return status 503 content-type text/plain string \"unknown service\"\n";
  for (const auto* b : http) {
    out += "\n";
    out += "backend " + b->name + "\n";
    out += "    balance " + c.balance + "\n";
    out += "    http-reuse always\n";
    out += "    http-request replace-path ^/[^/]*/?(.*) /\\1\n";
    write_slots(out, *b, c.slot_prefix);
  }
  for (const auto& b : c.backends) {
    if (!b.tcp_port) continue;
    out += "\n";
    out += "listen " + b.name + "\n";
    out += "    mode tcp\n";
    out += "    bind " + HostPort{c.frontend_host, *b.tcp_port}.to_string() + "\n";
    out += "    balance " + c.balance + "\n";
    out += "    timeout client 1h\n";
    out += "    timeout server 1h\n";
    write_slots(out, b, c.slot_prefix);
  }
  return out;
}

std::vector<SlotStart> slot_starts(const ManagedBackend& backend,
                                   const std::vector<ServerStateRow>& rows,
                                   const std::vector<wire::Route>& desired,
                                   const SlotNaming& naming) {
  // Indexed, not searched per slot: a reload of thousands of slots runs on the event loop.
  using Key = std::pair<wire::IpAddress, std::uint16_t>;
  std::vector<const ServerStateRow*> row_of(backend.slots.size(), nullptr);
  for (const auto& r : rows) {
    const auto n = naming.slot_number(r.server);
    if (!n || static_cast<std::size_t>(*n) > row_of.size() || !r.address || !r.fqdn.empty()) {
      continue;
    }
    row_of[static_cast<std::size_t>(*n) - 1] = &r;
  }
  std::map<Key, const wire::Route*> wanted;
  for (const auto& r : desired) wanted.emplace(Key{r.address, r.port}, &r);

  std::vector<SlotStart> out(backend.slots.size());
  for (std::size_t i = 0; i < backend.slots.size(); ++i) {
    const auto& line = backend.slots[i];
    if (!line) continue;  // free: maintenance, weight 0
    const auto* row = row_of[i];
    if (row && *row->address == line->address && row->port == line->port) {
      const auto state = row->in_maint()   ? AdminState::maint
                         : row->draining() ? AdminState::drain
                                           : AdminState::ready;
      out[i] = {state, row->user_weight};
      continue;
    }
    const auto route = wanted.find(Key{line->address, line->port});
    if (route == wanted.end()) {
      out[i] = {AdminState::maint, line->weight};
      continue;
    }
    out[i] = {
        route->second->state == wire::InstanceState::up ? AdminState::ready : AdminState::drain,
        route->second->weight};
  }
  return out;
}

std::string write_server_state(const ManagedConfig& config,
                               const std::vector<std::vector<SlotStart>>& starts) {
  // Version 1. The `#` line is HAProxy's own header (a comment to its parser). In a global file
  // lines are matched by backend and server names; the ids are not read (written 0 and n).
  std::string out =
      "1\n"
      "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
      "srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health "
      "srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port "
      "srvrecord\n";
  for (std::size_t b = 0; b < config.backends.size() && b < starts.size(); ++b) {
    const auto& backend = config.backends[b];
    for (std::size_t i = 0; i < backend.slots.size(); ++i) {
      const auto& line = backend.slots[i];
      const SlotStart start = i < starts[b].size() ? starts[b][i] : SlotStart{};
      const int initial = line ? line->weight : 0;
      const int port = line ? line->port : kFreeSlotPort;
      // srv_addr "-": HAProxy would only keep it for `init-addr last` (the line's address wins).
      // op_state 2 (running) for all: a stopped one would log a DOWN line per free slot.
      out += "0 " + backend.name + " " + std::to_string(i + 1) + " " + config.slot_prefix +
             std::to_string(i + 1) + " - 2 " + std::to_string(admin_bits(start.state)) + " " +
             std::to_string(start.weight) + " " + std::to_string(initial) + " 0 1 0 0 0 0 0 0 - " +
             std::to_string(port) + " -\n";
    }
  }
  return out;
}

}  // namespace baker::sherlock::haproxy
