#include "sherlock/replica_table.hpp"

#include <gtest/gtest.h>

#include <random>

#include "scripted_directory.hpp"
#include "wire/digest.hpp"

namespace baker::sherlock {
namespace {

using testing::make_route;

TEST(ReplicaTable, DigestFollowsEveryChange) {
  ReplicaTable t;
  std::mt19937 rng(3);
  for (int i = 0; i < 2000; ++i) {
    const auto service = std::string("s") + static_cast<char>('a' + rng() % 5);
    const auto instance = "i-" + std::to_string(rng() % 50);
    if (rng() % 3 == 0) {
      t.remove(service, instance);
    } else {
      t.upsert(make_route(service, instance, static_cast<int>(rng() % 100),
                          static_cast<std::uint16_t>(rng() % 3)));
    }
    if (i % 97 == 0) {
      const auto all = t.all_routes();
      ASSERT_EQ(t.digest(), wire::table_digest(all));
      ASSERT_EQ(t.size(), all.size());
    }
  }
}

TEST(ReplicaTable, UpsertOfTheSameRouteChangesNothing) {
  ReplicaTable t;
  EXPECT_TRUE(t.upsert(make_route("api", "a")));
  t.take_changes();
  EXPECT_FALSE(t.upsert(make_route("api", "a")));
  EXPECT_TRUE(t.take_changes().empty());
  EXPECT_FALSE(t.remove("api", "nope"));
  EXPECT_FALSE(t.remove("nope", "a"));
}

TEST(ReplicaTable, ViewIsSortedByInstanceAndDropsEmptyServices) {
  ReplicaTable t;
  t.upsert(make_route("api", "c", 3));
  t.upsert(make_route("api", "a", 1));
  t.upsert(make_route("web", "b", 2));
  EXPECT_EQ(t.take_changes(), (std::vector<std::string>{"api", "web"}));
  ASSERT_EQ(t.view().at("api").size(), 2u);
  EXPECT_EQ(t.view().at("api")[0].instance, "a");
  EXPECT_EQ(t.view().at("api")[1].instance, "c");
  t.remove("web", "b");
  EXPECT_EQ(t.take_changes(), std::vector<std::string>{"web"});
  EXPECT_EQ(t.view().count("web"), 0u);
}

TEST(ReplicaTable, ReplaceReportsOnlyServicesThatDiffer) {
  ReplicaTable t;
  t.upsert(make_route("api", "a", 1));
  t.upsert(make_route("web", "w", 2));
  t.upsert(make_route("old", "o", 3));
  t.take_changes();
  t.replace({make_route("api", "a", 1), make_route("web", "w", 2, 7), make_route("new", "n", 4)});
  EXPECT_EQ(t.take_changes(), (std::vector<std::string>{"new", "old", "web"}));
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.digest(), wire::table_digest(t.all_routes()));
  EXPECT_EQ(t.view().count("old"), 0u);
  EXPECT_EQ(t.view().at("web")[0].weight, 7);
}

TEST(ReplicaTable, MergeKeepsRoutesItDoesNotMention) {
  ReplicaTable t;
  t.upsert(make_route("api", "a", 1));
  t.upsert(make_route("api", "b", 2));
  t.merge({make_route("api", "a", 1, 5), make_route("api", "c", 3)});
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.find("api", "a")->weight, 5);
  EXPECT_NE(t.find("api", "b"), nullptr);
  EXPECT_EQ(t.digest(), wire::table_digest(t.all_routes()));
}

TEST(ReplicaTable, ViewFilterHidesOtherServicesButDigestCoversAll) {
  ReplicaTable t({"api"});
  t.upsert(make_route("api", "a", 1));
  t.upsert(make_route("web", "w", 2));
  EXPECT_EQ(t.take_changes(), std::vector<std::string>{"api"});
  EXPECT_EQ(t.view().size(), 1u);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.digest(), wire::table_digest(t.all_routes()));
}

}  // namespace
}  // namespace baker::sherlock
