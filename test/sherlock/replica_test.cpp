// The subscriber core in simulated time against a scripted directory (scripted_directory.hpp).
#include "sherlock/replica.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <random>

#include "scripted_directory.hpp"
#include "wire/codec.hpp"

namespace baker::sherlock {
namespace {

using namespace std::chrono_literals;
using testing::make_route;
using testing::ScriptedDirectory;
using Outgoing = Replica::Outgoing;

template <typename T>
std::vector<T> only(const Outgoing& out) {
  std::vector<T> v;
  for (const auto& m : out) {
    if (const auto* x = std::get_if<T>(&m)) v.push_back(*x);
  }
  return v;
}

void expect_nack(const wire::Nack& n, std::uint64_t epoch, std::uint64_t first,
                 std::uint64_t last) {
  EXPECT_EQ(n.subscriber_id, 42u);
  EXPECT_NE(n.nonce, 0u);
  EXPECT_EQ(n.epoch, epoch);
  EXPECT_EQ(n.first_missing, first);
  EXPECT_EQ(n.last_missing, last);
}

// The RetryLater a directory sends to the replica's latest request.
wire::RetryLater retry_later(const Replica& r, std::uint32_t delay_ms) {
  wire::RetryLater rl;
  rl.epoch = 0xE1;
  rl.subscriber_id = 42;
  rl.nonce = r.last_nonce();
  rl.delay_ms = delay_ms;
  return rl;
}

// Everything crosses the real codec, so the tests also prove the messages are valid on the wire.
wire::Message roundtrip(const wire::Message& m) {
  auto decoded = wire::decode(wire::encode(m));
  EXPECT_TRUE(decoded.ok()) << "invalid datagram: " << wire::to_string(decoded.error());
  return decoded.ok() ? decoded.value().message : m;
}

class ReplicaTest : public ::testing::Test {
 protected:
  static ReplicaConfig config(std::vector<std::string> services = {}) {
    ReplicaConfig c;
    c.subscriber_id = 42;
    c.random_seed = 7;
    c.services = std::move(services);
    return c;
  }

  Outgoing feed(Replica& r, const wire::Message& m) { return r.on_message(roundtrip(m), now); }
  Outgoing feed_all(Replica& r, const std::vector<wire::Message>& ms) {
    Outgoing out;
    for (const auto& m : ms) {
      auto o = feed(r, m);
      out.insert(out.end(), o.begin(), o.end());
    }
    return out;
  }
  template <typename C>
  std::vector<wire::Message> as_messages(const C& c) {
    return std::vector<wire::Message>(c.begin(), c.end());
  }

  // Runs the replica's timers for d of simulated time; every message sent is recorded with its
  // time and, if given, handed to `answer` (whose reply is fed back at once).
  struct Sent {
    TimePoint at;
    wire::Message message;
  };
  std::vector<Sent> run(
      Replica& r, Duration d,
      const std::function<std::vector<wire::Message>(const wire::Message&)>& answer = nullptr) {
    std::vector<Sent> sent;
    const TimePoint end = now + d;
    while (true) {
      const auto next = r.next_deadline();
      if (!next || *next > end) break;
      now = std::max(now, *next);
      for (const auto& m : r.on_timer(now)) {
        sent.push_back({now, m});
        if (answer) feed_all(r, answer(roundtrip(m)));
      }
    }
    now = end;
    return sent;
  }
  template <typename T>
  static std::vector<Sent> of_type(const std::vector<Sent>& sent) {
    std::vector<Sent> v;
    for (const auto& s : sent) {
      if (std::holds_alternative<T>(s.message)) v.push_back(s);
    }
    return v;
  }

  // Starts r and lets it take dir's snapshot.
  void bootstrap(Replica& r, ScriptedDirectory& dir) {
    const auto out = r.start(now);
    ASSERT_EQ(out.size(), 1u);
    feed_all(r, dir.answer(roundtrip(out[0])));
    ASSERT_TRUE(r.synced());
    ASSERT_EQ(r.digest(), dir.digest());
  }

  TimePoint now = TimePoint{} + 1h;
};

TEST_F(ReplicaTest, SubscribesOnStartAskingForASnapshot) {
  Replica r(config({"greeting"}));
  const auto subs = only<wire::Subscribe>(r.start(now));
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].subscriber_id, 42u);
  EXPECT_EQ(subs[0].services, std::vector<std::string>{"greeting"});
  EXPECT_EQ(subs[0].last_epoch, 0u);
  EXPECT_EQ(subs[0].last_seq, 0u);
  EXPECT_EQ(subs[0].flags, 0);
  EXPECT_FALSE(r.synced());
}

TEST_F(ReplicaTest, AppliesSnapshotThenDeltasInOrder) {
  ScriptedDirectory dir(0xE1);
  dir.set(make_route("api", "a", 1));
  dir.set(make_route("api", "b", 2));
  Replica r(config());
  bootstrap(r, dir);
  EXPECT_EQ(r.table().size(), 2u);

  dir.set(make_route("api", "c", 3));
  dir.set(make_route("api", "a", 1, 50));
  dir.remove("api", "b");
  dir.set(make_route("web", "w", 4));
  EXPECT_TRUE(only<wire::Nack>(feed_all(r, dir.publish())).empty());
  EXPECT_EQ(r.applied(), dir.seq());
  EXPECT_EQ(r.digest(), dir.digest());
  EXPECT_EQ(r.table().all_routes(), dir.view());
  EXPECT_EQ(r.table().find("api", "a")->weight, 50);
  EXPECT_EQ(r.table().find("api", "b"), nullptr);
  EXPECT_TRUE(of_type<wire::Nack>(run(r, 10s, [&](auto& m) { return dir.answer(m); })).empty());
  EXPECT_TRUE(r.synced());
}

