#include "baker-dump/analysis.hpp"

#include <algorithm>
#include <type_traits>

namespace baker::dump {
namespace {

constexpr std::size_t kMaxEpochsPerStream = 4;
constexpr std::size_t kMaxNackRanges = 16;
constexpr std::size_t kMaxOpenSnapshots = 4096;

constexpr TypeMask kHeartbeatTypes =
    type_bit(wire::MessageType::heartbeat) | type_bit(wire::MessageType::goodbye);
constexpr TypeMask kDirectoryTypes =
    type_bit(wire::MessageType::delta) | type_bit(wire::MessageType::tick) |
    type_bit(wire::MessageType::snapshot_chunk) | type_bit(wire::MessageType::retry_later);

bool is_multicast(const wire::IpAddress& a) {
  if (a.family == wire::IpAddress::Family::v4) return (a.bytes[0] & 0xf0) == 0xe0;
  return a.bytes[0] == 0xff;
}

// Keeps at most `limit` epochs, dropping the numerically smallest other than `keep`.
template <typename Map>
void bound_epochs(Map& epochs, std::uint64_t keep, std::size_t limit) {
  while (epochs.size() > limit) {
    auto victim = epochs.begin();
    if (victim->first == keep) ++victim;
    epochs.erase(victim);
  }
}

}  // namespace

std::string_view to_string(NoteKind k) noexcept {
  switch (k) {
    case NoteKind::gap:
      return "gap";
    case NoteKind::reorder:
      return "reorder";
    case NoteKind::retransmit:
      return "retransmit";
    case NoteKind::duplicate:
      return "duplicate";
    case NoteKind::restart:
      return "restart";
    case NoteKind::old_epoch:
      return "old_epoch";
    case NoteKind::old_incarnation:
      return "old_incarnation";
    case NoteKind::replay:
      return "replay";
    case NoteKind::snapshot_incomplete:
      return "snapshot_incomplete";
    case NoteKind::skipped:
      return "skipped";
  }
  return "unknown";
}

std::string_view to_string(StreamKind k) noexcept {
  switch (k) {
    case StreamKind::heartbeat:
      return "heartbeat";
    case StreamKind::delta:
      return "delta";
    case StreamKind::snapshot:
      return "snapshot";
    case StreamKind::directory:
      return "directory";
    case StreamKind::frame:
      return "frame";
  }
  return "unknown";
}

// ---- SequenceTracker ----

void SequenceTracker::add_missing(std::uint64_t first, std::uint64_t last) {
  missing_[first] = last;
  while (missing_.size() > kMaxIntervals) missing_.erase(missing_.begin());
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> SequenceTracker::fill(std::uint64_t first,
                                                                             std::uint64_t last) {
  std::optional<std::pair<std::uint64_t, std::uint64_t>> filled;
  auto it = missing_.upper_bound(first);
  if (it != missing_.begin()) --it;
  while (it != missing_.end() && it->first <= last) {
    const std::uint64_t a = it->first;
    const std::uint64_t b = it->second;
    if (b < first) {
      ++it;
      continue;
    }
    const std::uint64_t lo = std::max(a, first);
    const std::uint64_t hi = std::min(b, last);
    if (!filled) {
      filled = std::make_pair(lo, hi);
    } else {
      filled->first = std::min(filled->first, lo);
      filled->second = std::max(filled->second, hi);
    }
    it = missing_.erase(it);
    if (a < lo) missing_[a] = lo - 1;
    if (hi < b) {
      missing_[hi + 1] = b;
      it = missing_.upper_bound(hi + 1);
    }
  }
  return filled;
}

SequenceTracker::Result SequenceTracker::point(std::uint64_t seq) {
  Result r;
  r.highest_before = highest_;
  if (!started_) {
    started_ = true;
    highest_ = seq;
    r.kind = Result::Kind::first;
    return r;
  }
  if (seq == highest_ + 1) {
    highest_ = seq;
    r.kind = Result::Kind::in_order;
  } else if (seq > highest_) {
    r.kind = Result::Kind::gap;
    r.first = highest_ + 1;
    r.last = seq - 1;
    add_missing(r.first, r.last);
    highest_ = seq;
  } else if (auto filled = fill(seq, seq)) {
    r.kind = Result::Kind::filled;
    r.first = filled->first;
    r.last = filled->second;
  } else {
    r.kind = Result::Kind::duplicate;
  }
  return r;
}

SequenceTracker::Result SequenceTracker::range(std::uint64_t from, std::uint64_t to) {
  Result r;
  r.highest_before = highest_;
  if (!started_) {
    started_ = true;
    highest_ = to;
    r.kind = Result::Kind::first;
    return r;
  }
  if (from == highest_) {
    highest_ = to;
    r.kind = Result::Kind::in_order;
    return r;
  }
  if (from > highest_) {
    r.kind = Result::Kind::gap;
    r.first = highest_ + 1;
    r.last = from;
    add_missing(r.first, r.last);
    highest_ = to;
    return r;
  }
  // Starts inside what was seen: may fill holes (reorder, retransmit), may extend the stream.
  const auto filled = fill(from + 1, std::min(to, highest_));
  const bool extends = to > highest_;
  highest_ = std::max(highest_, to);
  if (filled) {
    r.kind = Result::Kind::filled;
    r.first = filled->first;
    r.last = filled->second;
  } else {
    r.kind = extends ? Result::Kind::in_order : Result::Kind::duplicate;
  }
  return r;
}

void SequenceTracker::resync(std::uint64_t seq) {
  if (!started_) {
    started_ = true;
    highest_ = seq;
    return;
  }
  while (!missing_.empty() && missing_.begin()->first <= seq) {
    const auto [a, b] = *missing_.begin();
    missing_.erase(missing_.begin());
    if (b > seq) missing_[seq + 1] = b;
  }
  highest_ = std::max(highest_, seq);
}

std::uint64_t SequenceTracker::missing_count() const {
  std::uint64_t n = 0;
  for (const auto& [a, b] : missing_) n += b - a + 1;
  return n;
}

// ---- Analyzer ----

Endpoint Analyzer::directory_of(const Record& r) {
  if (!r.message) return r.destination;
  switch (wire::type_of(*r.message)) {
    case wire::MessageType::delta:
    case wire::MessageType::tick:
    case wire::MessageType::snapshot_chunk:
    case wire::MessageType::retry_later:
    case wire::MessageType::challenge:
      return r.source;
    case wire::MessageType::heartbeat:
    case wire::MessageType::goodbye:
    case wire::MessageType::subscribe:
    case wire::MessageType::unsubscribe:
    case wire::MessageType::nack:
      break;
  }
  return r.destination;
}

std::optional<Endpoint> Analyzer::directory_of(const Note& n) {
  switch (n.stream) {
    case StreamKind::heartbeat:
      return n.receiver;
    case StreamKind::delta:
    case StreamKind::snapshot:
    case StreamKind::directory:
      return n.sender;
    case StreamKind::frame:
      break;
  }
  return std::nullopt;
}

void Analyzer::count(const Note& n) {
  switch (n.kind) {
    case NoteKind::gap:
      ++stats_.gaps;
      stats_.missing += n.last - n.first + 1;
      break;
    case NoteKind::reorder:
      ++stats_.reorders;
      break;
    case NoteKind::retransmit:
      ++stats_.retransmits;
      break;
    case NoteKind::duplicate:
      ++stats_.duplicates;
      break;
    case NoteKind::restart:
      ++stats_.restarts;
      break;
    case NoteKind::old_epoch:
      ++stats_.old_epoch;
      break;
    case NoteKind::old_incarnation:
      ++stats_.old_incarnation;
      break;
    case NoteKind::replay:
      ++stats_.replays;
      break;
    case NoteKind::snapshot_incomplete:
      ++stats_.snapshots_incomplete;
      break;
    case NoteKind::skipped:
      break;
  }
}

std::vector<Note> Analyzer::observe(const Record& r) {
  std::vector<Note> out;
  if (!r.valid()) return out;
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, wire::Heartbeat>) {
          on_heartbeat(r, m.route.service, m.route.instance, m.incarnation, m.seq, out);
        } else if constexpr (std::is_same_v<T, wire::Goodbye>) {
          on_heartbeat(r, m.service, m.instance, m.incarnation, m.seq, out);
        } else if constexpr (std::is_same_v<T, wire::Delta>) {
          on_directory_epoch(r, m.epoch, out);
          on_delta(r, m, out);
        } else if constexpr (std::is_same_v<T, wire::SnapshotChunk>) {
          on_directory_epoch(r, m.epoch, out);
          on_snapshot(r, m, out);
        } else if constexpr (std::is_same_v<T, wire::Tick> || std::is_same_v<T, wire::RetryLater>) {
          on_directory_epoch(r, m.epoch, out);
        } else if constexpr (std::is_same_v<T, wire::Nack>) {
          on_nack(r, m);
        } else if constexpr (std::is_same_v<T, wire::Subscribe>) {
          on_subscribe(r, m);
        }
      },
      *r.message);
  for (const auto& n : out) count(n);
  return out;
}

