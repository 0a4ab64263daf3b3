#pragma once
// Managed mode's HAProxy configuration, written from the routes (pure: data in, config text out).
// Every server is listed statically in its slot, so a reloaded worker needs no runtime state; free
// slots are written at 127.0.0.1:9 with weight 0 for the admin socket to re-point later. No slot is
// written `disabled` (that leaves the config-maintenance bit on a serving slot): how each one
// starts (ready, drain, maintenance; its runtime weight) comes from a server-state file that
// sherlock writes before each start and reload (write_server_state). See docs/HAPROXY-DRIVER.md.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sherlock/haproxy_commands.hpp"
#include "sherlock/haproxy_plan.hpp"
#include "sherlock/haproxy_replies.hpp"
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
  std::string balance = "roundrobin";  // random costs weight x 16 tree nodes per server
  std::string slot_prefix = "slot";
  // Set: every backend loads its servers' starting states from this file (`server-state-file`).
  std::string server_state_file;
  std::vector<ManagedBackend> backends;  // HTTP backends and TCP listeners, in this order
};

// Internal proxy names contain '.', which service names (and so backend names) never do.
inline constexpr const char* kFrontendName = "baker.http";
inline constexpr const char* kUnknownServiceBackend = "baker.unknown";

std::string write_haproxy_config(const ManagedConfig& config);

// The TCP listener (SmartStack style) of a service whose HTTP backend is `backend`.
std::string tcp_listener_name(const std::string& backend);  // "<backend>.tcp"

// How a slot's server starts in a new worker: its line in the server-state file.
struct SlotStart {
  AdminState state = AdminState::maint;  // ready, drain, or maint (a free slot)
  int weight = 0;  // its runtime weight; the config line's weight stays the initial one
  friend bool operator==(const SlotStart&, const SlotStart&) = default;
};

// How each slot of `backend` (its config lines) should start, from HAProxy's state now (`rows`,
// as the driver knows it; may be empty) and the routes the replica wants (`desired`): a slot whose
// server points where its line does keeps its state and runtime weight; a line HAProxy does not
// have there starts as its route is wanted now (up: ready, draining: drain, gone: maint); a free
// line is in maintenance. So a new worker never serves a free slot or an address no one wants, and
// takes over what the old worker serves as it is.
std::vector<SlotStart> slot_starts(const ManagedBackend& backend,
                                   const std::vector<ServerStateRow>& rows,
                                   const std::vector<wire::Route>& desired,
                                   const SlotNaming& naming);

// The server-state file (version 1, matched by backend and server names) for `config`: one line
// per slot, `starts[b][n]` for slot n+1 of backend b. Its ports and initial weights are the config
// lines' (HAProxy applies the file's port, and its runtime weight only if the initial one matches).
std::string write_server_state(const ManagedConfig& config,
                               const std::vector<std::vector<SlotStart>>& starts);

}  // namespace baker::sherlock::haproxy
