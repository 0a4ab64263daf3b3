#pragma once
// sherlock's subscriber core: the subscription lease, sequencing, gap NACKs, snapshot assembly,
// resync on a directory restart or divergence (docs/PROTOCOL.md, "Rules"). Sans-I/O: fed decoded
// messages and `now`, returns the messages to send to the directory and its next deadline.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/backoff.hpp"
#include "common/clock.hpp"
#include "sherlock/replica_table.hpp"
#include "sherlock/snapshot_assembly.hpp"
#include "wire/messages.hpp"

namespace baker::sherlock {

using namespace std::chrono_literals;

struct ReplicaConfig {
  std::uint64_t subscriber_id = 1;    // random per process, never 0
  std::vector<std::string> services;  // asked of the directory and shown; empty = all
  bool multicast_member = false;      // hears the group: holds the whole table, shows `services`
  std::uint64_t random_seed = 1;      // jitter source; tests fix it
  std::string name;                   // the directory's address, in logs; empty = none

  // Subscribe: retried with backoff while unanswered (the directory may be absent for ever).
  Duration subscribe_retry_initial = 250ms;
  Duration subscribe_retry_max = 4s;
  Duration default_lease = 15s;  // until a Tick says otherwise; renewed every third of it
  // A gap is NACKed after a random delay in [min, max] (so many subscribers do not NACK in step),
  // then again with backoff while it stays open.
  Duration nack_delay_min = 2ms;
  Duration nack_delay_max = 40ms;
  Duration nack_retry_initial = 250ms;
  Duration nack_retry_max = 4s;
  // A snapshot not complete this long after its last chunk (or after asking) is asked for again,
  // with backoff up to snapshot_retry_max.
  Duration snapshot_timeout = 1s;
  Duration snapshot_retry_max = 8s;
  // No datagram from the directory for this long: a Subscribe is sent at once, and if that goes
  // unanswered too the directory is logged and reported as unreachable (routes are kept).
  Duration silence_limit = 3s;
  std::size_t max_held_deltas = 65536;  // more out-of-order deltas than this: resync

  // Defences (docs/PROTOCOL.md, "Subscriptions, leases, NACKs, snapshots").
  // Answers (Challenge, snapshot chunks, Deltas and Ticks with a nonce) count only when they
  // echo one of the last this many Subscribe/Nack nonces.
  std::size_t recent_requests = 8;
  // A Challenge is answered at once, but not more often than this.
  Duration challenge_answer_gap = 250ms;
  // A Tick or Delta of an epoch not followed makes the replica ask its directory (a Subscribe
  // with its own state) at most this often; the epoch itself is adopted only from a snapshot.
  Duration foreign_epoch_subscribe_gap = 1s;
  // A Delta or Tick more than this past the highest sequence learned from an answer is dropped.
  std::uint64_t implausible_margin = std::uint64_t{1} << 24;
  // Ticks of the followed epoch report a sequence below `applied` for this long (and at least 3
  // of them): the replica was poisoned by a forged Delta (possible only without keys): resync.
  Duration poison_window = 3s;
  // Snapshot assembly bounds (a 4M-route table is ~85k chunks, ~1 GiB held).
  std::size_t max_snapshot_chunks = 1u << 18;
  std::size_t max_snapshot_bytes = std::size_t{2} << 30;
};

// Datagrams the replica ignores, by reason (metrics label = to_string()).
enum class Ignored : std::uint8_t {
  wrong_addressee,    // subscriber id not ours (nor 0 where the shared stream may come)
  unbound_answer,     // an answer whose nonce is not one of our recent requests (a replay)
  foreign_epoch,      // Tick or Delta of an epoch not followed (answered with a Subscribe)
  implausible_range,  // Delta or Tick far beyond any sequence the directory can have sent
  held_deltas_cap,    // out-of-order Delta dropped: max_held_deltas reached
  snapshot_cap,       // chunk dropped: snapshot assembly over its chunk or byte bound
  challenge_rate,     // Challenge stored but not answered at once (challenge_answer_gap)
};
inline constexpr int kIgnoredCount = static_cast<int>(Ignored::challenge_rate) + 1;
std::string_view to_string(Ignored r) noexcept;

struct ReplicaStats {
  std::uint64_t subscribes_sent = 0;
  std::uint64_t deltas_received = 0;
  std::uint64_t deltas_applied = 0;  // applied in sequence (directly or once their gap filled)
  std::uint64_t deltas_duplicate = 0;
  std::uint64_t ops_applied = 0;
  std::uint64_t ticks_received = 0;
  std::uint64_t tick_advances = 0;  // Ticks ahead of the replica whose digest already matched
  std::uint64_t gaps = 0;           // gaps opened (each may take several NACKs)
  std::uint64_t nacks_sent = 0;
  std::uint64_t snapshot_chunks = 0;
  std::uint64_t snapshots_applied = 0;
  std::uint64_t snapshot_requests = 0;  // Subscribe 0,0 sent (first or repeated)
  std::uint64_t resyncs = 0;            // new epoch, digest mismatch or held-delta overflow
  std::uint64_t retry_later = 0;
  std::uint64_t stale_epoch = 0;  // datagrams of a directory process this replica left behind
  std::uint64_t silences = 0;     // times the directory became unreachable
  std::uint64_t challenges = 0;   // Challenges answered (cookie stored)
  std::uint64_t poisoned = 0;     // resyncs because Ticks stayed below applied
  std::array<std::uint64_t, kIgnoredCount> ignored{};
};

class Replica {
 public:
  using Outgoing = std::vector<wire::Message>;  // all addressed to the directory
  // Unicast answers our Subscribes; multicast group traffic says nothing about our lease.
  enum class Source { unicast, multicast };

