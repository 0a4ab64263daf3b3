#pragma once
// Sequence analysis of captured Baker traffic: gaps, reorderings, duplicates, retransmits,
// restarts (epoch and incarnation changes), replays and incomplete snapshots. Pure: fed records in
// capture order, returns notes. docs/PROTOCOL.md ("Sequencing") defines what each stream's numbers
// must do. Every stream is one directory's (keyed by its address:port, then its epoch): a watson
// heartbeating to several directories, or a sherlock following several, gives one stream per
// directory, followed apart.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "baker-dump/record.hpp"

namespace baker::dump {

enum class NoteKind : std::uint8_t {
  gap,                  // sequence numbers first..last never seen (yet)
  reorder,              // a datagram filled an earlier gap without a NACK asking for it
  retransmit,           // a Delta filled a gap its receiver had NACKed
  duplicate,            // nothing new: every sequence number already seen
  restart,              // a sender's epoch changed: the process restarted
  old_epoch,            // a directory datagram of an epoch it had left (epochs are random)
  old_incarnation,      // a watson datagram of an incarnation older than the newest seen
  replay,               // a heartbeat/goodbye whose seq is not newer: replayed or duplicated
  snapshot_incomplete,  // a snapshot's chunk set never completed
  skipped,              // a frame that could not be shown (IP fragment, truncated frame)
};
std::string_view to_string(NoteKind k) noexcept;

// Bits for the message types a note concerns (so type filters apply to notes too).
// Bit 0 is "invalid" (decode failures, skipped frames); bit t is wire::MessageType t.
using TypeMask = std::uint16_t;
inline constexpr TypeMask kInvalidBit = 1;
constexpr TypeMask type_bit(wire::MessageType t) {
  return static_cast<TypeMask>(1u << static_cast<unsigned>(t));
}

// Which kind of sequence space a note is about.
enum class StreamKind : std::uint8_t {
  heartbeat,  // heartbeats + goodbyes of one (service, instance) to one directory, per incarnation
  delta,      // Deltas from a directory to one receiver (or multicast group), per directory epoch
  snapshot,   // the chunks of one snapshot
  directory,  // everything a directory sends (its epoch)
  frame,      // a captured frame (skipped notes)
};
std::string_view to_string(StreamKind k) noexcept;

struct Note {
  NoteKind kind = NoteKind::gap;
  StreamKind stream = StreamKind::heartbeat;
  Timestamp time;
  Endpoint sender;
  std::optional<Endpoint> receiver;  // heartbeat (the directory), delta, snapshot; skipped frames
  std::string service;               // heartbeat streams
  std::string instance;
  std::uint64_t epoch = 0;      // heartbeat streams: the watson incarnation
  std::uint64_t old_epoch = 0;  // restart: the one before; old_epoch/old_incarnation: the current
  // gap: missing first..last (inclusive). reorder/retransmit: the sequence numbers filled,
  // first..last. duplicate/reorder/retransmit also give what arrived in `from_seq`/`to_seq`
  // (heartbeat: seq in to_seq) and the highest seen before in `highest`.
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t from_seq = 0;
  std::uint64_t to_seq = 0;
  std::uint64_t highest = 0;
  bool answers_nack = false;  // duplicate: the receiver had NACKed this range
  // snapshot_incomplete / duplicate chunk
  std::uint64_t seq = 0;
  std::uint32_t index = 0;
  std::uint32_t count = 0;
  std::uint32_t received = 0;
  std::vector<std::uint32_t> missing_chunks;  // 0-based, at most kMaxListedChunks
  std::string reason;                         // skipped: why
  TypeMask types = 0;
};

inline constexpr std::size_t kMaxListedChunks = 32;

struct AnalysisStats {
  std::uint64_t gaps = 0;
  std::uint64_t missing = 0;  // sequence numbers reported in gap notes
  std::uint64_t reorders = 0;
  std::uint64_t retransmits = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t restarts = 0;
  std::uint64_t old_epoch = 0;
  std::uint64_t old_incarnation = 0;
  std::uint64_t replays = 0;
  std::uint64_t snapshots_complete = 0;
  std::uint64_t snapshots_incomplete = 0;
  std::uint64_t still_missing = 0;  // filled in by finish(): gaps never filled afterwards
};

// Missing sequence numbers of one stream epoch, as inclusive intervals; bounded.
class SequenceTracker {
 public:
  struct Result {
    enum class Kind : std::uint8_t { first, in_order, gap, filled, duplicate } kind = Kind::first;
    std::uint64_t first = 0;  // gap: missing first..last; filled: filled first..last
    std::uint64_t last = 0;
    std::uint64_t highest_before = 0;
  };
  // One sequence number (heartbeats, goodbyes): the next is highest + 1.
  Result point(std::uint64_t seq);
  // A Delta's range (from, to]: the next starts at highest.
  Result range(std::uint64_t from, std::uint64_t to);
  // A snapshot at seq makes everything up to seq known.
  void resync(std::uint64_t seq);
  // Removes missing numbers inside [first, last] without moving the stream on; returns the filled
  // span, if any.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> fill(std::uint64_t first,
                                                              std::uint64_t last);
  std::uint64_t missing_count() const;
  bool started() const { return started_; }
  std::uint64_t highest() const { return highest_; }

