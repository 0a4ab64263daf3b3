#pragma once
// The directory, without I/O: fed decoded datagrams and timer wake-ups with the current time,
// it returns the datagrams to send. The Asio shell (DirectoryDaemon) owns sockets and the clock.
// docs/PROTOCOL.md ("Rules") is the specification of everything decided here.
#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "directory/address_cookie.hpp"
#include "directory/config.hpp"
#include "directory/delta_log.hpp"
#include "directory/endpoint.hpp"
#include "directory/expiry_index.hpp"
#include "directory/freshness.hpp"
#include "directory/route_table.hpp"
#include "directory/snapshot_job.hpp"
#include "directory/subscriber.hpp"
#include "wire/codec.hpp"
#include "wire/messages.hpp"
#include "wire/packing.hpp"

namespace baker::directory {

// One message to send: encoded once, sent to every endpoint in `to` and, if to_group, once to the
// multicast group.
struct Outgoing {
  wire::Message message;
  std::vector<Endpoint> to;
  bool to_group = false;
};
using Actions = std::vector<Outgoing>;

// Valid datagrams the directory does not act on, by reason (metrics label = to_string()).
enum class Reject : std::uint8_t {
  unexpected_message,  // a message only the directory sends (Delta, Tick, snapshot, RetryLater)
  table_full,          // new route beyond max_routes
  subscriber_limit,    // new subscriber beyond max_subscribers
  unknown_subscriber,  // Nack from a subscriber without a lease
  wrong_epoch,         // Nack for another directory epoch
  invalid_range,       // Nack for sequences the directory never issued
  // Subscription requests (docs/PROTOCOL.md, "Subscriptions, leases, NACKs, snapshots").
  replayed_request,     // Subscribe/Nack/Unsubscribe nonce not above the last accepted
  foreign_address,      // Nack/Unsubscribe from an address other than the subscription's
  bad_cookie,           // Subscribe with a cookie that is forged, expired or malformed
  challenge_too_large,  // unproven Subscribe too small to earn a Challenge (3x rule): no answer
  host_limit,           // new proven subscription beyond max_subscribers_per_host
};
inline constexpr int kRejectCount = static_cast<int>(Reject::host_limit) + 1;
std::string_view to_string(Reject r) noexcept;

struct DirectoryStats {
  std::uint64_t heartbeats = 0;
  std::uint64_t heartbeats_stale = 0;  // duplicate or reordered (seq not newer in its epoch)
  std::uint64_t sender_restarts = 0;   // heartbeat with a new watson epoch for a known route
  std::uint64_t goodbyes = 0;
  std::uint64_t goodbyes_ignored = 0;  // unknown key, stale seq, or already gone
  std::uint64_t subscribes = 0;
  std::uint64_t unsubscribes = 0;
  std::uint64_t nacks = 0;
  std::uint64_t nacks_merged = 0;
  std::uint64_t nacks_rate_limited = 0;
  std::uint64_t routes_added = 0;
  std::uint64_t routes_updated = 0;
  std::uint64_t routes_removed = 0;  // by Goodbye
  std::uint64_t routes_expired = 0;
  std::uint64_t tombstones_purged = 0;
  std::uint64_t tombstones_evicted = 0;  // over max_tombstones, oldest first
  std::uint64_t clock_warnings = 0;      // clock-off / clock-stepped-back warnings logged
  std::uint64_t deltas_sent = 0;         // Delta datagrams, counting each destination (group = 1)
  std::uint64_t retransmit_deltas_sent = 0;
  std::uint64_t ticks_sent = 0;
  std::uint64_t snapshots_started = 0;
  std::uint64_t snapshots_completed = 0;
  std::uint64_t snapshot_chunks_sent = 0;
  std::uint64_t resyncs_refused = 0;  // over max_snapshots_in_flight
  std::uint64_t retry_later_sent = 0;
  std::uint64_t subscribers_expired = 0;
  std::uint64_t challenges_sent = 0;       // Subscribes from unproven addresses answered
  std::uint64_t subscribers_moved = 0;     // to a newly proven address
  std::uint64_t subscribers_replaced = 0;  // by another subscriber id proven at the same address
  std::array<std::uint64_t, kRejectCount> rejects{};
  std::array<std::uint64_t, kAnnounceRejectCount> announce_rejects{};  // replay rules
};

class DirectoryCore {
 public:
  // secret: the per-process key of address cookies; the shell draws it at random (a zero secret,
  // the default, is for tests only).
  DirectoryCore(const DirectoryConfig& config, std::uint64_t epoch, TimePoint start,
                const CookieSecret& secret = {});
  DirectoryCore(const DirectoryCore&) = delete;
  DirectoryCore& operator=(const DirectoryCore&) = delete;

