#include "directory/directory_core.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/enum_names.hpp"

// Per-route events are frequent: format them only when debug logging is on.
#define DIRECTORY_DEBUG(...)                                              \
  do {                                                                    \
    if (spdlog::default_logger_raw()->should_log(spdlog::level::debug)) { \
      spdlog::debug(__VA_ARGS__);                                         \
    }                                                                     \
  } while (0)

namespace baker::directory {

using wire::OpKind;

constexpr std::array<std::string_view, 11> kRejectNames = {
    "unexpected_message", "table_full",          "subscriber_limit", "unknown_subscriber",
    "wrong_epoch",        "invalid_range",       "replayed_request", "foreign_address",
    "bad_cookie",         "challenge_too_large", "host_limit"};
static_assert(names_every_value(kRejectNames, Reject::host_limit));

std::string_view to_string(Reject r) noexcept {
  return enum_name(kRejectNames, r);
}

namespace {
std::uint32_t to_ms(Duration d) {
  return static_cast<std::uint32_t>(std::chrono::duration_cast<milliseconds>(d).count());
}
}  // namespace

DirectoryCore::DirectoryCore(const DirectoryConfig& config, std::uint64_t epoch, TimePoint start,
                             const CookieSecret& secret)
    : config_(config),
      epoch_(epoch),
      start_(start),
      log_(config.log_size),
      warming_(config.warmup_max > Duration::zero()),
      cookies_(secret, config.cookie_lifetime),
      next_tick_at_(start + config.tick_interval) {}

TimePoint DirectoryCore::warmup_end() const {
  const std::uint64_t longest = std::max<std::uint32_t>(longest_interval_ms_, 1000);
  const Duration span = milliseconds(config_.miss_limit * longest);
  // With the timestamp rules on, a watson may be refused (before_start) for up to 2 x
  // max_clock_skew after the start: warm-up waits for that on top of its bound, or a warm-up
  // shorter than it would end before anyone could be heard and drop every route.
  const Duration restart_delay = wall_.known() && config_.warmup_max > Duration::zero()
                                     ? 2 * config_.max_clock_skew
                                     : Duration::zero();
  return start_ + std::min(span, config_.warmup_max) + restart_delay;
}

const Subscriber* DirectoryCore::subscriber(std::uint64_t id) const {
  auto it = subscribers_.find(id);
  return it == subscribers_.end() ? nullptr : &it->second;
}

std::size_t DirectoryCore::structure_bytes() const {
  return table_.structure_bytes() + expiry_.capacity_bytes() +
         log_.size() * sizeof(wire::SequencedOp);
}

std::size_t DirectoryCore::proven_on_host(const wire::IpAddress& host) const {
  auto it = per_host_.find(host);
  return it == per_host_.end() ? 0 : it->second;
}

// ---- datagrams ----

void DirectoryCore::on_datagram(const wire::Message& m, const Endpoint& from, TimePoint now,
                                Actions& out) {
  const std::size_t bytes = std::holds_alternative<wire::Subscribe>(m) ? wire::encode(m).size() : 0;
  on_datagram(m, from, bytes, now, out);
}

void DirectoryCore::on_datagram(const wire::Message& m, const Endpoint& from, std::size_t bytes,
                                TimePoint now, Actions& out) {
  update_warmup(now, out);
  if (const auto* hb = std::get_if<wire::Heartbeat>(&m)) {
    on_heartbeat(*hb, now, out);
  } else if (const auto* g = std::get_if<wire::Goodbye>(&m)) {
    on_goodbye(*g, now, out);
  } else if (const auto* s = std::get_if<wire::Subscribe>(&m)) {
    on_subscribe(*s, from, bytes, now, out);
  } else if (const auto* u = std::get_if<wire::Unsubscribe>(&m)) {
    on_unsubscribe(*u, from, now);
  } else if (const auto* n = std::get_if<wire::Nack>(&m)) {
    on_nack(*n, from, now, out);
  } else {
    ++stats_.rejects[static_cast<int>(Reject::unexpected_message)];
  }
}

std::int64_t DirectoryCore::expiry_deadline(TimePoint now, std::uint32_t interval_ms) const {
  const auto span = milliseconds(static_cast<std::int64_t>(config_.miss_limit) * interval_ms);
  return (now + span).time_since_epoch().count();
}

void DirectoryCore::schedule(RouteIndex i, std::int64_t deadline) {
  RouteRecord& rec = table_.at(i);
  rec.deadline = deadline;
  // A later deadline leaves the queued entry alone: when it surfaces it is re-queued (lazy).
  if (deadline < rec.queued) {
    expiry_.push({deadline, i, rec.generation});
    rec.queued = deadline;
  }
}

void DirectoryCore::set_wall_clock(std::uint64_t unix_ms, TimePoint now) {
  const bool first = !wall_.known();
  wall_.set(unix_ms, now, start_);
  if (first) {
    spdlog::info(
        "wall clock at start {} ms since 1970: heartbeats and goodbyes count only if stamped "
        "within --max-clock-skew {} ms of this clock and after the start + that",
        wall_.start_ms(), std::chrono::duration_cast<milliseconds>(config_.max_clock_skew).count());
  }
}

Duration DirectoryCore::tombstone_lifetime(std::uint32_t interval_ms) const {
  // A datagram accepted at t was stamped at most t + skew; any copy of it (or of an older
  // datagram of the same process) is fresh until at most t + 2 x skew. The expiry period on top
  // keeps the tombstone of an expired route as long as its last heartbeat's copies live.
  return 2 * config_.max_clock_skew +
         milliseconds(static_cast<std::int64_t>(config_.miss_limit) * interval_ms);
}

std::optional<AnnounceReject> DirectoryCore::check_announce(RouteIndex i, std::string_view service,
                                                            std::string_view instance,
                                                            std::uint64_t incarnation,
                                                            std::uint64_t seq,
                                                            std::uint64_t sent_ms, TimePoint now) {
  if (auto bad = wall_.check(sent_ms, now, config_.max_clock_skew)) {
    // Datagrams from before this directory's start are normal right after a restart: counted only.
    if (*bad != AnnounceReject::before_start) {
      warn_once(i, service, instance, incarnation, *bad,
                static_cast<std::int64_t>(sent_ms) - wall_.at(now));
    }
    return bad;
  }
  if (i == kNoRoute) return std::nullopt;
  const RouteRecord& rec = table_.at(i);
  if (incarnation < rec.sender_incarnation) {
    if (wall_.known())
      warn_once(i, service, instance, incarnation, AnnounceReject::old_incarnation, 0);
    return AnnounceReject::old_incarnation;
  }
  if (incarnation == rec.sender_incarnation && seq <= rec.sender_seq) {
    return rec.live ? AnnounceReject::duplicate : AnnounceReject::tombstoned;
  }
  return std::nullopt;
}

void DirectoryCore::warn_once(RouteIndex i, std::string_view service, std::string_view instance,
                              std::uint64_t incarnation, AnnounceReject why,
                              std::int64_t offset_ms) {
  if (i != kNoRoute && table_.at(i).sender_incarnation == incarnation) {
    RouteRecord& rec = table_.at(i);
    if (rec.clock_warned) return;
    rec.clock_warned = true;
  } else if (!warned_.first(service, instance, incarnation, static_cast<std::uint8_t>(why))) {
    if (warned_.full() && warned_.report_overflow()) {
      spdlog::warn(
          "more than {} watson processes refused for their clocks or incarnations: further ones "
          "are not logged (baker_directory_rejected_datagrams_total counts them)",
          warned_.size());
    }
    return;
  }
  ++stats_.clock_warnings;
  const auto skew_ms = std::chrono::duration_cast<milliseconds>(config_.max_clock_skew).count();
  if (why == AnnounceReject::old_incarnation) {
    const RouteRecord& rec = table_.at(i);
    spdlog::warn(
        "watson {}/{}: refusing incarnation {}, older than incarnation {} already heard: a replay "
        "of an earlier process, or its host's clock was stepped back before this process started "
        "(refused until the record of {} is purged, at most {} ms after it is gone)",
        service, instance, incarnation, rec.sender_incarnation, rec.sender_incarnation,
        std::chrono::duration_cast<milliseconds>(tombstone_lifetime(rec.interval_ms)).count());
    return;
  }
  spdlog::warn(
      "watson {}/{} (incarnation {}): datagram stamped {} ms {} this directory's clock, more than "
      "--max-clock-skew {} ms: its heartbeats and goodbyes are refused ({}) until the clocks agree "
      "(check NTP on both hosts), unless these are replays of old datagrams; logged once per "
      "watson process",
      service, instance, incarnation, offset_ms < 0 ? -offset_ms : offset_ms,
      offset_ms < 0 ? "behind" : "ahead of", skew_ms, to_string(why));
}

void DirectoryCore::entomb(RouteIndex i, TimePoint now) {
  RouteRecord& rec = table_.at(i);
  const std::int64_t deadline =
      (now + tombstone_lifetime(rec.interval_ms)).time_since_epoch().count();
  schedule(i, deadline);
  tombstone_order_.push_back({deadline, i, rec.generation});
  const auto current = [this](const ExpiryIndex::Entry& e) {
    const RouteRecord& r = table_.at(e.index);
    return r.used && !r.live && r.generation == e.generation && r.deadline == e.deadline;
  };
  while (tombstone_count() > config_.max_tombstones && !tombstone_order_.empty()) {
    const ExpiryIndex::Entry e = tombstone_order_.front();
    tombstone_order_.pop_front();
    if (!current(e) || e.index == i) continue;
    ++stats_.tombstones_evicted;
    if ((stats_.tombstones_evicted & (stats_.tombstones_evicted - 1)) == 0) {  // 1, 2, 4, ...
      spdlog::warn(
          "more tombstones than --max-tombstones {}: evicted the oldest ({} so far); a fresh "
          "replay of an evicted route's datagrams could add it back",
          config_.max_tombstones, stats_.tombstones_evicted);
    }
    table_.erase(e.index);
  }
  // Revived or re-entombed records leave stale entries behind: drop them now and then.
  if (tombstone_order_.size() > 2 * config_.max_tombstones + 1024) {
    std::erase_if(tombstone_order_, [&](const ExpiryIndex::Entry& e) { return !current(e); });
  }
}

void DirectoryCore::on_heartbeat(const wire::Heartbeat& hb, TimePoint now, Actions& out) {
  ++stats_.heartbeats;
  const wire::Route& r = hb.route;
  RouteIndex i = table_.find(r.service, r.instance);
  if (auto why =
          check_announce(i, r.service, r.instance, hb.incarnation, hb.seq, hb.sent_ms, now)) {
    ++stats_.announce_rejects[static_cast<int>(*why)];
    if (*why == AnnounceReject::duplicate || *why == AnnounceReject::tombstoned) {
      ++stats_.heartbeats_stale;
    }
    return;
  }
  if (warming_ && hb.interval_ms > longest_interval_ms_) longest_interval_ms_ = hb.interval_ms;
  if (i == kNoRoute) {
    if (table_.used_count() >= config_.max_routes) {
      ++stats_.rejects[static_cast<int>(Reject::table_full)];
      return;
    }
    i = table_.insert(r.service, r.instance);
  } else if (table_.at(i).sender_incarnation != hb.incarnation && table_.at(i).live) {
    ++stats_.sender_restarts;
    DIRECTORY_DEBUG("{}/{}: watson restarted (incarnation {})", r.service, r.instance,
                    hb.incarnation);
  }
  RouteRecord& rec = table_.at(i);
  const bool changes = rec.live && !table_.same_route(i, r);
  // A snapshot being paced out keeps what it has not sent yet: the old route with its old version;
  // and the old version when only the version grows in size (its chunks were sized with that).
  const wire::Version version{hb.incarnation, hb.seq};
  if (rec.live && !jobs_.empty() &&
      (changes || wire::encoded_size(version) > wire::encoded_size(table_.version(i)))) {
    before_change(i);
  }
  if (rec.sender_incarnation != hb.incarnation) rec.clock_warned = false;
  rec.sender_incarnation = hb.incarnation;
  rec.sender_seq = hb.seq;
  rec.interval_ms = hb.interval_ms;
  schedule(i, expiry_deadline(now, hb.interval_ms));
  if (!rec.live) {
    table_.set_route(i, r);
    ++stats_.routes_added;
    DIRECTORY_DEBUG("{}/{}: added at {}:{}", r.service, r.instance, r.address.to_string(), r.port);
    record_change(OpKind::add, i, now, out);
  } else if (changes) {
    table_.set_route(i, r);
    ++stats_.routes_updated;
    record_change(OpKind::update, i, now, out);
  }
}

void DirectoryCore::on_goodbye(const wire::Goodbye& g, TimePoint now, Actions& out) {
  ++stats_.goodbyes;
  RouteIndex i = table_.find(g.service, g.instance);
  if (auto why = check_announce(i, g.service, g.instance, g.incarnation, g.seq, g.sent_ms, now)) {
    ++stats_.announce_rejects[static_cast<int>(*why)];
    ++stats_.goodbyes_ignored;
    return;
  }
  if (i == kNoRoute) {
    // Nothing to remove, but the goodbye is remembered: a heartbeat this process sent before it
    // (lost, or held back by an attacker) must not add the route when it arrives.
    if (table_.used_count() >= config_.max_routes) {
      ++stats_.goodbyes_ignored;
      ++stats_.rejects[static_cast<int>(Reject::table_full)];
      return;
    }
    i = table_.insert(g.service, g.instance);
    table_.at(i).interval_ms = 0;  // its lifetime is 2 x skew: enough for what was sent before
  }
  RouteRecord& rec = table_.at(i);
  // A snapshot in flight keeps the route with the version of its last heartbeat.
  if (rec.live) before_change(i);
  if (rec.sender_incarnation != g.incarnation) rec.clock_warned = false;
  rec.sender_incarnation = g.incarnation;
  rec.sender_seq = g.seq;  // the remove op carries the Goodbye's version
  if (!rec.live) {
    ++stats_.goodbyes_ignored;  // unknown or already gone: nothing to remove
    entomb(i, now);             // the tombstone lasts from this (later) goodbye on
    return;
  }
  table_.clear_route(i);
  ++stats_.routes_removed;
  DIRECTORY_DEBUG("{}/{}: goodbye", g.service, g.instance);
  entomb(i, now);
  record_change(OpKind::remove, i, now, out, wire::Removal::goodbye);
}

void DirectoryCore::before_change(RouteIndex i) {
  for (auto& job : jobs_) {
    if (job.snapshot) job.snapshot->before_change(i, table_);
  }
}

void DirectoryCore::record_change(OpKind kind, RouteIndex i, TimePoint now, Actions& out,
                                  wire::Removal why) {
  RouteRecord& rec = table_.at(i);
  rec.changed_seq = ++seq_;
  wire::SequencedOp op;
  op.seq = seq_;
  op.op.kind = kind;
  // The watson datagram that caused the change: the heartbeat of an add or update, the Goodbye of
  // a goodbye removal, the last heartbeat of an expired route.
  op.op.version = table_.version(i);
  if (kind == OpKind::remove) {
    op.op.route.service = table_.service_name(i);
    op.op.route.instance = rec.instance;
    op.op.removal = why;
  } else {
    op.op.route = table_.to_route(i);
  }
  pending_.push_back(std::move(op));
  if (pending_.size() >= config_.max_batch_changes) flush(now, out);
}

// ---- subscriptions ----

void DirectoryCore::set_filter(Subscriber& s, const std::vector<std::string>& services,
                               bool member) {
  std::vector<ServiceId> ids;
  if (!member) {
    ids.reserve(services.size());
    for (const auto& name : services) ids.push_back(table_.services().acquire(name));
    std::sort(ids.begin(), ids.end());
    const auto dup = std::unique(ids.begin(), ids.end());
    for (auto it = dup; it != ids.end(); ++it) table_.services().release(*it);
    ids.erase(dup, ids.end());
  }
  for (ServiceId old : s.filter) table_.services().release(old);
  s.filter = std::move(ids);
  if (member != s.member) {
    members_ = member ? members_ + 1 : members_ - 1;
    s.member = member;
  }
}

void DirectoryCore::bind_endpoint(Subscriber& s, const Endpoint& at) {
  s.endpoint = at;
  by_endpoint_[at] = s.id;
  ++per_host_[at.address];
}

void DirectoryCore::unbind_endpoint(const Subscriber& s) {
  auto it = by_endpoint_.find(s.endpoint);
  if (it == by_endpoint_.end() || it->second != s.id) return;
  by_endpoint_.erase(it);
  auto host = per_host_.find(s.endpoint.address);
  if (host != per_host_.end() && --host->second == 0) per_host_.erase(host);
}

void DirectoryCore::challenge(const wire::Subscribe& m, const Endpoint& from, std::size_t bytes,
                              TimePoint now, Actions& out) {
  wire::Challenge c;
  c.subscriber_id = m.subscriber_id;
  c.nonce = m.nonce;
  c.cookie = cookies_.issue(from, now);
  // No amplification: an address that has not shown it receives gets at most 3x what it sent.
  const std::size_t size = wire::encode(wire::Message{c}).size() + auth_overhead_;
  if (size > 3 * bytes) {
    ++stats_.rejects[static_cast<int>(Reject::challenge_too_large)];
    return;
  }
  ++stats_.challenges_sent;
  out.push_back({std::move(c), {from}});
}

void DirectoryCore::on_subscribe(const wire::Subscribe& m, const Endpoint& from, std::size_t bytes,
                                 TimePoint now, Actions& out) {
  ++stats_.subscribes;
  auto it = subscribers_.find(m.subscriber_id);
  const bool is_new = it == subscribers_.end();
  std::uint64_t last_nonce = is_new ? 0 : it->second.nonce;
  if (is_new && !ended_.empty()) {
    forget_ended(now);
    const auto ended = ended_nonces_.find(m.subscriber_id);
    if (ended != ended_nonces_.end()) last_nonce = ended->second;
  }
  if (m.nonce <= last_nonce) {
    ++stats_.rejects[static_cast<int>(Reject::replayed_request)];
    return;
  }
  const bool moves = !is_new && it->second.endpoint != from;
  if (is_new || moves) {
    // Only a cookie made for this address:port proves that the sender receives there.
    const CookieCheck check = cookies_.check(m.cookie, from, now);
    if (check != CookieCheck::valid) {
      if (check != CookieCheck::absent) ++stats_.rejects[static_cast<int>(Reject::bad_cookie)];
      challenge(m, from, bytes, now, out);
      return;
    }
  }
  flush(now, out);
  // One address:port holds one subscription: a new proven id there replaces the old one.
  const auto at = by_endpoint_.find(from);
  const bool replaces = at != by_endpoint_.end() && at->second != m.subscriber_id;
  if (is_new || moves) {
    std::size_t on_host = proven_on_host(from.address) - (replaces ? 1 : 0);
    if (moves && it->second.endpoint.address == from.address) --on_host;  // itself
    if (on_host >= config_.max_subscribers_per_host) {
      ++stats_.rejects[static_cast<int>(Reject::host_limit)];
      retry_later(from, {m.subscriber_id, m.nonce}, false, now, out);
      return;
    }
  }
  if (is_new && !replaces && subscribers_.size() >= config_.max_subscribers) {
    ++stats_.rejects[static_cast<int>(Reject::subscriber_limit)];
    retry_later(from, {m.subscriber_id, m.nonce}, false, now, out);
    return;
  }
  if (replaces) {
    ++stats_.subscribers_replaced;
    drop_subscriber(at->second, "replaced by another subscriber at the same address", now);
    it = subscribers_.find(m.subscriber_id);
  }
  if (is_new) {
    it = subscribers_.emplace(m.subscriber_id, Subscriber{}).first;
    it->second.id = m.subscriber_id;
    it->second.nack_budget = TokenBucket(config_.nack_rate_per_s, config_.nack_burst, now);
    bind_endpoint(it->second, from);
  } else if (moves) {
    ++stats_.subscribers_moved;
    spdlog::info("subscriber {:016x}: moved from {} to {}", it->second.id,
                 it->second.endpoint.to_string(), from.to_string());
    unbind_endpoint(it->second);
    bind_endpoint(it->second, from);
  }
  Subscriber& s = it->second;
  s.nonce = m.nonce;
  const bool member = config_.multicast && (m.flags & wire::kFlagMulticastMember);
  const std::vector<ServiceId> old_filter = s.filter;
  const bool old_member = s.member;
  s.lease_deadline = now + config_.lease;
  s.renewed_at = now;
  s.lag_at_renewal = m.last_epoch == epoch_ && m.last_seq <= seq_
                         ? std::optional<std::uint64_t>(seq_ - m.last_seq)
                         : std::nullopt;
  set_filter(s, m.services, member);
  const bool changed = !is_new && (s.filter != old_filter || s.member != old_member);
  if (is_new || changed) {
    spdlog::info("subscriber {:016x} at {}: {} ({}{})", s.id, from.to_string(),
                 is_new ? "subscribed" : "changed its subscription",
                 s.filter.empty() ? std::string("all services")
                                  : std::to_string(s.filter.size()) + " services",
                 s.member ? ", multicast member" : "");
  }
  if (changed || moves) cancel_resync(s.id);
  if (s.resyncing) return;  // its snapshot or retransmit is on the way; this renews the lease

  const bool follows = !is_new && !changed && m.last_epoch == epoch_ && m.last_seq <= seq_ &&
                       log_.covers(m.last_seq);
  if (follows && m.last_seq == seq_) {
    out.push_back({tick_for(&s, s.nonce), {s.endpoint}});
    ++stats_.ticks_sent;
    return;
  }
  if (!s.nack_budget.take(now)) {
    ++stats_.nacks_rate_limited;
    retry_later(s.endpoint, {s.id, s.nonce}, true, now, out);
    return;
  }
  if (follows) {
    answer_with_deltas(s, m.last_seq, now, out);
  } else {
    start_snapshot(s, now, out);
  }
}

void DirectoryCore::on_unsubscribe(const wire::Unsubscribe& m, const Endpoint& from,
                                   TimePoint now) {
  ++stats_.unsubscribes;
  auto it = subscribers_.find(m.subscriber_id);
  if (it == subscribers_.end()) return;
  if (it->second.endpoint != from) {
    ++stats_.rejects[static_cast<int>(Reject::foreign_address)];
    return;
  }
  if (m.nonce <= it->second.nonce) {
    ++stats_.rejects[static_cast<int>(Reject::replayed_request)];
    return;
  }
  it->second.nonce = m.nonce;
  drop_subscriber(m.subscriber_id, "unsubscribed", now);
}

void DirectoryCore::remember_ended(const Subscriber& s, TimePoint now) {
  forget_ended(now);
  while (ended_.size() >= config_.max_subscribers) {
    const auto& oldest = ended_.front();
    auto it = ended_nonces_.find(oldest.id);
    if (it != ended_nonces_.end() && it->second == oldest.nonce) ended_nonces_.erase(it);
    ended_.pop_front();
  }
  ended_.push_back({s.id, s.nonce, now + config_.cookie_lifetime});
  ended_nonces_[s.id] = s.nonce;
}

void DirectoryCore::forget_ended(TimePoint now) {
  while (!ended_.empty() && ended_.front().until <= now) {
    const auto& oldest = ended_.front();
    auto it = ended_nonces_.find(oldest.id);
    if (it != ended_nonces_.end() && it->second == oldest.nonce) ended_nonces_.erase(it);
    ended_.pop_front();
  }
}

void DirectoryCore::drop_subscriber(std::uint64_t id, const char* why, TimePoint now) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  remember_ended(it->second, now);
  cancel_resync(id);
  for (ServiceId s : it->second.filter) table_.services().release(s);
  if (it->second.member) --members_;
  unbind_endpoint(it->second);
  spdlog::info("subscriber {:016x} at {}: {}", id, it->second.endpoint.to_string(), why);
  waiting_.erase(id);
  subscribers_.erase(it);
}

