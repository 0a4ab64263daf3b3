#include "sherlock/managed_reloader.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "common/prometheus.hpp"
#include "sherlock/managed_config.hpp"
#include "sherlock/managed_state.hpp"

namespace baker::sherlock::haproxy {

using namespace reloader;

namespace {

// "1 s", "250 ms", "1.5 s": for log lines.
std::string duration_text(Duration d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms < 1000) return std::to_string(ms) + " ms";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  return buf;
}

std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

Log info(std::string text) {
  return Log{LogLevel::info, std::move(text)};
}

Log warn(std::string text) {
  return Log{LogLevel::warn, std::move(text)};
}

Log error(std::string text) {
  return Log{LogLevel::error, std::move(text)};
}

// How long an adopted haproxy's admin socket may stay silent before the master is asked whether a
// worker runs on another one.
constexpr Duration kAdoptedSocketGrace = std::chrono::seconds(1);

}  // namespace

ManagedReloader::ManagedReloader(ManagedSettings settings, std::string run_dir,
                                 const HaproxyDriver& driver)
    : settings_(std::move(settings)),
      run_dir_(std::move(run_dir)),
      driver_(driver),
      reload_backoff_(settings_.reload_backoff),
      restart_backoff_(settings_.restart_backoff) {}

std::string ManagedReloader::socket_path(std::uint64_t generation) const {
  return run_dir_ + "/sherlock-" + std::to_string(generation) + ".sock";
}

bool ManagedReloader::started() const {
  return state_ >= State::idle && state_ <= State::restart_spawning;
}

bool ManagedReloader::reloading() const {
  return state_ > State::idle && state_ <= State::restart_spawning;
}

std::vector<std::string> ManagedReloader::check_argv(const std::string& path) const {
  return {settings_.haproxy_bin, "-c", "-q", "-f", path};
}

std::vector<std::string> ManagedReloader::master_argv() const {
  // -p: the pid file tells people (and `kill`) which process is the master.
  return {settings_.haproxy_bin, "-W", "-S", master_socket() + ",mode,600", "-p", pid_path(), "-f",
          config_path()};
}

SaveState ManagedReloader::save_state() const {
  ManagedState state;
  state.master_pid = master_pid_;
  state.generation = generation_;
  state.settings = settings_fingerprint(settings_);
  state.http = http_;
  state.tcp = tcp_;
  return SaveState{state_path(), write_managed_state(state)};
}

QueryMaster ManagedReloader::master_command(const std::string& command, Duration timeout) const {
  return QueryMaster{master_socket(), command, timeout};
}

ManagedReloader::Plan ManagedReloader::build(const std::set<std::string>& add,
                                             const std::set<std::string>& grow) const {
  Plan p;
  p.generation = generation_ + 1;
  p.http = http_;
  p.tcp = tcp_;
  for (const auto& s : add) p.http.emplace(s, 0);
  ManagedConfig config;
  config.stable_socket = stable_socket();
  config.admin_socket = socket_path(p.generation);
  config.frontend_host = settings_.frontend_host;
  config.frontend_port = settings_.frontend_port;
  config.balance = settings_.balance;
  config.slot_prefix = settings_.naming.prefix;
  config.server_state_file = server_state_path();
  const auto add_backend = [&](const std::string& service, const std::string& name, int& count,
                               std::optional<std::uint16_t> tcp_port) {
    const auto& desired = driver_.desired_of(name);
    int slots = slots_needed(desired, std::max(count, settings_.slots));
    if (grow.count(name) && count > 0) slots = std::max(slots, count * 2);
    count = slots;
    const auto* rows = driver_.rows_of(name);
    config.backends.push_back({service, name, tcp_port,
                               assign_slots(rows ? *rows : std::vector<ServerStateRow>{}, desired,
                                            slots, settings_.naming)});
  };
  for (auto& [service, count] : p.http) {
    add_backend(service, settings_.backend_prefix + service, count, std::nullopt);
  }
  for (auto& [service, count] : p.tcp) {
    add_backend(service, tcp_listener_name(settings_.backend_prefix + service), count,
                settings_.tcp_ports.at(service));
  }
  p.text = write_haproxy_config(config);
  p.config = std::move(config);
  return p;
}

