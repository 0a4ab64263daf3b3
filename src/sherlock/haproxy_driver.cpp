#include "sherlock/haproxy_driver.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "common/prometheus.hpp"

namespace baker::sherlock::haproxy {

namespace {

using std::chrono::duration_cast;

void keep_earliest(std::optional<TimePoint>& slot, std::optional<TimePoint> candidate) {
  if (candidate && (!slot || *candidate < *slot)) slot = candidate;
}

bool unspecified(const wire::IpAddress& a) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a.bytes[i] != 0) return false;
  }
  return true;
}

double seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

HaproxyDriver::HaproxyDriver(DriverSettings settings)
    : settings_(std::move(settings)),
      reconnect_({settings_.reconnect_min, settings_.reconnect_max}),
      // After a command error: re-read at once, then after error_retry x 2, x 4, ... up to
      // error_retry x 32 or reconnect_max.
      error_backoff_({settings_.error_retry * 2,
                      std::min<Duration>(settings_.error_retry * 32, settings_.reconnect_max),
                      /*immediate_first=*/true}) {}

std::string HaproxyDriver::backend_for(const std::string& service) const {
  return settings_.backend_prefix + service;
}

std::vector<wire::Route> HaproxyDriver::routable(const std::vector<wire::Route>& routes,
                                                 const std::string& service) {
  // HAProxy accepts addresses it cannot use: only a concrete IP and a non-zero port go in.
  std::vector<wire::Route> out;
  out.reserve(routes.size());
  for (const auto& r : routes) {
    if (r.port == 0 || unspecified(r.address) || r.weight > 256) {
      spdlog::warn("haproxy: not routing {}/{} at {}: not a usable address, port or weight",
                   service, r.instance, server_address(r.address, r.port));
      continue;
    }
    out.push_back(r);
  }
  return out;
}

void HaproxyDriver::set_routes(const std::map<std::string, std::vector<wire::Route>>& all,
                               const std::vector<std::string>& changed, TimePoint now) {
  for (const auto& service : changed) {
    const auto it = all.find(service);
    const auto routes =
        it == all.end() ? std::vector<wire::Route>{} : routable(it->second, service);
    std::vector<std::string> names{backend_for(service)};
    if (const auto extra = settings_.extra_backends.find(service);
        extra != settings_.extra_backends.end()) {
      names.insert(names.end(), extra->second.begin(), extra->second.end());
    }
    for (const auto& name : names) {
      auto [bit, inserted] = backends_.try_emplace(name);
      auto& b = bit->second;
      b.service = service;
      if (!inserted && b.desired == routes) continue;
      if (routes.empty() && b.knowledge == Knowledge::missing) {
        backends_.erase(bit);  // nothing to route and nothing to clean up
        continue;
      }
      b.desired = routes;
      b.dirty = true;
      if (!b.dirty_since) b.dirty_since = now;
    }
  }
}

void HaproxyDriver::mark_all_unknown() {
  for (auto& [name, b] : backends_) {
    b.knowledge = Knowledge::unknown;
    b.read_not_before.reset();
    b.next_load_poll.reset();
  }
}

std::optional<Session> HaproxyDriver::on_timer(TimePoint now) {
  if (busy_) return std::nullopt;
  ++session_seq_;
  Session s;
  if (!link_up_) {
    if (now < reconnect_at_) return std::nullopt;
    s.fresh_connection = true;
    mark_all_unknown();
    worker_pid_.reset();
    s.commands.push_back(show_info());  // first: which worker answers
    next_probe_ = now + settings_.probe_interval;
    next_reconcile_ = now + settings_.reconcile_interval;
  } else {
    if (next_probe_ && now >= *next_probe_) {
      s.commands.push_back(show_info());
      next_probe_ = now + settings_.probe_interval;
    }
    if (next_reconcile_ && now >= *next_reconcile_) {
      mark_all_unknown();
      next_reconcile_ = now + settings_.reconcile_interval;
    }
  }
  for (auto& [name, b] : backends_) {
    if (b.knowledge == Knowledge::unknown) {
      if (b.read_not_before && now < *b.read_not_before) continue;
      s.commands.push_back(show_servers_state(name));
      if (!b.snapshot.removals.empty()) s.commands.push_back(show_stat(name));
      continue;
    }
    if (b.knowledge == Knowledge::missing) continue;
    if (b.removal_deadline && now >= *b.removal_deadline) {
      b.removal_deadline.reset();
      b.dirty = true;
    }
    if (b.dirty) {
      plan_into(b, name, s, now);
    } else if (b.next_load_poll && now >= *b.next_load_poll) {
      b.next_load_poll.reset();
      s.commands.push_back(show_stat(name));
    }
  }
  if (s.commands.empty()) return std::nullopt;
  busy_ = true;
  inflight_ = s;
  inflight_seq_ = session_seq_;
  inflight_started_ = now;
  return s;
}