TEST_F(ReplicaTest, ReportsChangedServicesOncePerBatch) {
  ScriptedDirectory dir(0xE1);
  Replica r(config());
  bootstrap(r, dir);
  EXPECT_TRUE(r.take_changes().empty());
  dir.set(make_route("api", "a", 1));
  dir.set(make_route("api", "b", 2));
  dir.set(make_route("web", "w", 3));
  feed_all(r, dir.publish());
  EXPECT_EQ(r.take_changes(), (std::vector<std::string>{"api", "web"}));
  EXPECT_EQ(r.table().view().at("api").size(), 2u);
  EXPECT_TRUE(r.take_changes().empty());
  dir.remove("web", "w");
  feed_all(r, dir.publish());
  EXPECT_EQ(r.take_changes(), std::vector<std::string>{"web"});
  EXPECT_EQ(r.table().view().count("web"), 0u);
}

TEST_F(ReplicaTest, IgnoresDuplicateAndOldDeltas) {
  ScriptedDirectory dir(0xE1);
  Replica r(config());
  bootstrap(r, dir);
  dir.set(make_route("api", "a", 1));
  const auto first = dir.publish();
  dir.set(make_route("api", "a", 1, 7));
  const auto second = dir.publish();
  feed_all(r, first);
  feed_all(r, second);
  feed_all(r, first);  // late duplicate: must not roll "a" back
  EXPECT_EQ(r.table().find("api", "a")->weight, 7);
  EXPECT_EQ(r.stats().deltas_duplicate, 1u);
  EXPECT_TRUE(r.synced());
}

TEST_F(ReplicaTest, GapIsNackedAfterASmallRandomDelayThenFilled) {
  ScriptedDirectory dir(0xE1);
  Replica r(config());
  bootstrap(r, dir);
  dir.set(make_route("api", "a", 1));
  const auto d1 = dir.publish();
  dir.set(make_route("api", "b", 2));
  const auto d2 = dir.publish();  // lost
  dir.set(make_route("api", "c", 3));
  const auto d3 = dir.publish();
  feed(r, d1[0]);
  EXPECT_TRUE(feed(r, d3[0]).empty()) << "no NACK at once: many subscribers would NACK in step";
  EXPECT_EQ(r.applied(), 1u);
  EXPECT_EQ(r.held_deltas(), 1u);
  EXPECT_FALSE(r.synced());
  ASSERT_TRUE(r.next_deadline());
  EXPECT_GE(*r.next_deadline(), now + 2ms);
  EXPECT_LE(*r.next_deadline(), now + 40ms);

  const auto sent = run(r, 50ms);
  const auto nacks = of_type<wire::Nack>(sent);
  ASSERT_EQ(nacks.size(), 1u);
  const auto& nack = std::get<wire::Nack>(nacks[0].message);
  expect_nack(nack, 0xE1, 2, 2);
  EXPECT_EQ(r.stats().gaps, 1u);

  feed_all(r, dir.answer(nack));
  EXPECT_EQ(r.applied(), 3u);
  EXPECT_EQ(r.held_deltas(), 0u);
  EXPECT_EQ(r.digest(), dir.digest());
  EXPECT_TRUE(r.synced());
  EXPECT_TRUE(of_type<wire::Nack>(run(r, 10s)).empty());
}

TEST_F(ReplicaTest, TwoGapsAreFilledOneAfterTheOther) {
  ScriptedDirectory dir(0xE1);
  Replica r(config());
  bootstrap(r, dir);
  std::vector<std::vector<wire::Message>> pushes;
  for (int i = 1; i <= 5; ++i) {
    dir.set(make_route("api", "i-" + std::to_string(i), i));
    pushes.push_back(dir.publish());
  }
  feed(r, pushes[0][0]);  // (0,1]
  feed(r, pushes[2][0]);  // (2,3]   gap at 2
  feed(r, pushes[4][0]);  // (4,5]   gap at 4
  EXPECT_EQ(r.held_deltas(), 2u);
  feed(r, pushes[1][0]);  // fills 2: applies up to 3, (4,5] still waits
  EXPECT_EQ(r.applied(), 3u);
  EXPECT_EQ(r.held_deltas(), 1u);
  EXPECT_EQ(r.table().find("api", "i-5"), nullptr);
  const auto nacks = of_type<wire::Nack>(run(r, 100ms));
  ASSERT_EQ(nacks.size(), 1u);
  expect_nack(std::get<wire::Nack>(nacks[0].message), 0xE1, 4, 4);
  feed(r, pushes[3][0]);
  EXPECT_EQ(r.applied(), 5u);
  EXPECT_EQ(r.digest(), dir.digest());
  EXPECT_TRUE(r.synced());
}

TEST_F(ReplicaTest, NackBacksOffWhileTheGapStaysOpen) {
  ScriptedDirectory dir(0xE1);
  Replica r(config());
  bootstrap(r, dir);
  dir.set(make_route("api", "a", 1));
  dir.publish();  // lost
  dir.set(make_route("api", "b", 2));
  feed(r, dir.publish()[0]);
  const auto nacks = of_type<wire::Nack>(run(r, 30s));
  ASSERT_GE(nacks.size(), 5u);
  EXPECT_LE(nacks.size(), 15u);
  for (std::size_t i = 2; i < nacks.size(); ++i) {
    EXPECT_GE(nacks[i].at - nacks[i - 1].at, (nacks[i - 1].at - nacks[i - 2].at) * 3 / 4);
    EXPECT_LE(nacks[i].at - nacks[i - 1].at, 5s + 1ms);
  }
  EXPECT_EQ(std::get<wire::Nack>(nacks.back().message).first_missing, 1u);
  EXPECT_EQ(r.table().size(), 0u) << "the held delta waits for its gap";
}

