// The merge rule of docs/PROTOCOL.md, "Several directories", on plain ReplicaTables: two or three
// directories' streams, each fed the ops its directory would send.
#include "sherlock/merged_table.hpp"

#include <gtest/gtest.h>

#include "routes.hpp"

namespace baker::sherlock {
namespace {

wire::Route route(const std::string& instance, std::uint16_t weight = 100) {
  return baker::testing::make_route("api", instance, wire::IpAddress::v4(10, 0, 0, 1), 8080, weight,
                                    wire::InstanceState::up, {});
}

wire::Version v(std::uint64_t incarnation, std::uint64_t seq) {
  return wire::Version{incarnation, seq};
}

wire::DeltaOp goodbye(const std::string& instance, wire::Version version) {
  wire::DeltaOp op;
  op.kind = wire::OpKind::remove;
  op.route.service = "api";
  op.route.instance = instance;
  op.version = version;
  op.removal = wire::Removal::goodbye;
  return op;
}

wire::DeltaOp expiry(const std::string& instance, wire::Version version) {
  auto op = goodbye(instance, version);
  op.removal = wire::Removal::expired;
  return op;
}

class MergedTableTest : public ::testing::Test {
 protected:
  explicit MergedTableTest(std::size_t n = 2) {
    for (std::size_t i = 0; i < n; ++i) {
      tables_.push_back(std::make_unique<ReplicaTable>());
      merged_.add_stream(*tables_.back());
      merged_.set_live(i, true);
    }
  }
  ReplicaTable& at(std::size_t i) { return *tables_.at(i); }
  const wire::Route* shown(const std::string& instance) const {
    return merged_.table().find("api", instance);
  }
  std::uint16_t weight(const std::string& instance) const {
    const auto* r = shown(instance);
    return r ? r->weight : 0;
  }