  // A valid datagram from `from`. Changes are collected into a batch; call flush() after a burst
  // of datagrams (the batch is also flushed by itself when it reaches max_batch_changes).
  // `bytes`: the datagram's size as received (the 3x rule bounds what an unproven address gets).
  void on_datagram(const wire::Message& m, const Endpoint& from, std::size_t bytes, TimePoint now,
                   Actions& out);
  // The same, with the size taken from the message's unauthenticated encoding (tests, tools).
  void on_datagram(const wire::Message& m, const Endpoint& from, TimePoint now, Actions& out);
  // Bytes the shell adds to every datagram it sends (the MAC trailer when it has keys): counted
  // into a Challenge's size for the 3x rule.
  void set_auth_overhead(std::size_t bytes) { auth_overhead_ = bytes; }
  // Sends the pending batch of changes as Deltas.
  void flush(TimePoint now, Actions& out);
  // Expiry, warm-up end, Ticks, lease expiry, pacing of snapshots: whatever is due at `now`.
  void on_timer(TimePoint now, Actions& out);
  // When on_timer has something to do next.
  // Always set while running: Ticks are periodic.
  std::optional<TimePoint> next_deadline() const;

  // The wall clock (ms since 1970) at `now`, from the shell (the core reads no clock). The first
  // call fixes the directory's start on the wall clock (the restart rule). Until it is called the
  // timestamp rules are off; the daemon calls it before the first datagram and with every batch.
  void set_wall_clock(std::uint64_t unix_ms, TimePoint now);
  const WallClock& wall_clock() const { return wall_; }

  // Convenience for tests.
  Actions on_datagram(const wire::Message& m, const Endpoint& from, TimePoint now) {
    Actions out;
    on_datagram(m, from, now, out);
    return out;
  }
  Actions flush(TimePoint now) {
    Actions out;
    flush(now, out);
    return out;
  }
  Actions on_timer(TimePoint now) {
    Actions out;
    on_timer(now, out);
    return out;
  }

  std::uint64_t epoch() const { return epoch_; }
  std::uint64_t seq() const { return seq_; }
  bool warming_up() const { return warming_; }
  TimePoint warmup_end() const;
  const DirectoryConfig& config() const { return config_; }
  const DirectoryStats& stats() const { return stats_; }
  const RouteTable& table() const { return table_; }
  const ExpiryIndex& expiry() const { return expiry_; }
  const DeltaLog& log() const { return log_; }
  std::size_t route_count() const { return table_.live_count(); }
  std::size_t tombstone_count() const { return table_.used_count() - table_.live_count(); }
  // How long a route's record outlives it (Goodbye or expiry): any replay still fresh meets it.
  Duration tombstone_lifetime(std::uint32_t interval_ms) const;
  std::size_t subscriber_count() const { return subscribers_.size(); }
  std::size_t member_count() const { return members_; }
  std::size_t resyncs_in_flight() const { return jobs_.size(); }
  const Subscriber* subscriber(std::uint64_t id) const;
  // Every proven subscription, by subscriber id (the status page lists them).
  const std::unordered_map<std::uint64_t, Subscriber>& subscribers() const { return subscribers_; }
  std::size_t proven_on_host(const wire::IpAddress& host) const;
  // Approximate bytes held by the core's structures (records, index, heap), for /metrics.
  std::size_t structure_bytes() const;

 private:
  struct ResyncJob {
    std::uint64_t subscriber_id = 0;
    std::uint64_t nonce = 0;  // of the request it answers: its closing Tick echoes it
    Endpoint to;
    std::unique_ptr<SnapshotJob> snapshot;  // or else queued retransmit Deltas
    std::vector<wire::Delta> deltas;
    std::size_t next_delta = 0;
    bool done() const { return snapshot ? snapshot->done() : next_delta == deltas.size(); }
  };

  void on_heartbeat(const wire::Heartbeat& m, TimePoint now, Actions& out);
  void on_goodbye(const wire::Goodbye& m, TimePoint now, Actions& out);
  void on_subscribe(const wire::Subscribe& m, const Endpoint& from, std::size_t bytes,
                    TimePoint now, Actions& out);
  void on_unsubscribe(const wire::Unsubscribe& m, const Endpoint& from, TimePoint now);
  void on_nack(const wire::Nack& m, const Endpoint& from, TimePoint now, Actions& out);
  // A Subscribe from an address it has not proven: a Challenge, if small enough; no state kept.
  void challenge(const wire::Subscribe& m, const Endpoint& from, std::size_t bytes, TimePoint now,
                 Actions& out);
  // The address book of proven subscriptions (one per address:port, counted per host).
  void bind_endpoint(Subscriber& s, const Endpoint& at);
  void unbind_endpoint(const Subscriber& s);