TEST_F(ReplicaTest, TailLossIsFoundByTheTick) {
  ScriptedDirectory dir(0xE1);
  Replica r(config());
  bootstrap(r, dir);
  dir.set(make_route("api", "a", 1));
  dir.set(make_route("api", "b", 2));
  const auto pushed = dir.publish();  // [Delta, Tick]: the Delta is lost
  ASSERT_EQ(pushed.size(), 2u);
  EXPECT_TRUE(feed(r, pushed[1]).empty());
  EXPECT_FALSE(r.synced());
  const auto nacks = of_type<wire::Nack>(run(r, 100ms));
  ASSERT_EQ(nacks.size(), 1u);
  const auto& nack = std::get<wire::Nack>(nacks[0].message);
  EXPECT_EQ(nack.first_missing, 1u);
  EXPECT_EQ(nack.last_missing, 2u);
  feed_all(r, dir.answer(nack));
  EXPECT_EQ(r.digest(), dir.digest());
  EXPECT_EQ(r.applied(), 2u);
  EXPECT_TRUE(r.synced());
}

TEST_F(ReplicaTest, SnapshotWithDeltasArrivingMidSnapshot) {
  ScriptedDirectory dir(0xE1);
  for (int i = 0; i < 200; ++i) dir.set(make_route("api", "i-" + std::to_string(i), i));
  Replica r(config());
  const auto sub = r.start(now);
  const auto chunks = dir.answer(sub[0]);
  ASSERT_GE(chunks.size(), 4u);
  const auto old = dir.publish();  // deltas the snapshot already covers
  dir.set(make_route("api", "i-new", 999));
  const auto d1 = dir.publish();
  dir.remove("api", "i-3");
  dir.set(make_route("api", "i-4", 4, 9));
  const auto d2 = dir.publish();

  feed(r, chunks[0]);
  feed_all(r, d1);
  feed(r, chunks[1]);
  feed_all(r, old);
  feed_all(r, d2);
  for (std::size_t i = 2; i < chunks.size(); ++i) feed(r, chunks[i]);

  EXPECT_EQ(r.stats().snapshots_applied, 1u);
  EXPECT_EQ(r.applied(), dir.seq());
  EXPECT_EQ(r.digest(), dir.digest());
  EXPECT_EQ(r.table().all_routes(), dir.view());
  EXPECT_TRUE(r.synced());
  EXPECT_TRUE(of_type<wire::Nack>(run(r, 5s, [&](auto& m) { return dir.answer(m); })).empty());
}

TEST_F(ReplicaTest, LostSnapshotChunkIsAskedForAgain) {
  ScriptedDirectory dir(0xE1);
  for (int i = 0; i < 100; ++i) dir.set(make_route("api", "i-" + std::to_string(i), i));
  Replica r(config());
  const auto chunks = dir.answer(r.start(now)[0]);
  ASSERT_GE(chunks.size(), 3u);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    if (i != 1) feed(r, chunks[i]);
  }
  EXPECT_EQ(r.stats().snapshots_applied, 0u);
  const TimePoint last_chunk = now;

  const auto sent = run(r, 3s);
  const auto subs = of_type<wire::Subscribe>(sent);
  ASSERT_GE(subs.size(), 1u);
  EXPECT_GE(subs[0].at, last_chunk + 1s);
  EXPECT_LE(subs[0].at, last_chunk + 1500ms);
  const auto& again = std::get<wire::Subscribe>(subs[0].message);
  EXPECT_EQ(again.last_epoch, 0u);
  EXPECT_EQ(again.last_seq, 0u);

  // The same snapshot again (nothing changed): the missing chunk alone completes it.
  const auto resent = dir.answer(again);
  feed(r, resent[1]);
  EXPECT_EQ(r.stats().snapshots_applied, 1u);
  EXPECT_EQ(r.digest(), dir.digest());
  EXPECT_TRUE(r.synced());
}

TEST_F(ReplicaTest, EpochChangeDuringWarmupMergesAndKeepsRoutes) {
  ScriptedDirectory dir1(0xE1);
  dir1.set(make_route("api", "a", 1));
  dir1.set(make_route("api", "b", 2));
  dir1.set(make_route("web", "c", 3));
  Replica r(config());
  bootstrap(r, dir1);
  r.take_changes();

  // The directory restarts: it has heard from "a" (now weight 10) and a new "d" only.
  ScriptedDirectory dir2(0xE2);
  dir2.warmup = true;
  dir2.set(make_route("api", "a", 1, 10));
  dir2.set(make_route("api", "d", 4));
  now += 2s;
  // A Tick of another epoch is no proof of anything: the replica asks its directory, with its own
  // state, and switches only when the snapshot answering that comes.
  const auto resync = feed(r, dir2.tick());
  const auto subs = only<wire::Subscribe>(resync);
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].last_epoch, 0xE1u);
  EXPECT_EQ(r.epoch(), 0xE1u);
  EXPECT_EQ(r.stats().resyncs, 0u);

  feed_all(r, dir2.answer(subs[0]));
  EXPECT_EQ(r.epoch(), 0xE2u);
  EXPECT_EQ(r.stats().resyncs, 1u);
  EXPECT_TRUE(r.directory_warmup());
  EXPECT_EQ(r.table().size(), 4u);
  EXPECT_EQ(r.table().find("api", "a")->weight, 10);
  ASSERT_NE(r.table().find("api", "b"), nullptr);
  ASSERT_NE(r.table().find("web", "c"), nullptr);
  EXPECT_EQ(r.take_changes(), std::vector<std::string>{"api"});

  // Warm-up Ticks and Deltas: merged, digest not compared, nothing resyncs.
  dir2.set(make_route("api", "e", 5));
  EXPECT_TRUE(only<wire::Subscribe>(feed_all(r, dir2.publish())).empty());
  EXPECT_TRUE(only<wire::Subscribe>(feed(r, dir2.tick())).empty());
  auto quiet = run(r, 4s, [&](auto& m) { return dir2.answer(m); });
  EXPECT_TRUE(of_type<wire::Nack>(quiet).empty());
  EXPECT_EQ(r.table().size(), 5u);
  EXPECT_EQ(r.stats().resyncs, 1u);

  // Warm-up over: the first Tick without the flag disagrees, so the full snapshot replaces.
  dir2.warmup = false;
  const auto after = feed(r, dir2.tick());
  const auto resub = only<wire::Subscribe>(after);
  ASSERT_EQ(resub.size(), 1u);
  EXPECT_EQ(resub[0].last_epoch, 0u);
  feed_all(r, dir2.answer(resub[0]));
  EXPECT_FALSE(r.directory_warmup());
  EXPECT_EQ(r.table().all_routes(), dir2.view());
  EXPECT_EQ(r.table().find("api", "b"), nullptr);
  EXPECT_EQ(r.table().find("web", "c"), nullptr);
  EXPECT_TRUE(r.synced());
  EXPECT_EQ(r.take_changes(), (std::vector<std::string>{"api", "web"}));
}