  std::vector<std::unique_ptr<ReplicaTable>> tables_;
  MergedTable merged_;
};

TEST_F(MergedTableTest, FreshestVersionWinsNotTheLastDirectoryToSpeak) {
  at(0).upsert(route("a", 50), v(7, 20));   // the newer record...
  at(1).upsert(route("a", 100), v(7, 10));  // ...then an older one from a lagging directory
  EXPECT_EQ(weight("a"), 50);
  at(1).upsert(route("a", 60), v(7, 21));
  EXPECT_EQ(weight("a"), 60);
  at(0).upsert(route("a", 50), v(7, 22));  // same route as before, newer: shown again
  EXPECT_EQ(weight("a"), 50);
  // A newer incarnation beats any seq of an older one.
  at(1).upsert(route("a", 10), v(8, 1));
  EXPECT_EQ(weight("a"), 10);
  EXPECT_EQ(merged_.table().find_entry("api", "a")->version, v(8, 1));
}

TEST_F(MergedTableTest, GoodbyeAtOneDirectoryRemovesTheRouteTheOtherStillHolds) {
  at(0).upsert(route("a"), v(7, 10));
  at(1).upsert(route("a"), v(7, 10));
  at(0).apply(goodbye("a", v(7, 11)));
  EXPECT_EQ(shown("a"), nullptr) << "a lossy directory that missed the Goodbye keeps nothing";
  // That directory keeps sending what it heard before the Goodbye: still shadowed.
  at(1).upsert(route("a", 90), v(7, 9));
  EXPECT_EQ(shown("a"), nullptr);
  EXPECT_EQ(merged_.stats().goodbyes, 1u);
  // The watson's next process, heard by either directory, is shown.
  at(1).upsert(route("a", 80), v(9, 1));
  EXPECT_EQ(weight("a"), 80);
}

TEST_F(MergedTableTest, GoodbyeOfAnOlderIncarnationLeavesTheNewerOne) {
  at(0).upsert(route("a", 80), v(9, 3));
  at(1).upsert(route("a", 100), v(7, 10));
  at(1).apply(goodbye("a", v(7, 11)));  // the old process left; the new one is up
  EXPECT_EQ(weight("a"), 80);
}

TEST_F(MergedTableTest, ExpiryAtOneDirectoryWhileAnotherHearsHeartbeatsKeepsTheRoute) {
  at(0).upsert(route("a"), v(7, 10));
  at(1).upsert(route("a"), v(7, 10));
  at(0).apply(expiry("a", v(7, 10)));  // directory 0 is cut off from the watson
  ASSERT_NE(shown("a"), nullptr);
  EXPECT_EQ(merged_.disputed(), 1u);
  EXPECT_EQ(merged_.stats().kept_by_other, 1u);
  // Directory 0 hears it again: no longer disputed, and nothing changed in the view.
  at(0).upsert(route("a"), v(7, 30));
  EXPECT_EQ(merged_.disputed(), 0u);
  EXPECT_NE(shown("a"), nullptr);
}

TEST_F(MergedTableTest, ARouteKeptByAnotherDirectoryGoesWhenThatDirectoryGoesDown) {
  at(0).upsert(route("a"), v(7, 10));
  at(1).upsert(route("a"), v(7, 10));
  at(0).apply(expiry("a", v(7, 10)));
  ASSERT_NE(shown("a"), nullptr);
  merged_.set_live(1, false);  // no live directory holds it now
  EXPECT_EQ(shown("a"), nullptr);
  EXPECT_EQ(merged_.stats().released_on_down, 1u);
  // Directory 1 comes back with what it held before: not shown again (it is no newer).
  merged_.set_live(1, true);
  at(1).upsert(route("a"), v(7, 10));
  EXPECT_EQ(shown("a"), nullptr);
  // Directory 1 hears a later heartbeat: shown.
  at(1).upsert(route("a", 70), v(7, 40));
  EXPECT_EQ(weight("a"), 70);
}

TEST_F(MergedTableTest, ADirectoryGoingDownRemovesNothingByItself) {
  at(1).upsert(route("a"), v(7, 10));  // only directory 1 hears this instance
  at(0).upsert(route("b"), v(5, 10));
  at(1).upsert(route("b"), v(5, 10));
  merged_.set_live(1, false);
  merged_.set_live(0, false);  // all down: the last routes stay
  EXPECT_NE(shown("a"), nullptr);
  EXPECT_NE(shown("b"), nullptr);
  EXPECT_EQ(merged_.table().size(), 2u);
}

TEST_F(MergedTableTest, ExpiryWhileTheOtherDirectoryIsDownRemovesAndShadowsItsFrozenRecord) {
  at(0).upsert(route("a"), v(7, 10));
  at(1).upsert(route("a", 40), v(7, 12));  // directory 1 heard a little more, then went down
  merged_.set_live(1, false);
  EXPECT_EQ(weight("a"), 40);
  at(0).apply(expiry("a", v(7, 10)));
  EXPECT_EQ(shown("a"), nullptr) << "no live directory holds it";
  EXPECT_EQ(merged_.stats().dropped, 1u);
  // An unrelated change of directory 0's does not bring the frozen record back.
  at(0).upsert(route("b"), v(3, 1));
  at(0).apply(expiry("b", v(3, 1)));
  EXPECT_EQ(shown("a"), nullptr);
  EXPECT_EQ(merged_.shadows(), 1u) << "remembered while directory 1 holds its record";
  // Directory 1 returns and drops it too: nothing remembered.
  merged_.set_live(1, true);
  at(1).apply(expiry("a", v(7, 12)));
  EXPECT_EQ(merged_.shadows(), 0u);
  EXPECT_EQ(merged_.disputed(), 0u);
}

TEST_F(MergedTableTest, AReplacingSnapshotDropsWhatItLacksLikeAnExpiry) {
  at(0).upsert(route("a"), v(7, 10));
  at(0).upsert(route("b"), v(8, 10));
  at(1).upsert(route("b"), v(8, 10));
  ReplicaTable::Staged staged;
  staged.add({route("c")}, {v(9, 1)});
  at(0).replace(std::move(staged));
  EXPECT_EQ(shown("a"), nullptr) << "held by no other directory";
  EXPECT_NE(shown("b"), nullptr) << "directory 1 still holds it";
  EXPECT_NE(shown("c"), nullptr);
  EXPECT_EQ(merged_.table().size(), 2u);
}

TEST_F(MergedTableTest, TheFirstSnapshotIsTakenWholeThenMergedPerInstance) {
  ReplicaTable::Staged first;
  first.add({route("a", 10), route("b", 20)}, {v(1, 5), v(2, 5)});
  at(0).replace(std::move(first));  // into an empty merge: copied whole
  EXPECT_EQ(merged_.take_changes(), std::vector<std::string>{"api"});
  ASSERT_EQ(merged_.table().size(), 2u);
  EXPECT_EQ(merged_.table().find_entry("api", "b")->version, v(2, 5));
  ReplicaTable::Staged second;
  second.add({route("a", 11), route("b", 21)}, {v(1, 6), v(2, 4)});
  at(1).replace(std::move(second));  // not whole: the freshest record per instance
  EXPECT_EQ(weight("a"), 11);
  EXPECT_EQ(weight("b"), 20);
  at(0).apply(goodbye("a", v(1, 7)));
  EXPECT_EQ(shown("a"), nullptr);
  EXPECT_EQ(merged_.table().size(), 1u);
}

TEST_F(MergedTableTest, WarmUpMergeOnlyAdds) {
  at(0).upsert(route("a"), v(7, 10));
  ReplicaTable::Staged staged;
  staged.add({route("b")}, {v(8, 1)});
  at(1).merge(std::move(staged));
  EXPECT_EQ(merged_.table().size(), 2u);
}

TEST_F(MergedTableTest, ViewChangesOnlyWhenTheShownRouteChanges) {
  at(0).upsert(route("a"), v(7, 10));
  EXPECT_EQ(merged_.take_changes(), std::vector<std::string>{"api"});
  at(1).upsert(route("a"), v(7, 10));  // a second directory, same record
  at(0).upsert(route("a"), v(7, 20));  // newer version, same route
  at(1).apply(expiry("a", v(7, 10)));  // one directory drops it, the other keeps it
  EXPECT_TRUE(merged_.take_changes().empty()) << "nothing a sink needs to hear about";
  ASSERT_EQ(merged_.table().view().at("api").size(), 1u);
}

TEST_F(MergedTableTest, MemoryIsForgottenWhenNoDirectoryHoldsTheInstance) {
  for (int i = 0; i < 100; ++i) {
    const std::string name = "i" + std::to_string(i);
    at(0).upsert(route(name), v(1, 1));
    at(1).upsert(route(name), v(1, 1));
    at(0).apply(goodbye(name, v(1, 2)));
    at(1).apply(goodbye(name, v(1, 2)));
  }
  EXPECT_EQ(merged_.table().size(), 0u);
  EXPECT_EQ(merged_.shadows(), 0u);
  EXPECT_EQ(merged_.disputed(), 0u);
}

class SingleDirectoryMerge : public MergedTableTest {
 protected:
  SingleDirectoryMerge() : MergedTableTest(1) {}
};

TEST_F(SingleDirectoryMerge, BehavesLikeTheDirectorysOwnTable) {
  at(0).upsert(route("a"), v(1, 1));
  at(0).upsert(route("b"), v(2, 1));
  at(0).apply(expiry("a", v(1, 1)));
  at(0).apply(goodbye("b", v(2, 2)));
  EXPECT_EQ(merged_.table().size(), 0u);
  at(0).upsert(route("a"), v(1, 5));  // the same process heard again after its expiry
  EXPECT_NE(shown("a"), nullptr);
  merged_.set_live(0, false);  // the directory gone: its last routes stay
  EXPECT_NE(shown("a"), nullptr);
}

class ThreeDirectoryMerge : public MergedTableTest {
 protected:
  ThreeDirectoryMerge() : MergedTableTest(3) {}
};

TEST_F(ThreeDirectoryMerge, TheRouteStaysWhileAnyLiveDirectoryHoldsIt) {
  for (std::size_t i = 0; i < 3; ++i) at(i).upsert(route("a"), v(1, 1));
  at(0).apply(expiry("a", v(1, 1)));
  merged_.set_live(1, false);
  EXPECT_NE(shown("a"), nullptr) << "directory 2 still hears it";
  merged_.set_live(2, false);
  EXPECT_EQ(shown("a"), nullptr);
}

}  // namespace
}  // namespace baker::sherlock