  explicit Replica(ReplicaConfig config);

  Outgoing start(TimePoint now);  // the first Subscribe
  // Only Delta, Tick, SnapshotChunk, RetryLater and Challenge mean anything to a subscriber;
  // others are ignored (the shell counts them as unexpected). The shell passes only datagrams
  // from the configured directory endpoint (unicast) or the group.
  Outgoing on_message(wire::Message m, TimePoint now, Source source = Source::unicast);
  Outgoing on_timer(TimePoint now);
  Outgoing stop();  // Unsubscribe
  std::optional<TimePoint> next_deadline() const;

  // The routes, and the services changed since the last call (brings table().view() up to date).
  const ReplicaTable& table() const { return table_; }
  // For a MergedTable to listen to (routes change only through this replica's own rules).
  ReplicaTable& table() { return table_; }
  std::vector<std::string> take_changes() { return table_.take_changes(); }

  const std::string& name() const { return config_.name; }
  std::uint64_t epoch() const { return epoch_; }
  std::uint64_t applied() const { return applied_; }
  std::uint64_t digest() const { return table_.digest(); }
  // Following an epoch with a snapshot applied and no gap known.
  // The epoch is only ever adopted from a snapshot that answered our own request.
  bool synced() const { return epoch_ != 0 && !need_snapshot_ && !gap_open(); }
  bool directory_warmup() const { return warmup_; }
  // The directory answered one of our requests (an answer echoing our nonce) within the lease.
  bool reachable() const { return reachable_; }
  const wire::Cookie& cookie() const { return cookie_; }
  std::uint64_t last_nonce() const { return last_nonce_; }
  std::optional<TimePoint> last_heard() const { return last_heard_; }
  std::size_t held_deltas() const { return held_.size(); }
  Duration lease() const { return lease_; }
  const ReplicaStats& stats() const { return stats_; }

 private:
  struct TickTarget {  // a Tick ahead of the replica whose digest did not match yet
    std::uint64_t seq = 0;
    std::uint64_t digest = 0;
    bool warmup = false;
  };

  void on_delta(wire::Delta d, TimePoint now, Outgoing& out);
  void on_tick(const wire::Tick& t, TimePoint now, Outgoing& out);
  void on_chunk(wire::SnapshotChunk c, TimePoint now, Outgoing& out);
  void on_retry_later(const wire::RetryLater& r, TimePoint now);
  void on_challenge(const wire::Challenge& c, TimePoint now, Outgoing& out);