TEST_F(ReplicaTest, DatagramsOfAnEpochLeftBehindAreIgnored) {
  ScriptedDirectory dir1(0xE1);
  dir1.set(make_route("api", "a", 1));
  Replica r(config());
  bootstrap(r, dir1);
  ScriptedDirectory dir2(0xE2);
  dir2.set(make_route("api", "b", 2));
  now += 2s;
  const auto sub = only<wire::Subscribe>(feed(r, dir2.tick()));
  ASSERT_EQ(sub.size(), 1u);
  feed_all(r, dir2.answer(sub[0]));
  ASSERT_TRUE(r.synced());

  dir1.set(make_route("api", "late", 3));
  EXPECT_TRUE(feed_all(r, dir1.publish()).empty()) << "a late datagram must not flip us back";
  EXPECT_EQ(r.epoch(), 0xE2u);
  EXPECT_EQ(r.stats().stale_epoch, 2u);
  EXPECT_EQ(r.table().all_routes(), dir2.view());
}

TEST_F(ReplicaTest, SilentDirectoryKeepsRoutesAndIsAskedForEver) {
  ScriptedDirectory dir(0xE1);
  for (int i = 0; i < 10; ++i) dir.set(make_route("api", "i-" + std::to_string(i), i));
  Replica r(config());
  bootstrap(r, dir);
  EXPECT_TRUE(r.reachable());
  r.take_changes();
  const auto before = r.table().all_routes();

  const auto sent = run(r, 1h);  // nothing answers
  EXPECT_FALSE(r.reachable());
  EXPECT_EQ(r.table().all_routes(), before);
  EXPECT_TRUE(r.take_changes().empty());
  const auto subs = of_type<wire::Subscribe>(sent);
  ASSERT_GE(subs.size(), 600u);
  for (std::size_t i = 1; i < subs.size(); ++i) {
    EXPECT_LE(subs[i].at - subs[i - 1].at, 5s + 1ms);
  }
  EXPECT_GE(subs.back().at, now - 5s - 1ms);
  const auto& last = std::get<wire::Subscribe>(subs.back().message);
  EXPECT_EQ(last.last_epoch, 0xE1u) << "renewal keeps its place in the stream";
  EXPECT_EQ(last.last_seq, dir.seq());

  // The directory answers again: the renewal gets a Tick and all is well.
  feed_all(r, dir.answer(last));
  EXPECT_TRUE(r.reachable());
  EXPECT_TRUE(r.synced());
}

TEST_F(ReplicaTest, SlowTickingDirectoryIsNotCalledUnreachable) {
  ScriptedDirectory dir(0xE1);
  dir.set(make_route("api", "a", 1));
  Replica r(config());
  bootstrap(r, dir);
  for (int i = 0; i < 6; ++i) {  // a Tick every 10 s, every Subscribe answered
    run(r, 10s, [&](auto& m) { return dir.answer(m); });
    feed(r, dir.tick());
  }
  EXPECT_TRUE(r.reachable());
  EXPECT_EQ(r.stats().silences, 0u);
}

TEST_F(ReplicaTest, SilenceIsCalledUnreachableOnlyWhenASubscribeGoesUnanswered) {
  ScriptedDirectory dir(0xE1);
  Replica r(config());
  bootstrap(r, dir);
  const TimePoint heard = now;
  const auto sent = run(r, 3100ms);
  const auto subs = of_type<wire::Subscribe>(sent);
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].at, heard + 3s) << "silence makes the replica ask at once";
  EXPECT_TRUE(r.reachable());
  run(r, 500ms);
  EXPECT_FALSE(r.reachable());
  EXPECT_EQ(r.stats().silences, 1u);
}

TEST_F(ReplicaTest, RetriesSubscribeWithBackoffWhileDirectoryAbsent) {
  Replica r(config());
  r.start(now);
  const TimePoint started = now;
  const auto subs = of_type<wire::Subscribe>(run(r, 60s));
  ASSERT_GE(subs.size(), 12u);
  EXPECT_GE(subs[0].at - started, 250ms);
  EXPECT_LE(subs[0].at - started, 320ms);
  EXPECT_GT(subs[3].at - subs[2].at, subs[1].at - subs[0].at);
  for (const auto& s : subs) {
    EXPECT_EQ(std::get<wire::Subscribe>(s.message).last_epoch, 0u);
  }
}