void DirectoryCore::on_nack(const wire::Nack& n, const Endpoint& from, TimePoint now,
                            Actions& out) {
  ++stats_.nacks;
  auto it = subscribers_.find(n.subscriber_id);
  if (it == subscribers_.end()) {
    ++stats_.rejects[static_cast<int>(Reject::unknown_subscriber)];
    return;
  }
  Subscriber& s = it->second;
  if (s.endpoint != from) {  // answers go to the proven address only: ignore, not redirect
    ++stats_.rejects[static_cast<int>(Reject::foreign_address)];
    return;
  }
  if (n.nonce <= s.nonce) {
    ++stats_.rejects[static_cast<int>(Reject::replayed_request)];
    return;
  }
  s.nonce = n.nonce;
  if (n.epoch != epoch_) {
    ++stats_.rejects[static_cast<int>(Reject::wrong_epoch)];
    return;
  }
  flush(now, out);
  if (s.resyncing) {  // the answer in flight covers it
    ++stats_.nacks_merged;
    return;
  }
  const std::uint64_t after = n.first_missing - 1;
  if (s.answered && now - s.answered_at < config_.nack_merge_window && after >= s.answered_after &&
      n.last_missing <= s.answered_through) {
    ++stats_.nacks_merged;
    return;
  }
  const bool in_range = n.last_missing <= seq_;
  if (!in_range) ++stats_.rejects[static_cast<int>(Reject::invalid_range)];
  if (!s.nack_budget.take(now)) {
    ++stats_.nacks_rate_limited;
    retry_later(s.endpoint, {s.id, s.nonce}, true, now, out);
    return;
  }
  if (in_range && log_.covers(after)) {
    answer_with_deltas(s, after, now, out);
  } else {
    start_snapshot(s, now, out);  // a replica that lost track (or asks for the future) starts over
  }
}

