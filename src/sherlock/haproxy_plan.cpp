#include "sherlock/haproxy_plan.hpp"

#include <algorithm>
#include <set>
#include <tuple>

namespace baker::sherlock::haproxy {

namespace {

std::optional<int> digits_after(std::string_view name, std::string_view prefix) {
  if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) return std::nullopt;
  const auto rest = name.substr(prefix.size());
  if (rest.size() > 9 || rest[0] == '0') return std::nullopt;
  int n = 0;
  for (char c : rest) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

bool same_endpoint(const ServerStateRow& row, const wire::Route& route) {
  return row.address && *row.address == route.address && row.port == route.port;
}

// A parked slot: a template slot declared `weight 0` (initial weight) and still at weight 0, in
// service: an external configuration's free slot before sherlock first sees it or after the
// operator's reload (free slots declared `disabled` keep the config-maintenance bit while they
// serve). It takes no requests, so it is as free as one in maintenance, and is put there.
bool parked(const ServerStateRow& row, const SlotNaming& naming) {
  return naming.slot_number(row.server).has_value() && !row.in_maint() && !row.draining() &&
         row.user_weight == 0 && row.initial_weight == 0;
}

AdminState admin_state_of(const ServerStateRow& row) {
  if (row.in_maint()) return AdminState::maint;
  if (row.draining()) return AdminState::drain;
  return AdminState::ready;
}

// First pass of matching: each route takes an unclaimed candidate row already pointing at its
// address:port, preferring one that is in service (not in maintenance), then the lowest id.
// Returns route index -> row index.
std::vector<std::optional<std::size_t>> match_by_endpoint(
    const std::vector<ServerStateRow>& rows, const std::vector<std::size_t>& candidates,
    const std::vector<wire::Route>& desired, std::set<std::size_t>& claimed) {
  std::vector<std::optional<std::size_t>> out(desired.size());
  for (std::size_t i = 0; i < desired.size(); ++i) {
    std::optional<std::size_t> best;
    for (const auto c : candidates) {
      if (claimed.count(c) || !same_endpoint(rows[c], desired[i])) continue;
      const auto key = [&](std::size_t r) {
        return std::make_tuple(rows[r].in_maint(), rows[r].server_id);
      };
      if (!best || key(c) < key(*best)) best = c;
    }
    if (best) {
      claimed.insert(*best);
      out[i] = best;
    }
  }
  return out;
}

}  // namespace

std::optional<int> SlotNaming::slot_number(std::string_view server) const {
  return digits_after(server, prefix);
}

std::optional<int> SlotNaming::dynamic_number(std::string_view server) const {
  return digits_after(server, prefix + "-add");
}

BackendPlan plan_backend(const std::string& backend, const BackendSnapshot& current,
                         const std::vector<wire::Route>& desired, const PlanSettings& settings,
                         TimePoint now, std::uint64_t session) {
  BackendPlan plan;
  const auto& rows = current.rows;
  const auto& naming = settings.naming;

  // Baker's usable servers: template slots and fallback dynamic servers with a plain address (a
  // server-template written with a host name would be re-resolved by HAProxy: left alone).
  std::vector<std::size_t> ours;
  std::set<int> dynamic_numbers;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const bool slot = naming.slot_number(rows[r].server).has_value();
    const auto dyn = naming.dynamic_number(rows[r].server);
    if (slot) ++plan.slots_total;
    if (dyn) {
      ++plan.dynamic_servers;
      dynamic_numbers.insert(*dyn);
    }
    if ((slot || dyn) && rows[r].address && rows[r].fqdn.empty()) ours.push_back(r);
  }
  std::sort(ours.begin(), ours.end(),
            [&](std::size_t a, std::size_t b) { return rows[a].server_id < rows[b].server_id; });

  std::set<std::size_t> claimed;
  auto route_row = match_by_endpoint(rows, ours, desired, claimed);

  // Second pass: new instances (state up) take free servers: ours, unclaimed, in maintenance or
  // parked; template slots before fallback servers, lowest id first. A draining instance HAProxy
  // does not have yet is not placed: it must not receive new requests anyway.
  for (std::size_t i = 0; i < desired.size(); ++i) {
    if (route_row[i] || desired[i].state != wire::InstanceState::up) continue;
    std::optional<std::size_t> best;
    for (const auto c : ours) {
      if (claimed.count(c) || !(rows[c].in_maint() || parked(rows[c], naming))) continue;
      const auto key = [&](std::size_t r) {
        return std::make_tuple(!naming.slot_number(rows[r].server).has_value(), rows[r].server_id);
      };
      if (!best || key(c) < key(*best)) best = c;
    }
    if (best) {
      claimed.insert(*best);
      route_row[i] = best;
    }
  }

  // Placements and updates, in route order; per server: address, weight, then state.
  std::vector<const wire::Route*> unplaced;
  for (std::size_t i = 0; i < desired.size(); ++i) {
    const auto& route = desired[i];
    if (!route_row[i]) {
      if (route.state == wire::InstanceState::up) unplaced.push_back(&route);
      continue;
    }
    const auto& row = rows[*route_row[i]];
    plan.assignment[route.instance] = row.server;
    if (!same_endpoint(row, route)) {
      plan.commands.push_back(set_addr(backend, row.server, route.address, route.port));
    }
    if (row.user_weight != route.weight) {
      plan.commands.push_back(set_weight(backend, row.server, route.weight));
    }
    const auto want =
        route.state == wire::InstanceState::up ? AdminState::ready : AdminState::drain;
    if (admin_state_of(row) != want) plan.commands.push_back(set_state(backend, row.server, want));
  }

