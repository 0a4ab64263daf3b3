#include "directory/directory_core.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>

#include "directory_test_support.hpp"

namespace baker::directory::testing {
namespace {

constexpr std::uint64_t kEpoch = 0xd1d1;
const Endpoint kSherlock = endpoint(1, 5001);
const Endpoint kOther = endpoint(2, 5002);

class DirectoryCoreTest : public ::testing::Test {
 protected:
  static DirectoryConfig base_config() {
    DirectoryConfig c;
    c.warmup_max = 0s;
    c.burst_tick_gap = 0ms;
    c.miss_limit = 3;  // the expiry arithmetic below is written for 3 (the default is 5)
    return c;
  }
  void make(const DirectoryConfig& c) {
    core = std::make_unique<DirectoryCore>(c, kEpoch, clock.now());
  }
  void SetUp() override { make(base_config()); }

  // One datagram and the flush the shell does after each burst. A Subscribe from an address not
  // proven yet is answered with a Challenge: the test then does what a sherlock does and sends
  // it again at once with the cookie (and a fresh nonce). send_raw() does not.
  Actions send(const wire::Message& m, const Endpoint& from = kWatson) {
    Actions out = send_raw(m, from);
    const auto* sub = std::get_if<wire::Subscribe>(&m);
    if (!sub) return out;
    for (const auto& c : messages_of<wire::Challenge>(out, &from)) {
      if (c.subscriber_id != sub->subscriber_id || c.nonce != sub->nonce) continue;
      wire::Subscribe again = *sub;
      again.nonce = next_nonce();
      again.cookie = c.cookie;
      Actions rest;
      for (auto& a : out) {
        if (!std::holds_alternative<wire::Challenge>(a.message)) rest.push_back(std::move(a));
      }
      for (auto& a : send_raw(again, from)) rest.push_back(std::move(a));
      return rest;
    }
    return out;
  }
  Actions send_raw(const wire::Message& m, const Endpoint& from = kWatson) {
    Actions out = core->on_datagram(m, from, clock.now());
    core->flush(clock.now(), out);
    return out;
  }
  // Runs every timer due up to `until` (time moves to each deadline), then sets the clock there.
  Actions run_until(TimePoint until) {
    Actions all;
    for (int guard = 0; guard < 100000 && *core->next_deadline() <= until; ++guard) {
      clock.set(std::max(clock.now(), *core->next_deadline()));
      for (auto& a : core->on_timer(clock.now())) all.push_back(std::move(a));
    }
    clock.set(until);
    for (auto& a : core->on_timer(until)) all.push_back(std::move(a));
    return all;
  }
  Actions run_for(Duration d) { return run_until(clock.now() + d); }
  // Subscribes kSherlock for everything and returns the completed snapshot's replica.
  Replica subscribed(std::uint64_t id = 1, const Endpoint& at = kSherlock,
                     std::vector<std::string> services = {}) {
    Replica r;
    r.apply_all(send(subscribe(id, std::move(services)), at), at);
    r.apply_all(run_for(50ms), at);
    return r;
  }

  ManualTimeSource clock;
  std::unique_ptr<DirectoryCore> core;
};

TEST_F(DirectoryCoreTest, HeartbeatAddsRouteAsDelta) {
  Replica r = subscribed();
  const Actions out = send(heartbeat("web", "a", 1));
  const auto deltas = messages_of<wire::Delta>(out, &kSherlock);
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].epoch, kEpoch);
  EXPECT_EQ(deltas[0].from_seq, 0u);
  EXPECT_EQ(deltas[0].to_seq, 1u);
  ASSERT_EQ(deltas[0].ops.size(), 1u);
  EXPECT_EQ(deltas[0].ops[0].kind, wire::OpKind::add);
  EXPECT_EQ(deltas[0].ops[0].route.instance, "a");
  EXPECT_EQ(core->route_count(), 1u);
  // The Tick right behind the batch names the new sequence and the table digest.
  const auto ticks = messages_of<wire::Tick>(out, &kSherlock);
  ASSERT_EQ(ticks.size(), 1u);
  EXPECT_EQ(ticks[0].seq, 1u);
  EXPECT_EQ(ticks[0].route_count, 1u);
  r.apply_all(out, kSherlock);
  EXPECT_EQ(ticks[0].digest, r.digest());
}

TEST_F(DirectoryCoreTest, RefreshOnlyMovesExpiryAndSendsNothing) {
  subscribed();
  send(heartbeat("web", "a", 1));
  clock.advance(900ms);
  const Actions out = send(heartbeat("web", "a", 2));
  EXPECT_TRUE(messages_of<wire::Delta>(out).empty());
  EXPECT_EQ(core->seq(), 1u);
  EXPECT_EQ(core->stats().heartbeats, 2u);
}

TEST_F(DirectoryCoreTest, ChangedFieldIsAnUpdate) {
  subscribed();
  send(heartbeat("web", "a", 1));
  auto hb = heartbeat("web", "a", 2);
  hb.route.weight = 10;
  hb.route.tags = {"canary"};
  const auto deltas = messages_of<wire::Delta>(send(hb), &kSherlock);
  ASSERT_EQ(deltas.size(), 1u);
  ASSERT_EQ(deltas[0].ops.size(), 1u);
  EXPECT_EQ(deltas[0].ops[0].kind, wire::OpKind::update);
  EXPECT_EQ(deltas[0].ops[0].route.weight, 10);
  EXPECT_EQ(deltas[0].ops[0].route.tags, std::vector<std::string>{"canary"});
  EXPECT_EQ(deltas[0].from_seq, 1u);
  EXPECT_EQ(deltas[0].to_seq, 2u);
}

TEST_F(DirectoryCoreTest, ExpiresExactlyAtMissLimitTimesInterval) {
  subscribed();
  send(heartbeat("web", "a", 1, 7, 1000));
  const TimePoint last = clock.now();
  Actions out = run_until(last + 3000ms - 1ns);
  EXPECT_EQ(core->route_count(), 1u);
  EXPECT_TRUE(messages_of<wire::Delta>(out).empty());
  out = run_until(last + 3000ms);
  EXPECT_EQ(core->route_count(), 0u);
  const auto deltas = messages_of<wire::Delta>(out, &kSherlock);
  ASSERT_EQ(deltas.size(), 1u);
  ASSERT_EQ(deltas[0].ops.size(), 1u);
  EXPECT_EQ(deltas[0].ops[0].kind, wire::OpKind::remove);
  EXPECT_EQ(core->stats().routes_expired, 1u);
}

TEST_F(DirectoryCoreTest, MissLimitIsConfigurable) {
  auto c = base_config();
  c.miss_limit = 5;
  make(c);
  send(heartbeat("web", "a", 1, 7, 200));
  run_for(999ms);
  EXPECT_EQ(core->route_count(), 1u);
  run_for(1ms);
  EXPECT_EQ(core->route_count(), 0u);
}

TEST_F(DirectoryCoreTest, HeartbeatPostponesExpiry) {
  send(heartbeat("web", "a", 1, 7, 1000));
  for (int i = 2; i < 10; ++i) {
    run_for(2500ms);
    send(heartbeat("web", "a", static_cast<std::uint64_t>(i), 7, 1000));
  }
  EXPECT_EQ(core->route_count(), 1u);
  run_for(3000ms);
  EXPECT_EQ(core->route_count(), 0u);
}