void HaproxyDriver::plan_into(Backend& b, const std::string& name, Session& s, TimePoint now) {
  auto plan = plan_backend(name, b.snapshot, b.desired, settings_.plan, now, session_seq_);
  bool new_removal = false;
  for (const auto& [server, removal] : plan.removals) {
    if (!b.snapshot.removals.count(server)) new_removal = true;
  }
  b.snapshot.removals = plan.removals;
  b.assignment = std::move(plan.assignment);
  b.slots_total = plan.slots_total;
  b.slots_used = plan.slots_used;
  b.dynamic_servers = plan.dynamic_servers;
  b.removal_deadline = plan.next_deadline;
  b.dirty = false;
  if (plan.unplaced != b.unplaced && !plan.unplaced.empty()) {
    if (settings_.managed) {
      spdlog::info(
          "haproxy: backend {}: {} instance(s) wait for a free slot (reload with more "
          "slots follows)",
          name, plan.unplaced.size());
    } else {
      spdlog::error(
          "haproxy: backend {}: no free slot for {} instance(s) ({}...), all {} slots in use or "
          "draining; give the backend more slots (server-template {} 1-{} 127.0.0.1:9 weight 0) "
          "or allow the add-server fallback",
          name, plan.unplaced.size(), plan.unplaced.front(), plan.slots_total,
          settings_.plan.naming.prefix, std::max(plan.slots_total * 2, settings_.suggested_slots));
    }
  }
  b.unplaced = std::move(plan.unplaced);
  if (!plan.commands.empty()) {
    s.commands.insert(s.commands.end(), plan.commands.begin(), plan.commands.end());
    if (b.dirty_since) {
      auto& since = inflight_since_[name];
      since = *b.dirty_since;
    }
  }
  b.dirty_since.reset();
  if (plan.needs_loads) {
    const auto& at = b.snapshot.loads_at;
    if (new_removal || !at || *at + settings_.drain_poll <= now) {
      s.commands.push_back(show_stat(name));  // after the drain, in the same round trip
    } else {
      b.next_load_poll = *at + settings_.drain_poll;
    }
  }
}

void HaproxyDriver::on_replies(const std::vector<std::string>& replies, TimePoint now) {
  busy_ = false;
  if (inflight_stale_) {
    inflight_stale_ = false;
    inflight_since_.clear();
    return;
  }
  if (replies.size() != inflight_.commands.size()) {
    on_failure_unlocked("got " + std::to_string(replies.size()) + " replies for " +
                            std::to_string(inflight_.commands.size()) + " commands",
                        now);
    return;
  }
  if (inflight_.fresh_connection) {
    if (ever_connected_) ++counters_.reconnects;
    if (failure_logged_ || !ever_connected_) spdlog::info("haproxy: connected to the admin socket");
    ever_connected_ = true;
  }
  link_up_ = true;
  failure_logged_ = false;
  ++counters_.sessions;
  counters_.commands_sent += inflight_.commands.size();
  counters_.last_session = now - inflight_started_;

  std::set<std::string> failed;
  bool abandon = false;
  for (std::size_t i = 0; i < replies.size() && !abandon; ++i) {
    process_reply(inflight_.commands[i], replies[i], now, failed, abandon);
  }
  if (abandon) {
    // Attached to an old worker that is stopping: HAProxy was reloaded. Reconnect now, unless
    // even a fresh connection reached a stopping worker (then back off: no busy loop).
    link_up_ = false;
    reconnect_at_ = now;
    if (inflight_.fresh_connection) reconnect_at_ = now + reconnect_.failed();
    worker_pid_.reset();
    mark_all_unknown();
    restore_inflight_changes();
    return;
  }
  reconnect_.succeeded();
  std::optional<TimePoint> oldest;
  for (const auto& [name, since] : inflight_since_) {
    if (failed.count(name)) {
      auto& b = backends_[name];
      if (!b.dirty_since || since < *b.dirty_since) b.dirty_since = since;
      continue;
    }
    if (!oldest || since < *oldest) oldest = since;
  }
  if (oldest) {
    counters_.last_apply = now - *oldest;
    ++counters_.applies;
  }
  inflight_since_.clear();
}