  // Out of free servers: fall back to `add server` (starts in maintenance; made ready at once, as
  // Baker's own health signal is trusted), or report the instances that wait for a slot.
  for (const auto* route : unplaced) {
    if (!settings.allow_add_server) {
      plan.unplaced.push_back(route->instance);
      continue;
    }
    int n = 1;
    while (dynamic_numbers.count(n)) ++n;
    dynamic_numbers.insert(n);
    const auto name = naming.dynamic_name(n);
    plan.commands.push_back(add_server(backend, name, route->address, route->port, route->weight,
                                       settings.add_server_options));
    plan.commands.push_back(set_state(backend, name, AdminState::ready));
    plan.assignment[route->instance] = name;
    ++plan.dynamic_servers;
  }

  // Removals: drain -> sessions and queue at 0 (read after the drain), or the drain timeout ->
  // maint; a fallback server is then deleted once nothing runs on it (deleting a server with live
  // streams can crash 2.6).
  const auto zero_load_since = [&](const std::string& server, const Removal& removal) {
    if (current.loads_session == 0 || current.loads_session < removal.session) return false;
    const auto it = current.loads.find(server);
    return it != current.loads.end() && it->second.current_sessions == 0 && it->second.queued == 0;
  };
  for (const auto r : ours) {
    const auto& row = rows[r];
    const bool dynamic = naming.dynamic_number(row.server).has_value();
    if (claimed.count(r)) {
      if (!dynamic) ++plan.slots_used;
      continue;
    }
    const auto known = current.removals.find(row.server);
    const Removal started = known != current.removals.end() ? known->second : Removal{now, session};
    if (row.in_maint()) {
      if (!dynamic) continue;  // a free slot
      if (zero_load_since(row.server, started)) {
        plan.commands.push_back(del_server(backend, row.server));
        --plan.dynamic_servers;
      } else {
        plan.removals[row.server] = started;
        plan.needs_loads = true;
      }
      continue;
    }
    if (parked(row, naming)) {  // nothing to drain: free at once
      plan.commands.push_back(set_state(backend, row.server, AdminState::maint));
      continue;
    }
    if (!dynamic) ++plan.slots_used;
    plan.removals[row.server] = started;
    if (!row.draining()) plan.commands.push_back(set_state(backend, row.server, AdminState::drain));
    const bool idle = zero_load_since(row.server, started);
    if (idle || now >= started.since + settings.drain_timeout) {
      plan.commands.push_back(set_state(backend, row.server, AdminState::maint));
      if (dynamic && idle) {
        plan.commands.push_back(del_server(backend, row.server));
        --plan.dynamic_servers;
        plan.removals.erase(row.server);
      } else if (dynamic) {
        plan.needs_loads = true;  // deleted once its last session ends
      } else {
        plan.removals.erase(row.server);
      }
      continue;
    }
    plan.needs_loads = true;
    const auto deadline = started.since + settings.drain_timeout;
    if (!plan.next_deadline || deadline < *plan.next_deadline) plan.next_deadline = deadline;
  }
  // Keep only entries of servers still being removed.
  for (auto it = plan.removals.begin(); it != plan.removals.end();) {
    const bool present = std::any_of(rows.begin(), rows.end(),
                                     [&](const auto& row) { return row.server == it->first; });
    it = present ? std::next(it) : plan.removals.erase(it);
  }
  return plan;
}

std::vector<std::optional<wire::Route>> assign_slots(const std::vector<ServerStateRow>& rows,
                                                     const std::vector<wire::Route>& desired,
                                                     int slot_count, const SlotNaming& naming) {
  std::vector<std::optional<wire::Route>> slots(static_cast<std::size_t>(std::max(slot_count, 0)));
  std::vector<std::size_t> candidates;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto n = naming.slot_number(rows[r].server);
    if (n && *n <= slot_count && rows[r].address && rows[r].fqdn.empty()) candidates.push_back(r);
  }
  std::set<std::size_t> claimed;
  const auto route_row = match_by_endpoint(rows, candidates, desired, claimed);
  std::vector<bool> taken(slots.size(), false);
  for (std::size_t i = 0; i < desired.size(); ++i) {
    if (!route_row[i]) continue;
    const auto index =
        static_cast<std::size_t>(*naming.slot_number(rows[*route_row[i]].server) - 1);
    slots[index] = desired[i];
    taken[index] = true;
  }
  // In a fresh configuration every other slot is free (the new worker starts without sessions).
  std::size_t next = 0;
  for (std::size_t i = 0; i < desired.size(); ++i) {
    if (route_row[i] || desired[i].state != wire::InstanceState::up) continue;
    while (next < slots.size() && taken[next]) ++next;
    if (next == slots.size()) break;
    slots[next] = desired[i];
    taken[next] = true;
  }
  return slots;
}

int slots_needed(const std::vector<wire::Route>& desired, int minimum) {
  int slots = std::max(minimum, 1);
  while (static_cast<std::size_t>(slots) < desired.size()) slots *= 2;
  return slots;
}

}  // namespace baker::sherlock::haproxy