WriteServerState ManagedReloader::server_state(const Plan& plan) const {
  // From the driver's state now, not the plan's: it may have changed slots since the plan.
  std::vector<std::vector<SlotStart>> starts;
  starts.reserve(plan.config.backends.size());
  for (const auto& b : plan.config.backends) {
    const auto* rows = driver_.rows_of(b.name);
    starts.push_back(slot_starts(b, rows ? *rows : std::vector<ServerStateRow>{},
                                 driver_.desired_of(b.name), settings_.naming));
  }
  return WriteServerState{server_state_path(), write_server_state(plan.config, starts)};
}

void ManagedReloader::commit(Plan& plan) {
  generation_ = plan.generation;
  http_ = std::move(plan.http);
  tcp_ = std::move(plan.tcp);
  plan = Plan{};
}

// Start-up.

Actions ManagedReloader::start(TimePoint, const Routes* all) {
  if (state_ != State::created) return {};
  for (const auto& [service, port] : settings_.tcp_ports) tcp_.emplace(service, settings_.slots);
  std::set<std::string> services;
  if (all) {
    for (const auto& [service, routes] : *all) {
      if (!routes.empty()) services.insert(service);
    }
  }
  pending_ = build(services, {});
  state_ = State::start_writing;
  // Nothing runs yet: the first configuration goes straight to haproxy.cfg.
  return {WriteConfig{config_path(), pending_.text}};
}

Actions ManagedReloader::adopt(const ManagedState& state, TimePoint now) {
  if (state_ != State::created) return {};
  adopted_ = true;
  generation_ = state.generation;
  http_ = state.http;
  for (const auto& [service, port] : settings_.tcp_ports) {
    const auto it = state.tcp.find(service);
    tcp_.emplace(service, it != state.tcp.end() ? it->second : settings_.slots);
  }
  // Other settings (frontend, balance, prefixes, TCP listeners): our configuration replaces its.
  want_rewrite_ = state.settings != settings_fingerprint(settings_) || tcp_ != state.tcp;
  master_pid_ = state.master_pid;
  master_started_ = now;
  start_deadline_ = now + settings_.start_timeout;
  state_ = State::start_probing;
  return {ProbeSocket{admin_socket()}};
}

void ManagedReloader::start_failed(const std::string& why, Actions& out) {
  state_ = State::failed;
  pending_ = Plan{};
  out.push_back(StartFailed{why});
}

void ManagedReloader::start_wait(const std::string& why, TimePoint now, Actions& out) {
  if (now >= start_deadline_) {
    start_failed(adopted_ ? "the haproxy (master pid " + std::to_string(master_pid_) +
                                ") running from run dir " + run_dir_ +
                                " does not answer within --haproxy-timeout: " + why +
                                " (stop it, or give another --run-dir)"
                          : "haproxy did not start within the start-up timeout "
                            "(--haproxy-timeout): " +
                                why,
                 out);
    return;
  }
  start_waiting_for_ = why;
  poll_at_ = now + settings_.poll_interval;
  state_ = State::start_waiting;
}

Actions ManagedReloader::on_socket_probed(bool answers, TimePoint now) {
  Actions out;
  if (state_ != State::start_probing) return out;
  if (!answers) {
    if (adopted_ && !adopted_socket_lost_ && now - master_started_ >= kAdoptedSocketGrace) {
      // Ask the master whether a worker runs at all; if one does, a new configuration (and its
      // own admin socket) replaces whatever generation it serves.
      adopted_socket_lost_ = true;
      state_ = State::start_querying;
      out.push_back(master_command("show proc", settings_.startup_cli_timeout));
      return out;
    }
    start_wait("its admin socket " + admin_socket() + " does not answer", now, out);
    return out;
  }
  state_ = State::start_querying;
  out.push_back(master_command("show proc", settings_.startup_cli_timeout));
  return out;
}

