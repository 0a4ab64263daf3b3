#pragma once
// sherlock's subscriber core: the subscription lease, sequencing, gap NACKs, snapshot assembly,
// resync on a directory restart or divergence (docs/PROTOCOL.md, "Rules"). Sans-I/O: fed decoded
// messages and `now`, returns the messages to send to the directory and its next deadline.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
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
};

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
};

class Replica {
 public:
  using Outgoing = std::vector<wire::Message>;  // all addressed to the directory
  // Unicast answers our Subscribes; multicast group traffic says nothing about our lease.
  enum class Source { unicast, multicast };

  explicit Replica(ReplicaConfig config);

  Outgoing start(TimePoint now);  // the first Subscribe
  // Only Delta, Tick, SnapshotChunk and RetryLater mean anything to a subscriber; others are
  // ignored (the shell counts them as unexpected).
  Outgoing on_message(wire::Message m, TimePoint now, Source source = Source::unicast);
  Outgoing on_timer(TimePoint now);
  Outgoing stop();  // Unsubscribe
  std::optional<TimePoint> next_deadline() const;

  // The routes, and the services changed since the last call (brings table().view() up to date).
  const ReplicaTable& table() const { return table_; }
  std::vector<std::string> take_changes() { return table_.take_changes(); }

  std::uint64_t epoch() const { return epoch_; }
  std::uint64_t applied() const { return applied_; }
  std::uint64_t digest() const { return table_.digest(); }
  // Following an epoch with a snapshot applied and no gap known.
  bool synced() const { return epoch_ != 0 && !need_snapshot_ && !gap_open(); }
  bool directory_warmup() const { return warmup_; }
  bool reachable() const { return reachable_; }
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

  // False when the message belongs to a directory process left behind. A new epoch switches to it
  // (keeping every route) and asks for a snapshot unless the message is one.
  bool follow_epoch(std::uint64_t epoch, bool is_snapshot, TimePoint now, Outgoing& out);
  void note_warmup(bool warmup);
  void heard(TimePoint now, Source source);

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
  std::mt19937_64 rng_;
  ReplicaTable table_;
  SnapshotAssembly assembly_;

  // Sequencing.
  std::uint64_t epoch_ = 0;       // directory epoch followed; 0 = none yet
  std::uint64_t last_nonce_ = 0;  // of the latest Subscribe, Nack or Unsubscribe sent
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
  std::optional<TimePoint> last_heard_;
  bool reachable_ = false;
  bool warned_absent_ = false;

  ReplicaStats stats_;
};

}  // namespace baker::sherlock
