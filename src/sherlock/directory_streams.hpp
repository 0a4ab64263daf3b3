#pragma once
// sherlock's core for several directories: one Replica per directory (its own subscription,
// epoch, sequencing, NACKs, snapshots and warm-up), all merged by one MergedTable into the route
// set the sink gets. Sans-I/O like Replica: the shell says which directory a datagram came from
// and sends each stream's messages to its own directory.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sherlock/merged_table.hpp"
#include "sherlock/replica.hpp"

namespace baker::sherlock {

class DirectoryStreams {
 public:
  // One stream per config, in order; view_filter: the services the merged view shows.
  // stagger: streams after the first subscribe once some stream holds a snapshot, or this long
  // after their start at the latest, so a fresh sherlock's one core assembles one full snapshot
  // first instead of all of them at once (the first complete route set comes as fast as with
  // one directory).
  DirectoryStreams(std::vector<ReplicaConfig> configs, std::vector<std::string> view_filter,
                   Duration stagger = std::chrono::milliseconds(300));

  std::size_t size() const { return streams_.size(); }
  const Replica& stream(std::size_t i) const { return *streams_.at(i); }
  // Live: answering, following an epoch, not warming up (MergedTable::set_live).
  bool live(std::size_t i) const { return live_.at(i) != 0; }
  // Some stream holds its directory's whole table (a snapshot applied, no gap); with live_only,
  // a live one (a directory warming up after its restart does not hold every instance yet).
  bool any_synced(bool live_only = false) const;

  // Each returns what stream i sends to its directory.
  Replica::Outgoing start(std::size_t i, TimePoint now);
  Replica::Outgoing on_message(std::size_t i, wire::Message m, TimePoint now,
                               Replica::Source source = Replica::Source::unicast);
  // After a batch of datagrams: the Subscribes of streams deferred by the stagger, once some
  // stream holds a snapshot (element i: what stream i sends).
  std::vector<Replica::Outgoing> take_deferred(TimePoint now);
  // Element i: what stream i sends.
  std::vector<Replica::Outgoing> on_timer(TimePoint now);
  std::vector<Replica::Outgoing> stop();
  std::optional<TimePoint> next_deadline() const;

  // The merged routes, and the services changed since the last call. With one directory the
  // merge is the identity, and is not built: its stream's table is the route set (as fast, and
  // as small, as a sherlock was before several directories).
  const MergedTable& merged() const { return merged_; }
  const ReplicaTable& table() const { return single() ? streams_[0]->table() : merged_.table(); }
  std::vector<std::string> take_changes() {
    return single() ? streams_[0]->take_changes() : merged_.take_changes();
  }

 private:
  void refresh_live();
  bool any_snapshot() const;
  void start_deferred(TimePoint now, bool all_due, std::vector<Replica::Outgoing>& out);
  bool single() const { return streams_.size() == 1; }

  MergedTable merged_;  // declared first: the replicas' tables tell it their changes
  std::vector<std::unique_ptr<Replica>> streams_;
  std::vector<char> live_;
  Duration stagger_;
  std::vector<std::optional<TimePoint>>
      deferred_;  // start due by then (nullopt: started or not asked)
};

}  // namespace baker::sherlock