TEST_F(DirectoryCoreTest, ShorterIntervalExpiresSooner) {
  send(heartbeat("web", "a", 1, 7, 10000));
  send(heartbeat("web", "a", 2, 7, 100));  // the watson now heartbeats every 100 ms
  run_for(300ms);
  EXPECT_EQ(core->route_count(), 0u);
}

TEST_F(DirectoryCoreTest, GoodbyeRemovesAtOnce) {
  subscribed();
  send(heartbeat("web", "a", 1));
  const Actions out = send(goodbye("web", "a", 7, 2));
  EXPECT_EQ(core->route_count(), 0u);
  const auto deltas = messages_of<wire::Delta>(out, &kSherlock);
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].ops[0].kind, wire::OpKind::remove);
  EXPECT_EQ(deltas[0].to_seq, 2u);
  // A duplicate of the Goodbye changes nothing.
  EXPECT_TRUE(messages_of<wire::Delta>(send(goodbye("web", "a", 7, 2))).empty());
  EXPECT_EQ(core->seq(), 2u);
}

TEST_F(DirectoryCoreTest, GoodbyeForUnknownRouteIsIgnored) {
  send(goodbye("web", "nobody", 7, 2));
  EXPECT_EQ(core->seq(), 0u);
  EXPECT_EQ(core->stats().goodbyes_ignored, 1u);
}

TEST_F(DirectoryCoreTest, ReorderedHeartbeatAfterGoodbyeDoesNotRevive) {
  send(heartbeat("web", "a", 1));
  send(goodbye("web", "a", 7, 3));
  send(heartbeat("web", "a", 2));  // sent before the Goodbye, arrived after it
  EXPECT_EQ(core->route_count(), 0u);
  send(heartbeat("web", "a", 4));  // healthy again: a newer heartbeat brings it back
  EXPECT_EQ(core->route_count(), 1u);
}

TEST_F(DirectoryCoreTest, TombstoneIsPurgedAfterTwiceTheSkewAndOneExpiryPeriod) {
  send(heartbeat("web", "a", 1));
  send(goodbye("web", "a", 7, 2));
  EXPECT_EQ(core->table().used_count(), 1u);
  run_for(3s);  // one expiry period: a copy of the goodbye could still be fresh
  EXPECT_EQ(core->table().used_count(), 1u);
  run_for(2 * core->config().max_clock_skew);
  EXPECT_EQ(core->table().used_count(), 0u);
  EXPECT_EQ(core->stats().tombstones_purged, 1u);
  EXPECT_EQ(core->seq(), 2u);  // purging is not a change
}

TEST_F(DirectoryCoreTest, DuplicateAndReorderedHeartbeatsAreIgnored) {
  send(heartbeat("web", "a", 5));
  auto old = heartbeat("web", "a", 4);
  old.route.port = 9999;  // an older value must not overwrite the newer one
  send(old);
  send(heartbeat("web", "a", 5));
  EXPECT_EQ(core->seq(), 1u);
  EXPECT_EQ(core->stats().heartbeats_stale, 2u);
  EXPECT_EQ(core->table().to_route(core->table().find("web", "a")).port, 8080);
}

TEST_F(DirectoryCoreTest, StaleHeartbeatDoesNotPostponeExpiry) {
  send(heartbeat("web", "a", 5, 7, 1000));
  run_for(2s);
  send(heartbeat("web", "a", 3, 7, 1000));
  run_for(1s);
  EXPECT_EQ(core->route_count(), 0u);
}

TEST_F(DirectoryCoreTest, NewEpochIsAcceptedWithSeqStartingAfresh) {
  subscribed();
  send(heartbeat("web", "a", 100, 7));
  auto restarted = heartbeat("web", "a", 1, 8, 1000, 8081);  // watson restarted: new epoch
  const auto deltas = messages_of<wire::Delta>(send(restarted), &kSherlock);
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].ops[0].kind, wire::OpKind::update);
  EXPECT_EQ(deltas[0].ops[0].route.port, 8081);
  EXPECT_EQ(core->stats().sender_restarts, 1u);
  send(heartbeat("web", "a", 2, 8, 1000, 8081));
  EXPECT_EQ(core->stats().heartbeats_stale, 0u);
}

TEST_F(DirectoryCoreTest, BatchIsSplitIntoTilingDeltas) {
  Replica r = subscribed();
  Actions out;
  for (int i = 0; i < 200; ++i) {
    core->on_datagram(heartbeat("web", "instance-" + std::to_string(i), 1), kWatson, clock.now(),
                      out);
  }
  core->flush(clock.now(), out);
  const auto deltas = messages_of<wire::Delta>(out, &kSherlock);
  ASSERT_GT(deltas.size(), 1u);
  EXPECT_EQ(deltas.front().from_seq, 0u);
  EXPECT_EQ(deltas.back().to_seq, 200u);
  std::size_t ops = 0;
  for (std::size_t k = 0; k < deltas.size(); ++k) {
    if (k > 0) {
      EXPECT_EQ(deltas[k].from_seq, deltas[k - 1].to_seq);
    }
    EXPECT_LE(wire::encode(deltas[k], nullptr).size() + 18, core->config().datagram_budget);
    ops += deltas[k].ops.size();
  }
  EXPECT_EQ(ops, 200u);
  EXPECT_EQ(messages_of<wire::Tick>(out, &kSherlock).size(), 1u);  // one Tick for the burst
  r.apply_all(out, kSherlock);
  EXPECT_EQ(r.routes.size(), 200u);
  EXPECT_EQ(r.digest(), core->table().digest());
}

TEST_F(DirectoryCoreTest, BatchFlushesItselfAtMaxBatchChanges) {
  auto c = base_config();
  c.max_batch_changes = 10;
  make(c);
  subscribed();
  Actions out;
  for (int i = 0; i < 25; ++i) {
    core->on_datagram(heartbeat("web", std::to_string(i), 1), kWatson, clock.now(), out);
  }
  const auto deltas = messages_of<wire::Delta>(out, &kSherlock);
  ASSERT_EQ(deltas.size(), 2u);
  EXPECT_EQ(deltas[1].to_seq, 20u);
}

TEST_F(DirectoryCoreTest, NewSubscriberGetsSnapshotNamingItsSequence) {
  for (int i = 0; i < 5; ++i) send(heartbeat("web", std::to_string(i), 1));
  const Actions out = send(subscribe(1), kSherlock);
  const auto chunks = messages_of<wire::SnapshotChunk>(out, &kSherlock);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].seq, 5u);
  EXPECT_EQ(chunks[0].count, 1u);
  EXPECT_EQ(chunks[0].routes.size(), 5u);
  EXPECT_EQ(chunks[0].flags, 0);
  EXPECT_EQ(core->stats().snapshots_started, 1u);
  // The Tick behind the last chunk lets the subscriber check it.
  const auto ticks = messages_of<wire::Tick>(out, &kSherlock);
  ASSERT_EQ(ticks.size(), 1u);
  EXPECT_EQ(ticks[0].seq, 5u);
  EXPECT_EQ(ticks[0].lease_ms, 15000u);
}

TEST_F(DirectoryCoreTest, EmptyTableSnapshotIsOneEmptyChunk) {
  const auto chunks = messages_of<wire::SnapshotChunk>(send(subscribe(1), kSherlock));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].count, 1u);
  EXPECT_TRUE(chunks[0].routes.empty());
}

