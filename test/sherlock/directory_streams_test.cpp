// Several directories in simulated time: DirectoryStreams driving one Replica per scripted
// directory, each of which can go silent, warm up or change its table.
#include "sherlock/directory_streams.hpp"

#include <gtest/gtest.h>

#include "scripted_directory.hpp"
#include "wire/codec.hpp"

namespace baker::sherlock {
namespace {

using namespace std::chrono_literals;
using testing::make_route;
using testing::ScriptedDirectory;

struct Remote {
  explicit Remote(std::uint64_t epoch) : dir(epoch) {}
  ScriptedDirectory dir;
  bool up = true;  // false: nothing reaches it and nothing comes from it
};

class DirectoryStreamsTest : public ::testing::Test {
 protected:
  void make(std::size_t n, std::vector<std::string> filter = {}) {
    std::vector<ReplicaConfig> configs;
    for (std::size_t i = 0; i < n; ++i) {
      remotes.push_back(std::make_unique<Remote>(0xD0 + i));
      remotes.back()->dir.subscriber_id = 42;
      ReplicaConfig c;
      c.subscriber_id = 42;
      c.name = "dir" + std::to_string(i);
      c.random_seed = 7 + i;
      configs.push_back(std::move(c));
    }
    streams = std::make_unique<DirectoryStreams>(std::move(configs), std::move(filter));
  }
  ScriptedDirectory& dir(std::size_t i) { return remotes.at(i)->dir; }

  // Through the wire and back, as the daemons would see it.
  static wire::Message roundtrip(const wire::Message& m) {
    auto d = wire::decode(wire::encode(m));
    EXPECT_TRUE(d) << wire::to_string(d.error());
    return d.value().message;
  }
  void deliver(std::size_t i, const std::vector<wire::Message>& from_directory) {
    if (!remotes[i]->up) return;
    for (const auto& m : from_directory) send(i, streams->on_message(i, roundtrip(m), now));
  }
  void send(std::size_t i, const Replica::Outgoing& out) {
    if (!remotes[i]->up) return;
    for (const auto& m : out) deliver(i, remotes[i]->dir.answer(roundtrip(m)));
  }
  void start() {
    for (std::size_t i = 0; i < remotes.size(); ++i) send(i, streams->start(i, now));
  }
  // Time passes in 10 ms steps; each directory publishes its stream (Deltas, a Tick) every 500 ms.
  void run(Duration d) {
    const TimePoint end = now + d;
    while (now < end) {
      now += 10ms;
      const auto out = streams->on_timer(now);
      for (std::size_t i = 0; i < out.size(); ++i) send(i, out[i]);
      if ((now - TimePoint{}) % 500ms == 0ms) {
        for (std::size_t i = 0; i < remotes.size(); ++i) deliver(i, remotes[i]->dir.publish());
      }
    }
  }
  void publish(std::size_t i) { deliver(i, dir(i).publish()); }
  bool shown(const std::string& instance) const {
    return streams->table().find("api", instance) != nullptr;
  }
  std::size_t merged_size() const { return streams->table().size(); }

