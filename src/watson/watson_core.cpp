#include "watson/watson_core.hpp"

#include <algorithm>

namespace baker::watson {

WatsonCore::WatsonCore(CoreSettings settings, HeartbeatSchedule::Uniform uniform)
    : settings_(std::move(settings)),
      schedule_(settings_.heartbeat_interval, settings_.jitter, std::move(uniform)),
      health_(settings_.healthy_threshold, settings_.unhealthy_threshold),
      operator_draining_(settings_.start_draining) {}

Actions WatsonCore::start(TimePoint now) {
  next_check_ = now;
  return on_timer(now);
}

Actions WatsonCore::on_timer(TimePoint now) {
  Actions out;
  if (finished_) return out;
  if (next_goodbye_ && *next_goodbye_ <= now) send_goodbye(now, out);
  if (announced_ && next_heartbeat_ && *next_heartbeat_ <= now) send_heartbeat(now, out);
  if (!shutting_down_ && !check_in_flight_ && next_check_ && *next_check_ <= now) {
    out.start_check = true;
    check_in_flight_ = true;
    check_started_ = now;
    next_check_.reset();
  }
  maybe_finish(out);
  return out;
}

Actions WatsonCore::on_check_result(bool passed, TimePoint now) {
  Actions out;
  if (!check_in_flight_) return out;  // nothing asked for it (e.g. after shutdown)
  check_in_flight_ = false;
  if (shutting_down_) return out;
  // Checks start one interval apart, or right away if one took longer than the interval.
  next_check_ = std::max(check_started_ + settings_.check_interval, now);
  if (!health_.on_result(passed)) return out;
  if (health_.health() == Health::healthy) {
    // Announce at once; a recovery in the middle of the goodbyes ends them.
    next_goodbye_.reset();
    goodbyes_left_ = 0;
    announced_ = true;
    send_heartbeat(now, out);
  } else if (announced_) {
    announced_ = false;
    next_heartbeat_.reset();
    begin_goodbyes(now, out);
  }
  return out;
}

Actions WatsonCore::set_draining(DrainSource source, bool on, TimePoint now) {
  Actions out;
  const bool before = draining();
  (source == DrainSource::operator_request ? operator_draining_ : file_draining_) = on;
  // Tell the directory now, not at the next beat: clients should stop sending new requests soon.
  if (draining() != before && announced_) send_heartbeat(now, out);
  return out;
}

Actions WatsonCore::on_shutdown(TimePoint now) {
  Actions out;
  if (shutting_down_) return out;
  shutting_down_ = true;
  next_check_.reset();
  if (announced_) {
    announced_ = false;
    next_heartbeat_.reset();
    begin_goodbyes(now, out);
  }
  // Otherwise the goodbyes of an earlier fall may still be under way: they finish first.
  maybe_finish(out);
  return out;
}

std::optional<TimePoint> WatsonCore::next_deadline() const {
  if (finished_) return std::nullopt;
  std::optional<TimePoint> t;
  auto consider = [&t](const std::optional<TimePoint>& c) {
    if (c && (!t || *c < *t)) t = c;
  };
  consider(next_goodbye_);
  if (announced_) consider(next_heartbeat_);
  if (!check_in_flight_ && !shutting_down_) consider(next_check_);
  return t;
}

void WatsonCore::set_wall_clock(std::uint64_t unix_ms, TimePoint now) {
  wall_anchor_ms_ = unix_ms;
  wall_anchor_ = now;
}

std::uint64_t WatsonCore::wall_ms(TimePoint now) const {
  const auto since = std::chrono::duration_cast<milliseconds>(now - wall_anchor_).count();
  const auto ms = static_cast<std::int64_t>(wall_anchor_ms_) + since;
  return ms > 0 ? static_cast<std::uint64_t>(ms) : 1;  // never 0 (wire::validate refuses it)
}

void WatsonCore::send_heartbeat(TimePoint now, Actions& out) {
  wire::Heartbeat hb;
  hb.route = settings_.route;
  hb.route.state = draining() ? wire::InstanceState::draining : wire::InstanceState::up;
  hb.incarnation = settings_.incarnation;
  hb.sent_ms = wall_ms(now);
  hb.seq = ++seq_;
  hb.interval_ms = static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(settings_.heartbeat_interval).count());
  out.send.emplace_back(std::move(hb));
  next_heartbeat_ = schedule_.next_after(now);
}

void WatsonCore::send_goodbye(TimePoint now, Actions& out) {
  wire::Goodbye bye;
  bye.service = settings_.route.service;
  bye.instance = settings_.route.instance;
  bye.incarnation = settings_.incarnation;
  bye.sent_ms = wall_ms(now);
  bye.seq = ++seq_;
  out.send.emplace_back(std::move(bye));
  if (goodbyes_left_ > 0) --goodbyes_left_;
  if (goodbyes_left_ > 0) {
    next_goodbye_ = now + settings_.goodbye_spacing;
  } else {
    next_goodbye_.reset();
  }
}

void WatsonCore::begin_goodbyes(TimePoint now, Actions& out) {
  goodbyes_left_ = std::max(1u, settings_.goodbye_count);
  send_goodbye(now, out);
}

void WatsonCore::maybe_finish(Actions& out) {
  if (shutting_down_ && !finished_ && goodbyes_left_ == 0) {
    finished_ = true;
    out.finished = true;
  }
}

}  // namespace baker::watson
