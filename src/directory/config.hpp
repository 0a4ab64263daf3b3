#pragma once
// Every tunable of the directory core, with the defaults docs/PROTOCOL.md names.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "wire/limits.hpp"

namespace baker::directory {

struct DirectoryConfig {
  // Expiry: a route goes when no heartbeat arrived for miss_limit x its announced interval.
  // 5, not 3: at 10% independent loss, 3 lost in a row happen once per ~1,100 intervals per
  // instance (a 1,000-instance LAN would see a false expiry every second); 5 in a row once per
  // ~110,000. A crash is still noticed in 5 intervals; a clean exit or a failing check says
  // goodbye at once.
  std::uint32_t miss_limit = 5;
  // Warm-up after start: miss_limit x longest interval heard (at least miss_limit x 1 s), at most
  // this. Zero disables warm-up (tests, or a directory that is known to start first).
  Duration warmup_max = std::chrono::seconds(30);

  // Replay rules for watson datagrams (docs/PROTOCOL.md, "Directory table (from heartbeats)").
  // A heartbeat or goodbye counts only if its sent_ms is within this of the directory's wall
  // clock (and later than the directory's start + this). 2 s: NTP keeps LAN hosts within
  // milliseconds, so only a host whose clock is really wrong is refused (and logged); and
  // 2 x 2 s, the longest a restarted directory may take to hear a watson, stays below the default
  // expiry (5 x 1 s), so a restart costs no route. Larger values keep tombstones longer.
  Duration max_clock_skew = std::chrono::seconds(2);
  // Tombstones (records of routes gone by Goodbye or expiry, kept 2 x max_clock_skew + the
  // route's expiry period so any replay still fresh meets them) held at most; beyond, the oldest
  // is evicted (counted). 262,144 covers a rolling restart of that many instances within a
  // tombstone's lifetime; each costs about a route's memory.
  std::size_t max_tombstones = 262'144;

  // Subscriptions.
  Duration lease = std::chrono::seconds(15);
  Duration tick_interval = std::chrono::seconds(1);
  // Ticks after bursts of Deltas are coalesced: at most one per this gap (0 = after every batch).
  Duration burst_tick_gap = std::chrono::milliseconds(10);
  // Counts proven subscriptions only (an address that answered a Challenge), so a flood of
  // forged Subscribes, which only ever earns Challenges, never shuts a real sherlock out.
  std::size_t max_subscribers = 100'000;
  // Proven subscriptions per source address (one host): one host cannot take every slot. 32 leaves
  // room for many sherlocks behind one NAT or on one test host.
  std::size_t max_subscribers_per_host = 32;
  // Address-validation cookies stay valid this long: a sherlock that moves (new port after a
  // restart of its socket) within it needs no new Challenge. 10 min as in RFC 9000 tokens' spirit:
  // long enough for renewals, short enough that a leaked cookie soon stops working.
  Duration cookie_lifetime = std::chrono::minutes(10);

  // Sequencing and resync.
  std::size_t log_size = 65'536;  // retransmit log, changes
  std::size_t datagram_budget = wire::kDefaultDatagramBudget;
  double nack_rate_per_s = 20;  // token bucket per subscriber (NACKs and resyncing Subscribes)
  double nack_burst = 40;
  Duration nack_merge_window = std::chrono::milliseconds(50);
  std::size_t max_snapshots_in_flight = 8;                     // resyncs being paced out at once
  Duration retry_delay_step = std::chrono::milliseconds(200);  // RetryLater: step x waiting
  Duration retry_delay_max = std::chrono::seconds(5);

  // Pacing of snapshots and large retransmits: this many datagrams per slice, shared by all the
  // resyncs in flight (64 per 2 ms: 32,000 datagrams/s, about 45 MB/s, a third of a 1 Gbit/s
  // link). A fresh sherlock's 100k-route snapshot (~2,100 datagrams) then takes ~65 ms of pacing;
  // its 8 MiB receive buffer holds far more than one slice.
  std::size_t resync_datagrams_per_slice = 64;
  Duration resync_slice = std::chrono::milliseconds(2);
  // A retransmit of at most this many datagrams goes out at once; larger ones are paced like
  // snapshots (and count toward max_snapshots_in_flight).
  std::size_t immediate_retransmit_datagrams = 64;

  // Work bounds per event, so no single event stalls the daemon.
  std::size_t max_batch_changes = 1024;          // a batch of Deltas is flushed at this size
  std::size_t max_expiry_work_per_call = 16384;  // expiry heap pops per on_timer call

  // Admission limits (a flood of forged keys must not exhaust memory).
  std::size_t max_routes = 4'000'000;

  // Deltas and Ticks for multicast members go to the group (the shell knows its address).
  bool multicast = false;

  // Checks ranges; returns a message naming the bad field, or nullopt.
  std::optional<std::string> validate() const;
};

}  // namespace baker::directory
