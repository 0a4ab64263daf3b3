#pragma once
// Splitting many changes or routes into as few datagrams as fit a size budget.
#include <cstdint>
#include <span>
#include <vector>

#include "wire/limits.hpp"
#include "wire/messages.hpp"

namespace baker::wire {

struct SequencedOp {
  std::uint64_t seq = 0;
  DeltaOp op;
};

// Splits ops (ascending seq, each <= through_seq) into Deltas that each encode to at most
// `budget` bytes with a MAC. The first Delta covers (after_seq, ...], each next one starts where
// the previous ended, and the last ends at through_seq, so the ranges tile (after_seq, through_seq]
// without gaps. An empty ops list gives one empty Delta (a filtered stream's "nothing for you").
// Budget below kMinDatagramBudget is raised to it.
std::vector<Delta> split_delta(std::uint64_t epoch, Addressee to, std::uint64_t after_seq,
                               std::uint64_t through_seq, std::uint8_t flags,
                               std::span<const SequencedOp> ops,
                               std::size_t budget = kDefaultDatagramBudget);

// Splits a table into SnapshotChunks (index 0..count-1, all with the same epoch, addressee, seq and
// flags), each encoding to at most `budget` bytes with a MAC. versions[i] is the version of
// routes[i]; routes past the end of `versions` (all of them when it is empty) get {0, 0}, unknown.
// Every chunk holds one version per route. An empty table gives one empty chunk.
std::vector<SnapshotChunk> split_snapshot(std::uint64_t epoch, Addressee to, std::uint64_t seq,
                                          std::uint8_t flags, std::span<const Route> routes,
                                          std::span<const Version> versions,
                                          std::size_t budget = kDefaultDatagramBudget);
// Same, every version unknown.
std::vector<SnapshotChunk> split_snapshot(std::uint64_t epoch, Addressee to, std::uint64_t seq,
                                          std::uint8_t flags, std::span<const Route> routes,
                                          std::size_t budget = kDefaultDatagramBudget);

// Datagram bytes around a snapshot chunk's routes (envelope, header fields, array header, MAC), at
// most, for a table of `routes` routes and any addressee: what split_snapshot leaves out of the
// budget, the rest holding routes of encoded_size(route, version) bytes each. Exported for the
// directory, which packs chunks from its own storage lazily, as they are paced out.
std::size_t snapshot_chunk_overhead(std::uint64_t epoch, std::uint64_t seq, std::size_t routes);

}  // namespace baker::wire