  // True for the epoch followed. Another epoch changes nothing: retired ones are counted, a new
  // one makes the replica ask its directory (rate-limited) what is going on.
  bool is_followed(std::uint64_t epoch, TimePoint now, Outgoing& out);
  // A complete snapshot that answered our request, of another epoch: switch to it.
  void adopt_epoch(std::uint64_t epoch);
  void note_warmup(bool warmup);
  void heard(TimePoint now);
  bool is_recent_request(std::uint64_t nonce) const;
  void remember_request(std::uint64_t nonce);
  void answered(TimePoint now);  // a bound answer arrived
  void ignore(Ignored why) { ++stats_.ignored[static_cast<int>(why)]; }
  std::uint64_t plausible_limit() const;
  void watch_poison(const wire::Tick& t, TimePoint now, Outgoing& out);

  void apply_delta(const wire::Delta& d);
  void hold(wire::Delta d, Outgoing& out, TimePoint now);
  void drain_held();
  void evaluate_tick(const wire::Tick& t, TimePoint now, Outgoing& out);
  void after_progress(TimePoint now, Outgoing& out);
  void apply_snapshot(Snapshot s, TimePoint now, Outgoing& out);
  void resync(const char* why, TimePoint now, Outgoing& out);

  bool gap_open() const;
  std::uint64_t gap_last() const;
  void update_gap(TimePoint now);
  void send_subscribe(TimePoint now, Outgoing& out);
  void send_nack(TimePoint now, Outgoing& out);
  void reschedule_subscribe();
  bool is_retired(std::uint64_t epoch) const;
  bool probe_unanswered(TimePoint now) const;
  Duration uniform(Duration lo, Duration hi);

  ReplicaConfig config_;
  std::string prefix_;  // "[name] " in logs
  std::mt19937_64 rng_;
  ReplicaTable table_;
  SnapshotAssembly assembly_;

  // Sequencing.
  std::uint64_t epoch_ = 0;           // directory epoch followed; 0 = none yet
  std::uint64_t last_nonce_ = 0;      // of the latest Subscribe, Nack or Unsubscribe sent
  std::uint64_t latest_request_ = 0;  // nonce of the latest Subscribe or Nack: RetryLater binds
  std::deque<std::uint64_t> recent_;  // nonces of the last recent_requests Subscribes/Nacks
  wire::Cookie cookie_;               // from the directory's last Challenge
  std::optional<TimePoint> last_challenge_answer_;
  std::optional<TimePoint> last_foreign_epoch_probe_;
  std::uint64_t pending_epoch_ = 0;  // epoch of a bound snapshot being assembled (its Deltas held)
  std::uint64_t highest_seq_ = 0;    // highest sequence learned from an answer (or applied)
  std::optional<TimePoint> below_since_;  // first Tick below applied since the last one at or above
  unsigned below_ticks_ = 0;
  std::uint64_t applied_ = 0;
  bool need_snapshot_ = true;                  // no usable replica of epoch_: Subscribe asks 0,0
  std::map<std::uint64_t, wire::Delta> held_;  // by from_seq: deltas beyond a gap
  std::optional<TickTarget> tick_target_;
  std::optional<wire::Tick> latest_tick_;  // of epoch_, re-examined once a snapshot lands
  std::deque<std::uint64_t> retired_epochs_;
  bool warmup_ = false;

  // NACKs.
  std::optional<TimePoint> nack_due_;
  unsigned nack_attempts_ = 0;

  // Subscription.
  Duration lease_;
  TimePoint subscribe_due_{};
  std::optional<TimePoint> last_subscribe_at_;
  bool awaiting_answer_ = false;
  unsigned unanswered_ = 0;              // Subscribes sent in a row without an answer, minus one
  unsigned snapshot_attempts_ = 0;       // snapshot requests since the last snapshot applied
  double subscribe_jitter_ = 0;          // in [0, 1), drawn per Subscribe sent
  std::optional<TimePoint> hold_until_;  // RetryLater: ask nothing before this
  bool started_ = false;

  // Reachability.
  std::optional<TimePoint> last_answer_at_;
  std::optional<TimePoint> last_heard_;
  bool reachable_ = false;
  bool warned_absent_ = false;

  ReplicaStats stats_;
};

}  // namespace baker::sherlock
