// The directory's rules for watson datagrams (docs/PROTOCOL.md, "Directory table (from
// heartbeats)"), in simulated time with the wall clock the shell would give. Each rule says what a
// replay (a capture sent again, at any later time), a flood and a stranger's datagram do.
#include <gtest/gtest.h>

#include <memory>

#include "directory/directory_core.hpp"
#include "directory_test_support.hpp"

namespace baker::directory::testing {
namespace {

constexpr std::uint64_t kInc = 1'796'000'000'000'000ULL;  // a watson process started in 2026

class ReplayRulesTest : public ::testing::Test {
 protected:
  static DirectoryConfig base_config() {
    DirectoryConfig c;
    c.warmup_max = 0s;
    c.burst_tick_gap = 0ms;
    c.miss_limit = 3;
    c.max_clock_skew = 2s;
    return c;
  }
  void make(const DirectoryConfig& c) {
    start = clock.now();
    core = std::make_unique<DirectoryCore>(c, 0xd1d1, start);
    core->set_wall_clock(kWallAtStart, start);
    // Only datagrams stamped after the start + the skew count: begin past that.
    clock.advance(2 * c.max_clock_skew + 1s);
  }
  void SetUp() override { make(base_config()); }

  std::uint64_t wall() const {
    return kWallAtStart +
           static_cast<std::uint64_t>(
               std::chrono::duration_cast<milliseconds>(clock.now() - start).count());
  }
  // A heartbeat as a watson would send it now.
  wire::Heartbeat hb(const std::string& instance, std::uint64_t seq, std::uint64_t inc = kInc,
                     std::uint16_t port = 8080) {
    return stamped(heartbeat("web", instance, seq, inc, 1000, port), wall());
  }
  wire::Goodbye bye(const std::string& instance, std::uint64_t seq, std::uint64_t inc = kInc) {
    return stamped(goodbye("web", instance, inc, seq), wall());
  }
  void send(const wire::Message& m) {
    Actions out = core->on_datagram(m, kWatson, clock.now());
    core->flush(clock.now(), out);
  }
  void run_for(Duration d) {
    const TimePoint until = clock.now() + d;
    for (int guard = 0; guard < 100000 && *core->next_deadline() <= until; ++guard) {
      clock.set(std::max(clock.now(), *core->next_deadline()));
      core->on_timer(clock.now());
    }
    clock.set(until);
    core->on_timer(until);
  }
  std::uint64_t rejected(AnnounceReject r) const {
    return core->stats().announce_rejects[static_cast<int>(r)];
  }
  bool live(const std::string& instance) const {
    const RouteIndex i = core->table().find("web", instance);
    return i != kNoRoute && core->table().at(i).live;
  }
  std::uint16_t port(const std::string& instance) const {
    return core->table().to_route(core->table().find("web", instance)).port;
  }