  // The replay rules for a watson datagram of key i (kNoRoute: unknown key): why it is refused,
  // or nullopt to accept it.
  std::optional<AnnounceReject> check_announce(RouteIndex i, std::string_view service,
                                               std::string_view instance, std::uint64_t incarnation,
                                               std::uint64_t seq, std::uint64_t sent_ms,
                                               TimePoint now);
  void warn_once(RouteIndex i, std::string_view service, std::string_view instance,
                 std::uint64_t incarnation, AnnounceReject why, std::int64_t offset_ms);
  // The record stays as a tombstone until now + tombstone_lifetime; the oldest beyond
  // max_tombstones are evicted.
  void entomb(RouteIndex i, TimePoint now);

  std::uint8_t flags() const { return warming_ ? wire::kFlagWarmup : 0; }
  std::int64_t expiry_deadline(TimePoint now, std::uint32_t interval_ms) const;
  void schedule(RouteIndex i, std::int64_t deadline);
  void before_change(RouteIndex i);
  // why: of a remove only (any removal but a Goodbye is `expired`).
  void record_change(wire::OpKind kind, RouteIndex i, TimePoint now, Actions& out,
                     wire::Removal why = wire::Removal::expired);
  void update_warmup(TimePoint now, Actions& out);
  void expire_due(TimePoint now, Actions& out);

  // nullptr: the whole table. nonce != 0: the answer to that Subscribe or Nack.
  wire::Tick tick_for(const Subscriber* s, std::uint64_t nonce = 0) const;
  void send_ticks(bool everyone, TimePoint now, Actions& out);
  bool wanted(const Subscriber& s, std::string_view service) const;

  void answer_with_deltas(Subscriber& s, std::uint64_t after, TimePoint now, Actions& out);
  void start_snapshot(Subscriber& s, TimePoint now, Actions& out);
  // subscribed: `who` holds a subscription (counted among those waiting until its delay passes).
  void retry_later(const Endpoint& to, wire::Addressee who, bool subscribed, TimePoint now,
                   Actions& out);
  void mark_answered(Subscriber& s, std::uint64_t after, TimePoint now);
  void pace_resyncs(TimePoint now, Actions& out);
  void finish_resync(const ResyncJob& job, Actions& out);
  void cancel_resync(std::uint64_t subscriber_id);
  void drop_subscriber(std::uint64_t id, const char* why, TimePoint now);
  void remember_ended(const Subscriber& s, TimePoint now);
  void forget_ended(TimePoint now);
  void set_filter(Subscriber& s, const std::vector<std::string>& services, bool member);

  DirectoryConfig config_;
  std::uint64_t epoch_;
  TimePoint start_;
  std::uint64_t seq_ = 0;        // last change issued
  std::uint64_t published_ = 0;  // last change sent as a Delta (pending_ holds the rest)

  RouteTable table_;
  ExpiryIndex expiry_;
  WallClock wall_;
  OnceLog warned_{4096};
  std::deque<ExpiryIndex::Entry> tombstone_order_;  // oldest first; stale entries skipped
  DeltaLog log_;
  std::vector<wire::SequencedOp> pending_;

  bool warming_;
  std::uint32_t longest_interval_ms_ = 0;

  std::unordered_map<std::uint64_t, Subscriber> subscribers_;
  std::map<Endpoint, std::uint64_t> by_endpoint_;  // proven address -> subscriber id
  // Last nonce of subscriptions that ended, kept for a cookie lifetime (a captured Subscribe still
  // carries a valid cookie that long): a replay cannot bring a dropped subscription back.
  struct EndedSubscription {
    std::uint64_t id = 0;
    std::uint64_t nonce = 0;
    TimePoint until{};
  };
  std::unordered_map<std::uint64_t, std::uint64_t> ended_nonces_;
  std::deque<EndedSubscription> ended_;              // oldest first; bounded by max_subscribers
  std::map<wire::IpAddress, std::size_t> per_host_;  // proven subscriptions per host
  AddressCookies cookies_;
  std::size_t auth_overhead_ = 0;
  std::size_t members_ = 0;
  std::vector<ResyncJob> jobs_;
  TimePoint next_slice_at_ = TimePoint::max();
  std::unordered_map<std::uint64_t, TimePoint> waiting_;  // told to retry, until

  TimePoint next_tick_at_;
  TimePoint burst_tick_at_ = TimePoint::max();
  TimePoint last_burst_tick_ = TimePoint::min();

  DirectoryStats stats_;
};

}  // namespace baker::directory