  std::vector<std::unique_ptr<Remote>> remotes;
  std::unique_ptr<DirectoryStreams> streams;
  TimePoint now = TimePoint{} + 1h;
};

TEST_F(DirectoryStreamsTest, EachDirectoryHasItsOwnStreamAndTheRoutesAreMerged) {
  make(2);
  dir(0).set(make_route("api", "a", 1));
  dir(1).set(make_route("api", "a", 1));
  dir(1).set(make_route("api", "b", 2));  // heard by directory 1 only
  start();
  run(1s);
  EXPECT_EQ(merged_size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(streams->stream(i).synced()) << i;
    EXPECT_EQ(streams->stream(i).epoch(), dir(i).epoch()) << i;
    EXPECT_EQ(streams->stream(i).digest(), dir(i).digest()) << i;
    EXPECT_TRUE(streams->live(i)) << i;
  }
  EXPECT_EQ(dir(0).subscribes, 1) << "one Subscribe each, answered";
  EXPECT_EQ(dir(1).subscribes, 1);
}

TEST_F(DirectoryStreamsTest, LaterDirectoriesSubscribeOnceTheFirstSnapshotHasLanded) {
  make(2);
  dir(0).set(make_route("api", "a", 1));
  dir(1).set(make_route("api", "a", 1));
  const auto first = streams->start(0, now);  // as a fresh sherlock starts them: all at once
  EXPECT_TRUE(streams->start(1, now).empty()) << "not while no stream holds a snapshot yet";
  EXPECT_TRUE(streams->take_deferred(now)[1].empty());
  send(0, first);  // directory 0 answers: its snapshot lands
  EXPECT_EQ(dir(1).subscribes, 0);
  ASSERT_TRUE(streams->stream(0).synced());
  const auto deferred = streams->take_deferred(now);
  ASSERT_EQ(deferred.size(), 2u);
  EXPECT_TRUE(deferred[0].empty());
  ASSERT_EQ(deferred[1].size(), 1u);
  EXPECT_TRUE(std::holds_alternative<wire::Subscribe>(deferred[1][0]));
  send(1, deferred[1]);
  EXPECT_TRUE(streams->stream(1).synced());
}

TEST_F(DirectoryStreamsTest, AnAbsentFirstDirectoryDelaysTheOthersByTheStaggerOnly) {
  make(2);
  dir(1).set(make_route("api", "a", 1));
  remotes[0]->up = false;
  send(0, streams->start(0, now));
  send(1, streams->start(1, now));
  EXPECT_EQ(dir(1).subscribes, 0);
  ASSERT_TRUE(streams->next_deadline().has_value());
  EXPECT_LE(*streams->next_deadline(), now + 300ms);
  run(290ms);
  EXPECT_EQ(dir(1).subscribes, 0);
  run(20ms);
  EXPECT_EQ(dir(1).subscribes, 1);
  EXPECT_TRUE(shown("a"));
}

TEST_F(DirectoryStreamsTest, ADirectoryGoingSilentCostsNoRouteAndChangesArriveThroughTheOther) {
  make(2);
  for (std::size_t i = 0; i < 2; ++i) {
    dir(i).set(make_route("api", "a", 1));
    dir(i).set(make_route("api", "b", 2));
  }
  start();
  run(1s);
  ASSERT_EQ(merged_size(), 2u);
  remotes[0]->up = false;  // SIGKILL, or partitioned from this sherlock
  run(10s);
  EXPECT_FALSE(streams->stream(0).reachable());
  EXPECT_FALSE(streams->live(0));
  EXPECT_EQ(merged_size(), 2u) << "a directory going away removes nothing";
  dir(1).set(make_route("api", "c", 3));  // a join, heard by the live directory
  dir(1).remove("api", "b");              // and an expiry there
  run(1s);
  EXPECT_TRUE(shown("c"));
  EXPECT_FALSE(shown("b")) << "no live directory holds it";
  EXPECT_TRUE(shown("a"));
  // Directory 0 comes back holding b still (its stream had it): b does not come back.
  remotes[0]->up = true;
  run(10s);
  EXPECT_TRUE(streams->live(0));
  EXPECT_FALSE(shown("b"));
  EXPECT_TRUE(shown("a"));
  EXPECT_TRUE(shown("c"));
}

TEST_F(DirectoryStreamsTest, AnExpiryAtOneDirectoryIsKeptWhileAnotherHoldsTheRoute) {
  make(2);
  for (std::size_t i = 0; i < 2; ++i) dir(i).set(make_route("api", "a", 1));
  start();
  run(1s);
  dir(0).remove("api", "a");  // directory 0 no longer hears the watson
  run(1s);
  EXPECT_TRUE(shown("a"));
  EXPECT_EQ(streams->merged().disputed(), 1u);
  // Now the directory that kept it goes: nobody vouches for the route any more.
  remotes[1]->up = false;
  run(10s);
  EXPECT_FALSE(shown("a"));
  EXPECT_EQ(streams->merged().stats().released_on_down, 1u);
}

TEST_F(DirectoryStreamsTest, AWarmingUpDirectoryDoesNotKeepARouteTheOtherDropped) {
  make(2);
  for (std::size_t i = 0; i < 2; ++i) dir(i).set(make_route("api", "a", 1));
  dir(1).warmup = true;  // just restarted
  start();
  run(1s);
  EXPECT_TRUE(shown("a"));
  EXPECT_FALSE(streams->live(1));
  dir(0).remove("api", "a");
  run(1s);
  EXPECT_FALSE(shown("a"));
}

// Managed mode starts haproxy from the replica once it is worth starting from (any_synced).
TEST_F(DirectoryStreamsTest, SyncedCountsALiveDirectoryOrAnyOneWhenLiveOnlyIsNotAsked) {
  make(1);
  dir(0).set(make_route("api", "a", 1));
  dir(0).warmup = true;
  EXPECT_FALSE(streams->any_synced());
  start();
  run(1s);
  EXPECT_TRUE(streams->any_synced());
  EXPECT_FALSE(streams->any_synced(true)) << "a directory warming up is not live";
  dir(0).warmup = false;
  run(1s);
  EXPECT_TRUE(streams->any_synced(true));
}

TEST_F(DirectoryStreamsTest, EveryDirectoryDownKeepsTheLastRoutes) {
  make(3);
  for (std::size_t i = 0; i < 3; ++i) dir(i).set(make_route("api", "a", 1));
  dir(2).set(make_route("api", "z", 9));
  start();
  run(1s);
  ASSERT_EQ(merged_size(), 2u);
  for (auto& r : remotes) r->up = false;
  run(30s);
  EXPECT_EQ(merged_size(), 2u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_FALSE(streams->live(i));
}

TEST_F(DirectoryStreamsTest, StopUnsubscribesFromEveryDirectory) {
  make(2);
  start();
  run(1s);
  const auto out = streams->stop();
  ASSERT_EQ(out.size(), 2u);
  for (const auto& o : out) {
    ASSERT_EQ(o.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<wire::Unsubscribe>(o[0]));
  }
}

}  // namespace
}  // namespace baker::sherlock
