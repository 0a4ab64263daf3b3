#include "directory/route_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "directory/delta_log.hpp"
#include "directory/expiry_index.hpp"
#include "directory/interner.hpp"
#include "wire/codec.hpp"
#include "wire/digest.hpp"

namespace baker::directory {
namespace {

wire::Route route(const std::string& service, const std::string& instance, std::uint16_t port) {
  wire::Route r;
  r.service = service;
  r.instance = instance;
  r.address = wire::IpAddress::v4(10, 1, 2, 3);
  r.port = port;
  if (port % 3 == 0) r.tags = {"zone=" + std::to_string(port % 2), "v2"};
  return r;
}

// Random inserts, updates, tombstones and erases against a std::map: lookups, digests and counts
// must always agree (this exercises index growth and backward-shift deletion).
TEST(RouteTable, AgreesWithAModelUnderRandomChurn) {
  RouteTable table;
  std::map<std::pair<std::string, std::string>, wire::Route> model;
  std::mt19937 rng(42);
  const std::vector<std::string> services = {"web", "api", "db", "cache"};
  for (int step = 0; step < 40000; ++step) {
    const std::string service = services[rng() % services.size()];
    const std::string instance = "i-" + std::to_string(rng() % 3000);
    const auto key = std::make_pair(service, instance);
    RouteIndex i = table.find(service, instance);
    ASSERT_EQ(i != kNoRoute && table.at(i).live, model.count(key) == 1) << step;
    const int action = static_cast<int>(rng() % 10);
    if (action < 6) {
      const auto r = route(service, instance, static_cast<std::uint16_t>(1 + rng() % 500));
      if (i == kNoRoute) i = table.insert(service, instance);
      table.set_route(i, r);
      model[key] = r;
    } else if (action < 8 && i != kNoRoute) {
      table.clear_route(i);
      model.erase(key);
    } else if (i != kNoRoute) {
      table.erase(i);
      model.erase(key);
      ASSERT_EQ(table.find(service, instance), kNoRoute);
    }
  }
  std::uint64_t digest = 0;
  std::map<std::string, std::uint32_t> per_service;
  for (const auto& [k, r] : model) {
    digest += wire::route_digest(r);
    ++per_service[r.service];
    const RouteIndex i = table.find(k.first, k.second);
    ASSERT_NE(i, kNoRoute);
    EXPECT_EQ(table.to_route(i), r);
    EXPECT_EQ(table.at(i).encoded_size, wire::encoded_size(r));
  }
  EXPECT_EQ(table.digest(), digest);
  EXPECT_EQ(table.live_count(), model.size());
  for (const auto& [name, count] : per_service) {
    EXPECT_EQ(table.service_count(*table.services().find(name)), count);
  }
}

TEST(RouteTable, ErasedSlotIsReusedWithNewGeneration) {
  RouteTable table;
  const RouteIndex a = table.insert("web", "a");
  table.set_route(a, route("web", "a", 1));
  const std::uint32_t gen = table.at(a).generation;
  table.erase(a);
  const RouteIndex b = table.insert("web", "b");
  EXPECT_EQ(a, b);
  EXPECT_NE(table.at(b).generation, gen);
  EXPECT_EQ(table.used_count(), 1u);
}

TEST(ServiceNames, IdsAreReferenceCountedAndReused) {
  ServiceNames names;
  const ServiceId web = names.acquire("web");
  EXPECT_EQ(names.acquire("web"), web);
  names.release(web);
  EXPECT_TRUE(names.find("web"));
  names.release(web);
  EXPECT_FALSE(names.find("web"));
  const ServiceId api = names.acquire("api");
  EXPECT_EQ(api, web);  // the freed id is reused
  EXPECT_EQ(names.name(api), "api");
}

TEST(TagSets, EqualListsShareOneId) {
  TagSets tags;
  const std::vector<std::string> a = {"x", "y"};
  const TagSetId id = tags.acquire(a);
  EXPECT_EQ(tags.acquire(std::vector<std::string>{"x", "y"}), id);
  EXPECT_NE(tags.acquire(std::vector<std::string>{"y", "x"}), id);  // order matters on the wire
  EXPECT_EQ(tags.acquire(std::vector<std::string>{}), TagSets::kEmpty);
  EXPECT_TRUE(tags.equals(id, a));
}

TEST(ExpiryIndex, PopsInDeadlineOrder) {
  ExpiryIndex index;
  std::mt19937 rng(1);
  for (std::uint32_t i = 0; i < 1000; ++i)
    index.push({static_cast<std::int64_t>(rng() % 5000), i, 0});
  std::int64_t last = -1;
  while (!index.empty()) {
    const auto e = index.pop();
    EXPECT_GE(e.deadline, last);
    last = e.deadline;
  }
  EXPECT_EQ(index.operations(), 2000u);
}

TEST(DeltaLog, KeepsTheMostRecentChanges) {
  DeltaLog log(3);
  EXPECT_TRUE(log.covers(0));
  for (std::uint64_t s = 1; s <= 5; ++s) log.append({s, {}});
  EXPECT_EQ(log.first_seq(), 3u);
  EXPECT_EQ(log.last_seq(), 5u);
  EXPECT_TRUE(log.covers(2));
  EXPECT_TRUE(log.covers(5));
  EXPECT_FALSE(log.covers(1));
  EXPECT_FALSE(log.covers(6));
  std::vector<std::uint64_t> seen;
  log.for_range(3, 5, [&](const wire::SequencedOp& op) { seen.push_back(op.seq); });
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{4, 5}));
}

}  // namespace
}  // namespace baker::directory