TEST_F(ReplicaTest, LeaseIsRenewedEveryThirdOfIt) {
  ScriptedDirectory dir(0xE1);
  dir.lease_ms = 3000;
  dir.set(make_route("api", "a", 1));
  Replica r(config());
  bootstrap(r, dir);
  feed(r, dir.tick());
  EXPECT_EQ(r.lease(), 3s);
  const auto subs = of_type<wire::Subscribe>(run(r, 10s, [&](auto& m) { return dir.answer(m); }));
  ASSERT_GE(subs.size(), 9u);
  ASSERT_LE(subs.size(), 12u);
  for (std::size_t i = 1; i < subs.size(); ++i) {
    EXPECT_GE(subs[i].at - subs[i - 1].at, 900ms);
    EXPECT_LE(subs[i].at - subs[i - 1].at, 1000ms);
    const auto& s = std::get<wire::Subscribe>(subs[i].message);
    EXPECT_EQ(s.last_epoch, 0xE1u);
    EXPECT_EQ(s.last_seq, dir.seq());
  }
  EXPECT_EQ(dir.snapshots, 1);
}

TEST_F(ReplicaTest, RetryLaterWaitsTheDelayPlusJitterThenAsksAgain) {
  Replica r(config());
  r.start(now);
  const TimePoint answered = now;
  feed(r, retry_later(r, 800));
  const auto subs = of_type<wire::Subscribe>(run(r, 2s));
  ASSERT_GE(subs.size(), 1u);
  EXPECT_GE(subs[0].at - answered, 800ms);
  EXPECT_LE(subs[0].at - answered, 1600ms);
  EXPECT_EQ(r.stats().retry_later, 1u);
}

TEST_F(ReplicaTest, RetryLaterHoldsNacksBack) {
  ScriptedDirectory dir(0xE1);
  Replica r(config());
  bootstrap(r, dir);
  dir.set(make_route("api", "a", 1));
  dir.publish();  // lost
  dir.set(make_route("api", "b", 2));
  feed(r, dir.publish()[0]);
  const auto first = of_type<wire::Nack>(run(r, 50ms));
  ASSERT_EQ(first.size(), 1u);
  feed(r, retry_later(r, 1000));
  const TimePoint told = now;
  const auto sent = run(r, 3s, [&](auto& m) { return dir.answer(m); });
  ASSERT_FALSE(sent.empty());
  EXPECT_GE(sent[0].at - told, 1000ms);
  EXPECT_TRUE(std::holds_alternative<wire::Subscribe>(sent[0].message))
      << "after RetryLater the replica asks again with Subscribe";
  EXPECT_EQ(r.digest(), dir.digest());
  EXPECT_TRUE(r.synced());
}

TEST_F(ReplicaTest, FilteredTickAheadWithMatchingDigestAdvancesWithoutNack) {
  ScriptedDirectory dir(0xE1, {"api"});
  dir.set(make_route("api", "a", 1));
  Replica r(config({"api"}));
  bootstrap(r, dir);
  dir.set(make_route("web", "w1", 2));  // other services: this subscriber gets no ops for them
  dir.set(make_route("web", "w2", 3));
  const auto pushed = dir.publish();
  ASSERT_EQ(pushed.size(), 1u);  // a Tick only
  EXPECT_TRUE(feed(r, pushed[0]).empty());
  EXPECT_EQ(r.applied(), dir.seq());
  EXPECT_EQ(r.stats().tick_advances, 1u);
  EXPECT_TRUE(r.synced());
  EXPECT_TRUE(of_type<wire::Nack>(run(r, 5s, [&](auto& m) { return dir.answer(m); })).empty());

  // A filtered delta starts where the stream to this subscriber left off, below applied.
  dir.set(make_route("api", "b", 4));
  feed_all(r, dir.publish());
  EXPECT_EQ(r.digest(), dir.digest());
  EXPECT_EQ(r.applied(), dir.seq());
}

TEST_F(ReplicaTest, FilteredTickAheadWithDifferentDigestNacks) {
  ScriptedDirectory dir(0xE1, {"api"});
  Replica r(config({"api"}));
  bootstrap(r, dir);
  dir.set(make_route("web", "w1", 2));
  dir.set(make_route("api", "a", 1));
  const auto pushed = dir.publish();  // [Delta (0,2] with one op, Tick]: the Delta is lost
  ASSERT_EQ(pushed.size(), 2u);
  feed(r, pushed[1]);
  const auto nacks = of_type<wire::Nack>(run(r, 100ms));
  ASSERT_EQ(nacks.size(), 1u);
  const auto& nack = std::get<wire::Nack>(nacks[0].message);
  EXPECT_EQ(nack.first_missing, 1u);
  EXPECT_EQ(nack.last_missing, 2u);
  feed_all(r, dir.answer(nack));
  EXPECT_EQ(r.digest(), dir.digest());
  EXPECT_TRUE(r.synced());
}

TEST_F(ReplicaTest, DigestMismatchAtTheSameSequenceResyncs) {
  ScriptedDirectory dir(0xE1);
  dir.set(make_route("api", "a", 1));
  Replica r(config());
  bootstrap(r, dir);
  auto wrong = dir.tick();
  wrong.digest ^= 1;
  const auto subs = only<wire::Subscribe>(feed(r, wrong));
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].last_epoch, 0u);
  EXPECT_EQ(r.stats().resyncs, 1u);
  EXPECT_EQ(r.table().size(), 1u) << "routes stay while the snapshot comes";
  feed_all(r, dir.answer(subs[0]));
  EXPECT_TRUE(r.synced());
  EXPECT_EQ(r.stats().snapshots_applied, 2u);
}

TEST_F(ReplicaTest, NackOutsideTheLogIsAnsweredWithASnapshot) {
  ScriptedDirectory dir(0xE1);
  dir.log_limit = 5;
  Replica r(config());
  bootstrap(r, dir);
  for (int i = 0; i < 20; ++i) dir.set(make_route("api", "i-" + std::to_string(i), i));
  const auto pushed = dir.publish();
  feed(r, pushed.back());  // only the Tick arrives
  const auto sent = run(r, 2s, [&](auto& m) { return dir.answer(m); });
  EXPECT_EQ(of_type<wire::Nack>(sent).size(), 1u);
  EXPECT_EQ(dir.snapshots, 2);
  EXPECT_EQ(r.digest(), dir.digest());
  EXPECT_TRUE(r.synced());
}