void Analyzer::on_heartbeat(const Record& r, const std::string& service,
                            const std::string& instance, std::uint64_t incarnation,
                            std::uint64_t seq, std::vector<Note>& out) {
  auto base = [&](NoteKind kind) {
    Note n;
    n.kind = kind;
    n.stream = StreamKind::heartbeat;
    n.time = r.time;
    n.sender = r.source;
    n.receiver = r.destination;
    n.service = service;
    n.instance = instance;
    n.epoch = incarnation;
    n.to_seq = seq;
    n.types = kHeartbeatTypes;
    return n;
  };
  // Per directory: a watson sends each datagram to every directory it announces to.
  auto [it, fresh] = heartbeats_.try_emplace({r.destination, service, instance});
  HeartbeatStream& s = it->second;
  bool restarted = false;
  if (fresh) {
    s.incarnation = incarnation;
  } else if (incarnation < s.incarnation) {
    // An older process (or a replay of one): a directory refuses it whatever its seq.
    Note n = base(NoteKind::old_incarnation);
    n.old_epoch = s.incarnation;
    out.push_back(n);
    return;
  } else if (incarnation > s.incarnation) {
    Note n = base(NoteKind::restart);
    n.old_epoch = s.incarnation;
    out.push_back(n);
    s.incarnation = incarnation;
    s.seqs = SequenceTracker{};
    restarted = true;
  }
  s.sender = r.source;
  const auto res = s.seqs.point(seq);
  using K = SequenceTracker::Result::Kind;
  if (res.kind == K::first) {
    // A new incarnation starts at 1, so losing its first datagrams is a gap; a stream already
    // running when the capture began is not.
    if (restarted && seq > 1) {
      Note n = base(NoteKind::gap);
      n.first = 1;
      n.last = seq - 1;
      out.push_back(n);
    }
    return;
  }
  if (res.kind == K::in_order) return;
  // Not newer than the highest seq seen (a late one filling a gap included): a directory that
  // heard the highest drops it as a replay or duplicate.
  Note n = base(res.kind == K::gap ? NoteKind::gap : NoteKind::replay);
  n.first = res.first;
  n.last = res.last;
  n.highest = res.highest_before;
  out.push_back(n);
}

