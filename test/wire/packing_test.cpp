#include "wire/packing.hpp"

#include <gtest/gtest.h>

#include "wire/codec.hpp"
#include "wire/digest.hpp"
#include "wire/sample_messages.hpp"

namespace baker::wire {
namespace {

// The addressee with the longest encoding: what packing must leave room for.
constexpr Addressee kLongestAddressee{~0ull, ~0ull};
constexpr Addressee kAnswer{0x5eed0000cafe0077ULL, 9};

// A version whose encoding grows with k (seq 1..9 bytes), as a long-running watson's does.
Version version_of(int k) {
  return {1'796'000'000'000'000ULL + static_cast<std::uint64_t>(k), static_cast<std::uint64_t>(k)
                                                                        << (k % 5 * 12)};
}

// Adds, updates and removes (by goodbye and by expiry), with versions of every width.
std::vector<SequencedOp> many_ops(int n, std::uint64_t first_seq) {
  std::vector<SequencedOp> ops;
  for (int k = 0; k < n; ++k) {
    const auto kind = static_cast<OpKind>(k % 3);
    Route r = samples::sample_route(k);
    if (kind == OpKind::remove) r = Route{.service = r.service, .instance = r.instance};
    const auto removal = k % 2 ? Removal::goodbye : Removal::expired;
    ops.push_back({first_seq + static_cast<std::uint64_t>(k), {kind, r, version_of(k), removal}});
    if (kind != OpKind::remove) ops.back().op.removal = Removal::expired;
  }
  return ops;
}

TEST(SplitDelta, RangesTileWithoutGapsAndFitBudget) {
  const Keyring keys = [] {
    Keyring k;
    Key key{};
    k.add(0xffffffffu, key, true);  // the longest key id encoding
    return k;
  }();
  const auto ops = many_ops(500, 101);
  const auto deltas = split_delta(7, kLongestAddressee, 100, 600, kFlagWarmup, ops, 1400);
  ASSERT_GT(deltas.size(), 1u);
  std::uint64_t expect_from = 100;
  std::size_t total_ops = 0;
  for (const auto& d : deltas) {
    EXPECT_EQ(d.from_seq, expect_from);
    EXPECT_GT(d.to_seq, d.from_seq);
    EXPECT_EQ(d.flags, kFlagWarmup);
    EXPECT_EQ(d.subscriber_id, kLongestAddressee.subscriber_id);
    EXPECT_EQ(d.nonce, kLongestAddressee.nonce);
    EXPECT_LE(encode(d, &keys).size(), 1400u);
    auto back = decode(encode(d, &keys), {&keys});
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(std::get<Delta>(back.value().message), d) << "versions and removals travel";
    expect_from = d.to_seq;
    total_ops += d.ops.size();
  }
  EXPECT_EQ(expect_from, 600u);
  EXPECT_EQ(total_ops, 500u);
}

TEST(SplitDelta, PacksAsFewDatagramsAsFit) {
  const auto ops = many_ops(500, 1);
  const auto deltas = split_delta(7, kLongestAddressee, 0, 500, 0, ops, 1400);
  // Each datagram but the last must have been full: adding its successor's first op would overflow.
  for (std::size_t k = 0; k + 1 < deltas.size(); ++k) {
    Delta grown = deltas[k];
    grown.ops.push_back(deltas[k + 1].ops.front());
    grown.to_seq = deltas[k + 1].from_seq + 1;
    Keyring keys;
    keys.add(1, Key{}, true);
    EXPECT_GT(encode(grown, &keys).size() + 8, 1400u) << k;  // 8: key id and array header slack
  }
}

TEST(SplitDelta, FilteredOpsKeepTheWholeRange) {
  // A subscriber that only sees seqs 5 and 9 of (0, 12] still gets a stream tiling (0, 12].
  std::vector<SequencedOp> ops = {{5, {OpKind::add, samples::sample_route(1)}},
                                  {9, {OpKind::remove, samples::sample_route(1)}}};
  const auto deltas = split_delta(7, Addressee{}, 0, 12, 0, ops);
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].from_seq, 0u);
  EXPECT_EQ(deltas[0].to_seq, 12u);
  EXPECT_EQ(deltas[0].ops.size(), 2u);
}

TEST(SplitDelta, NoOpsGivesOneEmptyDelta) {
  const auto deltas = split_delta(7, Addressee{42, 7}, 3, 8, 0, {});
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_TRUE(deltas[0].ops.empty());
  EXPECT_TRUE(decode(encode(deltas[0])).ok());
}

