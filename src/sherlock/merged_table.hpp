#pragma once
// Several directories' streams merged into the one route set HAProxy gets (docs/PROTOCOL.md,
// "Several directories"). Each stream's ReplicaTable tells this table every change; per instance
// the record with the highest Version wins, a Goodbye anywhere shadows its incarnation everywhere,
// and a route a live directory dropped stays only while another live directory holds it. A stream
// going down, partitioned or warming up removes nothing by itself. Pure: no clock, no I/O.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sherlock/replica_table.hpp"

namespace baker::sherlock {

struct MergeStats {
  std::uint64_t goodbyes = 0;          // routes removed by a Goodbye at some directory
  std::uint64_t dropped = 0;           // routes removed: dropped by a live directory, held by none
  std::uint64_t kept_by_other = 0;     // drops at one directory while another live one held it
  std::uint64_t shadowed = 0;          // records not shown: at or below a Goodbye or a drop
  std::uint64_t released_on_down = 0;  // disputed routes removed when their last holder went down
};

class MergedTable final : public ReplicaTable::Listener {
 public:
  // view_filter: the services the merged view shows (empty = all), as ReplicaTable's.
  explicit MergedTable(std::vector<std::string> view_filter = {});
  MergedTable(const MergedTable&) = delete;
  MergedTable& operator=(const MergedTable&) = delete;

  // Registers a stream's table (it must outlive this) and becomes its listener; streams are
  // numbered in registration order. A new stream is not live.
  std::size_t add_stream(ReplicaTable& table);
  // Live: its directory answers us, follows an epoch and is not warming up. Only live streams'
  // records keep a route another directory dropped; a stream ceasing to be live releases the
  // routes only it was keeping.
  void set_live(std::size_t stream, bool live);
  bool live(std::size_t stream) const { return streams_.at(stream).live; }
  std::size_t stream_count() const { return streams_.size(); }

  // The merged routes (each with its winning version), and the services changed since the last
  // call (brings table().view() up to date).
  const ReplicaTable& table() const { return merged_; }
  std::vector<std::string> take_changes() { return merged_.take_changes(); }
  // Instances one live directory dropped while another keeps them.
  std::size_t disputed() const { return disputed_count_; }
  std::size_t shadows() const { return shadow_count_; }
  const MergeStats& stats() const { return stats_; }

  void upserted(const ReplicaTable& table, const ReplicaTable::Entry& entry) override;
  void removed(const ReplicaTable& table, std::string_view service, std::string_view instance,
               ReplicaTable::Gone why, wire::Version version) override;
  // Nothing merged or remembered yet and no other stream holds anything: the first snapshot is
  // the merged set (copied whole).
  bool filled(const ReplicaTable& table) override;

 private:
  struct Stream {
    const ReplicaTable* table = nullptr;
    bool live = false;
  };
  // What the merge remembers of an instance beyond the streams' own records.
  struct Memory {
    std::optional<wire::Version> shadow;  // records at or below it are not shown
    std::uint32_t dropped_by = 0;         // bit i: live stream i dropped it (cleared on upsert)
  };
  struct Best {
    const ReplicaTable::Entry* entry = nullptr;
    std::size_t stream = 0;
  };
  using Instances = std::map<std::string, Memory, std::less<>>;
  using Services = std::map<std::string, Instances, std::less<>>;

  std::size_t index_of(const ReplicaTable& table) const;
  Memory* memory(std::string_view service, std::string_view instance);
  Memory& remember(std::string_view service, std::string_view instance);
  void forget_if_unheld(std::string_view service, std::string_view instance);
  // The highest record of the instance above `shadow`, among all streams or only live ones.
  std::optional<Best> best(std::string_view service, std::string_view instance,
                           const std::optional<wire::Version>& shadow, bool live_only) const;
  std::optional<wire::Version> highest_held(std::string_view service,
                                            std::string_view instance) const;
  bool held_anywhere(std::string_view service, std::string_view instance) const;
  void show(const Best& b);
  // No live stream holds it: it leaves, and what frozen streams hold is shadowed.
  void drop(std::string_view service, std::string_view instance, wire::Version removed);
  void set_disputed(Memory& m, std::uint32_t bits);
  // At least `to` from now on (counted once per instance remembered).
  void raise_shadow(Memory& m, wire::Version to);

  std::vector<Stream> streams_;
  Services memory_;
  std::size_t disputed_count_ = 0;
  std::size_t shadow_count_ = 0;
  ReplicaTable merged_;
  MergeStats stats_;
};

}  // namespace baker::sherlock