  ManualTimeSource clock;
  TimePoint start;
  std::unique_ptr<DirectoryCore> core;
};

// Rule 1, freshness. Replay: a capture older than the skew is refused, whatever it says. Flood and
// stranger: a stale or future datagram of an unknown key leaves no record.
TEST_F(ReplayRulesTest, StaleAndFutureTimestampsAreRefusedAndCounted) {
  send(stamped(hb("a", 1), wall() - 2001));
  send(stamped(hb("a", 1), wall() + 2001));
  EXPECT_EQ(rejected(AnnounceReject::stale_timestamp), 1u);
  EXPECT_EQ(rejected(AnnounceReject::future_timestamp), 1u);
  EXPECT_EQ(core->table().used_count(), 0u);
  send(stamped(hb("a", 1), wall() - 2000));  // at the edge of the window: fresh
  EXPECT_TRUE(live("a"));
  // A capture of that live route's goodbye, replayed 3 s later, removes nothing.
  const auto captured = bye("a", 2);
  clock.advance(3s);
  send(hb("a", 3));
  send(captured);
  EXPECT_TRUE(live("a"));
  EXPECT_EQ(rejected(AnnounceReject::stale_timestamp), 2u);
}

// Rule 2, restart. Replay: nothing captured before this directory started ever counts here,
// however the attacker times it; a datagram stamped after start + skew does.
TEST_F(ReplayRulesTest, DatagramsStampedBeforeStartPlusSkewNeverCount) {
  clock.set(start + 1s);  // just started; a capture from 500 ms after the start is still fresh
  send(stamped(hb("a", 7), kWallAtStart + 500));
  send(stamped(bye("a", 8), kWallAtStart + 2000));
  EXPECT_EQ(rejected(AnnounceReject::before_start), 2u);
  EXPECT_EQ(core->table().used_count(), 0u);
  clock.set(start + 2500ms);
  send(hb("a", 9));  // stamped start + 2.5 s: provably sent after the start
  EXPECT_TRUE(live("a"));
}

// Rule 3, order. Replay of an earlier process (fresh, e.g. just before a restart): never removes,
// never changes address or port. A stranger can do the same only without keys.
TEST_F(ReplayRulesTest, AnOlderIncarnationNeverChangesAnything) {
  send(hb("a", 1, kInc + 1'000'000, 8081));  // the live process started 1 s after the old one
  send(hb("a", 50, kInc, 8080));             // the old one's heartbeat, replayed while fresh
  send(bye("a", 51, kInc));                  // and its goodbye
  EXPECT_TRUE(live("a"));
  EXPECT_EQ(port("a"), 8081);
  EXPECT_EQ(rejected(AnnounceReject::old_incarnation), 2u);
  EXPECT_EQ(core->stats().clock_warnings, 1u) << "logged once per instance and incarnation";
  EXPECT_EQ(core->seq(), 1u);
}

TEST_F(ReplayRulesTest, SameIncarnationNeedsANewerSeq) {
  send(hb("a", 5));
  send(hb("a", 5));
  send(hb("a", 4, kInc, 9999));
  EXPECT_EQ(rejected(AnnounceReject::duplicate), 2u);
  EXPECT_EQ(port("a"), 8080);
  send(hb("a", 6, kInc, 9999));
  EXPECT_EQ(port("a"), 9999);
}

// Rule 4, tombstones after a Goodbye. Replay of a heartbeat captured before the goodbye, inside
// the window (fresh) and after it: adds nothing. A newer heartbeat (healthy again) does.
TEST_F(ReplayRulesTest, AGoodbyeTombstoneOutlivesEveryFreshReplay) {
  send(hb("a", 1));
  const auto captured = hb("a", 2);
  send(captured);
  send(bye("a", 3));
  ASSERT_FALSE(live("a"));
  send(captured);  // at once
  clock.advance(1900ms);
  send(captured);  // still fresh: the tombstone stops it
  EXPECT_EQ(rejected(AnnounceReject::tombstoned), 2u);
  run_for(200ms);
  send(captured);  // no longer fresh
  EXPECT_EQ(rejected(AnnounceReject::stale_timestamp), 1u);
  EXPECT_FALSE(live("a"));
  EXPECT_GE(core->tombstone_lifetime(1000), 2 * 2s + 3s);
  run_for(core->tombstone_lifetime(1000));
  EXPECT_EQ(core->table().used_count(), 0u) << "purged once no replay can be fresh";
  send(captured);
  EXPECT_FALSE(live("a"));
  send(hb("a", 4));  // the same process, healthy again
  EXPECT_TRUE(live("a"));
}

// Rule 4, tombstones after expiry. A replay of the expired incarnation's heartbeats (seq not newer)
// cannot revive it; a newer one or a new process can.
TEST_F(ReplayRulesTest, AnExpiredRouteLeavesATombstone) {
  auto c = base_config();
  c.max_clock_skew = 10s;  // replays stay fresh past the 3 s expiry
  make(c);
  const auto captured = hb("a", 1);
  send(captured);
  send(hb("a", 2));
  run_for(3500ms);
  ASSERT_FALSE(live("a"));
  EXPECT_EQ(core->stats().routes_expired, 1u);
  send(captured);
  send(stamped(captured, wall()));  // even re-stamped (no keys): the seq is not newer
  EXPECT_FALSE(live("a"));
  EXPECT_EQ(rejected(AnnounceReject::tombstoned), 2u);
  send(hb("a", 3));
  EXPECT_TRUE(live("a"));
  run_for(3500ms);
  send(hb("a", 1, kInc + 5'000'000));  // a new process
  EXPECT_TRUE(live("a"));
}

// A goodbye for a key the directory does not hold (restarted, or its heartbeats were lost) is
// remembered: a heartbeat of that process sent before it, held back and replayed, adds nothing.
TEST_F(ReplayRulesTest, AGoodbyeOfAnUnknownInstanceLeavesATombstone) {
  const auto held_back = hb("a", 4);
  send(bye("a", 5));
  EXPECT_EQ(core->route_count(), 0u);
  send(held_back);
  EXPECT_FALSE(live("a"));
  EXPECT_EQ(rejected(AnnounceReject::tombstoned), 1u);
}

// Flood: tombstones are bounded; past the bound the oldest go first, counted.
TEST_F(ReplayRulesTest, TombstonesAreBoundedOldestEvictedFirst) {
  auto c = base_config();
  c.max_tombstones = 3;
  make(c);
  for (int k = 0; k < 5; ++k) {
    const std::string name = "i" + std::to_string(k);
    send(hb(name, 1));
    send(bye(name, 2));
    clock.advance(1ms);
  }
  EXPECT_EQ(core->tombstone_count(), 3u);
  EXPECT_EQ(core->stats().tombstones_evicted, 2u);
  EXPECT_EQ(core->table().find("web", "i0"), kNoRoute);
  EXPECT_EQ(core->table().find("web", "i1"), kNoRoute);
  EXPECT_NE(core->table().find("web", "i4"), kNoRoute);
  // A route revived from a tombstone no longer counts as one.
  send(hb("i4", 3));
  EXPECT_EQ(core->tombstone_count(), 2u);
}

// Rule 5. A watson whose clock is off is logged once per process; a flood of strangers' stale
// datagrams adds no record and at most a bounded number of log lines.
TEST_F(ReplayRulesTest, AClockOffWatsonIsLoggedOncePerIncarnation) {
  for (int k = 0; k < 10; ++k) send(stamped(hb("a", 1 + k), wall() + 5000));
  EXPECT_EQ(core->stats().clock_warnings, 1u);
  EXPECT_EQ(rejected(AnnounceReject::future_timestamp), 10u);
  send(stamped(hb("a", 1, kInc + 1), wall() - 5000));  // restarted, still off
  EXPECT_EQ(core->stats().clock_warnings, 2u);
  // A watson heard before, whose clock drifts off later: once too (the record holds the bit).
  send(hb("b", 1));
  for (int k = 0; k < 3; ++k) send(stamped(hb("b", 2 + k), wall() - 3000));
  EXPECT_EQ(core->stats().clock_warnings, 3u);
  EXPECT_TRUE(live("b"));
}

TEST_F(ReplayRulesTest, AFloodOfStaleStrangersAddsNoRecordAndBoundedLogging) {
  for (int k = 0; k < 6000; ++k) {
    send(stamped(hb("x" + std::to_string(k), 1, kInc + k), wall() - 60'000));
  }
  EXPECT_EQ(core->table().used_count(), 0u);
  EXPECT_EQ(rejected(AnnounceReject::stale_timestamp), 6000u);
  EXPECT_LE(core->stats().clock_warnings, 4096u);
}

// Rule 6. The host's clock stepped back between two watson starts: the new incarnation is lower
// than the tombstone's and is refused (logged once) until the tombstone is purged.
TEST_F(ReplayRulesTest, AClockSteppedBackBetweenRestartsIsRefusedUntilThePurge) {
  send(hb("a", 1, kInc));
  send(bye("a", 2, kInc));
  send(hb("a", 1, kInc - 60'000'000));  // started "a minute earlier"
  send(hb("a", 2, kInc - 60'000'000));
  EXPECT_FALSE(live("a"));
  EXPECT_EQ(rejected(AnnounceReject::old_incarnation), 2u);
  EXPECT_EQ(core->stats().clock_warnings, 1u);
  run_for(core->tombstone_lifetime(1000));
  send(hb("a", 3, kInc - 60'000'000));
  EXPECT_TRUE(live("a"));
}

// Warm-up waits for the watsons a restart refuses for up to 2 x skew.
TEST_F(ReplayRulesTest, WarmUpCoversTheRestartDelay) {
  auto c = base_config();
  c.warmup_max = 60s;
  make(c);
  EXPECT_EQ(core->warmup_end(), start + 3s + 2 * c.max_clock_skew);
  // --warmup-max bounds the wait for the longest interval; the restart delay comes on top, so a
  // short warm-up cannot end before any watson could be heard.
  c.warmup_max = 1s;
  make(c);
  EXPECT_EQ(core->warmup_end(), start + 1s + 2 * c.max_clock_skew);
}

}  // namespace
}  // namespace baker::directory::testing
