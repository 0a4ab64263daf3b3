#include "watson/watson_daemon.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "common/duration.hpp"
#include "common/key_file.hpp"
#include "common/real_clock.hpp"
#include "wire/validate.hpp"

namespace baker::watson {

namespace asio = boost::asio;

WatsonDaemon::WatsonDaemon(asio::io_context& io, DaemonSetup setup)
    : io_(io),
      systemd_(io),
      config_(std::move(setup.config)),
      core_(std::move(setup.core), make_uniform(setup.jitter_seed)),
      check_(std::move(setup.check)),
      keys_(std::move(setup.keys)),
      timer_(io),
      signals_(io, SIGINT, SIGTERM) {
  signals_.add(SIGUSR1);
  signals_.add(SIGUSR2);
  signals_.add(SIGHUP);
  for (auto& [endpoint, name] : setup.directories) {
    links_.push_back(std::make_unique<DirectoryLink>(io, endpoint, name));
  }
}

void WatsonDaemon::start() {
  const auto& route = core_.settings().route;
  const bool v6 = route.address.family == wire::IpAddress::Family::v6;
  std::string dirs;
  for (const auto& l : links_) dirs += (dirs.empty() ? "" : ", ") + l->name();
  spdlog::info(
      "watson for service '{}' instance '{}' at {}{}{}:{} (weight {}, {} tag(s)), incarnation {}: "
      "checking by {} every {} (timeout {}, rise {}, fall {}); heartbeats every {} to {}{}",
      route.service, route.instance, v6 ? "[" : "", route.address.to_string(), v6 ? "]" : "",
      route.port, route.weight, route.tags.size(), core_.incarnation(), check_->describe(),
      format_duration(config_.interval), format_duration(config_.check_timeout), config_.rise,
      config_.fall, format_duration(config_.interval), dirs, keys_ ? ", authenticated" : "");
  if (core_.draining()) spdlog::info("draining from the start (--draining)");
  do_await_signal();
  poll_drain_file();  // not announced yet: nothing to send
  apply(core_.start(synced_now()));
  // The directory sockets are open (the constructor did it); the instance is announced once
  // its check rises, which may never happen: readiness is the daemon's, not the instance's.
  systemd_.ready(systemd_status());
}

std::string WatsonDaemon::systemd_status() const {
  const auto& route = core_.settings().route;
  return route.service + "/" + route.instance + ": " + std::string(to_string(core_.health())) +
         (core_.draining() ? ", draining" : "") +
         (core_.announced() ? ", heartbeating" : ", not announced");
}

TimePoint WatsonDaemon::synced_now() {
  // The core stamps sent_ms from this mapping; re-synced at every event so a stepped wall clock
  // shows in the next datagram.
  const TimePoint now = Clock::now();
  core_.set_wall_clock(unix_time_ms(), now);
  return now;
}

void WatsonDaemon::apply(Actions actions) {
  for (const auto& m : actions.send) {
    if (auto bad = wire::validate(m)) {
      // Configuration is validated at start, so this is a bug; never put it on the wire.
      spdlog::error("not sending an invalid {}: {}", wire::to_string(wire::type_of(m)),
                    wire::to_string(*bad));
      continue;
    }
    wire::encode_into(m, keys_ ? &*keys_ : nullptr, buffer_);
    for (auto& l : links_) l->send(buffer_);
    if (std::holds_alternative<wire::Heartbeat>(m)) {
      ++heartbeats_sent_;
      const auto& hb = std::get<wire::Heartbeat>(m);
      spdlog::debug("heartbeat seq {} state {}", hb.seq, wire::to_string(hb.route.state));
    } else {
      ++goodbyes_sent_;
      spdlog::info("goodbye seq {} sent", std::get<wire::Goodbye>(m).seq);
    }
  }
  if (actions.start_check) {
    check_->start([this](CheckResult r) { on_check_done(std::move(r)); });
  }
  if (actions.finished) {
    spdlog::info("goodbyes said; exiting ({} heartbeats and {} goodbyes sent)", heartbeats_sent_,
                 goodbyes_sent_);
    stop();
    return;
  }
  arm_timer();
}

void WatsonDaemon::arm_timer() {
  const auto next = core_.next_deadline();
  if (!next) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(*next);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) on_wakeup();
  });
}

void WatsonDaemon::on_wakeup() {
  // A drain change is sent first, then whatever else is due.
  auto actions = poll_drain_file();
  auto due = core_.on_timer(synced_now());
  for (auto& m : due.send) actions.send.push_back(std::move(m));
  actions.start_check = actions.start_check || due.start_check;
  actions.finished = actions.finished || due.finished;
  apply(std::move(actions));
}