void Analyzer::on_directory_epoch(const Record& r, std::uint64_t epoch, std::vector<Note>& out) {
  auto [it, fresh] = directories_.try_emplace(r.source);
  DirectoryState& d = it->second;
  if (fresh) {
    d.epoch = epoch;
    d.seen_epochs.insert(epoch);
    return;
  }
  if (epoch == d.epoch) return;
  Note n;
  n.stream = StreamKind::directory;
  n.time = r.time;
  n.sender = r.source;
  n.epoch = epoch;
  n.old_epoch = d.epoch;
  n.types = kDirectoryTypes;
  if (d.seen_epochs.count(epoch)) {
    n.kind = NoteKind::old_epoch;
  } else {
    n.kind = NoteKind::restart;
    d.epoch = epoch;
    d.seen_epochs.insert(epoch);
    if (d.seen_epochs.size() > 64) d.seen_epochs.erase(d.seen_epochs.begin());
  }
  out.push_back(n);
}

bool Analyzer::nacked(const Endpoint& receiver, const Endpoint& directory, std::uint64_t epoch,
                      std::uint64_t first, std::uint64_t last) const {
  auto it = nacks_.find({receiver, directory, epoch});
  if (it == nacks_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(), [&](const auto& range) {
    return range.first <= last && first <= range.second;
  });
}

void Analyzer::on_delta(const Record& r, const wire::Delta& d, std::vector<Note>& out) {
  auto base = [&](NoteKind kind) {
    Note n;
    n.kind = kind;
    n.stream = StreamKind::delta;
    n.time = r.time;
    n.sender = r.source;
    n.receiver = r.destination;
    n.epoch = d.epoch;
    n.from_seq = d.from_seq;
    n.to_seq = d.to_seq;
    n.types = type_bit(wire::MessageType::delta);
    return n;
  };
  using K = SequenceTracker::Result::Kind;
  DeltaStream& s = deltas_[{r.source, r.destination}];
  SequenceTracker& t = s.epochs[d.epoch];
  bound_epochs(s.epochs, d.epoch, kMaxEpochsPerStream);
  const bool member = multicast_members_.count({r.destination, r.source}) > 0;

  // A multicast member's unicast Deltas are retransmits of the group's stream, not a stream of
  // their own: they legitimately jump, and what they fill is missing on the group stream.
  if (member && !is_multicast(r.destination.address)) {
    t.resync(d.to_seq);
    for (auto& [pair, group] : deltas_) {
      if (pair.first != r.source || !is_multicast(pair.second.address)) continue;
      auto g = group.epochs.find(d.epoch);
      if (g == group.epochs.end() || !g->second.started()) continue;
      const std::uint64_t highest = g->second.highest();
      if (const auto filled = g->second.fill(d.from_seq + 1, d.to_seq)) {
        Note n = base(NoteKind::retransmit);
        n.first = filled->first;
        n.last = filled->second;
        n.highest = highest;
        out.push_back(n);
      }
    }
    return;
  }
  const auto res = t.range(d.from_seq, d.to_seq);
  if (res.kind == K::first || res.kind == K::in_order) return;
  Note n = base(NoteKind::gap);
  n.highest = res.highest_before;
  n.first = res.first;
  n.last = res.last;
  const bool asked = nacked(r.destination, r.source, d.epoch, d.from_seq + 1, d.to_seq);
  if (res.kind == K::filled) {
    n.kind = asked ? NoteKind::retransmit : NoteKind::reorder;
  } else if (res.kind == K::duplicate) {
    n.kind = NoteKind::duplicate;
    n.answers_nack = asked;
  }
  out.push_back(n);
}