void HaproxyDriver::restore_inflight_changes() {
  for (const auto& [name, since] : inflight_since_) {
    const auto it = backends_.find(name);
    if (it == backends_.end()) continue;
    auto& b = it->second;
    if (!b.dirty_since || since < *b.dirty_since) b.dirty_since = since;
  }
  inflight_since_.clear();
}

void HaproxyDriver::process_reply(const Command& command, const std::string& reply, TimePoint now,
                                  std::set<std::string>& failed, bool& abandon) {
  const auto reply_of = classify_reply(command.kind, reply);
  const bool ok = reply_of.status == ReplyStatus::ok;
  if (command.kind == CommandKind::show_info) {
    const auto info = ok ? parse_show_info(reply) : std::nullopt;
    if (!info) {
      ++counters_.command_errors;
      spdlog::warn("haproxy: unexpected reply to 'show info': {}",
                   ok ? std::string("unparsable") : reply_of.text);
      return;
    }
    if (info->stopping) {
      spdlog::info("haproxy: worker {} is stopping (HAProxy was reloaded); reconnecting",
                   info->pid);
      abandon = true;
      return;
    }
    if (worker_pid_ && *worker_pid_ != info->pid) {
      spdlog::info("haproxy: now talking to worker {} (was {}); reading every backend again",
                   info->pid, *worker_pid_);
      mark_all_unknown();
    }
    worker_pid_ = info->pid;
    return;
  }

  const auto it = backends_.find(command.backend);
  if (it == backends_.end()) return;
  auto& b = it->second;
  const auto retry_later = [&] {
    b.knowledge = Knowledge::unknown;
    if (b.errors.failures() == 0) b.errors = Backoff(error_backoff_);
    b.read_not_before = now + b.errors.failed();
  };

  switch (command.kind) {
    case CommandKind::show_servers_state: {
      switch (reply_of.status) {
        case ReplyStatus::ok:
          break;
        case ReplyStatus::no_such_backend:
          b.knowledge = Knowledge::missing;
          log_missing(b, command.backend);
          if (b.desired.empty()) backends_.erase(it);
          return;
        default:
          ++counters_.command_errors;
          spdlog::warn("haproxy: '{}' failed: {}", command.text, reply_of.text);
          retry_later();
          return;
      }
      std::string why;
      auto rows = parse_servers_state(reply, &why);
      if (!rows) {
        ++counters_.command_errors;
        spdlog::warn("haproxy: cannot parse the reply to '{}': {}", command.text, why);
        retry_later();
        return;
      }
      if (b.knowledge == Knowledge::missing || b.missing_logged) {
        spdlog::info("haproxy: backend {} is now present", command.backend);
        b.missing_logged = false;
      }
      b.snapshot.rows = std::move(*rows);
      b.knowledge = Knowledge::known;
      b.read_not_before.reset();
      b.dirty = true;
      return;
    }
    case CommandKind::show_stat: {
      std::string why;
      auto loads = ok ? parse_stat(reply, &why) : std::nullopt;
      if (!loads) {
        ++counters_.command_errors;
        spdlog::warn("haproxy: '{}' failed: {}", command.text, ok ? why : reply_of.text);
        retry_later();
        return;
      }
      b.snapshot.loads.clear();
      for (auto& l : *loads) {
        if (l.backend == command.backend) b.snapshot.loads[l.server] = std::move(l);
      }
      b.snapshot.loads_at = now;
      b.snapshot.loads_session = inflight_seq_;
      if (!b.snapshot.removals.empty()) b.dirty = true;
      return;
    }
    default:
      break;
  }
  if (!ok) {
    ++counters_.command_errors;
    spdlog::warn("haproxy: '{}' failed: {}; reading backend {} again", command.text, reply_of.text,
                 command.backend);
    failed.insert(command.backend);
    retry_later();
    return;
  }
  if (!failed.count(command.backend)) b.errors.succeeded();
  apply_to_model(b, command);
  // A slot may have just been freed (maint) for an instance that waits for one.
  if (!b.unplaced.empty()) b.dirty = true;
}