// Writing, checking, installing.

Actions ManagedReloader::on_config_written(std::string_view err, TimePoint now) {
  Actions out;
  const auto cannot = [&](const std::string& path) {
    return "cannot write " + path + ": " + std::string(err);
  };
  switch (state_) {
    case State::start_writing:
      if (!err.empty()) {
        start_failed(cannot(config_path()), out);
        break;
      }
      state_ = State::start_writing_state;
      out.push_back(server_state(pending_));
      break;
    case State::writing:
      if (!err.empty()) {
        reload_failed(cannot(candidate_path()), now, out);
        break;
      }
      state_ = State::checking;
      out.push_back(RunCheck{check_argv(candidate_path()), run_dir_ + "/check.log"});
      break;
    case State::restart_writing:
      if (!err.empty()) {
        pending_ = Plan{};
        restart_later("cannot restart haproxy: " + cannot(config_path()), now, out);
        break;
      }
      state_ = State::restart_writing_state;
      out.push_back(server_state(pending_));
      break;
    default:
      break;
  }
  return out;
}

Actions ManagedReloader::on_server_state_written(std::string_view err, TimePoint now) {
  Actions out;
  const auto cannot = "cannot write " + server_state_path() + ": " + std::string(err);
  switch (state_) {
    case State::start_writing_state:
      if (!err.empty()) {
        start_failed(cannot, out);
        break;
      }
      state_ = State::start_checking;
      out.push_back(RunCheck{check_argv(config_path()), run_dir_ + "/check.log"});
      break;
    case State::restart_writing_state:
      if (!err.empty()) {
        requeue_pending();
        restart_later("cannot restart haproxy: " + cannot, now, out);
        break;
      }
      commit(pending_);
      state_ = State::restart_spawning;
      out.push_back(StartMaster{master_argv()});
      break;
    case State::writing_state:
      // A stale file would start slots as they were at an earlier reload: no reload without it.
      if (!err.empty()) {
        reload_failed(cannot, now, out);
        break;
      }
      state_ = State::sending;
      out.push_back(master_command("reload", settings_.cli_timeout));
      break;
    default:
      break;
  }
  return out;
}

Actions ManagedReloader::on_check_done(int exit_status, std::string_view output, TimePoint now) {
  Actions out;
  if (state_ == State::start_checking) {
    if (exit_status == 127) {
      start_failed("--haproxy-bin: cannot run '" + settings_.haproxy_bin + "'", out);
    } else if (exit_status != 0) {
      start_failed("haproxy -c rejected the managed configuration " + config_path() + ": " +
                       std::string(output),
                   out);
    } else {
      commit(pending_);
      state_ = State::start_spawning;
      out.push_back(StartMaster{master_argv()});
    }
  } else if (state_ == State::checking) {
    if (exit_status != 0) {
      reload_failed("haproxy -c rejected the new configuration (the running one stays): " +
                        std::string(output),
                    now, out);
    } else {
      state_ = State::installing;
      out.push_back(InstallConfig{candidate_path(), config_path()});
    }
  }
  return out;
}

Actions ManagedReloader::on_config_installed(std::string_view err, TimePoint now) {
  Actions out;
  if (state_ != State::installing) return out;
  if (!err.empty()) {
    reload_failed("cannot install the new configuration: " + std::string(err), now, out);
    return out;
  }
  state_ = State::counting;
  out.push_back(master_command("show proc", settings_.cli_timeout));
  return out;
}

// The master.

