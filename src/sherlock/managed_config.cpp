#include "sherlock/managed_config.hpp"

#include "common/host_port.hpp"
#include "sherlock/haproxy_commands.hpp"

namespace baker::sherlock::haproxy {

namespace {

void write_slots(std::string& out, const ManagedBackend& b, const std::string& prefix) {
  for (std::size_t i = 0; i < b.slots.size(); ++i) {
    const auto name = prefix + std::to_string(i + 1);
    const auto& route = b.slots[i];
    if (!route) {
      out += "    server " + name + " 127.0.0.1:9 weight 1 disabled\n";
      continue;
    }
    out += "    server " + name + " " + server_address(route->address, route->port) + " weight " +
           std::to_string(route->weight);
    // A draining instance gets no new requests: it starts in maintenance and the driver moves it
    // to drain over the admin socket.
    if (route->state != wire::InstanceState::up) out += " disabled";
    out += "\n";
  }
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

}  // namespace baker::sherlock::haproxy
