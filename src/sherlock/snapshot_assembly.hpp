#pragma once
// Collects SnapshotChunks until a snapshot is complete (docs/PROTOCOL.md, "Subscriptions, leases,
// NACKs, snapshots"). Chunks are keyed by (epoch, seq, count, flags); a snapshot asked for again
// at the same sequence fills in the chunks the first attempt lost. Each chunk's routes go into a
// ReplicaTable::Staged at once, so completing a large snapshot costs little.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "common/clock.hpp"
#include "sherlock/replica_table.hpp"
#include "wire/messages.hpp"

namespace baker::sherlock {

struct Snapshot {
  std::uint64_t epoch = 0;
  std::uint64_t seq = 0;
  std::uint8_t flags = 0;
  ReplicaTable::Staged routes;
  std::uint32_t chunks = 0;
  TimePoint first_chunk_at{};
};

class SnapshotAssembly {
 public:
  // At most this many snapshots are assembled at once; a new one evicts the least recently fed.
  // Chunks and route bytes held across them are bounded too: a chunk past either bound is
  // dropped (and counted), so no flood of forged chunks grows memory without bound.
  explicit SnapshotAssembly(std::size_t max_in_progress = 2, std::size_t max_chunks = 1u << 18,
                            std::size_t max_bytes = std::size_t{2} << 30)
      : max_in_progress_(max_in_progress), max_chunks_(max_chunks), max_bytes_(max_bytes) {}

  // Returns the snapshot when this chunk completes it (and forgets it, with every other
  // snapshot of the same epoch at or below its sequence).
  std::optional<Snapshot> add(wire::SnapshotChunk chunk, TimePoint now);
  // Forgets everything not of `epoch` (after the directory restarted).
  void keep_only_epoch(std::uint64_t epoch);
  // Forgets snapshots of `epoch` below `seq` (they can no longer be applied).
  void drop_older(std::uint64_t epoch, std::uint64_t seq);
  void clear() {
    pending_.clear();
    chunks_ = 0;
    bytes_ = 0;
  }

  bool in_progress() const { return !pending_.empty(); }
  std::size_t dropped() const { return dropped_; }  // chunks refused by the bounds
  std::size_t chunks_held() const { return chunks_; }
  std::size_t bytes_held() const { return bytes_; }
  // Last time a chunk arrived for any snapshot still being assembled.
  std::optional<TimePoint> last_chunk_at() const;
  // Chunks received / expected of the most recently fed snapshot (for logs).
  std::pair<std::size_t, std::size_t> progress() const;

 private:
  using Key = std::tuple<std::uint64_t, std::uint64_t, std::uint32_t, std::uint8_t>;
  struct Pending {
    std::set<std::uint32_t> received;  // chunk indexes
    ReplicaTable::Staged routes;
    TimePoint first_chunk_at{};
    TimePoint last_chunk_at{};
    std::size_t bytes = 0;
  };
  void forget(std::map<Key, Pending>::iterator it);

  std::size_t max_in_progress_;
  std::size_t max_chunks_;
  std::size_t max_bytes_;
  std::size_t chunks_ = 0;
  std::size_t bytes_ = 0;
  std::size_t dropped_ = 0;
  std::map<Key, Pending> pending_;
};

}  // namespace baker::sherlock