TEST_F(DirectoryCoreTest, RenewalAtCurrentSeqGetsTick) {
  subscribed();
  send(heartbeat("web", "a", 1));
  const Actions out = send(subscribe(1, {}, kEpoch, 1), kSherlock);
  EXPECT_TRUE(messages_of<wire::SnapshotChunk>(out).empty());
  EXPECT_TRUE(messages_of<wire::Delta>(out).empty());
  const auto ticks = messages_of<wire::Tick>(out, &kSherlock);
  ASSERT_EQ(ticks.size(), 1u);
  EXPECT_EQ(ticks[0].seq, 1u);
}

TEST_F(DirectoryCoreTest, RenewalBehindGetsMissingDeltas) {
  subscribed();
  for (int i = 0; i < 4; ++i) send(heartbeat("web", std::to_string(i), 1));
  const Actions out = send(subscribe(1, {}, kEpoch, 2), kSherlock);
  const auto deltas = messages_of<wire::Delta>(out, &kSherlock);
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].from_seq, 2u);
  EXPECT_EQ(deltas[0].to_seq, 4u);
  EXPECT_EQ(deltas[0].ops.size(), 2u);
}

TEST_F(DirectoryCoreTest, SubscribeWithOtherEpochGetsSnapshot) {
  subscribed();
  send(heartbeat("web", "a", 1));
  const Actions out = send(subscribe(1, {}, kEpoch + 1, 1), kSherlock);
  EXPECT_EQ(messages_of<wire::SnapshotChunk>(out).size(), 1u);
}

TEST_F(DirectoryCoreTest, NackInsideLogIsAnsweredUpToThePresent) {
  subscribed();
  for (int i = 0; i < 6; ++i) send(heartbeat("web", std::to_string(i), 1));
  const Actions out = send(nack(1, kEpoch, 3, 4), kSherlock);
  const auto deltas = messages_of<wire::Delta>(out, &kSherlock);
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].from_seq, 2u);
  EXPECT_EQ(deltas[0].to_seq, 6u);  // the whole tail, not just 3..4
  EXPECT_EQ(deltas[0].ops.size(), 4u);
  EXPECT_EQ(core->stats().retransmit_deltas_sent, 1u);
  EXPECT_TRUE(messages_of<wire::SnapshotChunk>(out).empty());
}

TEST_F(DirectoryCoreTest, NackOutsideLogGetsSnapshot) {
  auto c = base_config();
  c.log_size = 4;
  make(c);
  subscribed();
  for (int i = 0; i < 10; ++i) send(heartbeat("web", std::to_string(i), 1));
  EXPECT_EQ(core->log().first_seq(), 7u);
  Actions out = send(nack(1, kEpoch, 6, 10), kSherlock);  // 6 fell out of the log
  auto chunks = messages_of<wire::SnapshotChunk>(out, &kSherlock);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].seq, 10u);
  EXPECT_EQ(chunks[0].routes.size(), 10u);
  run_for(100ms);
  out = send(nack(1, kEpoch, 7, 10), kSherlock);  // 7.. is still held
  EXPECT_TRUE(messages_of<wire::SnapshotChunk>(out).empty());
  EXPECT_EQ(messages_of<wire::Delta>(out, &kSherlock).size(), 1u);
}

TEST_F(DirectoryCoreTest, NackForAnotherEpochOrUnknownSubscriberIsRejected) {
  subscribed();
  send(heartbeat("web", "a", 1));
  EXPECT_TRUE(send(nack(1, kEpoch + 1, 1, 1), kSherlock).empty());
  EXPECT_TRUE(send(nack(99, kEpoch, 1, 1), kSherlock).empty());
  EXPECT_EQ(core->stats().rejects[static_cast<int>(Reject::wrong_epoch)], 1u);
  EXPECT_EQ(core->stats().rejects[static_cast<int>(Reject::unknown_subscriber)], 1u);
}

TEST_F(DirectoryCoreTest, NackForTheFutureGetsSnapshot) {
  subscribed();
  send(heartbeat("web", "a", 1));
  const Actions out = send(nack(1, kEpoch, 5, 9), kSherlock);
  EXPECT_EQ(messages_of<wire::SnapshotChunk>(out).size(), 1u);
  EXPECT_EQ(core->stats().rejects[static_cast<int>(Reject::invalid_range)], 1u);
}

TEST_F(DirectoryCoreTest, SameNackWithinMergeWindowIsAnsweredOnce) {
  subscribed();
  for (int i = 0; i < 6; ++i) send(heartbeat("web", std::to_string(i), 1));
  EXPECT_EQ(messages_of<wire::Delta>(send(nack(1, kEpoch, 3, 4), kSherlock)).size(), 1u);
  clock.advance(20ms);
  EXPECT_TRUE(send(nack(1, kEpoch, 3, 4), kSherlock).empty());
  EXPECT_TRUE(send(nack(1, kEpoch, 4, 6), kSherlock).empty());  // inside the answer too
  EXPECT_EQ(core->stats().nacks_merged, 2u);
  clock.advance(40ms);  // 60 ms after the answer: a new one
  EXPECT_EQ(messages_of<wire::Delta>(send(nack(1, kEpoch, 3, 4), kSherlock)).size(), 1u);
}

TEST_F(DirectoryCoreTest, NacksOverTheRateGetRetryLater) {
  subscribed();
  for (int i = 0; i < 3; ++i) send(heartbeat("web", std::to_string(i), 1));
  int answered = 0;
  int told_to_wait = 0;
  for (int i = 0; i < 60; ++i) {
    clock.advance(51ms);  // never merged
    const Actions out = send(nack(1, kEpoch, 1, 3), kSherlock);
    answered += static_cast<int>(!messages_of<wire::Delta>(out).empty());
    const auto retry = messages_of<wire::RetryLater>(out, &kSherlock);
    told_to_wait += static_cast<int>(retry.size());
    for (const auto& r : retry) {
      EXPECT_EQ(r.epoch, kEpoch);
      EXPECT_GE(r.delay_ms, 200u);
    }
  }
  // The subscribe took one token; 60 NACKs over 3.06 s earn about 61 tokens at 20/s with a
  // bucket of 40, so every one is answered: the limit is not hit at this pace.
  EXPECT_EQ(answered, 60);
  // A storm: 100 NACKs in the same instant. Each reaches a change newer than the last answer,
  // so none is merged into it: only the rate limit holds them back.
  answered = 0;
  for (int i = 0; i < 100; ++i) {
    send(heartbeat("web", "storm-" + std::to_string(i), 1));
    const Actions out = send(nack(1, kEpoch, 1, core->seq()), kSherlock);
    answered += static_cast<int>(!messages_of<wire::Delta>(out).empty());
    told_to_wait += static_cast<int>(messages_of<wire::RetryLater>(out).size());
  }
  EXPECT_LE(answered, 41);
  EXPECT_GE(answered, 1);
  EXPECT_EQ(answered + told_to_wait, 100);
  EXPECT_GT(core->stats().nacks_rate_limited, 0u);
}