void HaproxyDriver::apply_to_model(Backend& b, const Command& command) {
  auto& rows = b.snapshot.rows;
  const auto row = std::find_if(rows.begin(), rows.end(),
                                [&](const auto& r) { return r.server == command.server; });
  switch (command.kind) {
    case CommandKind::add_server: {
      ServerStateRow r;
      r.backend = command.backend;
      r.backend_id = rows.empty() ? 0 : rows.front().backend_id;
      for (const auto& other : rows) r.server_id = std::max(r.server_id, other.server_id);
      ++r.server_id;
      r.server = command.server;
      r.address = command.address;
      r.port = command.port;
      r.admin_state = kAdminForcedMaint;  // a new server starts in maintenance
      r.user_weight = r.initial_weight = command.weight;
      rows.push_back(std::move(r));
      return;
    }
    case CommandKind::del_server:
      if (row != rows.end()) rows.erase(row);
      b.snapshot.loads.erase(command.server);
      b.snapshot.removals.erase(command.server);
      return;
    default:
      break;
  }
  if (row == rows.end()) return;
  switch (command.kind) {
    case CommandKind::set_addr:
      row->address = command.address;
      row->port = command.port;
      break;
    case CommandKind::set_weight:
      row->user_weight = command.weight;
      break;
    case CommandKind::set_state:
      // As HAProxy 2.6 does: ready clears forced maint and drain; drain leaves maint for drain;
      // maint replaces drain.
      switch (command.state) {
        case AdminState::ready:
          row->admin_state &= ~(kAdminForcedMaint | kAdminForcedDrain);
          break;
        case AdminState::drain:
          row->admin_state = (row->admin_state & ~kAdminForcedMaint) | kAdminForcedDrain;
          break;
        case AdminState::maint:
          row->admin_state = (row->admin_state & ~kAdminForcedDrain) | kAdminForcedMaint;
          break;
      }
      break;
    default:
      break;
  }
}

void HaproxyDriver::log_missing(Backend& b, const std::string& name) {
  if (b.missing_logged) return;
  b.missing_logged = true;
  if (settings_.managed) {
    spdlog::debug("haproxy: backend {} not in the running configuration yet", name);
    return;
  }
  spdlog::error(
      "haproxy: HAProxy has no backend '{}' for service '{}'; its routes are not applied. Add "
      "this to the HAProxy configuration and reload HAProxy:\n"
      "backend {}\n"
      "    balance roundrobin\n"
      "    http-reuse always\n"
      "    server-template {} 1-{} 127.0.0.1:9 weight 0",
      name, b.service, name, settings_.plan.naming.prefix, settings_.suggested_slots);
}

void HaproxyDriver::on_failure(const std::string& why, TimePoint now) {
  busy_ = false;
  if (inflight_stale_) {
    inflight_stale_ = false;
    inflight_since_.clear();
    return;
  }
  on_failure_unlocked(why, now);
}

void HaproxyDriver::on_failure_unlocked(const std::string& why, TimePoint now) {
  ++counters_.session_failures;
  if (!failure_logged_) {
    spdlog::warn("haproxy: admin socket: {}; reconnecting (backoff from {} ms)", why,
                 duration_cast<std::chrono::milliseconds>(reconnect_.peek()).count());
    failure_logged_ = true;
  } else {
    spdlog::debug("haproxy: admin socket: {}", why);
  }
  // A kept connection that broke (HAProxy restarted, reloaded, idle timeout) is retried at once;
  // failures to connect back off.
  const bool kept_connection_broke = link_up_ && !inflight_.fresh_connection;
  link_up_ = false;
  worker_pid_.reset();
  mark_all_unknown();
  restore_inflight_changes();
  if (kept_connection_broke) {
    reconnect_at_ = now;
    return;
  }
  reconnect_at_ = now + reconnect_.failed();
}

void HaproxyDriver::on_haproxy_restarted(TimePoint now) {
  if (busy_) inflight_stale_ = true;
  restore_inflight_changes();
  link_up_ = false;
  worker_pid_.reset();
  reconnect_at_ = now;
  reconnect_.succeeded();
  mark_all_unknown();
}

std::optional<TimePoint> HaproxyDriver::next_deadline() const {
  if (busy_) return std::nullopt;
  std::optional<TimePoint> at;
  if (!link_up_) {
    at = reconnect_at_;
    return at;
  }
  keep_earliest(at, next_probe_);
  keep_earliest(at, next_reconcile_);
  for (const auto& [name, b] : backends_) {
    if (b.knowledge == Knowledge::unknown) {
      keep_earliest(at, b.read_not_before.value_or(TimePoint::min()));
      continue;
    }
    if (b.knowledge != Knowledge::known) continue;
    if (b.dirty) keep_earliest(at, TimePoint::min());
    keep_earliest(at, b.next_load_poll);
    keep_earliest(at, b.removal_deadline);
  }
  return at;
}