bool DirectoryCore::wanted(const Subscriber& s, std::string_view service) const {
  const auto id = table_.services().find(service);
  return id && std::binary_search(s.filter.begin(), s.filter.end(), *id);
}

void DirectoryCore::mark_answered(Subscriber& s, std::uint64_t after, TimePoint now) {
  s.answered = true;
  s.answered_after = after;
  s.answered_through = seq_;
  s.answered_at = now;
  waiting_.erase(s.id);
}

void DirectoryCore::answer_with_deltas(Subscriber& s, std::uint64_t after, TimePoint now,
                                       Actions& out) {
  // Every datagram holds at least one op, so a range this short always goes out at once; a longer
  // one may need pacing, and when nothing more may be paced it is refused before it is copied
  // from the log (a storm of large NACKs must not cost a log copy each).
  if (seq_ - after > config_.immediate_retransmit_datagrams &&
      jobs_.size() >= config_.max_snapshots_in_flight) {
    ++stats_.resyncs_refused;
    retry_later(s.endpoint, {s.id, s.nonce}, true, now, out);
    return;
  }
  std::vector<wire::SequencedOp> ops;
  const bool filtered = s.filtered();
  log_.for_range(after, seq_, [&](const wire::SequencedOp& op) {
    if (!filtered || wanted(s, op.op.route.service)) ops.push_back(op);
  });
  auto deltas = wire::split_delta(epoch_, {s.id, s.nonce}, after, seq_, flags(), ops,
                                  config_.datagram_budget);
  if (deltas.size() <= config_.immediate_retransmit_datagrams) {
    stats_.retransmit_deltas_sent += deltas.size();
    for (auto& d : deltas) out.push_back({std::move(d), {s.endpoint}});
    out.push_back({tick_for(&s, s.nonce), {s.endpoint}});
    ++stats_.ticks_sent;
  } else {
    if (jobs_.size() >= config_.max_snapshots_in_flight) {
      ++stats_.resyncs_refused;
      retry_later(s.endpoint, {s.id, s.nonce}, true, now, out);
      return;
    }
    ResyncJob job;
    job.subscriber_id = s.id;
    job.nonce = s.nonce;
    job.to = s.endpoint;
    job.deltas = std::move(deltas);
    s.resyncing = true;
    jobs_.push_back(std::move(job));
  }
  if (filtered) s.sent_through = std::max(s.sent_through, seq_);
  mark_answered(s, after, now);
  if (!jobs_.empty() && next_slice_at_ == TimePoint::max()) pace_resyncs(now, out);
}