Actions ManagedReloader::on_master_started(int pid, std::string_view err, TimePoint now) {
  Actions out;
  if (state_ == State::start_spawning) {
    if (!err.empty()) {
      start_failed("cannot start haproxy: " + std::string(err), out);
      return out;
    }
    master_pid_ = pid;
    master_started_ = now;
    start_deadline_ = now + settings_.start_timeout;
    state_ = State::start_probing;
    out.push_back(ProbeSocket{admin_socket()});
  } else if (state_ == State::restart_spawning) {
    if (!err.empty()) {
      restart_later("cannot restart haproxy: " + std::string(err), now, out);
      return out;
    }
    master_pid_ = pid;
    master_started_ = now;
    state_ = State::idle;
    out.push_back(info("restarted haproxy (master pid " + std::to_string(pid) + ")"));
    out.push_back(save_state());
    out.push_back(NewWorker{admin_socket()});
    maybe_start_reload(now, out);
  }
  return out;
}

Actions ManagedReloader::on_master_exit(int status, TimePoint now) {
  Actions out;
  const auto status_text = std::to_string(status);
  if (state_ >= State::start_spawning && state_ <= State::start_waiting) {
    start_failed("haproxy exited during start-up with status " + status_text +
                     " (its messages are above; is --frontend " + settings_.frontend_host + ":" +
                     std::to_string(settings_.frontend_port) + " or a --tcp-port in use?)",
                 out);
    return out;
  }
  if (state_ < State::idle || state_ > State::polling) return out;  // no master to lose
  ++counters_.restarts;
  if (now - master_started_ >= settings_.restart_backoff_reset) restart_backoff_.succeeded();
  const auto delay = restart_backoff_.failed();
  out.push_back(error("the haproxy master (pid " + std::to_string(master_pid_) +
                      ") exited with status " + status_text + "; restarting it in " +
                      duration_text(delay)));
  if (state_ == State::checking || state_ == State::counting || state_ == State::sending ||
      state_ == State::polling) {
    out.push_back(CancelPending{});
  }
  requeue_pending();
  retry_at_.reset();  // the restart's configuration takes what waits
  restart_at_ = now + delay;
  state_ = State::restart_waiting;
  return out;
}

void ManagedReloader::restart_later(const std::string& why, TimePoint now, Actions& out) {
  const auto delay = restart_backoff_.failed();
  out.push_back(error(why + "; retrying in " + duration_text(delay)));
  restart_at_ = now + delay;
  state_ = State::restart_waiting;
}

void ManagedReloader::restart(Actions& out) {
  // Runtime state died with the old process: the new configuration lists every current server.
  pending_ = build(want_add_, want_grow_);
  want_add_.clear();
  want_grow_.clear();
  want_rewrite_ = false;  // the restart's configuration is written from our settings
  state_ = State::restart_writing;
  out.push_back(WriteConfig{config_path(), pending_.text});
}

// Reloads.

Actions ManagedReloader::on_routes(const Routes* all, TimePoint now) {
  Actions out;
  if (state_ == State::failed || state_ == State::stopped) return out;
  if (all) {
    for (const auto& [service, routes] : *all) {
      if (!routes.empty() && !http_.count(service) && !pending_.http.count(service)) {
        want_add_.insert(service);
      }
    }
  }
  for (const auto& [backend, instances] : driver_.unplaced()) want_grow_.insert(backend);
  if (state_ == State::idle) maybe_start_reload(now, out);
  return out;
}

void ManagedReloader::maybe_start_reload(TimePoint now, Actions& out) {
  if (state_ != State::idle || !wants_reload()) return;
  if (retry_at_ && now < *retry_at_) return;  // on_timer starts it
  retry_at_.reset();
  start_reload(now, out);
}

