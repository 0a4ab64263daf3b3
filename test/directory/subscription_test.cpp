// The directory's subscription rules (docs/PROTOCOL.md, "Subscriptions, leases, NACKs,
// snapshots") in simulated time: nonces, address validation, proven addresses, caps. Each test
// says what a replay, a flood or a stranger's datagram does.
#include <gtest/gtest.h>

#include <memory>

#include "directory/directory_core.hpp"
#include "directory_test_support.hpp"
#include "wire/codec.hpp"

namespace baker::directory::testing {
namespace {

constexpr std::uint64_t kEpoch = 0xd1d1;
const Endpoint kSherlock = endpoint(1, 5001);
const Endpoint kStranger = endpoint(66, 6666);

std::size_t bytes_to(const Actions& actions, const Endpoint& to) {
  std::size_t n = 0;
  for (const auto& a : actions) {
    for (const auto& e : a.to) {
      if (e == to) n += wire::encode(a.message).size();
    }
  }
  return n;
}

std::size_t count_reject(const DirectoryCore& core, Reject r) {
  return core.stats().rejects[static_cast<int>(r)];
}

class SubscriptionTest : public ::testing::Test {
 protected:
  void make(DirectoryConfig c) {
    c.warmup_max = 0s;
    c.burst_tick_gap = 0ms;
    core = std::make_unique<DirectoryCore>(c, kEpoch, clock.now(), CookieSecret{7});
  }
  void SetUp() override {
    make(DirectoryConfig{});
    for (int i = 0; i < 50; ++i) send(heartbeat("web", "i-" + std::to_string(i), 1), kWatson);
  }
  Actions send(const wire::Message& m, const Endpoint& from) {
    Actions out = core->on_datagram(m, from, clock.now());
    core->flush(clock.now(), out);
    return out;
  }
  // Subscribe, take the Challenge, Subscribe with its cookie: a proven subscription.
  wire::Cookie prove(std::uint64_t id, const Endpoint& at, std::vector<std::string> services = {}) {
    const auto first = send(subscribe(id, services), at);
    const auto c = messages_of<wire::Challenge>(first, &at);
    EXPECT_EQ(c.size(), 1u);
    if (c.empty()) return {};
    auto s = subscribe(id, std::move(services));
    s.cookie = c[0].cookie;
    const auto out = send(s, at);
    EXPECT_NE(core->subscriber(id), nullptr);
    clock.advance(50ms);
    core->on_timer(clock.now());  // the snapshot's pacing
    return c[0].cookie;
  }

  ManualTimeSource clock;
  std::unique_ptr<DirectoryCore> core;
};

TEST_F(SubscriptionTest, UnprovenSubscribeGetsOnlyAChallengeNoStateAtMostThreeTimesItsBytes) {
  // A stranger (or a spoofed source) subscribing: no snapshot, no table entry, a small answer.
  const auto s = subscribe(1);
  const Actions out = send(s, kStranger);
  ASSERT_EQ(out.size(), 1u);
  const auto c = messages_of<wire::Challenge>(out, &kStranger);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].subscriber_id, 1u);
  EXPECT_EQ(c[0].nonce, s.nonce);
  EXPECT_LE(bytes_to(out, kStranger), 3 * wire::encode(s).size());
  EXPECT_EQ(core->subscriber_count(), 0u);
  EXPECT_EQ(core->resyncs_in_flight(), 0u);
  EXPECT_EQ(core->stats().challenges_sent, 1u);
}

TEST_F(SubscriptionTest, ChallengeLargerThanThreeTimesTheSubscribeIsNotSent) {
  Actions out;
  core->on_datagram(subscribe(1), kStranger, 8, clock.now(), out);  // "8 bytes received"
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(count_reject(*core, Reject::challenge_too_large), 1u);
  // The MAC trailer the shell adds counts too.
  core->set_auth_overhead(1000);
  out.clear();
  const auto s = subscribe(2);
  core->on_datagram(s, kStranger, wire::encode(s).size(), clock.now(), out);
  EXPECT_TRUE(out.empty());
}

TEST_F(SubscriptionTest, FloodOfUnprovenSubscribesGetsChallengesOnlyAndShutsNobodyOut) {
  auto c = DirectoryConfig{};
  c.max_subscribers = 2;
  make(c);
  std::size_t in = 0;
  std::size_t out_bytes = 0;
  for (std::uint64_t id = 1000; id < 2000; ++id) {
    const auto s = subscribe(id);
    in += wire::encode(s).size();
    out_bytes += bytes_to(send(s, endpoint(static_cast<std::uint8_t>(id % 200), 7000)),
                          endpoint(static_cast<std::uint8_t>(id % 200), 7000));
  }
  EXPECT_EQ(core->subscriber_count(), 0u);
  EXPECT_LE(out_bytes, 3 * in);
  prove(1, kSherlock);
  EXPECT_NE(core->subscriber(1), nullptr) << "forged subscribers take no slot";
}