void DirectoryCore::start_snapshot(Subscriber& s, TimePoint now, Actions& out) {
  if (jobs_.size() >= config_.max_snapshots_in_flight) {
    ++stats_.resyncs_refused;
    retry_later(s.endpoint, {s.id, s.nonce}, true, now, out);
    return;
  }
  static const std::vector<ServiceId> kEverything;
  ResyncJob job;
  job.subscriber_id = s.id;
  job.nonce = s.nonce;
  job.to = s.endpoint;
  job.snapshot =
      std::make_unique<SnapshotJob>(epoch_, wire::Addressee{s.id, s.nonce}, seq_, flags(), table_,
                                    s.filtered() ? s.filter : kEverything, config_.datagram_budget);
  ++stats_.snapshots_started;
  spdlog::debug("subscriber {:016x}: snapshot at seq {} ({} routes, {} chunks{})", s.id, seq_,
                job.snapshot->route_count(), job.snapshot->count(), warming_ ? ", warm-up" : "");
  s.sent_through = seq_;
  s.resyncing = true;
  mark_answered(s, 0, now);
  jobs_.push_back(std::move(job));
  if (next_slice_at_ == TimePoint::max()) pace_resyncs(now, out);
}

void DirectoryCore::retry_later(const Endpoint& to, wire::Addressee who, bool subscribed,
                                TimePoint now, Actions& out) {
  std::erase_if(waiting_, [&](const auto& w) { return w.second <= now; });
  std::size_t waiting = waiting_.size();
  if (!subscribed || !waiting_.count(who.subscriber_id)) ++waiting;
  const Duration delay = std::min<Duration>(
      config_.retry_delay_step * static_cast<std::int64_t>(waiting), config_.retry_delay_max);
  if (subscribed) waiting_[who.subscriber_id] = now + delay;
  out.push_back({wire::RetryLater{epoch_, who.subscriber_id, who.nonce, to_ms(delay)}, {to}});
  ++stats_.retry_later_sent;
}