std::vector<std::string> HaproxyDriver::missing_backends() const {
  std::vector<std::string> out;
  for (const auto& [name, b] : backends_) {
    if (b.knowledge == Knowledge::missing) out.push_back(name);
  }
  return out;
}

const std::vector<ServerStateRow>* HaproxyDriver::rows_of(const std::string& backend) const {
  const auto it = backends_.find(backend);
  if (it == backends_.end() || it->second.knowledge == Knowledge::missing) return nullptr;
  return &it->second.snapshot.rows;
}

const std::vector<wire::Route>& HaproxyDriver::desired_of(const std::string& backend) const {
  static const std::vector<wire::Route> kNone;
  const auto it = backends_.find(backend);
  return it == backends_.end() ? kNone : it->second.desired;
}

std::map<std::string, std::vector<std::string>> HaproxyDriver::unplaced() const {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [name, b] : backends_) {
    if (!b.unplaced.empty() && b.knowledge == Knowledge::known) out[name] = b.unplaced;
  }
  return out;
}

bool HaproxyDriver::settled() const {
  if (!link_up_ || busy_) return false;
  return std::all_of(backends_.begin(), backends_.end(), [](const auto& kv) {
    const auto& b = kv.second;
    if (b.knowledge == Knowledge::missing) return true;
    return b.knowledge == Knowledge::known && !b.dirty && b.snapshot.removals.empty();
  });
}

void HaproxyDriver::append_metrics(std::string& out) const {
  using Type = MetricsWriter::Type;
  MetricsWriter w;
  w.counter("baker_sherlock_haproxy_sessions_total", "Admin-socket sessions completed.",
            counters_.sessions);
  w.counter("baker_sherlock_haproxy_session_failures_total",
            "Admin-socket sessions that failed (connection lost, timeout).",
            counters_.session_failures);
  w.counter("baker_sherlock_haproxy_commands_total", "Commands sent to HAProxy's admin socket.",
            counters_.commands_sent);
  w.counter("baker_sherlock_haproxy_command_errors_total",
            "Commands HAProxy answered with an error.", counters_.command_errors);
  w.counter("baker_sherlock_haproxy_reconnects_total", "Reconnections to HAProxy's admin socket.",
            counters_.reconnects);
  w.gauge("baker_sherlock_haproxy_connected", "1 while the admin socket is connected.",
          link_up_ ? 1 : 0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  w.gauge("baker_sherlock_haproxy_last_apply_seconds",
          "Route change received -> HAProxy confirmed it, for the last applied change.",
          counters_.last_apply ? seconds(*counters_.last_apply) : nan);
  w.gauge("baker_sherlock_haproxy_last_session_seconds",
          "Duration of the last admin-socket session.",
          counters_.last_session ? seconds(*counters_.last_session) : nan);
  w.family("baker_sherlock_haproxy_slots", Type::gauge, "Template slots per backend, by use.");
  for (const auto& [name, b] : backends_) {
    if (b.knowledge == Knowledge::missing) continue;
    w.sample(static_cast<double>(b.slots_used), {{"backend", name}, {"state", "used"}});
    w.sample(static_cast<double>(b.slots_total - b.slots_used),
             {{"backend", name}, {"state", "free"}});
  }
  w.family("baker_sherlock_haproxy_dynamic_servers", Type::gauge,
           "Servers added with 'add server' (slots ran out).");
  for (const auto& [name, b] : backends_) {
    if (b.knowledge == Knowledge::missing) continue;
    w.sample(static_cast<double>(b.dynamic_servers), {{"backend", name}});
  }
  w.family("baker_sherlock_haproxy_unplaced_instances", Type::gauge,
           "Instances waiting for a free slot.");
  for (const auto& [name, b] : backends_) {
    w.sample(std::uint64_t{b.unplaced.size()}, {{"backend", name}});
  }
  w.family("baker_sherlock_haproxy_backend_missing", Type::gauge,
           "1 when HAProxy has no backend for a service.");
  for (const auto& [name, b] : backends_) {
    w.sample(std::uint64_t{b.knowledge == Knowledge::missing ? 1u : 0u}, {{"backend", name}});
  }
  out += w.take();
}

}  // namespace baker::sherlock::haproxy
