#include "wire/packing.hpp"

#include <algorithm>

#include "wire/codec.hpp"

namespace baker::wire {
namespace {

std::size_t uint_size(std::uint64_t v) {
  return v < 128 ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3 : v <= 0xffffffffu ? 5 : 9;
}

// Bytes around the ops/routes array, at most: envelope (array, version, type, key id as uint32),
// body array, the given uint fields, flags, an array16 header, and a MAC field. Exact sizes of the
// known fields keep datagrams as full as the budget allows.
std::size_t overhead(std::initializer_list<std::uint64_t> fields) {
  std::size_t n = 1 + 1 + 1 + 5 + 1 + 1 + 3 + (2 + kMacSize);
  for (auto f : fields) n += uint_size(f);
  return n;
}

std::size_t room(std::size_t budget, std::size_t overhead_bytes) {
  return std::max(budget, kMinDatagramBudget) - overhead_bytes;
}

}  // namespace

std::size_t snapshot_chunk_overhead(std::uint64_t epoch, std::uint64_t seq, std::size_t routes) {
  // count and index are at most the number of routes (one chunk per route, worst case); the
  // addressee's subscriber id and nonce take at most 9 bytes each.
  return overhead({epoch, UINT64_MAX, UINT64_MAX, seq, routes + 1, routes + 1});
}

std::vector<Delta> split_delta(std::uint64_t epoch, Addressee to, std::uint64_t after_seq,
                               std::uint64_t through_seq, std::uint8_t flags,
                               std::span<const SequencedOp> ops, std::size_t budget) {
  // Later datagrams' from/to are between after_seq and through_seq: through_seq bounds both.
  const std::size_t room_left =
      room(budget, overhead({epoch, to.subscriber_id, to.nonce, through_seq, through_seq}));
  std::vector<Delta> out;
  Delta cur{epoch, to.subscriber_id, to.nonce, after_seq, through_seq, flags, {}};
  std::size_t used = 0;
  for (const auto& s : ops) {
    const std::size_t n = encoded_size(s.op);
    if (used + n > room_left && !cur.ops.empty()) {
      // Close the current datagram at the seq just before this op, so the ranges tile.
      cur.to_seq = s.seq - 1;
      const std::uint64_t next_from = cur.to_seq;
      out.push_back(std::move(cur));
      cur = Delta{epoch, to.subscriber_id, to.nonce, next_from, through_seq, flags, {}};
      used = 0;
    }
    cur.ops.push_back(s.op);
    used += n;
  }
  cur.to_seq = through_seq;
  out.push_back(std::move(cur));
  return out;
}

std::vector<SnapshotChunk> split_snapshot(std::uint64_t epoch, Addressee to, std::uint64_t seq,
                                          std::uint8_t flags, std::span<const Route> routes,
                                          std::span<const Version> versions, std::size_t budget) {
  const std::size_t room_left = room(budget, snapshot_chunk_overhead(epoch, seq, routes.size()));
  const auto empty_chunk = [&](std::size_t index) {
    SnapshotChunk c{epoch, to.subscriber_id, to.nonce, seq, 0, 1, flags, {}, {}};
    c.index = static_cast<std::uint32_t>(index);
    return c;
  };
  std::vector<SnapshotChunk> chunks;
  chunks.push_back(empty_chunk(0));
  std::size_t used = 0;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const Route& r = routes[i];
    const Version v = i < versions.size() ? versions[i] : Version{};
    const std::size_t n = encoded_size(r, v);
    if (used + n > room_left && !chunks.back().routes.empty()) {
      chunks.push_back(empty_chunk(chunks.size()));
      used = 0;
    }
    chunks.back().routes.push_back(r);
    chunks.back().versions.push_back(v);
    used += n;
  }
  for (auto& c : chunks) c.count = static_cast<std::uint32_t>(chunks.size());
  return chunks;
}

std::vector<SnapshotChunk> split_snapshot(std::uint64_t epoch, Addressee to, std::uint64_t seq,
                                          std::uint8_t flags, std::span<const Route> routes,
                                          std::size_t budget) {
  return split_snapshot(epoch, to, seq, flags, routes, {}, budget);
}

}  // namespace baker::wire