void WatsonDaemon::on_check_done(CheckResult result) {
  const bool changed = !last_result_ || last_result_->passed != result.passed ||
                       last_result_->detail != result.detail;
  const auto health_before = core_.health();
  const bool announced_before = core_.announced();
  const bool draining_before = core_.draining();
  auto actions = core_.on_check_result(result.passed, synced_now());
  if (changed) {
    const auto& hs = core_.health_state();
    if (result.passed) {
      spdlog::info("check passed: {}", result.detail);
    } else if (core_.health() == Health::healthy) {
      spdlog::warn("check failed ({} of {} to fall): {}", hs.consecutive_failures(),
                   hs.unhealthy_threshold(), result.detail);
    } else {
      spdlog::warn("check failed: {}", result.detail);
    }
  }
  last_result_ = std::move(result);
  log_transitions(health_before, announced_before, draining_before);
  apply(std::move(actions));
}

void WatsonDaemon::log_transitions(Health health_before, bool announced_before,
                                   bool draining_before) {
  if (core_.health() != health_before || core_.draining() != draining_before ||
      core_.announced() != announced_before) {
    systemd_.status(systemd_status());  // what `systemctl status` shows
  }
  if (core_.health() != health_before) {
    if (core_.health() == Health::healthy) {
      spdlog::info("instance healthy{}: heartbeating every {}{}",
                   health_before == Health::unhealthy
                       ? fmt::format(" again after {} passing checks",
                                     core_.health_state().consecutive_passes())
                       : "",
                   format_duration(config_.interval), core_.draining() ? " (draining)" : "");
    } else if (announced_before) {
      spdlog::warn("instance unhealthy after {} failed checks: saying goodbye, heartbeats stop",
                   core_.health_state().consecutive_failures());
    } else {
      spdlog::warn("instance unhealthy: not announced; checking every {}",
                   format_duration(config_.interval));
    }
  }
  if (core_.draining() != draining_before) {
    spdlog::info(
        "{}{}",
        core_.draining() ? "draining: heartbeats say draining" : "draining over: heartbeats say up",
        core_.announced() ? "" : " (not announced now; applies once healthy)");
  }
}

void WatsonDaemon::do_await_signal() {
  signals_.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    const auto now = synced_now();
    const auto health_before = core_.health();
    const bool announced_before = core_.announced();
    const bool draining_before = core_.draining();
    switch (sig) {
      case SIGUSR1:
        spdlog::info("SIGUSR1: drain requested");
        apply(core_.set_draining(DrainSource::operator_request, true, now));
        break;
      case SIGUSR2:
        spdlog::info("SIGUSR2: undrain requested{}",
                     drain_file_present_.value_or(false) ? " (the drain file still exists)" : "");
        apply(core_.set_draining(DrainSource::operator_request, false, now));
        break;
      case SIGHUP:
        systemd_.reloading();
        reload_keys();
        systemd_.ready(systemd_status());
        break;
      default:
        if (core_.shutting_down()) {
          spdlog::info("{} again: still saying goodbye", strsignal(sig));
          break;
        }
        spdlog::info("{}: shutting down{}", strsignal(sig),
                     announced_before ? ", saying goodbye" : "");
        systemd_.stopping(announced_before ? "saying goodbye" : "stopping");
        check_->cancel();
        apply(core_.on_shutdown(now));
        break;
    }
    log_transitions(health_before, announced_before, draining_before);
    if (!core_.finished()) do_await_signal();
  });
}

Actions WatsonDaemon::poll_drain_file() {
  if (config_.drain_file.empty()) return {};
  std::error_code ec;
  const bool present = std::filesystem::exists(config_.drain_file, ec);
  if (drain_file_present_ == present) return {};
  const bool first = !drain_file_present_.has_value();
  drain_file_present_ = present;
  if (first && !present) return {};
  const auto health_before = core_.health();
  const bool announced_before = core_.announced();
  const bool draining_before = core_.draining();
  spdlog::info("drain file {} {}", config_.drain_file, present ? "exists" : "is gone");
  auto actions = core_.set_draining(DrainSource::drain_file, present, synced_now());
  log_transitions(health_before, announced_before, draining_before);
  return actions;
}

void WatsonDaemon::reload_keys() {
  // SIGHUP re-reads the key file named at start (watson.conf itself is not re-read, so its key
  // setting cannot go away). Fail closed as every daemon does (common/key_file.hpp).
  if (config_.key_file.empty()) {
    spdlog::info("SIGHUP: no key file configured, nothing to reload");
    return;
  }
  auto keys =
      reload_key_file(config_.key_file, keys_.has_value(), {wire::Role::announce}, "watson");
  if (keys.refused()) {
    spdlog::error("SIGHUP: {}", keys.message);
    return;
  }
  keys_ = std::move(keys.keys);
  spdlog::info("SIGHUP: reloaded {}", keys.message);
}

void WatsonDaemon::stop() {
  // Close everything so io.run() returns by itself.
  systemd_.stopping();
  check_->cancel();
  timer_.cancel();
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  signals_.clear(ignored);
  for (auto& l : links_) l->close();
}

}  // namespace baker::watson