TEST_F(SubscriptionTest, CookieMadeForAnotherAddressIsRefused) {
  const auto first = send(subscribe(1), kStranger);
  const auto c = messages_of<wire::Challenge>(first, &kStranger);
  ASSERT_EQ(c.size(), 1u);
  auto s = subscribe(1);
  s.cookie = c[0].cookie;
  const Actions out = send(s, kSherlock);  // a cookie earned at one address, used at another
  EXPECT_EQ(core->subscriber(1), nullptr);
  EXPECT_EQ(count_reject(*core, Reject::bad_cookie), 1u);
  EXPECT_EQ(messages_of<wire::Challenge>(out, &kSherlock).size(), 1u);
  EXPECT_TRUE(messages_of<wire::SnapshotChunk>(out).empty());
}

TEST_F(SubscriptionTest, ExpiredCookieEarnsANewChallenge) {
  const auto first = send(subscribe(1), kSherlock);
  const auto c = messages_of<wire::Challenge>(first, &kSherlock);
  ASSERT_EQ(c.size(), 1u);
  clock.advance(11min);
  auto s = subscribe(1);
  s.cookie = c[0].cookie;
  const Actions out = send(s, kSherlock);
  EXPECT_EQ(core->subscriber(1), nullptr);
  EXPECT_EQ(messages_of<wire::Challenge>(out, &kSherlock).size(), 1u);
}

TEST_F(SubscriptionTest, ProvenSubscribeGetsTheSnapshotEchoingItsNonce) {
  const auto first = send(subscribe(1), kSherlock);
  const auto c = messages_of<wire::Challenge>(first, &kSherlock);
  ASSERT_EQ(c.size(), 1u);
  auto s = subscribe(1);
  s.cookie = c[0].cookie;
  Actions out = send(s, kSherlock);
  clock.advance(50ms);
  for (auto& a : core->on_timer(clock.now())) out.push_back(std::move(a));
  const auto chunks = messages_of<wire::SnapshotChunk>(out, &kSherlock);
  ASSERT_FALSE(chunks.empty());
  for (const auto& ch : chunks) {
    EXPECT_EQ(ch.subscriber_id, 1u);
    EXPECT_EQ(ch.nonce, s.nonce);
  }
  const auto ticks = messages_of<wire::Tick>(out, &kSherlock);
  ASSERT_FALSE(ticks.empty());
  EXPECT_EQ(ticks.back().nonce, s.nonce) << "the Tick closing the snapshot answers it too";
  EXPECT_EQ(core->subscriber(1)->endpoint, kSherlock);
}

TEST_F(SubscriptionTest, ReplayedSubscribeNackAndUnsubscribeAreIgnored) {
  prove(1, kSherlock);
  const auto renewal = subscribe(1, {}, kEpoch, core->seq());
  const auto answer = messages_of<wire::Tick>(send(renewal, kSherlock), &kSherlock);
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].nonce, renewal.nonce);
  // The same datagrams again (captured and replayed, from the proven address or any other).
  EXPECT_TRUE(send(renewal, kSherlock).empty());
  EXPECT_TRUE(send(renewal, kStranger).empty());
  EXPECT_EQ(count_reject(*core, Reject::replayed_request), 2u);
  const auto n = nack(1, kEpoch, 1, 2);
  EXPECT_FALSE(send(n, kSherlock).empty());
  clock.advance(100ms);
  EXPECT_TRUE(send(n, kSherlock).empty());
  const auto u = unsubscribe(1);
  send(u, kSherlock);
  EXPECT_EQ(core->subscriber(1), nullptr);
  prove(1, kSherlock);  // subscribes again (new nonces)
  send(u, kSherlock);   // the old Unsubscribe replayed
  EXPECT_NE(core->subscriber(1), nullptr);
  EXPECT_EQ(count_reject(*core, Reject::replayed_request), 4u);
}

TEST_F(SubscriptionTest, ReplayedSubscribeCannotBringBackAnEndedSubscription) {
  // The captured Subscribe carries a cookie still valid at that address for 10 min: the nonce of
  // the ended subscription is remembered that long.
  const auto first = send(subscribe(1), kSherlock);
  const auto c = messages_of<wire::Challenge>(first, &kSherlock);
  ASSERT_EQ(c.size(), 1u);
  auto captured = subscribe(1);
  captured.cookie = c[0].cookie;
  send(captured, kSherlock);
  ASSERT_NE(core->subscriber(1), nullptr);
  send(unsubscribe(1), kSherlock);
  ASSERT_EQ(core->subscriber(1), nullptr);
  EXPECT_TRUE(send(captured, kSherlock).empty());
  EXPECT_EQ(core->subscriber(1), nullptr);
  // Nor after its lease ran out.
  auto again = subscribe(1);
  again.cookie = c[0].cookie;
  send(again, kSherlock);
  ASSERT_NE(core->subscriber(1), nullptr);
  clock.advance(20s);
  core->on_timer(clock.now());
  ASSERT_EQ(core->subscriber(1), nullptr);
  EXPECT_TRUE(send(again, kSherlock).empty());
  EXPECT_EQ(core->subscriber(1), nullptr);
  EXPECT_EQ(count_reject(*core, Reject::replayed_request), 2u);
  // The sherlock itself, with its next nonce, is welcome back.
  auto next = subscribe(1);
  next.cookie = c[0].cookie;
  send(next, kSherlock);
  EXPECT_NE(core->subscriber(1), nullptr);
}