TEST_F(DirectoryCoreTest, SnapshotsInFlightAreCappedAndTheRestAreToldToRetry) {
  auto c = base_config();
  c.resync_datagrams_per_slice = 1;  // keep snapshots in flight for a while
  c.max_subscribers_per_host = 64;   // 40 subscribers on one test host
  make(c);
  for (int i = 0; i < 2000; ++i) send(heartbeat("web", "instance-" + std::to_string(i), 1));
  std::vector<std::uint32_t> delays;
  for (std::uint64_t id = 1; id <= 40; ++id) {
    const Endpoint at = endpoint(1, static_cast<std::uint16_t>(6000 + id));
    for (const auto& r : messages_of<wire::RetryLater>(send(subscribe(id), at), &at)) {
      delays.push_back(r.delay_ms);
    }
  }
  EXPECT_EQ(core->resyncs_in_flight(), 8u);
  ASSERT_EQ(delays.size(), 32u);
  EXPECT_EQ(delays[0], 200u);  // 200 ms x number waiting, at most 5 s
  EXPECT_EQ(delays[1], 400u);
  EXPECT_EQ(delays.back(), 5000u);
  EXPECT_EQ(core->stats().resyncs_refused, 32u);
  // They share one datagram per slice; once they finish, a waiting subscriber that asks again is
  // served.
  const auto before = core->stats().snapshot_chunks_sent;
  run_for(c.resync_slice);
  EXPECT_EQ(core->stats().snapshot_chunks_sent - before, 1u);
  run_for(2s);
  EXPECT_EQ(core->resyncs_in_flight(), 0u);
  EXPECT_EQ(core->stats().snapshots_completed, 8u);
  const Endpoint ninth = endpoint(1, 6009);
  EXPECT_FALSE(messages_of<wire::SnapshotChunk>(send(subscribe(9), ninth), &ninth).empty());
}

TEST_F(DirectoryCoreTest, LargeNackWhileResyncsAreFullIsToldToRetryWithoutWork) {
  auto c = base_config();
  c.resync_datagrams_per_slice = 1;
  make(c);
  subscribed(100, kSherlock);
  for (int i = 0; i < 2000; ++i) send(heartbeat("web", "instance-" + std::to_string(i), 1));
  for (std::uint64_t id = 1; id <= 8; ++id) {
    send(subscribe(id), endpoint(1, static_cast<std::uint16_t>(6000 + id)));
  }
  ASSERT_EQ(core->resyncs_in_flight(), 8u);
  clock.advance(60ms);
  Actions out = send(nack(100, kEpoch, 1, 2000), kSherlock);
  EXPECT_TRUE(messages_of<wire::Delta>(out).empty());
  EXPECT_EQ(messages_of<wire::RetryLater>(out, &kSherlock).size(), 1u);
  // A short range is still answered at once, in flight or not.
  clock.advance(60ms);
  out = send(nack(100, kEpoch, 1990, 2000), kSherlock);
  EXPECT_EQ(messages_of<wire::Delta>(out, &kSherlock).size(), 1u);
}

TEST_F(DirectoryCoreTest, SnapshotIsPacedInSlices) {
  auto c = base_config();
  c.resync_datagrams_per_slice = 4;
  c.resync_slice = 5ms;
  make(c);
  for (int i = 0; i < 1000; ++i) send(heartbeat("web", "instance-" + std::to_string(i), 1));
  Actions out = send(subscribe(1), kSherlock);
  auto chunks = messages_of<wire::SnapshotChunk>(out);
  ASSERT_EQ(chunks.size(), 4u);
  const std::uint32_t count = chunks[0].count;
  ASSERT_GT(count, 8u);
  EXPECT_EQ(*core->next_deadline(), clock.now() + 5ms);
  Replica r;
  r.apply_all(out, kSherlock);
  int slices = 1;
  while (core->resyncs_in_flight() > 0) {
    clock.advance(5ms);
    out = core->on_timer(clock.now());
    EXPECT_LE(messages_of<wire::SnapshotChunk>(out).size(), 4u);
    r.apply_all(out, kSherlock);
    ++slices;
  }
  EXPECT_EQ(slices, static_cast<int>((count + 3) / 4));
  EXPECT_EQ(r.routes.size(), 1000u);
  EXPECT_EQ(r.applied, 1000u);
}

// Changes while a snapshot is paced out must not leak into it: every chunk shows the table as of
// the snapshot's sequence, and the Deltas after it bring the replica to the present.
TEST_F(DirectoryCoreTest, SnapshotIsConsistentWithConcurrentChanges) {
  auto c = base_config();
  c.resync_datagrams_per_slice = 1;
  c.resync_slice = 20ms;
  make(c);
  for (int i = 0; i < 570; ++i) send(heartbeat("web", "instance-" + std::to_string(i), 1));
  for (int i = 570; i < 600; ++i) {  // these expire 150 ms later, while the snapshot is paced
    send(heartbeat("web", "instance-" + std::to_string(i), 1, 7, 50));
  }
  send(heartbeat("api", "x", 1));
  // What a receiver of a snapshot at seq 601 must hold.
  std::map<std::pair<std::string, std::string>, wire::Route> at_601;
  for (RouteIndex i = 0; i < core->table().slot_limit(); ++i) {
    if (core->table().at(i).live) {
      const auto r = core->table().to_route(i);
      at_601[{r.service, r.instance}] = r;
    }
  }
  Replica replica;
  std::vector<wire::Delta> later;
  auto take = [&](const Actions& out) {
    for (const auto& ch : messages_of<wire::SnapshotChunk>(out, &kSherlock)) {
      EXPECT_EQ(ch.seq, 601u);
      if (replica.apply(ch)) {
        EXPECT_EQ(replica.routes, at_601);
      }
    }
    for (const auto& d : messages_of<wire::Delta>(out, &kSherlock)) later.push_back(d);
  };
  take(send(subscribe(1), kSherlock));
  ASSERT_EQ(core->resyncs_in_flight(), 1u);
  std::uint64_t seq = 2;
  for (int round = 0; core->resyncs_in_flight() > 0; ++round) {
    // Update, remove (goodbye) and add routes all over the table between slices (and some expire).
    auto upd = heartbeat("web", "instance-" + std::to_string((round * 37) % 600), seq++);
    upd.route.weight = static_cast<std::uint16_t>(round % 200);
    take(send(upd));
    take(send(goodbye("web", "instance-" + std::to_string((round * 53 + 7) % 600), 7, seq++)));
    take(send(heartbeat("web", "new-" + std::to_string(round), 1)));
    clock.advance(c.resync_slice);
    take(core->on_timer(clock.now()));
  }
  EXPECT_EQ(core->stats().routes_expired, 30u);
  EXPECT_GT(core->seq(), 601u);
  EXPECT_EQ(replica.applied, 601u);
  // The Deltas sent meanwhile, applied after the snapshot, give the current table.
  for (const auto& d : later) replica.apply(d);
  EXPECT_FALSE(replica.gap);
  EXPECT_EQ(replica.applied, core->seq());
  EXPECT_EQ(replica.digest(), core->table().digest());
  EXPECT_EQ(replica.routes.size(), core->route_count());
}

// ---- versions (docs/PROTOCOL.md, "Delta" and "Snapshot chunk"): what several directories'
// streams are merged by ----