Note Analyzer::incomplete_note(const Pair& key, const SnapshotSet& set, Timestamp now) {
  Note n;
  n.kind = NoteKind::snapshot_incomplete;
  n.stream = StreamKind::snapshot;
  n.time = now;
  n.sender = key.first;
  n.receiver = key.second;
  n.epoch = set.epoch;
  n.seq = set.seq;
  n.count = set.count;
  n.received = static_cast<std::uint32_t>(set.received.size());
  for (std::uint32_t i = 0; i < set.count && n.missing_chunks.size() < kMaxListedChunks; ++i) {
    if (!set.received.count(i)) n.missing_chunks.push_back(i);
  }
  n.types = type_bit(wire::MessageType::snapshot_chunk);
  return n;
}

void Analyzer::on_snapshot(const Record& r, const wire::SnapshotChunk& s, std::vector<Note>& out) {
  const Pair key{r.source, r.destination};
  // Deltas to this receiver continue from the snapshot's sequence.
  auto& stream = deltas_[key];
  stream.epochs[s.epoch].resync(s.seq);
  bound_epochs(stream.epochs, s.epoch, kMaxEpochsPerStream);

  auto it = snapshots_.find(key);
  if (it != snapshots_.end() &&
      (it->second.epoch != s.epoch || it->second.seq != s.seq || it->second.count != s.count)) {
    out.push_back(incomplete_note(key, it->second, r.time));
    snapshots_.erase(it);
    it = snapshots_.end();
  }
  if (it == snapshots_.end()) {
    if (snapshots_.size() >= kMaxOpenSnapshots) snapshots_.erase(snapshots_.begin());
    it = snapshots_.emplace(key, SnapshotSet{s.epoch, s.seq, s.count, {}, r.time}).first;
  }
  SnapshotSet& set = it->second;
  set.last_time = r.time;
  if (!set.received.insert(s.index).second) {
    Note n;
    n.kind = NoteKind::duplicate;
    n.stream = StreamKind::snapshot;
    n.time = r.time;
    n.sender = r.source;
    n.receiver = r.destination;
    n.epoch = s.epoch;
    n.seq = s.seq;
    n.index = s.index;
    n.count = s.count;
    n.types = type_bit(wire::MessageType::snapshot_chunk);
    out.push_back(n);
  }
  if (set.received.size() == set.count) {
    ++stats_.snapshots_complete;
    snapshots_.erase(it);
  }
}

void Analyzer::on_nack(const Record& r, const wire::Nack& n) {
  auto& ranges = nacks_[{r.source, r.destination, n.epoch}];
  ranges.emplace_back(n.first_missing, n.last_missing);
  if (ranges.size() > kMaxNackRanges) ranges.erase(ranges.begin());
}

void Analyzer::on_subscribe(const Record& r, const wire::Subscribe& s) {
  // A member of one directory's group may follow another directory by unicast alone.
  if (s.flags & wire::kFlagMulticastMember) {
    multicast_members_.insert({r.source, r.destination});
  } else {
    multicast_members_.erase({r.source, r.destination});
  }
}

std::vector<Note> Analyzer::finish(Timestamp now) {
  std::vector<Note> out;
  for (const auto& [key, set] : snapshots_) out.push_back(incomplete_note(key, set, now));
  snapshots_.clear();
  for (const auto& n : out) count(n);
  stats_.still_missing = 0;
  for (const auto& [key, s] : heartbeats_) stats_.still_missing += s.seqs.missing_count();
  for (const auto& [key, s] : deltas_) {
    for (const auto& [epoch, t] : s.epochs) stats_.still_missing += t.missing_count();
  }
  return out;
}

}  // namespace baker::dump