void ManagedReloader::start_reload(TimePoint now, Actions& out) {
  pending_ = build(want_add_, want_grow_);
  const auto added = joined(want_add_);
  const auto grown = joined(want_grow_);
  std::string why = added.empty() ? "" : "new services " + added;
  if (!grown.empty()) why += (why.empty() ? "" : "; ") + std::string("more slots in ") + grown;
  if (want_rewrite_) {
    why += (why.empty() ? "" : "; ") + std::string("the adopted configuration is replaced by ours");
  }
  out.push_back(info("reloading for " + why));
  pending_rewrite_ = want_rewrite_;
  want_add_.clear();
  want_grow_.clear();
  want_rewrite_ = false;
  reload_started_ = now;
  state_ = State::writing;
  out.push_back(WriteConfig{candidate_path(), pending_.text});
}

Actions ManagedReloader::on_show_proc(const std::optional<ProcessList>& procs, std::string_view err,
                                      TimePoint now) {
  Actions out;
  const std::string why = err.empty() ? "unparsable reply" : std::string(err);
  switch (state_) {
    case State::start_querying:
      if (procs && procs->current_worker()) {
        if (adopted_socket_lost_) {
          out.push_back(warn("the adopted haproxy's admin socket " + admin_socket() +
                             " does not answer but its master lists a worker (the last sherlock "
                             "stopped during a reload?): reloading it with a new configuration"));
          ++generation_;  // the reload's configuration takes the generation after this one
          want_rewrite_ = true;
        }
        state_ = State::idle;
        out.push_back(
            info(std::string(adopted_ ? "adopted the running haproxy" : "managed haproxy running") +
                 " (master pid " + std::to_string(master_pid_) + ", configuration generation " +
                 std::to_string(generation_) + "), frontend " + settings_.frontend_host + ":" +
                 std::to_string(settings_.frontend_port) + ", run dir " + run_dir_));
        out.push_back(save_state());
        out.push_back(Started{});
        maybe_start_reload(now, out);
      } else {
        start_wait(procs ? "the master's 'show proc' lists no current worker"
                         : "the master socket " + master_socket() +
                               " does not answer 'show proc' (" + why + ")",
                   now, out);
      }
      break;
    case State::counting:
      if (!procs) {
        reload_failed("master socket 'show proc': " + why, now, out);
        break;
      }
      reloads_before_ = procs->reloads;
      failed_before_ = procs->failed_reloads;
      // The new master reads the file at once: written now, it holds what the driver has applied
      // to the running worker up to the reload (changes after it reach the new worker when the
      // driver re-reads it).
      state_ = State::writing_state;
      out.push_back(server_state(pending_));
      break;
    case State::polling:
      if (procs && procs->reloads > reloads_before_) {
        if (procs->failed_reloads > failed_before_) {
          reload_failed("the master reports the reload failed (old workers kept)", now, out);
        } else {
          reload_succeeded(now, out);
        }
      } else if (now - reload_started_ > settings_.reload_timeout) {
        reload_failed("no new worker within the reload timeout (--haproxy-timeout)", now, out);
      } else {
        // The master is re-executing (its socket refuses meanwhile): ask again.
        poll_at_ = now + settings_.poll_interval;
        state_ = State::settling;
      }
      break;
    default:
      break;
  }
  return out;
}

Actions ManagedReloader::on_reload_sent(std::string_view err, TimePoint now) {
  Actions out;
  if (state_ != State::sending) return out;
  if (!err.empty()) {
    reload_failed("master socket 'reload': " + std::string(err), now, out);
    return out;
  }
  // 2.6 answers nothing to `reload` (and re-executes the master): success shows in `show proc`.
  poll_at_ = now + settings_.poll_interval;
  state_ = State::settling;
  return out;
}

void ManagedReloader::reload_succeeded(TimePoint now, Actions& out) {
  const auto old_socket = admin_socket();
  commit(pending_);
  pending_rewrite_ = false;
  ++counters_.reloads;
  counters_.last_reload = now - reload_started_;
  reload_backoff_.succeeded();
  retry_at_.reset();
  state_ = State::idle;
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.1f",
                std::chrono::duration<double, std::milli>(*counters_.last_reload).count());
  out.push_back(info("reloaded (configuration generation " + std::to_string(generation_) + ", " +
                     std::to_string(http_.size()) + " HTTP backends) in " + ms + " ms"));
  out.push_back(RemoveFile{old_socket});
  out.push_back(save_state());
  out.push_back(NewWorker{admin_socket()});
  maybe_start_reload(now, out);
}