TEST_F(ReplicaTest, MulticastMemberAsksForTheWholeTableAndShowsItsServices) {
  ScriptedDirectory dir(0xE1);
  dir.set(make_route("api", "a", 1));
  dir.set(make_route("web", "w", 2));
  auto c = config({"api"});
  c.multicast_member = true;
  Replica r(c);
  const auto subs = only<wire::Subscribe>(r.start(now));
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_TRUE(subs[0].services.empty());
  EXPECT_EQ(subs[0].flags, wire::kFlagMulticastMember);
  feed_all(r, dir.answer(subs[0]));
  EXPECT_EQ(r.digest(), dir.digest()) << "the digest covers the whole table";
  EXPECT_EQ(r.take_changes(), std::vector<std::string>{"api"});
  EXPECT_EQ(r.table().view().size(), 1u);
}

TEST_F(ReplicaTest, GroupTrafficDoesNotAnswerASubscribe) {
  ScriptedDirectory dir(0xE1);
  auto c = config();
  c.multicast_member = true;
  Replica r(c);
  r.start(now);
  r.on_message(dir.tick(), now, Replica::Source::multicast);
  EXPECT_FALSE(r.reachable()) << "reachable means: the directory answered one of our requests";
  const auto subs = of_type<wire::Subscribe>(run(r, 400ms));
  EXPECT_EQ(subs.size(), 1u) << "our Subscribe may be lost even if the group is heard";
}

// ---- loss patterns --------------------------------------------------------------------------

struct LossCase {
  std::uint64_t seed;
  bool filtered;
  bool restart;  // the directory restarts (new epoch, warm-up) in the middle of the loss
  double loss;
};

class ReplicaLossTest : public ReplicaTest, public ::testing::WithParamInterface<LossCase> {};

// Random churn, random loss both ways (and optionally a directory restart), then loss stops:
// the replica must end identical to the directory's table.
TEST_P(ReplicaLossTest, EndsIdenticalToTheDirectoryOnceLossStops) {
  const auto p = GetParam();
  std::mt19937_64 rng(p.seed);
  const std::vector<std::string> filter =
      p.filtered ? std::vector<std::string>{"svc-a", "svc-c"} : std::vector<std::string>{};
  auto dir = std::make_unique<ScriptedDirectory>(0xE1, filter);
  dir->log_limit = 300;
  Replica r(config(filter));
  double loss = p.loss;
  std::deque<std::pair<bool, wire::Message>> wire_queue;  // (to directory?, message)
  const auto lost = [&] { return std::uniform_real_distribution<double>(0, 1)(rng) < loss; };
  const auto up = [&](const Outgoing& out) {
    for (const auto& m : out) wire_queue.emplace_back(true, m);
  };
  const auto down = [&](const std::vector<wire::Message>& ms) {
    for (const auto& m : ms) wire_queue.emplace_back(false, m);
  };
  const auto pump = [&] {
    while (!wire_queue.empty()) {
      auto [to_dir, m] = std::move(wire_queue.front());
      wire_queue.pop_front();
      if (lost()) continue;
      if (to_dir) {
        down(dir->answer(roundtrip(m)));
      } else {
        up(r.on_message(roundtrip(m), now));
      }
    }
  };
  const std::vector<std::string> services{"svc-a", "svc-b", "svc-c"};
  const auto churn = [&] {
    const int n = static_cast<int>(rng() % 4);
    for (int i = 0; i < n; ++i) {
      const auto& s = services[rng() % services.size()];
      const int inst = static_cast<int>(rng() % 40);
      const auto id = "i-" + std::to_string(inst);
      if (rng() % 3 == 0) {
        dir->remove(s, id);
      } else {
        dir->set(make_route(s, id, inst, static_cast<std::uint16_t>(rng() % 257)));
      }
    }
  };
  // 100 ms directory rounds (churn, Deltas, Tick); the replica's timers in between.
  const auto run_for = [&](Duration d, bool with_churn) {
    const TimePoint end = now + d;
    TimePoint next_round = now;
    while (now < end) {
      const auto deadline = r.next_deadline();
      if (deadline && *deadline < next_round) {
        now = std::max(now, *deadline);
        up(r.on_timer(now));
      } else {
        now = next_round;
        if (with_churn) churn();
        down(dir->publish());
        next_round += 100ms;
      }
      pump();
    }
  };

  up(r.start(now));
  pump();
  run_for(20s, true);
  if (p.restart) {
    // The directory restarts, hears from about two thirds of the live instances during warm-up.
    auto next = std::make_unique<ScriptedDirectory>(0xE2, filter);
    next->log_limit = 300;
    next->warmup = true;
    for (const auto& s : services) {
      for (int i = 0; i < 40; ++i) {
        const auto id = "i-" + std::to_string(i);
        if (rng() % 3 != 0) next->set(make_route(s, id, i));
      }
    }
    dir = std::move(next);
    run_for(10s, true);
    dir->warmup = false;
    run_for(10s, true);
  }
  loss = 0;
  run_for(20s, true);
  run_for(10s, false);

  EXPECT_EQ(r.epoch(), dir->epoch());
  EXPECT_EQ(r.applied(), dir->seq());
  EXPECT_EQ(r.digest(), dir->digest());
  EXPECT_EQ(r.table().all_routes(), dir->view());
  EXPECT_TRUE(r.synced());
  EXPECT_GT(r.stats().deltas_applied, 0u);
  // Loss alone is healed by NACKs (or a snapshot when outside the log), never by divergence.
  if (!p.restart) {
    EXPECT_EQ(r.stats().resyncs, 0u);
  }
  if (p.loss > 0 && p.loss < 0.8) {
    EXPECT_GT(r.stats().nacks_sent, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Seeds, ReplicaLossTest,
    ::testing::Values(LossCase{1, false, false, 0.0}, LossCase{2, false, false, 0.2},
                      LossCase{3, false, false, 0.5}, LossCase{4, true, false, 0.3},
                      LossCase{5, false, true, 0.3}, LossCase{6, true, true, 0.3},
                      LossCase{7, false, true, 0.6}, LossCase{8, true, false, 0.6},
                      LossCase{9, false, false, 0.9}, LossCase{10, true, true, 0.9}));

// ---- defences (docs/PROTOCOL.md: what a replay, a flood and a stranger's datagram do) ---------

TEST_F(ReplicaTest, ChallengeIsAnsweredAtOnceWithItsCookieAndAtMostFourTimesASecond) {
  ScriptedDirectory dir(0xE1);
  dir.challenge_cookie = wire::Cookie(20, 0xcc);
  Replica r(config());
  const auto first = only<wire::Subscribe>(r.start(now));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(first[0].cookie.empty());
  const auto answer = dir.answer(roundtrip(first[0]));
  ASSERT_EQ(dir.challenges, 1);
  const auto again = only<wire::Subscribe>(feed_all(r, answer));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].cookie, dir.challenge_cookie);
  EXPECT_GT(again[0].nonce, first[0].nonce);
  feed_all(r, dir.answer(roundtrip(again[0])));
  EXPECT_TRUE(r.synced());
  EXPECT_TRUE(r.reachable());
  // A flood of Challenges echoing our latest nonce (a replay of the directory's): bounded.
  int subscribes = 0;
  for (int i = 0; i < 100; ++i) {
    subscribes += static_cast<int>(
        only<wire::Subscribe>(feed(r, wire::Challenge{42, r.last_nonce(), {1, 2, 3}})).size());
    now += 10ms;
  }
  EXPECT_LE(subscribes, 5) << "1 s of Challenges: at most one Subscribe per 250 ms";
}