void DirectoryCore::pace_resyncs(TimePoint now, Actions& out) {
  // One budget per slice for all resyncs, dealt round-robin a datagram at a time: however many
  // are in flight, resync traffic (and the CPU to build it) stays bounded and ingest keeps going.
  std::size_t budget = config_.resync_datagrams_per_slice;
  bool progress = true;
  while (budget > 0 && progress) {
    progress = false;
    for (auto& job : jobs_) {
      if (budget == 0 || job.done()) continue;
      if (job.snapshot) {
        out.push_back({job.snapshot->next_chunk(table_), {job.to}});
        ++stats_.snapshot_chunks_sent;
      } else {
        out.push_back({std::move(job.deltas[job.next_delta++]), {job.to}});
        ++stats_.retransmit_deltas_sent;
      }
      --budget;
      progress = true;
    }
  }
  for (std::size_t k = 0; k < jobs_.size();) {
    if (jobs_[k].done()) {
      finish_resync(jobs_[k], out);
      jobs_.erase(jobs_.begin() + static_cast<std::ptrdiff_t>(k));
    } else {
      ++k;
    }
  }
  next_slice_at_ = jobs_.empty() ? TimePoint::max() : now + config_.resync_slice;
}

void DirectoryCore::finish_resync(const ResyncJob& job, Actions& out) {
  if (job.snapshot) ++stats_.snapshots_completed;
  auto it = subscribers_.find(job.subscriber_id);
  if (it == subscribers_.end()) return;
  it->second.resyncing = false;
  // A Tick right behind the last datagram: the receiver can check what it assembled.
  out.push_back({tick_for(&it->second, job.nonce), {job.to}});
  ++stats_.ticks_sent;
}

