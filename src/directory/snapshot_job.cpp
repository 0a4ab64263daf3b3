#include "directory/snapshot_job.hpp"

#include <algorithm>

#include "wire/codec.hpp"
#include "wire/limits.hpp"
#include "wire/packing.hpp"

namespace baker::directory {
SnapshotJob::SnapshotJob(std::uint64_t epoch, wire::Addressee to, std::uint64_t seq,
                         std::uint8_t flags, const RouteTable& table,
                         std::span<const ServiceId> filter, std::size_t budget)
    : epoch_(epoch), to_(to), seq_(seq), flags_(flags), filter_(filter.begin(), filter.end()) {
  std::size_t expected = table.live_count();
  if (!filter_.empty()) {
    expected = 0;
    for (ServiceId s : filter_) expected += table.service_count(s);
  }
  slots_.reserve(expected);
  const RouteIndex limit = table.slot_limit();
  for (RouteIndex i = 0; i < limit && slots_.size() < expected; ++i) {
    const RouteRecord& r = table.at(i);
    if (r.live && wants(r.service)) slots_.push_back(i);
  }
  const std::size_t room = std::max(budget, wire::kMinDatagramBudget) -
                           wire::snapshot_chunk_overhead(epoch, seq, slots_.size());
  bounds_.push_back(0);
  std::size_t used = 0;
  for (std::size_t p = 0; p < slots_.size(); ++p) {
    // Snapshot routes are array(9): the cached array(7) size plus the version's two fields.
    const std::size_t n =
        table.at(slots_[p]).encoded_size + wire::encoded_size(table.version(slots_[p]));
    if (used + n > room && used > 0) {
      bounds_.push_back(static_cast<std::uint32_t>(p));
      used = 0;
    }
    used += n;
  }
  bounds_.push_back(static_cast<std::uint32_t>(slots_.size()));
}

bool SnapshotJob::wants(ServiceId s) const {
  return filter_.empty() || std::binary_search(filter_.begin(), filter_.end(), s);
}

void SnapshotJob::before_change(RouteIndex i, const RouteTable& table) {
  if (done()) return;
  const RouteRecord& r = table.at(i);
  // In the snapshot: live with the value it had at seq_, and of a wanted service.
  if (!r.live || r.changed_seq > seq_ || !wants(r.service)) return;
  const std::uint32_t first_unsent = bounds_[next_];
  if (first_unsent >= slots_.size() || i < slots_[first_unsent]) return;  // already sent
  stash_.try_emplace(i, Stashed{table.to_route(i), table.version(i)});
}

wire::SnapshotChunk SnapshotJob::next_chunk(const RouteTable& table) {
  wire::SnapshotChunk c{epoch_, to_.subscriber_id, to_.nonce, seq_, next_, count(), flags_, {}, {}};
  const std::uint32_t from = bounds_[next_];
  const std::uint32_t to = bounds_[next_ + 1];
  c.routes.reserve(to - from);
  c.versions.reserve(to - from);
  for (std::uint32_t p = from; p < to; ++p) {
    const RouteIndex i = slots_[p];
    if (auto it = stash_.find(i); it != stash_.end()) {
      c.routes.push_back(std::move(it->second.route));
      c.versions.push_back(it->second.version);
      stash_.erase(it);
    } else {
      c.routes.push_back(table.to_route(i));
      c.versions.push_back(table.version(i));
    }
  }
  ++next_;
  return c;
}

}  // namespace baker::directory