// The directory's own version of every live route (its record's incarnation and seq).
std::map<std::pair<std::string, std::string>, wire::Version> versions_of(
    const DirectoryCore& core) {
  std::map<std::pair<std::string, std::string>, wire::Version> out;
  for (RouteIndex i = 0; i < core.table().slot_limit(); ++i) {
    if (!core.table().at(i).live) continue;
    out[{core.table().service_name(i), core.table().at(i).instance}] = core.table().version(i);
  }
  return out;
}

wire::DeltaOp only_op(const Actions& out, const Endpoint& to) {
  const auto deltas = messages_of<wire::Delta>(out, &to);
  EXPECT_EQ(deltas.size(), 1u);
  if (deltas.size() != 1 || deltas[0].ops.size() != 1) {
    ADD_FAILURE() << "expected one op";
    return {};
  }
  return deltas[0].ops[0];
}

TEST_F(DirectoryCoreTest, OpsCarryTheVersionOfTheDatagramThatCausedThem) {
  subscribed();
  auto op = only_op(send(heartbeat("web", "a", 3, 7)), kSherlock);
  EXPECT_EQ(op.kind, wire::OpKind::add);
  EXPECT_EQ(op.version, (wire::Version{7, 3}));
  send(heartbeat("web", "a", 4, 7));  // a refresh: no op, but the record's version moves on
  EXPECT_EQ(core->table().version(core->table().find("web", "a")), (wire::Version{7, 4}));
  auto changed = heartbeat("web", "a", 5, 7);
  changed.route.weight = 9;
  op = only_op(send(changed), kSherlock);
  EXPECT_EQ(op.kind, wire::OpKind::update);
  EXPECT_EQ(op.version, (wire::Version{7, 5}));
  op = only_op(send(heartbeat("web", "a", 1, 8, 1000, 8081)), kSherlock);  // a new process
  EXPECT_EQ(op.kind, wire::OpKind::update);
  EXPECT_EQ(op.version, (wire::Version{8, 1}));
  send(heartbeat("web", "a", 2, 8, 1000, 8081));
  // A Goodbye's remove carries the Goodbye's own version, not the last heartbeat's.
  op = only_op(send(goodbye("web", "a", 8, 6)), kSherlock);
  EXPECT_EQ(op.kind, wire::OpKind::remove);
  EXPECT_EQ(op.removal, wire::Removal::goodbye);
  EXPECT_EQ(op.version, (wire::Version{8, 6}));
  // The retransmit log holds the same ops: a Nack's answer carries the same versions.
  const auto again =
      messages_of<wire::Delta>(send(nack(1, kEpoch, 1, core->seq()), kSherlock), &kSherlock);
  ASSERT_EQ(again.size(), 1u);
  ASSERT_EQ(again[0].ops.size(), 4u);
  EXPECT_EQ(again[0].ops[0].version, (wire::Version{7, 3}));
  EXPECT_EQ(again[0].ops[3].version, (wire::Version{8, 6}));
  EXPECT_EQ(again[0].ops[3].removal, wire::Removal::goodbye);
}

TEST_F(DirectoryCoreTest, AnExpiryCarriesTheLastHeartbeatsVersion) {
  subscribed();
  send(heartbeat("web", "a", 1, 7, 1000));
  send(heartbeat("web", "a", 2, 7, 1000));  // refresh
  auto op = only_op(run_for(3s), kSherlock);
  EXPECT_EQ(op.kind, wire::OpKind::remove);
  EXPECT_EQ(op.removal, wire::Removal::expired);
  EXPECT_EQ(op.version, (wire::Version{7, 2}));
  EXPECT_EQ(op.route.instance, "a");
}

TEST_F(DirectoryCoreTest, AGoodbyeDuringWarmupIsStillAGoodbye) {
  auto c = base_config();
  c.warmup_max = 30s;
  make(c);
  subscribed();
  send(heartbeat("web", "a", 1, 7));
  const auto op = only_op(send(goodbye("web", "a", 7, 2)), kSherlock);
  EXPECT_EQ(op.removal, wire::Removal::goodbye);
  EXPECT_EQ(op.version, (wire::Version{7, 2}));
}

