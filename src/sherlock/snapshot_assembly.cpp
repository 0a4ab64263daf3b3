#include "sherlock/snapshot_assembly.hpp"

#include <algorithm>

namespace baker::sherlock {
namespace {
std::size_t bytes_of(const std::vector<wire::Route>& routes) {
  std::size_t n = 0;
  for (const auto& r : routes) {
    n += sizeof(wire::Route) + sizeof(wire::Version) + r.service.size() + r.instance.size();
    for (const auto& t : r.tags) n += sizeof(std::string) + t.size();
  }
  return n;
}
}  // namespace

void SnapshotAssembly::forget(std::map<Key, Pending>::iterator it) {
  chunks_ -= it->second.received.size();
  bytes_ -= it->second.bytes;
  pending_.erase(it);
}

std::optional<Snapshot> SnapshotAssembly::add(wire::SnapshotChunk chunk, TimePoint now) {
  if (chunk.count == 0 || chunk.index >= chunk.count) return std::nullopt;  // the decoder rejects
  const Key key{chunk.epoch, chunk.seq, chunk.count, chunk.flags};
  auto it = pending_.find(key);
  if (it == pending_.end()) {
    while (!pending_.empty() && pending_.size() >= max_in_progress_) {
      const auto oldest =
          std::min_element(pending_.begin(), pending_.end(), [](const auto& a, const auto& b) {
            return a.second.last_chunk_at < b.second.last_chunk_at;
          });
      forget(oldest);
    }
    it = pending_.emplace(key, Pending{}).first;
    it->second.first_chunk_at = now;
  }
  auto& p = it->second;
  p.last_chunk_at = now;
  if (p.received.count(chunk.index)) return std::nullopt;  // a duplicate changes nothing
  const std::size_t bytes = bytes_of(chunk.routes);
  if (chunks_ + 1 > max_chunks_ || bytes_ + bytes > max_bytes_) {
    ++dropped_;
    if (p.received.empty()) pending_.erase(it);
    return std::nullopt;
  }
  p.received.insert(chunk.index);
  ++chunks_;
  p.bytes += bytes;
  bytes_ += bytes;
  p.routes.add(std::move(chunk.routes), chunk.versions);
  if (p.received.size() < chunk.count) return std::nullopt;

  Snapshot out{chunk.epoch,         chunk.seq,   chunk.flags,
               std::move(p.routes), chunk.count, p.first_chunk_at};
  forget(it);
  drop_older(out.epoch, out.seq + 1);
  return out;
}

void SnapshotAssembly::keep_only_epoch(std::uint64_t epoch) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto next = std::next(it);
    if (std::get<0>(it->first) != epoch) forget(it);
    it = next;
  }
}

void SnapshotAssembly::drop_older(std::uint64_t epoch, std::uint64_t seq) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto next = std::next(it);
    if (std::get<0>(it->first) == epoch && std::get<1>(it->first) < seq) forget(it);
    it = next;
  }
}

std::optional<TimePoint> SnapshotAssembly::last_chunk_at() const {
  std::optional<TimePoint> last;
  for (const auto& [key, p] : pending_) {
    if (!last || p.last_chunk_at > *last) last = p.last_chunk_at;
  }
  return last;
}

std::pair<std::size_t, std::size_t> SnapshotAssembly::progress() const {
  const Pending* latest = nullptr;
  std::size_t count = 0;
  for (const auto& [key, p] : pending_) {
    if (!latest || p.last_chunk_at > latest->last_chunk_at) {
      latest = &p;
      count = std::get<2>(key);
    }
  }
  return latest ? std::make_pair(latest->received.size(), count)
                : std::make_pair(std::size_t{0}, count);
}

}  // namespace baker::sherlock