TEST_F(ReplicaTest, ChallengeOrRetryLaterNotEchoingOurRequestsChangesNothing) {
  ScriptedDirectory dir(0xE1);
  Replica r(config());
  bootstrap(r, dir);
  const auto cookie = r.cookie();
  // A stranger's (or an old, replayed) Challenge: another nonce, or another subscriber.
  EXPECT_TRUE(feed(r, wire::Challenge{42, 999, {9, 9}}).empty());
  EXPECT_TRUE(feed(r, wire::Challenge{43, r.last_nonce(), {9, 9}}).empty());
  EXPECT_EQ(r.cookie(), cookie);
  // A replayed RetryLater (an older request's nonce) does not stop renewals.
  const std::uint64_t old = r.last_nonce();
  run(r, 6s, [&](auto& m) { return dir.answer(m); });
  ASSERT_GT(r.last_nonce(), old);
  wire::RetryLater replayed{0xE1, 42, old, 3'600'000};
  feed(r, replayed);
  const auto subs = of_type<wire::Subscribe>(run(r, 10s, [&](auto& m) { return dir.answer(m); }));
  EXPECT_GE(subs.size(), 1u);
  EXPECT_TRUE(r.reachable());
  EXPECT_GE(r.stats().ignored[static_cast<int>(Ignored::unbound_answer)], 2u);
  EXPECT_EQ(r.stats().retry_later, 0u);
}

TEST_F(ReplicaTest, DatagramsForAnotherSubscriberAreIgnored) {
  ScriptedDirectory dir(0xE1, {"api"});
  Replica r(config({"api"}));
  bootstrap(r, dir);
  dir.set(make_route("api", "a", 1));
  auto d = std::get<wire::Delta>(dir.publish()[0]);
  auto shared = d;
  shared.subscriber_id = 0;  // a filtered replica does not take the whole-table stream
  EXPECT_TRUE(feed(r, shared).empty());
  auto other = d;
  other.subscriber_id = 43;
  feed(r, other);
  EXPECT_EQ(r.applied(), 0u);
  EXPECT_EQ(r.stats().ignored[static_cast<int>(Ignored::wrong_addressee)], 2u);
  // On the group only the shared stream counts.
  r.on_message(roundtrip(d), now, Replica::Source::multicast);
  EXPECT_EQ(r.stats().ignored[static_cast<int>(Ignored::wrong_addressee)], 3u);
  feed(r, d);
  EXPECT_EQ(r.applied(), 1u);
}

TEST_F(ReplicaTest, ForeignEpochNeverAdoptedFromADatagramAndProbesAtMostOncePerSecond) {
  ScriptedDirectory dir(0xE1);
  dir.set(make_route("api", "a", 1));
  Replica r(config());
  bootstrap(r, dir);
  // Another directory process (with the same key) sends its valid Ticks, Deltas and even a
  // whole snapshot, unasked: nothing changes, we only ask our directory at most once a second.
  ScriptedDirectory other(0xBAD);
  other.set(make_route("api", "evil", 66));
  now += 2s;
  int subscribes = 0;
  for (int i = 0; i < 100; ++i) {
    for (const auto& m : other.publish()) {
      for (const auto& s : only<wire::Subscribe>(feed(r, m))) {
        ++subscribes;
        EXPECT_EQ(s.last_epoch, 0xE1u) << "it asks with its own state";
        feed_all(r, dir.answer(roundtrip(s)));  // our directory: nothing changed
      }
    }
    for (const auto& c : other.snapshot(12345)) feed(r, c);  // a nonce we never sent
    now += 20ms;
  }
  EXPECT_LE(subscribes, 3);
  EXPECT_GE(subscribes, 1);
  EXPECT_EQ(r.epoch(), 0xE1u);
  EXPECT_EQ(r.table().all_routes(), dir.view());
  EXPECT_TRUE(r.synced());
  EXPECT_GT(r.stats().ignored[static_cast<int>(Ignored::foreign_epoch)], 0u);
  EXPECT_GT(r.stats().ignored[static_cast<int>(Ignored::unbound_answer)], 0u);
  // Still following: a change of our directory arrives.
  dir.set(make_route("api", "b", 2));
  feed_all(r, dir.publish());
  EXPECT_EQ(r.digest(), dir.digest());
}