void ManagedReloader::reload_failed(const std::string& why, TimePoint now, Actions& out) {
  ++counters_.reload_failures;
  const auto delay = reload_backoff_.failed();
  out.push_back(error("reload failed: " + why + "; retrying in " + duration_text(delay)));
  requeue_pending();
  retry_at_ = now + delay;
  state_ = State::idle;
}

void ManagedReloader::requeue_pending() {
  for (const auto& [service, count] : pending_.http) {
    if (!http_.count(service)) want_add_.insert(service);
  }
  if (pending_rewrite_) want_rewrite_ = true;
  pending_rewrite_ = false;
  pending_ = Plan{};
}

// Time and stop.

Actions ManagedReloader::on_timer(TimePoint now) {
  Actions out;
  switch (state_) {
    case State::start_waiting:
      if (now < poll_at_) break;
      state_ = State::start_probing;
      out.push_back(ProbeSocket{admin_socket()});
      break;
    case State::settling:
      if (now < poll_at_) break;
      state_ = State::polling;
      out.push_back(master_command("show proc", settings_.cli_timeout));
      break;
    case State::restart_waiting:
      if (now >= restart_at_) restart(out);
      break;
    case State::idle:
      if (retry_at_ && now >= *retry_at_) maybe_start_reload(now, out);
      break;
    default:
      break;
  }
  return out;
}

Actions ManagedReloader::stop(TimePoint) {
  Actions out;
  if (state_ == State::stopped) return out;
  const bool in_flight = state_ == State::start_checking || state_ == State::start_querying ||
                         state_ == State::checking || state_ == State::counting ||
                         state_ == State::sending || state_ == State::polling;
  state_ = State::stopped;
  pending_ = Plan{};
  if (in_flight) out.push_back(CancelPending{});
  if (master_pid_ <= 0) return out;
  if (settings_.stop_on_exit) {
    out.push_back(StopMaster{settings_.stop_grace});
    out.push_back(RemoveFile{state_path()});
  } else {
    out.push_back(info("leaving haproxy serving (master pid " + std::to_string(master_pid_) +
                       "): the next sherlock with run dir " + run_dir_ + " adopts it"));
  }
  return out;
}

std::optional<TimePoint> ManagedReloader::next_deadline() const {
  switch (state_) {
    case State::start_waiting:
    case State::settling:
      return poll_at_;
    case State::restart_waiting:
      return restart_at_;
    case State::idle:
      if (retry_at_ && wants_reload()) return retry_at_;
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

void ManagedReloader::append_metrics(std::string& out) const {
  MetricsWriter w;
  w.counter("baker_sherlock_haproxy_reloads_total", "Hitless reloads of the managed haproxy.",
            counters_.reloads);
  w.counter("baker_sherlock_haproxy_reload_failures_total",
            "Reloads that failed (config check, master) and were retried.",
            counters_.reload_failures);
  w.counter("baker_sherlock_haproxy_restarts_total",
            "Times the managed haproxy had to be restarted.", counters_.restarts);
  w.gauge("baker_sherlock_haproxy_last_reload_seconds",
          "Duration of the last reload: config check, reload, new worker seen.",
          counters_.last_reload ? std::chrono::duration<double>(*counters_.last_reload).count()
                                : std::numeric_limits<double>::quiet_NaN());
  w.gauge("baker_sherlock_haproxy_config_generation",
          "Generation of the managed configuration running.", static_cast<double>(generation_));
  out += w.take();
}

}  // namespace baker::sherlock::haproxy