 private:
  void add_missing(std::uint64_t first, std::uint64_t last);
  bool started_ = false;
  std::uint64_t highest_ = 0;
  std::map<std::uint64_t, std::uint64_t> missing_;  // first -> last
  static constexpr std::size_t kMaxIntervals = 256;
};

class Analyzer {
 public:
  // Analyses records that decode and pass authentication (a receiver drops the others, so they
  // are not part of any stream); returns the notes this record caused, in order.
  std::vector<Note> observe(const Record& r);
  // End of capture: incomplete snapshots.
  std::vector<Note> finish(Timestamp now);
  const AnalysisStats& stats() const { return stats_; }

  // The directory a datagram or a note's stream belongs to: the sender of directory datagrams
  // (Delta, Tick, SnapshotChunk, RetryLater, Challenge), the addressee of the others (Heartbeat,
  // Goodbye from watsons; Subscribe, Unsubscribe, Nack from sherlocks).
  static Endpoint directory_of(const Record& r);
  static std::optional<Endpoint> directory_of(const Note& n);

 private:
  // Incarnations are ordered (a watson's start time): only the newest is followed, as the
  // directory does (docs/PROTOCOL.md, "Heartbeat rules").
  struct HeartbeatStream {
    std::uint64_t incarnation = 0;  // the newest seen
    Endpoint sender;
    SequenceTracker seqs;  // of that incarnation
  };
  struct DeltaStream {
    std::map<std::uint64_t, SequenceTracker> epochs;
  };
  struct DirectoryState {
    std::uint64_t epoch = 0;
    std::set<std::uint64_t> seen_epochs;
  };
  struct SnapshotSet {
    std::uint64_t epoch = 0;
    std::uint64_t seq = 0;
    std::uint32_t count = 0;
    std::set<std::uint32_t> received;
    Timestamp last_time;
  };
  using Pair = std::pair<Endpoint, Endpoint>;  // sender, receiver
  // A watson's (service, instance) as one directory hears it: (directory, service, instance).
  using HeartbeatKey = std::tuple<Endpoint, std::string, std::string>;

  void on_heartbeat(const Record& r, const std::string& service, const std::string& instance,
                    std::uint64_t incarnation, std::uint64_t seq, std::vector<Note>& out);
  void on_directory_epoch(const Record& r, std::uint64_t epoch, std::vector<Note>& out);
  void on_delta(const Record& r, const wire::Delta& d, std::vector<Note>& out);
  void on_snapshot(const Record& r, const wire::SnapshotChunk& s, std::vector<Note>& out);
  void on_nack(const Record& r, const wire::Nack& n);
  void on_subscribe(const Record& r, const wire::Subscribe& s);
  bool nacked(const Endpoint& receiver, const Endpoint& directory, std::uint64_t epoch,
              std::uint64_t first, std::uint64_t last) const;
  Note incomplete_note(const Pair& key, const SnapshotSet& set, Timestamp now);
  void count(const Note& n);

  std::map<HeartbeatKey, HeartbeatStream> heartbeats_;
  std::map<Pair, DeltaStream> deltas_;  // (directory, receiver)
  std::map<Endpoint, DirectoryState> directories_;
  std::map<Pair, SnapshotSet> snapshots_;
  // NACKs seen: (subscriber, directory, epoch) -> recent ranges.
  std::map<std::tuple<Endpoint, Endpoint, std::uint64_t>,
           std::vector<std::pair<std::uint64_t, std::uint64_t>>>
      nacks_;
  // (subscriber, directory) where the subscriber's last Subscribe set the member flag.
  std::set<Pair> multicast_members_;
  AnalysisStats stats_;
};

}  // namespace baker::dump