void DirectoryCore::cancel_resync(std::uint64_t subscriber_id) {
  std::erase_if(jobs_, [&](const ResyncJob& j) { return j.subscriber_id == subscriber_id; });
  if (jobs_.empty()) next_slice_at_ = TimePoint::max();
  auto it = subscribers_.find(subscriber_id);
  if (it != subscribers_.end()) it->second.resyncing = false;
}

// ---- batches, ticks, timers ----

wire::Tick DirectoryCore::tick_for(const Subscriber* s, std::uint64_t nonce) const {
  wire::Tick t{epoch_,
               0,
               0,
               seq_,
               table_.digest(),
               static_cast<std::uint32_t>(table_.live_count()),
               flags(),
               to_ms(config_.lease)};
  // The whole-table stream is shared (subscriber 0); a filtered stream, and any answer, is the
  // subscriber's own.
  if (s && (s->filtered() || nonce != 0)) {
    t.subscriber_id = s->id;
    t.nonce = nonce;
  }
  if (s && s->filtered()) {
    t.digest = 0;
    t.route_count = 0;
    for (ServiceId id : s->filter) {
      t.digest += table_.service_digest(id);
      t.route_count += table_.service_count(id);
    }
  }
  return t;
}

void DirectoryCore::send_ticks(bool everyone, TimePoint now, Actions& out) {
  std::vector<Endpoint> shared;
  for (auto& [id, s] : subscribers_) {
    if (s.member) continue;  // hears the group's Tick
    if (!everyone && !s.tick_due) continue;
    s.tick_due = false;
    if (s.filtered()) {
      out.push_back({tick_for(&s), {s.endpoint}});
      ++stats_.ticks_sent;
    } else {
      shared.push_back(s.endpoint);
    }
  }
  const bool group = config_.multicast && members_ > 0;
  if (group || !shared.empty()) {
    stats_.ticks_sent += shared.size() + (group ? 1 : 0);
    out.push_back({tick_for(nullptr), std::move(shared), group});
  }
  last_burst_tick_ = now;
  burst_tick_at_ = TimePoint::max();
}

