#pragma once
// Managed mode's HAProxy configuration, written from the routes (pure: data in, config text out).
// Every server is listed statically in its slot, so a reloaded worker needs no runtime state; free
// slots are written `disabled` at 127.0.0.1:9 for the admin socket to re-point later.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wire/messages.hpp"

namespace baker::sherlock::haproxy {

struct ManagedBackend {
  std::string service;
  std::string name;                               // HAProxy proxy name
  std::optional<std::uint16_t> tcp_port;          // set: a TCP `listen` on this port, else HTTP
  std::vector<std::optional<wire::Route>> slots;  // slot n (index n-1) -> its route, if any
};

struct ManagedConfig {
  std::string stable_socket;  // for people and tests: `stats socket ... expose-fd listeners`
  std::string admin_socket;   // this generation's socket, sherlock's own (never an old worker)
  std::string frontend_host = "127.0.0.1";
  std::uint16_t frontend_port = 8000;
  std::string balance = "random";
  std::string slot_prefix = "slot";
  std::vector<ManagedBackend> backends;  // HTTP backends and TCP listeners, in this order
};

// Internal proxy names contain '.', which service names (and so backend names) never do.
inline constexpr const char* kFrontendName = "baker.http";
inline constexpr const char* kUnknownServiceBackend = "baker.unknown";

std::string write_haproxy_config(const ManagedConfig& config);

// The TCP listener (SmartStack style) of a service whose HTTP backend is `backend`.
std::string tcp_listener_name(const std::string& backend);  // "<backend>.tcp"

}  // namespace baker::sherlock::haproxy