TEST_F(SubscriptionTest, NackAndUnsubscribeFromAnotherAddressAreIgnored) {
  prove(1, kSherlock);
  // A stranger asking for a retransmit to be sent... to the subscriber: nothing is sent at all.
  EXPECT_TRUE(send(nack(1, kEpoch, 1, 50), kStranger).empty());
  send(unsubscribe(1), kStranger);
  EXPECT_NE(core->subscriber(1), nullptr);
  EXPECT_EQ(count_reject(*core, Reject::foreign_address), 2u);
}

TEST_F(SubscriptionTest, SubscribeFromANewAddressMovesTheSubscriptionOnlyWithItsCookie) {
  prove(1, kSherlock);
  // A fresh nonce from elsewhere without a cookie (a forger): a Challenge there, nothing moves.
  Actions out = send(subscribe(1), kStranger);
  EXPECT_EQ(messages_of<wire::Challenge>(out, &kStranger).size(), 1u);
  EXPECT_EQ(core->subscriber(1)->endpoint, kSherlock);
  send(heartbeat("web", "new", 1), kWatson);
  EXPECT_FALSE(
      messages_of<wire::Delta>(send(heartbeat("web", "new2", 1), kWatson), &kSherlock).empty())
      << "the live stream still goes to the proven address";
  // The sherlock itself moved (new port), with a cookie for it: the subscription follows.
  const Endpoint moved = endpoint(1, 5002);
  prove(1, moved);
  EXPECT_EQ(core->subscriber(1)->endpoint, moved);
  EXPECT_EQ(core->stats().subscribers_moved, 1u);
  EXPECT_EQ(core->proven_on_host(moved.address), 1u);
}

TEST_F(SubscriptionTest, OneAddressHoldsOneSubscription) {
  prove(1, kSherlock);
  prove(2, kSherlock);  // a restarted sherlock on the same port, with a new id
  EXPECT_EQ(core->subscriber(1), nullptr);
  EXPECT_NE(core->subscriber(2), nullptr);
  EXPECT_EQ(core->subscriber_count(), 1u);
  EXPECT_EQ(core->stats().subscribers_replaced, 1u);
}

TEST_F(SubscriptionTest, PerHostCapCountsProvenSubscriptionsOnly) {
  auto c = DirectoryConfig{};
  c.max_subscribers_per_host = 2;
  make(c);
  prove(1, endpoint(1, 5001));
  prove(2, endpoint(1, 5002));
  const auto first = send(subscribe(3), endpoint(1, 5003));
  const auto ch = messages_of<wire::Challenge>(first);
  ASSERT_EQ(ch.size(), 1u) << "a Challenge is stateless: the cap does not apply to it";
  auto s = subscribe(3);
  s.cookie = ch[0].cookie;
  const Endpoint third = endpoint(1, 5003);
  const auto out = send(s, third);
  EXPECT_EQ(core->subscriber(3), nullptr);
  EXPECT_EQ(messages_of<wire::RetryLater>(out, &third).size(), 1u);
  EXPECT_EQ(count_reject(*core, Reject::host_limit), 1u);
  prove(4, endpoint(2, 5001));  // another host is not affected
  EXPECT_NE(core->subscriber(4), nullptr);
  // A subscriber leaving frees its slot.
  send(unsubscribe(1), endpoint(1, 5001));
  prove(3, third);
  EXPECT_NE(core->subscriber(3), nullptr);
}

TEST_F(SubscriptionTest, LeaseExpiryFreesTheAddressAndTheHostSlot) {
  prove(1, kSherlock);
  EXPECT_EQ(core->proven_on_host(kSherlock.address), 1u);
  clock.advance(20s);
  core->on_timer(clock.now());
  EXPECT_EQ(core->subscriber(1), nullptr);
  EXPECT_EQ(core->proven_on_host(kSherlock.address), 0u);
}

TEST_F(SubscriptionTest, RetransmitAnswersEchoTheNackNonce) {
  prove(1, kSherlock);
  const auto n = nack(1, kEpoch, 10, 20);
  const auto out = send(n, kSherlock);
  const auto deltas = messages_of<wire::Delta>(out, &kSherlock);
  ASSERT_FALSE(deltas.empty());
  for (const auto& d : deltas) EXPECT_EQ(d.nonce, n.nonce);
  const auto ticks = messages_of<wire::Tick>(out, &kSherlock);
  ASSERT_EQ(ticks.size(), 1u);
  EXPECT_EQ(ticks[0].nonce, n.nonce);
  EXPECT_EQ(ticks[0].subscriber_id, 1u);
}

}  // namespace
}  // namespace baker::directory::testing