TEST_F(DirectoryCoreTest, SnapshotRoutesCarryTheirRecordsVersions) {
  for (int i = 0; i < 300; ++i) {
    const auto seq = static_cast<std::uint64_t>(i * 1000 + 1);  // versions of several widths
    send(heartbeat("web", "instance-" + std::to_string(i), seq, 7 + static_cast<std::uint64_t>(i)));
  }
  send(heartbeat("web", "instance-5", 90'000, 12));  // a refresh since the add
  const Replica r = subscribed();
  ASSERT_EQ(r.routes.size(), 300u);
  EXPECT_EQ(r.versions, versions_of(*core));
  EXPECT_EQ(r.versions.at({"web", "instance-5"}), (wire::Version{12, 90'000}));
}

// A snapshot paced out while routes change: each route not sent yet is sent as it was at the
// snapshot's seq with the version it had then (stashed with it), a route that only got newer
// heartbeats with its newer version; the Deltas after it bring every version to the present.
TEST_F(DirectoryCoreTest, SnapshotPacedWhileRoutesChangeKeepsEachRouteWithItsVersion) {
  auto c = base_config();
  c.resync_datagrams_per_slice = 1;
  c.resync_slice = 20ms;
  make(c);
  constexpr int kRoutes = 400;
  std::vector<std::uint64_t> seq(kRoutes, 1);
  const auto name = [](int i) { return "instance-" + std::to_string(i); };
  for (int i = 0; i < kRoutes; ++i) send(heartbeat("web", name(i), seq[i]));
  std::map<std::pair<std::string, std::string>, wire::Route> at_snapshot;
  for (RouteIndex i = 0; i < core->table().slot_limit(); ++i) {
    if (core->table().at(i).live)
      at_snapshot[{"web", core->table().at(i).instance}] = core->table().to_route(i);
  }
  const auto versions_at_snapshot = versions_of(*core);
  const std::uint64_t snapshot_seq = core->seq();

  Replica replica;
  std::vector<wire::Delta> later;
  std::set<std::string> changed, refreshed;  // instances, while the snapshot was paced
  bool checked = false;
  auto take = [&](const Actions& out) {
    for (const auto& ch : messages_of<wire::SnapshotChunk>(out, &kSherlock)) {
      EXPECT_EQ(ch.versions.size(), ch.routes.size());
      if (!replica.apply(ch)) continue;
      checked = true;
      EXPECT_EQ(replica.routes, at_snapshot);
      for (const auto& [key, v] : replica.versions) {
        const auto& instance = key.second;
        if (changed.count(instance)) {
          EXPECT_EQ(v, versions_at_snapshot.at(key)) << instance << ": the stashed version";
        } else {
          // Unchanged: as of the snapshot, or a newer heartbeat of the same route.
          EXPECT_GE(v, versions_at_snapshot.at(key)) << instance;
          if (!refreshed.count(instance)) {
            EXPECT_EQ(v, versions_at_snapshot.at(key)) << instance;
          }
        }
      }
    }
    for (const auto& d : messages_of<wire::Delta>(out, &kSherlock)) later.push_back(d);
  };
  take(send(subscribe(1), kSherlock));
  ASSERT_EQ(core->resyncs_in_flight(), 1u);
  for (int round = 0; core->resyncs_in_flight() > 0; ++round) {
    // From the end of the table (not sent yet): an update, a goodbye, a refresh.
    const int upd = kRoutes - 1 - (round * 3) % kRoutes;
    const int bye = kRoutes - 2 - (round * 3) % kRoutes;
    const int ref = kRoutes - 3 - (round * 3) % kRoutes;
    if (ref < 0) break;
    auto hb = heartbeat("web", name(upd), ++seq[upd]);
    hb.route.weight = 3;
    take(send(hb));
    take(send(goodbye("web", name(bye), 7, ++seq[bye])));
    take(send(heartbeat("web", name(ref), ++seq[ref])));
    changed.insert(name(upd));
    changed.insert(name(bye));
    refreshed.insert(name(ref));
    clock.advance(c.resync_slice);
    take(core->on_timer(clock.now()));
  }
  while (core->resyncs_in_flight() > 0) {
    clock.advance(c.resync_slice);
    take(core->on_timer(clock.now()));
  }
  ASSERT_TRUE(checked);
  EXPECT_GT(changed.size(), 10u);
  EXPECT_EQ(replica.applied, snapshot_seq);
  for (const auto& d : later) replica.apply(d);
  EXPECT_FALSE(replica.gap);
  EXPECT_EQ(replica.applied, core->seq());
  EXPECT_EQ(replica.digest(), core->table().digest());
  // Refreshed routes keep the version they were sent with until a change: only the digest of
  // routes is compared on Ticks, and versions of unchanged routes may lag (a replica's record of
  // the route is still exactly that route).
  for (const auto& [key, v] : versions_of(*core)) {
    if (refreshed.count(key.second)) {
      EXPECT_LE(replica.versions.at(key), v) << key.second;
    } else {
      EXPECT_EQ(replica.versions.at(key), v) << key.second;
    }
  }
}

// Chunks are planned at the snapshot's start from each route's size with its version; a version
// that grows in size while the snapshot is paced out (seq 127 -> 2^40, a tiny incarnation -> a
// real one) must not push a chunk past the datagram budget: the chunk carries the version it was
// planned with.
TEST_F(DirectoryCoreTest, SnapshotChunksStayWithinTheBudgetWhenVersionsGrowWhilePaced) {
  auto c = base_config();
  c.resync_datagrams_per_slice = 1;
  c.resync_slice = 20ms;
  c.datagram_budget = wire::kMinDatagramBudget;
  make(c);
  constexpr int kRoutes = 300;
  const auto name = [](int i) { return "instance-" + std::to_string(i); };
  for (int i = 0; i < kRoutes; ++i) send(heartbeat("web", name(i), 127, 1));  // 1-byte fields
  const auto planned = versions_of(*core);
  wire::Keyring keys;  // the longest key id: what the directory's budget leaves room for
  keys.add(0xffffffffu, wire::Key{}, true);
  std::vector<wire::SnapshotChunk> chunks;
  auto take = [&](const Actions& out) {
    for (auto& ch : messages_of<wire::SnapshotChunk>(out, &kSherlock)) chunks.push_back(ch);
  };
  take(send(subscribe(1), kSherlock));
  ASSERT_EQ(core->resyncs_in_flight(), 1u);
  bool grown = false;
  while (core->resyncs_in_flight() > 0) {
    if (!grown) {  // every route, still unsent ones included: 16 bytes more each
      for (int i = 0; i < kRoutes; ++i) send(heartbeat("web", name(i), 1ull << 40, ~0ull >> 1));
      grown = true;
    }
    clock.advance(c.resync_slice);
    take(core->on_timer(clock.now()));
  }
  ASSERT_GT(chunks.size(), 3u);
  std::size_t routes = 0;
  for (std::size_t k = 0; k < chunks.size(); ++k) {
    const auto& ch = chunks[k];
    EXPECT_LE(wire::encode(ch, &keys).size(), c.datagram_budget) << "chunk " << k;
    if (k + 1 < chunks.size()) {  // full: its successor's first route would not have fit
      wire::SnapshotChunk more = ch;
      more.routes.push_back(chunks[k + 1].routes.front());
      more.versions.push_back(chunks[k + 1].versions.front());
      // 20: what the overhead reserves beyond this chunk's own header (subscriber id 9 bytes,
      // not 1; nonce 9, not 1; index and count 3 each, not 1)
      EXPECT_GT(wire::encode(more, &keys).size() + 20, c.datagram_budget) << "chunk " << k;
    }
    for (std::size_t r = 0; r < ch.routes.size(); ++r, ++routes) {
      const auto key = std::make_pair(ch.routes[r].service, ch.routes[r].instance);
      EXPECT_EQ(ch.versions[r], planned.at(key)) << "chunk " << k << ": planned with it";
    }
  }
  EXPECT_EQ(routes, static_cast<std::size_t>(kRoutes));
}

TEST_F(DirectoryCoreTest, LargeRetransmitIsPacedAndCountsAsInFlight) {
  auto c = base_config();
  c.immediate_retransmit_datagrams = 2;
  c.resync_datagrams_per_slice = 2;
  make(c);
  subscribed();
  for (int i = 0; i < 500; ++i) send(heartbeat("web", "instance-" + std::to_string(i), 1));
  Actions out = send(nack(1, kEpoch, 1, 500), kSherlock);
  EXPECT_EQ(messages_of<wire::Delta>(out).size(), 2u);
  EXPECT_EQ(core->resyncs_in_flight(), 1u);
  Replica r;
  r.epoch = kEpoch;
  r.apply_all(out, kSherlock);
  r.apply_all(run_for(1s), kSherlock);
  EXPECT_EQ(core->resyncs_in_flight(), 0u);
  EXPECT_EQ(r.applied, 500u);
  EXPECT_EQ(r.routes.size(), 500u);
}

TEST_F(DirectoryCoreTest, LeaseExpiresWithoutRenewal) {
  subscribed();
  run_until(clock.now() + 14s);
  EXPECT_EQ(core->subscriber_count(), 1u);
  send(subscribe(1, {}, kEpoch, core->seq()), kSherlock);  // renewal
  run_for(14s);
  EXPECT_EQ(core->subscriber_count(), 1u);
  run_for(2s);  // 16 s since the renewal: dropped at the next tick after the lease ran out
  EXPECT_EQ(core->subscriber_count(), 0u);
  EXPECT_EQ(core->stats().subscribers_expired, 1u);
  // Nothing goes to it any more.
  EXPECT_TRUE(messages_of<wire::Delta>(send(heartbeat("web", "a", 1)), &kSherlock).empty());
}

TEST_F(DirectoryCoreTest, UnsubscribeEndsLeaseAtOnce) {
  subscribed();
  send(unsubscribe(1), kSherlock);
  EXPECT_EQ(core->subscriber_count(), 0u);
}

TEST_F(DirectoryCoreTest, PeriodicTicksCarryLatestSeqAndDigest) {
  subscribed();
  send(heartbeat("web", "a", 1));
  send(heartbeat("web", "b", 1));
  const Actions out = run_for(1s);
  const auto ticks = messages_of<wire::Tick>(out, &kSherlock);
  ASSERT_GE(ticks.size(), 1u);
  EXPECT_EQ(ticks.back().seq, 2u);
  EXPECT_EQ(ticks.back().route_count, 2u);
  std::vector<wire::Route> all;
  for (RouteIndex i = 0; i < core->table().slot_limit(); ++i) {
    if (core->table().at(i).live) all.push_back(core->table().to_route(i));
  }
  EXPECT_EQ(ticks.back().digest, wire::table_digest(all));
}

TEST_F(DirectoryCoreTest, BurstTicksAreCoalesced) {
  auto c = base_config();
  c.burst_tick_gap = 10ms;
  make(c);
  subscribed();
  run_for(20ms);
  EXPECT_EQ(messages_of<wire::Tick>(send(heartbeat("web", "a", 1))).size(), 1u);
  clock.advance(2ms);
  EXPECT_TRUE(messages_of<wire::Tick>(send(heartbeat("web", "b", 1))).empty());
  clock.advance(2ms);
  EXPECT_TRUE(messages_of<wire::Tick>(send(heartbeat("web", "c", 1))).empty());
  EXPECT_EQ(*core->next_deadline(), clock.now() + 6ms);
  const auto ticks = messages_of<wire::Tick>(run_for(6ms), &kSherlock);
  ASSERT_EQ(ticks.size(), 1u);
  EXPECT_EQ(ticks[0].seq, 3u);
}

TEST_F(DirectoryCoreTest, FilteredSubscriberGetsOnlyItsServicesWithoutGaps) {
  Replica web = subscribed(1, kSherlock, {"web"});
  Replica all = subscribed(2, kOther);
  web.epoch = all.epoch = kEpoch;
  Actions out;
  out = send(heartbeat("web", "a", 1));  // seq 1
  web.apply_all(out, kSherlock);
  all.apply_all(out, kOther);
  out = send(heartbeat("api", "x", 1));  // seq 2: nothing for "web"
  EXPECT_TRUE(messages_of<wire::Delta>(out, &kSherlock).empty());
  all.apply_all(out, kOther);
  out = send(heartbeat("db", "y", 1));  // seq 3
  all.apply_all(out, kOther);
  out = send(heartbeat("web", "b", 1));  // seq 4
  const auto deltas = messages_of<wire::Delta>(out, &kSherlock);
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].from_seq, 1u);  // starts where its previous Delta ended
  EXPECT_EQ(deltas[0].to_seq, 4u);
  ASSERT_EQ(deltas[0].ops.size(), 1u);
  EXPECT_EQ(deltas[0].ops[0].route.instance, "b");
  web.apply_all(out, kSherlock);
  all.apply_all(out, kOther);
  EXPECT_FALSE(web.gap);
  EXPECT_EQ(web.routes.size(), 2u);
  EXPECT_EQ(all.routes.size(), 4u);
  // Each gets the digest of its own view.
  const auto web_ticks = messages_of<wire::Tick>(out, &kSherlock);
  ASSERT_EQ(web_ticks.size(), 1u);
  EXPECT_EQ(web_ticks[0].digest, web.digest());
  EXPECT_EQ(web_ticks[0].route_count, 2u);
  const auto all_ticks = messages_of<wire::Tick>(out, &kOther);
  ASSERT_EQ(all_ticks.size(), 1u);
  EXPECT_EQ(all_ticks[0].digest, all.digest());
  // Its snapshot and retransmits are filtered too.
  const auto chunks = messages_of<wire::SnapshotChunk>(send(subscribe(3, {"api"}), kOther));
  ASSERT_EQ(chunks.size(), 1u);
  ASSERT_EQ(chunks[0].routes.size(), 1u);
  EXPECT_EQ(chunks[0].routes[0].service, "api");
  clock.advance(100ms);
  const auto re = messages_of<wire::Delta>(send(nack(1, kEpoch, 1, 4), kSherlock));
  ASSERT_EQ(re.size(), 1u);
  EXPECT_EQ(re[0].from_seq, 0u);
  EXPECT_EQ(re[0].to_seq, 4u);
  EXPECT_EQ(re[0].ops.size(), 2u);
}

TEST_F(DirectoryCoreTest, FilterForServiceWithoutRoutesYetMatchesWhenItAppears) {
  Replica r = subscribed(1, kSherlock, {"later"});
  EXPECT_TRUE(r.routes.empty());
  const auto deltas = messages_of<wire::Delta>(send(heartbeat("later", "a", 1)), &kSherlock);
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].ops[0].route.service, "later");
}

TEST_F(DirectoryCoreTest, MulticastMembersHearTheGroupAndGetUnicastResyncs) {
  auto c = base_config();
  c.multicast = true;
  make(c);
  send(heartbeat("api", "x", 1));
  // A member asks for "web" only, but holds the whole table (it filters locally).
  Actions out = send(subscribe(1, {"web"}, 0, 0, wire::kFlagMulticastMember), kSherlock);
  const auto chunks = messages_of<wire::SnapshotChunk>(out, &kSherlock);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].routes.size(), 1u);
  EXPECT_EQ(core->member_count(), 1u);
  // A non-member is still served by unicast.
  subscribed(2, kOther);
  out = send(heartbeat("web", "a", 1));
  const auto group_deltas = group_messages_of<wire::Delta>(out);
  ASSERT_EQ(group_deltas.size(), 1u);
  EXPECT_TRUE(messages_of<wire::Delta>(out, &kSherlock).empty());
  EXPECT_EQ(messages_of<wire::Delta>(out, &kOther).size(), 1u);
  const auto group_ticks = group_messages_of<wire::Tick>(out);
  ASSERT_EQ(group_ticks.size(), 1u);
  EXPECT_EQ(group_ticks[0].digest, core->table().digest());
  // Periodic Ticks go to the group once.
  EXPECT_EQ(group_messages_of<wire::Tick>(run_for(1s)).size(), 1u);
  // Retransmits to a member are unicast and unfiltered.
  clock.advance(100ms);
  const auto re = messages_of<wire::Delta>(send(nack(1, kEpoch, 1, 2), kSherlock), &kSherlock);
  ASSERT_EQ(re.size(), 1u);
  EXPECT_EQ(re[0].ops.size(), 2u);  // "api" too: members hold the whole table
}

