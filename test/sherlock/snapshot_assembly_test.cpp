#include "sherlock/snapshot_assembly.hpp"

#include <gtest/gtest.h>

#include "scripted_directory.hpp"
#include "wire/digest.hpp"
#include "wire/packing.hpp"

namespace baker::sherlock {
namespace {

using namespace std::chrono_literals;
using testing::make_route;

std::vector<wire::SnapshotChunk> chunks_of(std::uint64_t seq, int routes) {
  std::vector<wire::Route> rs;
  for (int i = 0; i < routes; ++i) rs.push_back(make_route("api", "i-" + std::to_string(i), i));
  return wire::split_snapshot(0xE1, {42, 1}, seq, 0, rs, wire::kMinDatagramBudget);
}

TEST(SnapshotAssemblyTest, CompletesInAnyOrderAndIgnoresDuplicates) {
  SnapshotAssembly a;
  const TimePoint now{};
  auto chunks = chunks_of(10, 120);
  ASSERT_GE(chunks.size(), 3u);
  std::reverse(chunks.begin(), chunks.end());
  for (std::size_t i = 0; i + 1 < chunks.size(); ++i) {
    EXPECT_FALSE(a.add(chunks[i], now));
    EXPECT_FALSE(a.add(chunks[i], now));  // duplicate
  }
  const auto done = a.add(chunks.back(), now);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->seq, 10u);
  EXPECT_EQ(done->routes.size(), 120u);
  EXPECT_EQ(done->chunks, chunks.size());
  ReplicaTable t;
  t.replace(std::move(done->routes));
  EXPECT_EQ(t.size(), 120u);
  EXPECT_EQ(t.digest(), wire::table_digest(t.all_routes()));
  EXPECT_FALSE(a.in_progress());
}

TEST(SnapshotAssemblyTest, DifferentSequencesAreNotMixed) {
  SnapshotAssembly a;
  const TimePoint now{};
  const auto s10 = chunks_of(10, 120);
  const auto s11 = chunks_of(11, 120);
  a.add(s10[0], now);
  for (std::size_t i = 1; i < s11.size(); ++i) EXPECT_FALSE(a.add(s11[i], now));
  const auto done = a.add(s11[0], now + 1ms);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->seq, 11u);
  EXPECT_FALSE(a.in_progress()) << "the older snapshot is useless once a newer one landed";
}

TEST(SnapshotAssemblyTest, EvictsTheLeastRecentlyFedBeyondItsLimit) {
  SnapshotAssembly a(2);
  const auto s1 = chunks_of(1, 120);
  const auto s2 = chunks_of(2, 120);
  const auto s3 = chunks_of(3, 120);
  a.add(s1[0], TimePoint{} + 1ms);
  a.add(s2[0], TimePoint{} + 2ms);
  a.add(s3[0], TimePoint{} + 3ms);  // evicts seq 1
  for (std::size_t i = 1; i < s1.size(); ++i) EXPECT_FALSE(a.add(s1[i], TimePoint{} + 4ms));
  EXPECT_EQ(a.last_chunk_at(), TimePoint{} + 4ms);
  a.keep_only_epoch(0xE2);
  EXPECT_FALSE(a.in_progress());
}

TEST(SnapshotAssemblyTest, ChunksAndBytesUnderAssemblyAreBounded) {
  // A flood of forged chunks (many snapshots, many indexes) cannot grow memory past the bounds.
  SnapshotAssembly a(2, 5, std::size_t{1} << 30);
  const auto s1 = chunks_of(1, 400);
  ASSERT_GE(s1.size(), 7u);
  for (std::size_t i = 0; i < 7; ++i) a.add(s1[i], TimePoint{});
  EXPECT_EQ(a.chunks_held(), 5u);
  EXPECT_EQ(a.dropped(), 2u);
  SnapshotAssembly b(2, 1000, 4096);
  for (const auto& c : s1) b.add(c, TimePoint{});
  EXPECT_LE(b.bytes_held(), 4096u);
  EXPECT_GT(b.dropped(), 0u);
  b.clear();
  EXPECT_EQ(b.bytes_held(), 0u);
}

}  // namespace
}  // namespace baker::sherlock