TEST(SplitSnapshot, ChunksCoverTheTableAndFit) {
  std::vector<Route> table;
  std::vector<Version> versions;
  for (int k = 0; k < 1000; ++k) {
    table.push_back(samples::sample_route(k));
    versions.push_back(version_of(k));
  }
  Keyring keys;
  keys.add(0xffffffffu, Key{}, true);
  const auto chunks = split_snapshot(9, kLongestAddressee, 1234, 0, table, versions, 1400);
  ASSERT_GT(chunks.size(), 1u);
  std::vector<Route> back;
  std::vector<Version> back_versions;
  for (std::size_t k = 0; k < chunks.size(); ++k) {
    EXPECT_EQ(chunks[k].index, k);
    EXPECT_EQ(chunks[k].count, chunks.size());
    EXPECT_EQ(chunks[k].seq, 1234u);
    EXPECT_EQ(chunks[k].subscriber_id, kLongestAddressee.subscriber_id);
    EXPECT_EQ(chunks[k].nonce, kLongestAddressee.nonce);
    const Bytes b = encode(chunks[k], &keys);
    EXPECT_LE(b.size(), 1400u);
    auto d = decode(b, {&keys});
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(std::get<SnapshotChunk>(d.value().message), chunks[k]);
    back.insert(back.end(), chunks[k].routes.begin(), chunks[k].routes.end());
    back_versions.insert(back_versions.end(), chunks[k].versions.begin(), chunks[k].versions.end());
  }
  EXPECT_EQ(back, table);
  EXPECT_EQ(back_versions, versions);
  EXPECT_EQ(table_digest(back), table_digest(table));
}

TEST(SplitSnapshot, PacksAsFewChunksAsFit) {
  std::vector<Route> table;
  std::vector<Version> versions;
  for (int k = 0; k < 500; ++k) {
    table.push_back(samples::sample_route(k));
    versions.push_back(version_of(k));
  }
  Keyring keys;
  keys.add(1, Key{}, true);
  const auto chunks = split_snapshot(9, kAnswer, 1234, 0, table, versions, 1400);
  // Each chunk but the last must have been full: its successor's first route would overflow it.
  for (std::size_t k = 0; k + 1 < chunks.size(); ++k) {
    SnapshotChunk grown = chunks[k];
    grown.routes.push_back(chunks[k + 1].routes.front());
    grown.versions.push_back(chunks[k + 1].versions.front());
    // 16: what the overhead reserves beyond this chunk's header (key id 5 bytes, not 1; nonce 9,
    // not 1; index and count 3 each, not 1)
    EXPECT_GT(encode(grown, &keys).size() + 16, 1400u) << k;
  }
}

TEST(SplitSnapshot, WithoutVersionsEveryRouteIsUnknown) {
  std::vector<Route> table;
  for (int k = 0; k < 100; ++k) table.push_back(samples::sample_route(k));
  const std::vector<Version> few = {{5, 6}, {7, 8}};
  std::size_t seen = 0;
  for (const auto& c : split_snapshot(1, kAnswer, 2, 0, table, few, 1300)) {
    ASSERT_EQ(c.versions.size(), c.routes.size());
    for (const auto& v : c.versions) {
      EXPECT_EQ(v, seen < few.size() ? few[seen] : Version{}) << seen;
      ++seen;
    }
  }
  EXPECT_EQ(seen, table.size());
  EXPECT_EQ(split_snapshot(1, kAnswer, 2, 0, table, 1300),
            split_snapshot(1, kAnswer, 2, 0, table, std::vector<Version>(100), 1300));
}

TEST(SplitSnapshot, EmptyTableIsOneEmptyChunk) {
  const auto chunks = split_snapshot(9, kAnswer, 0, kFlagWarmup, std::span<const Route>{});
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].count, 1u);
  EXPECT_TRUE(decode(encode(chunks[0])).ok());
}

TEST(SplitSnapshot, LargestPossibleRoutesFitTheSmallestBudget) {
  Route big;
  big.service = std::string(100, 'a');
  big.instance = std::string(64, 'b');
  big.address = *IpAddress::parse("ffff::ffff");
  big.port = 65535;
  big.weight = 256;
  big.tags.assign(8, std::string(64, 't'));
  std::vector<Route> table(5, big);
  const std::vector<Version> versions(5, Version{~0ull, ~0ull});
  Keyring keys;
  keys.add(0xffffffffu, Key{}, true);
  for (const auto& c : split_snapshot(~0ull, kLongestAddressee, ~0ull, 1, table, versions,
                                      100 /* raised to the minimum */)) {
    EXPECT_LE(encode(c, &keys).size(), kMinDatagramBudget);
    EXPECT_FALSE(c.routes.empty());
  }
  // And the largest op: an add of that route with the largest version.
  std::vector<SequencedOp> ops = {{~0ull, {OpKind::add, big, versions[0]}}};
  for (const auto& d : split_delta(~0ull, kLongestAddressee, ~0ull - 1, ~0ull, 1, ops, 100)) {
    EXPECT_LE(encode(d, &keys).size(), kMinDatagramBudget);
  }
}

TEST(Digest, OrderIndependentAndIncremental) {
  const Route a = samples::sample_route(1), b = samples::sample_route(2);
  Route b2 = b;
  b2.weight = 7;
  std::vector<Route> ab = {a, b}, ba = {b, a};
  EXPECT_EQ(table_digest(ab), table_digest(ba));
  EXPECT_NE(route_digest(b), route_digest(b2));
  std::uint64_t d = table_digest(ab);
  d = d - route_digest(b) + route_digest(b2);  // update b -> b2
  std::vector<Route> ab2 = {a, b2};
  EXPECT_EQ(d, table_digest(ab2));
  EXPECT_EQ(table_digest({}), 0u);
}

}  // namespace
}  // namespace baker::wire