TEST_F(DirectoryCoreTest, WithoutMulticastTheMemberFlagIsServedByUnicast) {
  subscribed();
  send(subscribe(5, {}, 0, 0, wire::kFlagMulticastMember), kOther);
  const Actions out = send(heartbeat("web", "a", 1));
  EXPECT_TRUE(group_messages_of<wire::Delta>(out).empty());
  EXPECT_EQ(messages_of<wire::Delta>(out, &kOther).size(), 1u);
}

TEST_F(DirectoryCoreTest, UnexpectedMessagesAreCounted) {
  send(wire::Tick{}, kSherlock);
  send(wire::Delta{}, kSherlock);
  EXPECT_EQ(core->stats().rejects[static_cast<int>(Reject::unexpected_message)], 2u);
}

TEST_F(DirectoryCoreTest, TableLimitRejectsNewRoutes) {
  auto c = base_config();
  c.max_routes = 2;
  make(c);
  for (int i = 0; i < 3; ++i) send(heartbeat("web", std::to_string(i), 1));
  EXPECT_EQ(core->route_count(), 2u);
  EXPECT_EQ(core->stats().rejects[static_cast<int>(Reject::table_full)], 1u);
}

// ---- warm-up ----

class WarmupTest : public DirectoryCoreTest {
 protected:
  void SetUp() override {
    auto c = base_config();
    c.warmup_max = 30s;
    make(c);
  }
};