TEST_F(ReplicaTest, ReplayedSnapshotOfOurOwnEarlierRequestIsIgnoredOnceTheNonceIsOld) {
  ScriptedDirectory dir(0xE1);
  dir.set(make_route("api", "a", 1));
  Replica r(config());
  const auto first = r.start(now);
  const auto captured = dir.answer(roundtrip(first[0]));
  feed_all(r, captured);
  // Many requests later, the captured snapshot replayed changes nothing.
  for (int i = 0; i < 10; ++i) {
    now += 6s;
    run(r, 1s, [&](auto& m) { return dir.answer(m); });
  }
  dir.set(make_route("api", "b", 2));
  feed_all(r, dir.publish());
  const auto before = r.stats().snapshots_applied;
  feed_all(r, captured);
  EXPECT_EQ(r.stats().snapshots_applied, before);
  EXPECT_EQ(r.digest(), dir.digest());
}

TEST_F(ReplicaTest, ImplausibleDeltaRangeIsDropped) {
  ScriptedDirectory dir(0xE1);
  dir.set(make_route("api", "a", 1));
  Replica r(config());
  bootstrap(r, dir);
  // Without keys, anyone can send [epoch, 0, 0, 0, 2^64-1, 0, []]: it would freeze the replica.
  wire::Delta forged;
  forged.epoch = 0xE1;
  forged.from_seq = 0;
  forged.to_seq = UINT64_MAX;
  feed(r, forged);
  EXPECT_EQ(r.applied(), dir.seq());
  EXPECT_EQ(r.stats().ignored[static_cast<int>(Ignored::implausible_range)], 1u);
  dir.set(make_route("api", "b", 2));
  feed_all(r, dir.publish());
  EXPECT_EQ(r.digest(), dir.digest());
  EXPECT_EQ(r.applied(), dir.seq());
}

TEST_F(ReplicaTest, PoisonedReplicaResyncsWhenTicksStayBelowApplied) {
  ScriptedDirectory dir(0xE1);
  dir.set(make_route("api", "a", 1));
  Replica r(config());
  bootstrap(r, dir);
  // A forged Delta within the margin: the replica believes it is at seq 1000.
  wire::Delta forged;
  forged.epoch = 0xE1;
  forged.from_seq = 0;
  forged.to_seq = 1000;
  feed(r, forged);
  ASSERT_EQ(r.applied(), 1000u);
  // The directory's Ticks keep saying 1 (then 2): after poison_window and 3 Ticks, a resync.
  Outgoing resync;
  for (int i = 0; i < 5 && only<wire::Subscribe>(resync).empty(); ++i) {
    if (i == 2) {
      dir.set(make_route("api", "b", 2));
      dir.publish();  // lost in the noise: our replica dropped it as a duplicate anyway
    }
    resync = feed(r, dir.tick());
    now += 1s;
  }
  const auto subs = only<wire::Subscribe>(resync);
  ASSERT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs[0].last_epoch, 0u);
  EXPECT_EQ(r.stats().poisoned, 1u);
  feed_all(r, dir.answer(roundtrip(subs[0])));
  EXPECT_EQ(r.applied(), dir.seq());
  EXPECT_EQ(r.digest(), dir.digest());
  EXPECT_TRUE(r.synced());
}

TEST_F(ReplicaTest, ReplayedOldTicksDoNotResyncAReplicaThatHearsItsDirectory) {
  ScriptedDirectory dir(0xE1);
  dir.set(make_route("api", "a", 1));
  Replica r(config());
  bootstrap(r, dir);
  const auto old_tick = dir.tick();
  for (int i = 0; i < 5; ++i) dir.set(make_route("api", "i-" + std::to_string(i), i + 2));
  feed_all(r, dir.publish());
  for (int i = 0; i < 100; ++i) {  // the old Tick replayed every 100 ms, real ones every second
    feed(r, old_tick);
    if (i % 10 == 0) feed(r, dir.tick());
    now += 100ms;
  }
  EXPECT_EQ(r.stats().poisoned, 0u);
  EXPECT_EQ(r.stats().resyncs, 0u);
}

TEST_F(ReplicaTest, HeldDeltasAreCappedAndCounted) {
  ScriptedDirectory dir(0xE1);
  auto c = config();
  c.max_held_deltas = 4;
  Replica r(c);
  bootstrap(r, dir);
  dir.set(make_route("api", "lost", 1));
  dir.publish();  // lost: everything after is held
  for (int i = 0; i < 10; ++i) {
    dir.set(make_route("api", "i-" + std::to_string(i), i + 2));
    feed_all(r, dir.publish());
  }
  EXPECT_LE(r.held_deltas(), 4u);
  EXPECT_GE(r.stats().ignored[static_cast<int>(Ignored::held_deltas_cap)], 1u);
}

TEST_F(ReplicaTest, ReachableOnlyFromAnswersToOurRequests) {
  ScriptedDirectory dir(0xE1);
  Replica r(config());
  bootstrap(r, dir);
  EXPECT_TRUE(r.reachable());
  // The directory stops answering; a stranger keeps sending valid-looking stream Ticks.
  for (int i = 0; i < 40; ++i) {
    feed(r, dir.tick());
    run(r, 1s);
  }
  EXPECT_FALSE(r.reachable()) << "/digest must not claim a directory that answers nothing";
}

}  // namespace
}  // namespace baker::sherlock