void DirectoryCore::flush(TimePoint now, Actions& out) {
  if (pending_.empty()) return;
  const std::uint8_t f = flags();
  std::vector<Endpoint> shared;
  bool any_filtered = false;
  for (auto& [id, s] : subscribers_) {
    if (s.member) continue;
    if (s.filtered()) {
      any_filtered = true;
    } else {
      shared.push_back(s.endpoint);
      s.tick_due = true;
    }
  }
  const bool group = config_.multicast && members_ > 0;
  if (group || !shared.empty()) {
    auto deltas =
        wire::split_delta(epoch_, {}, published_, seq_, f, pending_, config_.datagram_budget);
    for (auto& d : deltas) {
      stats_.deltas_sent += shared.size() + (group ? 1 : 0);
      out.push_back({std::move(d), shared, group});
    }
  }
  if (any_filtered) {
    // Service ids as of now (a name no longer interned is wanted by no filter).
    constexpr ServiceId kNone = std::numeric_limits<ServiceId>::max();
    std::vector<ServiceId> ids(pending_.size());
    for (std::size_t k = 0; k < pending_.size(); ++k) {
      ids[k] = table_.services().find(pending_[k].op.route.service).value_or(kNone);
    }
    std::vector<wire::SequencedOp> mine;
    for (auto& [id, s] : subscribers_) {
      if (!s.filtered() || s.sent_through >= seq_) continue;
      mine.clear();
      for (std::size_t k = 0; k < pending_.size(); ++k) {
        if (pending_[k].seq > s.sent_through && ids[k] != kNone &&
            std::binary_search(s.filter.begin(), s.filter.end(), ids[k])) {
          mine.push_back(pending_[k]);
        }
      }
      if (mine.empty()) continue;  // its next Delta will start at sent_through: still no gap
      for (auto& d : wire::split_delta(epoch_, {s.id, 0}, s.sent_through, seq_, f, mine,
                                       config_.datagram_budget)) {
        ++stats_.deltas_sent;
        out.push_back({std::move(d), {s.endpoint}});
      }
      s.sent_through = seq_;
      s.tick_due = true;
    }
  }
  for (auto& op : pending_) log_.append(std::move(op));
  pending_.clear();
  published_ = seq_;
  // A Tick right behind the burst lets receivers notice a lost last Delta; bursts closer than
  // burst_tick_gap share one.
  if (burst_tick_at_ == TimePoint::max()) {
    burst_tick_at_ = std::max(now, last_burst_tick_ + config_.burst_tick_gap);
  }
  if (burst_tick_at_ <= now) send_ticks(false, now, out);
}