TEST_F(WarmupTest, LastsMissLimitTimesLongestIntervalWithinBound) {
  const TimePoint start = clock.now();
  EXPECT_TRUE(core->warming_up());
  EXPECT_EQ(core->warmup_end(), start + 3s);  // at least miss_limit x 1 s
  send(heartbeat("web", "a", 1, 7, 2000));
  EXPECT_EQ(core->warmup_end(), start + 6s);
  send(heartbeat("web", "b", 1, 7, 60000));
  EXPECT_EQ(core->warmup_end(), start + 30s);  // bounded by warmup_max
}

TEST_F(WarmupTest, DefersExpiryAndFlagsEverythingUntilItEnds) {
  const TimePoint start = clock.now();
  Replica r = subscribed();
  EXPECT_TRUE(r.chunks.empty());
  send(heartbeat("web", "slow", 1, 7, 2000));  // warm-up now lasts 6 s
  const Actions out = send(heartbeat("web", "a", 1, 7, 500));
  const auto deltas = messages_of<wire::Delta>(out, &kSherlock);
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].flags, wire::kFlagWarmup);
  const auto ticks = messages_of<wire::Tick>(out, &kSherlock);
  ASSERT_EQ(ticks.size(), 1u);
  EXPECT_EQ(ticks[0].flags, wire::kFlagWarmup);
  // Snapshots during warm-up are marked so receivers merge them.
  const auto chunks = messages_of<wire::SnapshotChunk>(send(subscribe(2), kOther));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].flags, wire::kFlagWarmup);
  // "a" (1.5 s expiry) stays for the whole warm-up: silence proves nothing yet.
  Actions during = run_until(start + 6s - 1ms);
  EXPECT_EQ(core->route_count(), 2u);
  for (const auto& d : messages_of<wire::Delta>(during)) {
    for (const auto& op : d.ops) EXPECT_NE(op.kind, wire::OpKind::remove);
  }
  EXPECT_TRUE(core->warming_up());
  // At the end the deferred expiries happen, without the flag, and a flagless Tick follows.
  Actions end = run_until(start + 6s);
  EXPECT_FALSE(core->warming_up());
  EXPECT_EQ(core->route_count(), 1u);  // "slow" is not due yet
  const auto removes = messages_of<wire::Delta>(end, &kSherlock);
  ASSERT_EQ(removes.size(), 1u);
  EXPECT_EQ(removes[0].flags, 0);
  ASSERT_EQ(removes[0].ops.size(), 1u);
  EXPECT_EQ(removes[0].ops[0].kind, wire::OpKind::remove);
  EXPECT_EQ(removes[0].ops[0].route.instance, "a");
  const auto end_ticks = messages_of<wire::Tick>(end, &kSherlock);
  ASSERT_FALSE(end_ticks.empty());
  EXPECT_EQ(end_ticks.back().flags, 0);
  EXPECT_EQ(end_ticks.back().seq, core->seq());
}

TEST_F(WarmupTest, GoodbyeStillRemovesDuringWarmup) {
  subscribed();
  send(heartbeat("web", "a", 1));
  const auto deltas = messages_of<wire::Delta>(send(goodbye("web", "a", 7, 2)), &kSherlock);
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].ops[0].kind, wire::OpKind::remove);
  EXPECT_EQ(deltas[0].flags, wire::kFlagWarmup);
}

TEST(DirectoryWarmup, ZeroWarmupMaxDisablesIt) {
  DirectoryConfig c;
  c.warmup_max = 0s;
  DirectoryCore core(c, 1, TimePoint{} + 1h);
  core.on_timer(TimePoint{} + 1h);
  EXPECT_FALSE(core.warming_up());
}

// ---- scale ----

// Expiry costs O(log n) per event: refreshes never touch the heap, a wake-up does bounded work,
// and 1,000,000 routes are refreshed and then expired without any call doing a table scan.
TEST(DirectoryScale, MillionRoutesRefreshAndExpireWithBoundedWorkPerEvent) {
  DirectoryConfig c;
  c.warmup_max = 0s;
  c.miss_limit = 3;
  ManualTimeSource clock;
  DirectoryCore core(c, 1, clock.now());
  constexpr int kRoutes = 1'000'000;
  Actions out;
  auto hb = heartbeat("web", "", 1, 7, 10000);
  for (int i = 0; i < kRoutes; ++i) {
    hb.route.instance = "i" + std::to_string(i);
    out.clear();
    core.on_datagram(hb, kWatson, clock.now(), out);
    if (i % 1024 == 0) core.flush(clock.now(), out);
  }
  core.flush(clock.now(), out);
  ASSERT_EQ(core.route_count(), static_cast<std::size_t>(kRoutes));
  const std::uint64_t ops_after_add = core.expiry().operations();
  EXPECT_EQ(ops_after_add, static_cast<std::uint64_t>(kRoutes));  // one push per route

  // Refresh all of them 20 s later: no heap operation at all.
  clock.advance(20s);
  hb.seq = 2;
  for (int i = 0; i < kRoutes; ++i) {
    hb.route.instance = "i" + std::to_string(i);
    out.clear();
    core.on_datagram(hb, kWatson, clock.now(), out);
  }
  EXPECT_EQ(core.expiry().operations(), ops_after_add);

  // When the old deadlines surface, each call does at most max_expiry_work_per_call pops and
  // nothing expires yet (they were refreshed): each entry is re-queued once.
  clock.advance(11s);
  int calls = 0;
  while (*core.next_deadline() <= clock.now()) {
    const std::uint64_t before = core.expiry().operations();
    out.clear();
    core.on_timer(clock.now(), out);
    EXPECT_LE(core.expiry().operations() - before, 2 * c.max_expiry_work_per_call);
    ++calls;
  }
  EXPECT_EQ(core.route_count(), static_cast<std::size_t>(kRoutes));
  EXPECT_GE(calls, kRoutes / static_cast<int>(c.max_expiry_work_per_call));
  EXPECT_EQ(core.expiry().size(), static_cast<std::size_t>(kRoutes));

  // Then all expire (30 s after the refresh), again in bounded slices.
  clock.advance(20s);
  std::size_t removes = 0;
  while (*core.next_deadline() <= clock.now()) {
    out.clear();
    core.on_timer(clock.now(), out);
    EXPECT_LE(out.size(), 2 * c.max_expiry_work_per_call);
  }
  removes = core.stats().routes_expired;
  EXPECT_EQ(removes, static_cast<std::size_t>(kRoutes));
  EXPECT_EQ(core.route_count(), 0u);
  // Each expired route leaves a tombstone; past max_tombstones the oldest are evicted.
  EXPECT_EQ(core.tombstone_count(), c.max_tombstones);
  EXPECT_EQ(core.stats().tombstones_evicted,
            static_cast<std::uint64_t>(kRoutes) - c.max_tombstones);
  // The tombstones go after their lifetime, in bounded slices too.
  clock.advance(core.tombstone_lifetime(hb.interval_ms));
  while (*core.next_deadline() <= clock.now()) {
    const std::uint64_t before = core.expiry().operations();
    out.clear();
    core.on_timer(clock.now(), out);
    EXPECT_LE(core.expiry().operations() - before, 2 * c.max_expiry_work_per_call);
  }
  EXPECT_EQ(core.table().used_count(), 0u);
  EXPECT_TRUE(core.expiry().empty());
}

}  // namespace
}  // namespace baker::directory::testing
