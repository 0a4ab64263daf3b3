#include "sherlock/replica.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/enum_names.hpp"

namespace baker::sherlock {

constexpr std::array<std::string_view, kIgnoredCount> kIgnoredNames = {
    "wrong_addressee", "unbound_answer", "foreign_epoch", "implausible_range",
    "held_deltas_cap", "snapshot_cap",   "challenge_rate"};
static_assert(names_every_value(kIgnoredNames, Ignored::challenge_rate));

std::string_view to_string(Ignored r) noexcept {
  return enum_name(kIgnoredNames, r);
}

namespace {
constexpr std::size_t kRetiredEpochsKept = 8;
constexpr unsigned kUnansweredBeforeWarning = 3;

long long as_ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

Duration scaled(Duration d, double factor) {
  return std::chrono::duration_cast<Duration>(
      std::chrono::duration<double, Duration::period>(static_cast<double>(d.count()) * factor));
}
}  // namespace

Replica::Replica(ReplicaConfig config)
    : config_(std::move(config)),
      prefix_(config_.name.empty() ? std::string() : "[" + config_.name + "] "),
      rng_(config_.random_seed),
      table_(config_.services),
      assembly_(2, config_.max_snapshot_chunks, config_.max_snapshot_bytes),
      lease_(config_.default_lease) {}

// ---- events -------------------------------------------------------------------------------------

Replica::Outgoing Replica::start(TimePoint now) {
  Outgoing out;
  started_ = true;
  send_subscribe(now, out);
  return out;
}

Replica::Outgoing Replica::stop() {
  started_ = false;
  return {wire::Unsubscribe{config_.subscriber_id, ++last_nonce_}};
}

namespace {
// Whom a directory datagram is for; nullopt for messages a subscriber does not take.
std::optional<wire::Addressee> addressee_of(const wire::Message& m) {
  if (const auto* d = std::get_if<wire::Delta>(&m)) {
    return wire::Addressee{d->subscriber_id, d->nonce};
  }
  if (const auto* t = std::get_if<wire::Tick>(&m)) {
    return wire::Addressee{t->subscriber_id, t->nonce};
  }
  if (const auto* c = std::get_if<wire::SnapshotChunk>(&m)) {
    return wire::Addressee{c->subscriber_id, c->nonce};
  }
  if (const auto* r = std::get_if<wire::RetryLater>(&m)) {
    return wire::Addressee{r->subscriber_id, r->nonce};
  }
  if (const auto* c = std::get_if<wire::Challenge>(&m)) {
    return wire::Addressee{c->subscriber_id, c->nonce};
  }
  return std::nullopt;
}

bool is_answer_only(const wire::Message& m) {
  return std::holds_alternative<wire::SnapshotChunk>(m) ||
         std::holds_alternative<wire::RetryLater>(m) || std::holds_alternative<wire::Challenge>(m);
}
}  // namespace

Replica::Outgoing Replica::on_message(wire::Message m, TimePoint now, Source source) {
  Outgoing out;
  const auto to = addressee_of(m);
  if (!to) return out;
  // The group carries the whole-table stream only; unicast our own datagrams, and the shared
  // stream (subscriber 0) if we asked for everything.
  const bool unfiltered = config_.multicast_member || config_.services.empty();
  const bool shared = to->subscriber_id == 0 && to->nonce == 0;
  const bool ours = to->subscriber_id == config_.subscriber_id;
  const bool addressed = source == Source::multicast
                             ? shared
                             : (ours || (shared && unfiltered)) && !(shared && is_answer_only(m));
  if (!addressed) {
    ignore(Ignored::wrong_addressee);
    return out;
  }
  if (to->nonce != 0) {
    if (!is_recent_request(to->nonce)) {  // a replayed (or forged) answer does nothing
      ignore(Ignored::unbound_answer);
      return out;
    }
  } else if (is_answer_only(m)) {
    ignore(Ignored::unbound_answer);
    return out;
  }
  heard(now);
  if (auto* r = std::get_if<wire::RetryLater>(&m)) {
    if (r->nonce != latest_request_) {  // an answer to an older request: the latest is pending
      ignore(Ignored::unbound_answer);
      return out;
    }
  }
  // A Challenge says the directory heard us, not that it serves us: not an answer for reachability.
  if (to->nonce != 0 && !std::holds_alternative<wire::Challenge>(m)) answered(now);
  if (auto* d = std::get_if<wire::Delta>(&m)) {
    on_delta(std::move(*d), now, out);
  } else if (auto* t = std::get_if<wire::Tick>(&m)) {
    on_tick(*t, now, out);
  } else if (auto* c = std::get_if<wire::SnapshotChunk>(&m)) {
    on_chunk(std::move(*c), now, out);
  } else if (auto* r = std::get_if<wire::RetryLater>(&m)) {
    on_retry_later(*r, now);
  } else if (auto* ch = std::get_if<wire::Challenge>(&m)) {
    on_challenge(*ch, now, out);
  }
  update_gap(now);
  reschedule_subscribe();
  return out;
}

Replica::Outgoing Replica::on_timer(TimePoint now) {
  Outgoing out;
  if (reachable_ && last_answer_at_ && now >= *last_answer_at_ + lease_) {
    reachable_ = false;
    ++stats_.silences;
    spdlog::warn("{}directory has answered none of our requests for {} ms: keeping the {} routes",
                 prefix_, as_ms(now - *last_answer_at_), table_.size());
  }
  if (started_ && !hold_until_ && reachable_ && last_heard_ &&
      now >= *last_heard_ + config_.silence_limit) {
    // Silence alone may be a directory with a long tick interval: ask, and call it unreachable
    // only if that goes unanswered too.
    if (!awaiting_answer_) {
      spdlog::debug("{}directory silent for {} ms: renewing now", prefix_,
                    as_ms(now - *last_heard_));
      send_subscribe(now, out);
    } else if (probe_unanswered(now)) {
      reachable_ = false;
      ++stats_.silences;
      spdlog::warn(
          "{}directory silent for {} ms and not answering: keeping the {} routes held "
          "until it is back",
          prefix_, as_ms(now - *last_heard_), table_.size());
    }
  }
  if (started_ && now >= subscribe_due_) send_subscribe(now, out);
  if (nack_due_ && now >= *nack_due_ && !hold_until_) {
    // A snapshot on its way (the directory's answer to a NACK outside its log) settles the gap.
    const auto chunk_at = assembly_.last_chunk_at();
    if (chunk_at && now < *chunk_at + config_.snapshot_timeout) {
      nack_due_ = *chunk_at + config_.snapshot_timeout;
    } else {
      send_nack(now, out);
    }
  }
  return out;
}

std::optional<TimePoint> Replica::next_deadline() const {
  std::optional<TimePoint> next;
  const auto consider = [&](TimePoint t) {
    if (!next || t < *next) next = t;
  };
  if (started_) consider(subscribe_due_);
  if (nack_due_ && !hold_until_) consider(*nack_due_);
  if (reachable_ && last_answer_at_) consider(*last_answer_at_ + lease_);
  if (started_ && !hold_until_ && reachable_ && last_heard_) {
    const TimePoint silent_at = *last_heard_ + config_.silence_limit;
    if (!awaiting_answer_) {
      consider(silent_at);
    } else if (last_subscribe_at_ && *last_subscribe_at_ >= *last_heard_) {
      consider(std::max(silent_at, *last_subscribe_at_ + config_.subscribe_retry_initial));
    }
  }
  return next;
}

// ---- messages -----------------------------------------------------------------------------------

void Replica::on_delta(wire::Delta d, TimePoint now, Outgoing& out) {
  ++stats_.deltas_received;
  if (d.to_seq <= d.from_seq) return;  // the decoder rejects these
  const bool pending = d.epoch != epoch_ && d.epoch != 0 && d.epoch == pending_epoch_;
  if (!pending && !is_followed(d.epoch, now, out)) return;
  if (d.to_seq > plausible_limit()) {
    ignore(Ignored::implausible_range);
    return;
  }
  if (d.nonce != 0) highest_seq_ = std::max(highest_seq_, d.to_seq);
  if (pending) {  // the stream of the epoch whose snapshot (our answer) is being assembled
    hold(std::move(d), out, now);
    return;
  }
  note_warmup((d.flags & wire::kFlagWarmup) != 0);
  if (need_snapshot_) {  // kept until the snapshot says where the stream resumes
    hold(std::move(d), out, now);
    return;
  }
  if (d.to_seq <= applied_) {
    ++stats_.deltas_duplicate;
    return;
  }
  if (d.from_seq > applied_) {
    spdlog::debug("{}delta ({}, {}] beyond applied {}: held", prefix_, d.from_seq, d.to_seq,
                  applied_);
    hold(std::move(d), out, now);
    return;
  }
  apply_delta(d);
  applied_ = d.to_seq;
  highest_seq_ = std::max(highest_seq_, applied_);
  drain_held();
  after_progress(now, out);
}

void Replica::on_tick(const wire::Tick& t, TimePoint now, Outgoing& out) {
  ++stats_.ticks_received;
  if (!is_followed(t.epoch, now, out)) return;
  if (t.nonce != 0) {
    highest_seq_ = std::max(highest_seq_, t.seq);  // the directory answered us: it is there
  } else if (t.seq > plausible_limit()) {
    ignore(Ignored::implausible_range);
    return;
  }
  if (t.lease_ms > 0) lease_ = std::chrono::milliseconds(t.lease_ms);
  note_warmup((t.flags & wire::kFlagWarmup) != 0);
  if (!latest_tick_ || t.seq >= latest_tick_->seq) latest_tick_ = t;
  if (need_snapshot_) return;  // re-examined once the snapshot is applied
  watch_poison(t, now, out);
  if (need_snapshot_) return;
  evaluate_tick(t, now, out);
}

void Replica::on_chunk(wire::SnapshotChunk c, TimePoint now, Outgoing& out) {
  ++stats_.snapshot_chunks;
  // Bound (its nonce is one of our recent requests): the directory answered us.
  if (is_retired(c.epoch)) {
    ++stats_.stale_epoch;
    return;
  }
  if (c.epoch == epoch_) {
    if (!need_snapshot_ && c.seq < applied_) return;  // older than what the replica already has
  } else if (c.epoch != pending_epoch_) {
    // A snapshot of another epoch answering our request: the directory restarted (or this is our
    // first). Deltas of that epoch are held from now on; the epoch is adopted when it completes.
    pending_epoch_ = c.epoch;
    held_.clear();
  }
  note_warmup((c.flags & wire::kFlagWarmup) != 0);
  highest_seq_ = std::max(highest_seq_, c.seq);
  const std::size_t dropped = assembly_.dropped();
  auto snapshot = assembly_.add(std::move(c), now);
  if (assembly_.dropped() != dropped) ignore(Ignored::snapshot_cap);
  if (!snapshot) return;
  if (snapshot->epoch != epoch_) adopt_epoch(snapshot->epoch);
  apply_snapshot(std::move(*snapshot), now, out);
}

void Replica::on_retry_later(const wire::RetryLater& r, TimePoint now) {
  ++stats_.retry_later;
  const Duration delay = std::chrono::milliseconds(r.delay_ms);
  hold_until_ = now + delay + uniform(Duration::zero(), delay);
  awaiting_answer_ = false;
  unanswered_ = 0;
  spdlog::info("{}directory busy: asking again in {} ms", prefix_, as_ms(*hold_until_ - now));
}

void Replica::on_challenge(const wire::Challenge& c, TimePoint now, Outgoing& out) {
  ++stats_.challenges;
  const bool fresh_cookie = c.cookie != cookie_;
  cookie_ = c.cookie;
  if (last_challenge_answer_ && now < *last_challenge_answer_ + config_.challenge_answer_gap) {
    ignore(Ignored::challenge_rate);  // the retry of the Subscribe (awaiting an answer) uses it
    return;
  }
  awaiting_answer_ = false;  // it did answer: the Subscribe below is no retry
  unanswered_ = 0;
  spdlog::debug("{}challenge from the directory ({} cookie): subscribing again with it", prefix_,
                fresh_cookie ? "new" : "same");
  last_challenge_answer_ = now;
  send_subscribe(now, out);
}

// ---- sequencing ---------------------------------------------------------------------------------

bool Replica::probe_unanswered(TimePoint now) const {
  return awaiting_answer_ && last_subscribe_at_ && last_heard_ &&
         *last_subscribe_at_ >= *last_heard_ &&
         now >= *last_subscribe_at_ + config_.subscribe_retry_initial;
}

bool Replica::is_retired(std::uint64_t epoch) const {
  return std::find(retired_epochs_.begin(), retired_epochs_.end(), epoch) != retired_epochs_.end();
}

bool Replica::is_recent_request(std::uint64_t nonce) const {
  return std::find(recent_.begin(), recent_.end(), nonce) != recent_.end();
}

std::uint64_t Replica::plausible_limit() const {
  const std::uint64_t base = std::max(highest_seq_, applied_);
  const std::uint64_t margin = config_.implausible_margin;
  return base > UINT64_MAX - margin ? UINT64_MAX : base + margin;
}

bool Replica::is_followed(std::uint64_t epoch, TimePoint now, Outgoing& out) {
  if (epoch == epoch_ && epoch != 0) return true;
  if (is_retired(epoch)) {
    ++stats_.stale_epoch;
    return false;
  }
  // Never adopted from a datagram alone (anyone holding the key, or anyone without keys, can
  // send one): ask our directory with our own state; its snapshot, if it restarted, will answer.
  // (Before the first snapshot every epoch is "foreign": not counted then.)
  if (epoch_ != 0) ignore(Ignored::foreign_epoch);
  const auto chunk_at = assembly_.last_chunk_at();
  const bool snapshot_coming = chunk_at && now < *chunk_at + config_.snapshot_timeout;
  const bool asked_lately =
      last_subscribe_at_ && now < *last_subscribe_at_ + config_.foreign_epoch_subscribe_gap;
  const bool probed_lately = last_foreign_epoch_probe_ &&
                             now < *last_foreign_epoch_probe_ + config_.foreign_epoch_subscribe_gap;
  if (started_ && !snapshot_coming && !asked_lately && !probed_lately && !hold_until_) {
    last_foreign_epoch_probe_ = now;
    spdlog::debug("{}datagram of epoch {:016x} (following {:016x}): asking the directory", prefix_,
                  epoch, epoch_);
    send_subscribe(now, out);
  }
  return false;
}

void Replica::adopt_epoch(std::uint64_t epoch) {
  if (epoch_ != 0) {
    spdlog::warn("{}directory restarted (epoch {:016x} -> {:016x}): its snapshot answered ours",
                 prefix_, epoch_, epoch);
    retired_epochs_.push_back(epoch_);
    if (retired_epochs_.size() > kRetiredEpochsKept) retired_epochs_.pop_front();
    ++stats_.resyncs;
  } else {
    spdlog::info("{}following directory epoch {:016x}", prefix_, epoch);
  }
  epoch_ = epoch;
  pending_epoch_ = 0;
  applied_ = 0;
  highest_seq_ = 0;
  need_snapshot_ = true;
  tick_target_.reset();
  latest_tick_.reset();
  below_since_.reset();
  // held_ holds the new epoch's Deltas (pending_epoch_): the snapshot's drain keeps what follows.
  assembly_.keep_only_epoch(epoch);
}

void Replica::watch_poison(const wire::Tick& t, TimePoint now, Outgoing& out) {
  if (t.seq >= applied_) {
    below_since_.reset();
    below_ticks_ = 0;
    return;
  }
  if (!below_since_) {
    below_since_ = now;
    below_ticks_ = 0;
  }
  ++below_ticks_;
  if (below_ticks_ >= 3 && now >= *below_since_ + config_.poison_window) {
    ++stats_.poisoned;
    below_since_.reset();
    below_ticks_ = 0;
    highest_seq_ = t.seq;
    resync("the directory's Ticks stay below the applied sequence (a forged Delta?)", now, out);
  }
}

void Replica::note_warmup(bool warmup) {
  if (warmup == warmup_) return;
  warmup_ = warmup;
  if (warmup) {
    spdlog::info("{}directory is warming up: merging what it sends, keeping every other route",
                 prefix_);
  } else {
    spdlog::info("{}directory warm-up over: digests compared again", prefix_);
  }
}

void Replica::heard(TimePoint now) {
  last_heard_ = now;
}

void Replica::answered(TimePoint now) {
  if (!reachable_) {
    spdlog::info("{}directory reachable{} ({} routes held)", prefix_,
                 last_answer_at_ ? " again" : "", table_.size());
    reachable_ = true;
  }
  last_answer_at_ = now;
  if (awaiting_answer_) {
    if (unanswered_ + 1 >= kUnansweredBeforeWarning)
      spdlog::info("{}directory answers Subscribe", prefix_);
    awaiting_answer_ = false;
    unanswered_ = 0;
  }
}

void Replica::apply_delta(const wire::Delta& d) {
  for (const auto& op : d.ops) table_.apply(op);
  ++stats_.deltas_applied;
  stats_.ops_applied += d.ops.size();
}

void Replica::hold(wire::Delta d, Outgoing& out, TimePoint now) {
  const auto it = held_.find(d.from_seq);
  if (it == held_.end()) {
    held_.emplace(d.from_seq, std::move(d));
  } else if (d.to_seq > it->second.to_seq) {
    it->second = std::move(d);  // the same start, reaching further (a retransmit split otherwise)
  }
  if (held_.size() <= config_.max_held_deltas) return;
  ignore(Ignored::held_deltas_cap);
  if (need_snapshot_ || pending_epoch_ != 0) {
    held_.erase(held_.begin());  // the snapshot on its way is newer than the oldest
  } else {
    held_.clear();
    resync("too many deltas held behind a gap", now, out);
  }
}

void Replica::drain_held() {
  while (!held_.empty()) {
    const auto it = held_.begin();
    if (it->second.to_seq <= applied_) {
      held_.erase(it);
      continue;
    }
    if (it->first > applied_) break;
    apply_delta(it->second);
    applied_ = it->second.to_seq;
    held_.erase(it);
  }
}

void Replica::evaluate_tick(const wire::Tick& t, TimePoint now, Outgoing& out) {
  if (t.seq < applied_) return;  // stale
  if (table_.digest() == t.digest) {
    if (t.seq > applied_) {  // a filtered stream skips sequences that were not for it
      applied_ = t.seq;
      ++stats_.tick_advances;
      drain_held();
    }
    if (tick_target_ && tick_target_->seq <= applied_) tick_target_.reset();
    return;
  }
  const bool warmup = (t.flags & wire::kFlagWarmup) != 0;
  if (t.seq > applied_) {  // changes the replica has not seen: a gap (tail loss)
    if (!tick_target_ || t.seq >= tick_target_->seq) tick_target_ = {t.seq, t.digest, warmup};
    return;
  }
  // Same sequence, different table. A warming directory legitimately holds less than we do.
  if (!warmup) resync("replica digest differs from the directory's at the same sequence", now, out);
}

void Replica::after_progress(TimePoint now, Outgoing& out) {
  if (!tick_target_) return;
  const TickTarget t = *tick_target_;
  if (applied_ > t.seq) {
    tick_target_.reset();
  } else if (applied_ == t.seq) {
    tick_target_.reset();
    if (!t.warmup && table_.digest() != t.digest) {
      resync("replica digest differs from the directory's after filling a gap", now, out);
    }
  } else if (table_.digest() == t.digest) {
    applied_ = t.seq;
    ++stats_.tick_advances;
    tick_target_.reset();
    drain_held();
  }
}

void Replica::apply_snapshot(Snapshot s, TimePoint now, Outgoing& out) {
  const bool merge = (s.flags & wire::kFlagWarmup) != 0;
  const std::size_t received = s.routes.size();
  const std::uint32_t chunk_count = s.chunks;
  if (merge) {
    table_.merge(std::move(s.routes));
  } else {
    table_.replace(std::move(s.routes));
  }
  applied_ = s.seq;
  highest_seq_ = std::max(highest_seq_, applied_);
  need_snapshot_ = false;
  snapshot_attempts_ = 0;
  below_since_.reset();
  ++stats_.snapshots_applied;
  tick_target_.reset();
  spdlog::info(
      "{}snapshot of epoch {:016x} at seq {} {} ({} routes in {} chunks over {} ms): replica holds "
      "{} routes",
      prefix_, s.epoch, s.seq, merge ? "merged (directory warming up)" : "applied", received,
      chunk_count, as_ms(now - s.first_chunk_at), table_.size());
  drain_held();
  if (latest_tick_ && latest_tick_->seq > applied_) {
    const wire::Tick t = *latest_tick_;
    evaluate_tick(t, now, out);
  }
}

void Replica::resync(const char* why, TimePoint now, Outgoing& out) {
  spdlog::warn("{}{}: resyncing with a snapshot (keeping {} routes meanwhile)", prefix_, why,
               table_.size());
  ++stats_.resyncs;
  need_snapshot_ = true;
  snapshot_attempts_ = 0;
  tick_target_.reset();
  nack_due_.reset();
  nack_attempts_ = 0;
  if (!hold_until_) send_subscribe(now, out);
}

// ---- gaps and NACKs -----------------------------------------------------------------------------

bool Replica::gap_open() const {
  if (epoch_ == 0 || need_snapshot_) return false;
  return !held_.empty() || (tick_target_ && tick_target_->seq > applied_);
}

std::uint64_t Replica::gap_last() const {
  std::uint64_t last = held_.empty() ? 0 : held_.begin()->first;
  if (tick_target_) last = std::max(last, tick_target_->seq);
  return last;
}

void Replica::update_gap(TimePoint now) {
  if (!gap_open()) {
    nack_due_.reset();
    nack_attempts_ = 0;
    return;
  }
  if (nack_due_) return;
  ++stats_.gaps;
  nack_due_ = now + uniform(config_.nack_delay_min, config_.nack_delay_max);
  spdlog::debug("{}gap after seq {}: missing up to {}", prefix_, applied_, gap_last());
}

void Replica::send_nack(TimePoint now, Outgoing& out) {
  const std::uint64_t first = applied_ + 1;
  const std::uint64_t last = std::max(first, gap_last());
  wire::Nack n;
  n.subscriber_id = config_.subscriber_id;
  n.nonce = ++last_nonce_;
  n.epoch = epoch_;
  n.first_missing = first;
  n.last_missing = last;
  remember_request(n.nonce);
  out.push_back(n);
  ++stats_.nacks_sent;
  spdlog::debug("{}NACK {}..{} of epoch {:016x} (attempt {})", prefix_, first, last, epoch_,
                nack_attempts_ + 1);
  const Duration wait =
      backoff_delay({config_.nack_retry_initial, config_.nack_retry_max}, nack_attempts_);
  ++nack_attempts_;
  nack_due_ = now + wait + uniform(Duration::zero(), wait / 4);
}

// ---- subscription -------------------------------------------------------------------------------

void Replica::send_subscribe(TimePoint now, Outgoing& out) {
  if (awaiting_answer_) {
    ++unanswered_;
    if (unanswered_ + 1 == kUnansweredBeforeWarning) {
      spdlog::warn(
          "{}no answer from the directory to {} Subscribes: retrying with backoff, "
          "keeping {} routes",
          prefix_, kUnansweredBeforeWarning, table_.size());
    }
  }
  wire::Subscribe s;
  s.subscriber_id = config_.subscriber_id;
  s.nonce = ++last_nonce_;
  s.cookie = cookie_;
  remember_request(s.nonce);
  // A multicast member holds the whole table; it filters locally what it shows.
  if (!config_.multicast_member) s.services = config_.services;
  s.last_epoch = need_snapshot_ ? 0 : epoch_;
  s.last_seq = need_snapshot_ ? 0 : applied_;
  s.flags = config_.multicast_member ? wire::kFlagMulticastMember : 0;
  out.push_back(std::move(s));
  ++stats_.subscribes_sent;
  if (need_snapshot_) {
    ++stats_.snapshot_requests;
    ++snapshot_attempts_;
  }
  last_subscribe_at_ = now;
  awaiting_answer_ = true;
  hold_until_.reset();
  subscribe_jitter_ = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  reschedule_subscribe();
}

void Replica::reschedule_subscribe() {
  if (!last_subscribe_at_) return;
  if (hold_until_) {
    subscribe_due_ = *hold_until_;
    return;
  }
  const TimePoint sent = *last_subscribe_at_;
  const double spread = 1.0 + 0.25 * subscribe_jitter_;
  if (awaiting_answer_) {
    subscribe_due_ =
        sent + scaled(backoff_delay({config_.subscribe_retry_initial, config_.subscribe_retry_max},
                                    unanswered_),
                      spread);
  } else if (need_snapshot_) {
    const TimePoint from = std::max(sent, assembly_.last_chunk_at().value_or(sent));
    const unsigned n = snapshot_attempts_ > 0 ? snapshot_attempts_ - 1 : 0;
    subscribe_due_ =
        from +
        scaled(backoff_delay({config_.snapshot_timeout, config_.snapshot_retry_max}, n), spread);
  } else {
    // Renew a little before every third of the lease, so two renewals may be lost in a row.
    subscribe_due_ = sent + scaled(lease_ / 3, 0.9 + 0.1 * subscribe_jitter_);
  }
}

void Replica::remember_request(std::uint64_t nonce) {
  latest_request_ = nonce;
  recent_.push_back(nonce);
  while (recent_.size() > std::max<std::size_t>(config_.recent_requests, 1)) recent_.pop_front();
}

Duration Replica::uniform(Duration lo, Duration hi) {
  if (hi <= lo) return lo;
  return Duration(std::uniform_int_distribution<Duration::rep>(lo.count(), hi.count())(rng_));
}

}  // namespace baker::sherlock