void DirectoryCore::update_warmup(TimePoint now, Actions& out) {
  if (!warming_ || now < warmup_end()) return;
  flush(now, out);  // what changed during warm-up goes out flagged as such
  warming_ = false;
  spdlog::info("warm-up over after {} ms with {} routes: expiry on, snapshots replace",
               std::chrono::duration_cast<milliseconds>(now - start_).count(), table_.live_count());
  expire_due(now, out);
  flush(now, out);
  send_ticks(true, now, out);  // the Tick without the flag: replicas now compare digests
}

void DirectoryCore::expire_due(TimePoint now, Actions& out) {
  if (warming_) return;  // deferred to the end of warm-up
  const std::int64_t now_ticks = now.time_since_epoch().count();
  std::size_t work = 0;
  while (!expiry_.empty() && expiry_.top().deadline <= now_ticks &&
         work++ < config_.max_expiry_work_per_call) {
    const ExpiryIndex::Entry e = expiry_.pop();
    RouteRecord& rec = table_.at(e.index);
    if (!rec.used || rec.generation != e.generation || rec.queued != e.deadline) continue;
    rec.queued = kNotQueued;
    if (rec.deadline > now_ticks) {  // refreshed since it was queued
      schedule(e.index, rec.deadline);
      continue;
    }
    if (rec.live) {
      // The record stays as a tombstone: a replayed heartbeat of this incarnation (seq not newer)
      // cannot bring the route back; a newer one, or a new process, can.
      before_change(e.index);
      table_.clear_route(e.index);
      ++stats_.routes_expired;
      DIRECTORY_DEBUG("{}/{}: expired", table_.service_name(e.index), rec.instance);
      record_change(OpKind::remove, e.index, now, out, wire::Removal::expired);
      entomb(e.index, now);
      continue;
    }
    ++stats_.tombstones_purged;
    table_.erase(e.index);
  }
}

void DirectoryCore::on_timer(TimePoint now, Actions& out) {
  update_warmup(now, out);
  flush(now, out);
  expire_due(now, out);
  flush(now, out);
  if (now >= next_tick_at_) {
    std::vector<std::uint64_t> lapsed;
    for (const auto& [id, s] : subscribers_) {
      if (s.lease_deadline <= now) lapsed.push_back(id);
    }
    for (auto id : lapsed) {
      ++stats_.subscribers_expired;
      drop_subscriber(id, "lease expired", now);
    }
    send_ticks(true, now, out);
    next_tick_at_ += config_.tick_interval;
    if (next_tick_at_ <= now) next_tick_at_ = now + config_.tick_interval;
  } else if (burst_tick_at_ <= now) {
    send_ticks(false, now, out);
  }
  if (now >= next_slice_at_) pace_resyncs(now, out);
}

std::optional<TimePoint> DirectoryCore::next_deadline() const {
  TimePoint t = std::min({next_tick_at_, burst_tick_at_, next_slice_at_});
  if (warming_) {
    t = std::min(t, warmup_end());
  } else if (!expiry_.empty()) {
    t = std::min(t, TimePoint(Duration(expiry_.top().deadline)));
  }
  return t;
}

}  // namespace baker::directory
