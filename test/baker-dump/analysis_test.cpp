#include "baker-dump/analysis.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "wire/sample_messages.hpp"

namespace baker::dump {
namespace {

const Endpoint kWatson{wire::IpAddress::v4(127, 0, 0, 1), 40001};
const Endpoint kWatson2{wire::IpAddress::v4(127, 0, 0, 1), 40002};
const Endpoint kDirectory{wire::IpAddress::v4(127, 0, 0, 1), 7400};
const Endpoint kSherlock{wire::IpAddress::v4(127, 0, 0, 1), 5000};
const Endpoint kGroup{wire::IpAddress::v4(239, 255, 74, 0), 7410};
// Watson incarnations are start times (us since 1970): ordered. The second started 5 s later.
constexpr std::uint64_t kInc1 = 1'796'000'000'000'000ULL;
constexpr std::uint64_t kInc2 = kInc1 + 5'000'000;
constexpr std::uint64_t kSentMs = 1'796'000'042'000ULL;

class Analysis : public ::testing::Test {
 protected:
  std::vector<Note> feed(const wire::Message& m, const Endpoint& from, const Endpoint& to,
                         const wire::Keyring* sign = nullptr,
                         const wire::Keyring* check = nullptr) {
    ++clock_.sec;
    return analyzer_.observe(make_record(clock_, from, to, wire::encode(m, sign), check));
  }
  std::vector<Note> heartbeat(std::uint64_t seq, std::uint64_t incarnation = kInc1,
                              const Endpoint& from = kWatson) {
    wire::Heartbeat hb = wire::samples::sample_heartbeat();
    hb.incarnation = incarnation;
    hb.seq = seq;
    return feed(hb, from, kDirectory);
  }
  std::vector<Note> delta(std::uint64_t from, std::uint64_t to, std::uint64_t epoch = 0xd1,
                          const Endpoint& receiver = kSherlock) {
    return feed(wire::Delta{.epoch = epoch, .from_seq = from, .to_seq = to}, kDirectory, receiver);
  }
  std::vector<Note> chunk(std::uint32_t index, std::uint32_t count, std::uint64_t seq,
                          std::uint64_t epoch = 0xd1) {
    return feed(wire::SnapshotChunk{.epoch = epoch,
                                    .subscriber_id = 77,
                                    .nonce = 1,
                                    .seq = seq,
                                    .index = index,
                                    .count = count},
                kDirectory, kSherlock);
  }
  std::vector<Note> nack(std::uint64_t first, std::uint64_t last, std::uint64_t epoch = 0xd1) {
    return feed(wire::Nack{.subscriber_id = 77,
                           .nonce = ++nonce_,
                           .epoch = epoch,
                           .first_missing = first,
                           .last_missing = last},
                kSherlock, kDirectory);
  }
  std::vector<Note> goodbye(std::uint64_t seq, std::uint64_t incarnation = kInc1) {
    return feed(wire::Goodbye{.service = "greeting",
                              .instance = "i-1",
                              .incarnation = incarnation,
                              .seq = seq,
                              .sent_ms = kSentMs},
                kWatson, kDirectory);
  }

  Analyzer analyzer_;
  Timestamp clock_{1000, 0};
  std::uint64_t nonce_ = 1;
};

TEST(SequenceTracker, PointsInOrderGapAndFill) {
  SequenceTracker t;
  using K = SequenceTracker::Result::Kind;
  EXPECT_EQ(t.point(5).kind, K::first);
  EXPECT_EQ(t.point(6).kind, K::in_order);
  auto gap = t.point(10);
  EXPECT_EQ(gap.kind, K::gap);
  EXPECT_EQ(gap.first, 7u);
  EXPECT_EQ(gap.last, 9u);
  EXPECT_EQ(t.missing_count(), 3u);
  auto fill = t.point(8);  // splits 7..9 into 7 and 9
  EXPECT_EQ(fill.kind, K::filled);
  EXPECT_EQ(fill.first, 8u);
  EXPECT_EQ(fill.highest_before, 10u);
  EXPECT_EQ(t.missing_count(), 2u);
  EXPECT_EQ(t.point(8).kind, K::duplicate);
  EXPECT_EQ(t.point(6).kind, K::duplicate);
  EXPECT_EQ(t.point(7).kind, K::filled);
  EXPECT_EQ(t.point(9).kind, K::filled);
  EXPECT_EQ(t.missing_count(), 0u);
}

TEST(SequenceTracker, RangesTileOrLeaveGaps) {
  SequenceTracker t;
  using K = SequenceTracker::Result::Kind;
  EXPECT_EQ(t.range(100, 103).kind, K::first);
  EXPECT_EQ(t.range(103, 104).kind, K::in_order);
  const auto gap = t.range(107, 109);  // 105..107 never came
  EXPECT_EQ(gap.kind, K::gap);
  EXPECT_EQ(gap.first, 105u);
  EXPECT_EQ(gap.last, 107u);
  EXPECT_EQ(t.range(100, 104).kind, K::duplicate);
  const auto fill = t.range(104, 112);  // a retransmit up to the present and beyond
  EXPECT_EQ(fill.kind, K::filled);
  EXPECT_EQ(fill.first, 105u);
  EXPECT_EQ(fill.last, 107u);
  EXPECT_EQ(t.highest(), 112u);
  EXPECT_EQ(t.range(110, 114).kind, K::in_order);  // overlaps, extends: nothing to say
  t.range(120, 121);
  EXPECT_EQ(t.missing_count(), 6u);  // 115..120
  t.resync(118);
  EXPECT_EQ(t.missing_count(), 2u);  // 119..120
}

TEST_F(Analysis, HeartbeatsInOrderSayNothing) {
  for (std::uint64_t s = 7; s < 12; ++s) EXPECT_TRUE(heartbeat(s).empty()) << s;
  EXPECT_EQ(analyzer_.stats().gaps, 0u);
}

TEST_F(Analysis, HeartbeatGap) {
  heartbeat(42);
  const auto notes = heartbeat(45);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].kind, NoteKind::gap);
  EXPECT_EQ(notes[0].stream, StreamKind::heartbeat);
  EXPECT_EQ(notes[0].first, 43u);
  EXPECT_EQ(notes[0].last, 44u);
  EXPECT_EQ(notes[0].epoch, kInc1);
  EXPECT_EQ(notes[0].sender, kWatson);
  EXPECT_EQ(notes[0].service, "greeting");
  EXPECT_EQ(notes[0].instance, "i-1");
  EXPECT_EQ(analyzer_.stats().missing, 2u);
  analyzer_.finish(clock_);
  EXPECT_EQ(analyzer_.stats().still_missing, 2u);
}

TEST_F(Analysis, HeartbeatNotNewerIsAReplay) {
  // A directory takes only seq > the highest of the incarnation: a late one (filling a gap) and a
  // duplicate are both dropped, so both are flagged as replay/duplicate.
  heartbeat(1);
  heartbeat(3);
  const auto late = heartbeat(2);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].kind, NoteKind::replay);
  EXPECT_EQ(late[0].to_seq, 2u);
  EXPECT_EQ(late[0].highest, 3u);
  const auto dup = heartbeat(2);
  ASSERT_EQ(dup.size(), 1u);
  EXPECT_EQ(dup[0].kind, NoteKind::replay);
  const auto same = heartbeat(3);
  ASSERT_EQ(same.size(), 1u);
  EXPECT_EQ(same[0].kind, NoteKind::replay);
  EXPECT_EQ(analyzer_.stats().replays, 3u);
  EXPECT_EQ(analyzer_.stats().reorders, 0u);
  analyzer_.finish(clock_);
  EXPECT_EQ(analyzer_.stats().still_missing, 0u);
}

TEST_F(Analysis, AReplayedGoodbyeIsAReplay) {
  heartbeat(9);
  EXPECT_TRUE(goodbye(10).empty());
  const auto again = goodbye(10);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].kind, NoteKind::replay);
  EXPECT_EQ(again[0].types,
            type_bit(wire::MessageType::heartbeat) | type_bit(wire::MessageType::goodbye));
}

TEST_F(Analysis, GoodbyeContinuesTheHeartbeatSequence) {
  heartbeat(9);
  EXPECT_TRUE(goodbye(10).empty());
  const auto notes = goodbye(12);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].kind, NoteKind::gap);
  EXPECT_EQ(notes[0].first, 11u);
}

TEST_F(Analysis, NewerIncarnationIsARestartAndStartsAtOne) {
  heartbeat(50);
  // The restarted watson has a new port; its first two heartbeats were lost.
  const auto notes = heartbeat(3, kInc2, kWatson2);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].kind, NoteKind::restart);
  EXPECT_EQ(notes[0].old_epoch, kInc1);
  EXPECT_EQ(notes[0].epoch, kInc2);
  EXPECT_EQ(notes[0].sender, kWatson2);
  EXPECT_EQ(notes[1].kind, NoteKind::gap);
  EXPECT_EQ(notes[1].first, 1u);
  EXPECT_EQ(notes[1].last, 2u);
  EXPECT_TRUE(heartbeat(4, kInc2, kWatson2).empty());
  // A straggler (or a replay) of the old process, whatever its seq.
  const auto old = heartbeat(51, kInc1);
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].kind, NoteKind::old_incarnation);
  EXPECT_EQ(old[0].old_epoch, kInc2);  // the newest
  EXPECT_EQ(old[0].to_seq, 51u);
  EXPECT_EQ(goodbye(52, kInc1).at(0).kind, NoteKind::old_incarnation);
  EXPECT_EQ(analyzer_.stats().restarts, 1u);
  EXPECT_EQ(analyzer_.stats().old_incarnation, 2u);
  EXPECT_TRUE(heartbeat(5, kInc2, kWatson2).empty()) << "the newest is still followed";
}

TEST_F(Analysis, IncarnationsAreOrderedNotMerelySeen) {
  // Capture starts with the newer process; an older incarnation never seen before is still old
  // (a captured datagram replayed from before the capture), never a restart.
  heartbeat(7, kInc2);
  const auto old = heartbeat(900, kInc1);
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].kind, NoteKind::old_incarnation);
  EXPECT_EQ(analyzer_.stats().restarts, 0u);
}

TEST_F(Analysis, RestartAtSeqOneHasNoGap) {
  heartbeat(50);
  const auto notes = heartbeat(1, kInc2);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].kind, NoteKind::restart);
}

TEST_F(Analysis, DeltasThatTileSayNothing) {
  EXPECT_TRUE(delta(100, 103).empty());
  EXPECT_TRUE(delta(103, 104).empty());
  EXPECT_TRUE(delta(104, 110).empty());  // a filtered stream skips numbers inside one range
}

TEST_F(Analysis, DeltaGapThenReorder) {
  delta(100, 103);
  const auto gap = delta(105, 106);
  ASSERT_EQ(gap.size(), 1u);
  EXPECT_EQ(gap[0].kind, NoteKind::gap);
  EXPECT_EQ(gap[0].stream, StreamKind::delta);
  EXPECT_EQ(gap[0].first, 104u);
  EXPECT_EQ(gap[0].last, 105u);
  EXPECT_EQ(gap[0].receiver, kSherlock);
  EXPECT_EQ(gap[0].epoch, 0xd1u);
  const auto late = delta(103, 105);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].kind, NoteKind::reorder);
  EXPECT_EQ(late[0].from_seq, 103u);
  EXPECT_EQ(late[0].to_seq, 105u);
  EXPECT_EQ(late[0].highest, 106u);
}

TEST_F(Analysis, NackedRangeArrivingIsARetransmit) {
  delta(100, 103);
  delta(105, 106);
  EXPECT_TRUE(nack(104, 105).empty());
  const auto answer = delta(103, 106);  // the directory answers up to the present
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].kind, NoteKind::retransmit);
  EXPECT_EQ(answer[0].first, 104u);
  EXPECT_EQ(answer[0].last, 105u);
  const auto again = delta(103, 106);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].kind, NoteKind::duplicate);
  EXPECT_TRUE(again[0].answers_nack);
  EXPECT_EQ(analyzer_.stats().retransmits, 1u);
}

TEST_F(Analysis, DuplicateDelta) {
  delta(100, 103);
  delta(103, 104);
  const auto dup = delta(100, 103);
  ASSERT_EQ(dup.size(), 1u);
  EXPECT_EQ(dup[0].kind, NoteKind::duplicate);
  EXPECT_FALSE(dup[0].answers_nack);
  EXPECT_EQ(dup[0].highest, 104u);
}

TEST_F(Analysis, StreamsArePerReceiver) {
  const Endpoint other{wire::IpAddress::v4(127, 0, 0, 1), 5001};
  delta(100, 103);
  EXPECT_TRUE(delta(90, 95, 0xd1, other).empty());  // its own stream, first datagram
  EXPECT_TRUE(delta(103, 104).empty());
  EXPECT_TRUE(delta(95, 96, 0xd1, other).empty());
}

TEST_F(Analysis, DirectoryEpochChangeIsOneRestart) {
  delta(100, 103);
  feed(wire::Tick{.epoch = 0xd1, .seq = 103, .lease_ms = 15000}, kDirectory, kSherlock);
  const auto notes = feed(wire::Tick{.epoch = 0xd2, .flags = wire::kFlagWarmup, .lease_ms = 15000},
                          kDirectory, kSherlock);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].kind, NoteKind::restart);
  EXPECT_EQ(notes[0].stream, StreamKind::directory);
  EXPECT_EQ(notes[0].old_epoch, 0xd1u);
  EXPECT_EQ(notes[0].epoch, 0xd2u);
  // The new epoch's Deltas start their own stream: no gap against the old one.
  EXPECT_TRUE(delta(0, 2, 0xd2).empty());
  const auto old = delta(103, 104, 0xd1);
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].kind, NoteKind::old_epoch);
  EXPECT_EQ(analyzer_.stats().restarts, 1u);
}

TEST_F(Analysis, SnapshotCompleteIncompleteAndDuplicateChunks) {
  EXPECT_TRUE(chunk(0, 3, 50).empty());
  EXPECT_TRUE(chunk(2, 3, 50).empty());
  const auto dup = chunk(2, 3, 50);
  ASSERT_EQ(dup.size(), 1u);
  EXPECT_EQ(dup[0].kind, NoteKind::duplicate);
  EXPECT_EQ(dup[0].stream, StreamKind::snapshot);
  EXPECT_EQ(dup[0].index, 2u);
  EXPECT_TRUE(chunk(1, 3, 50).empty());
  EXPECT_EQ(analyzer_.stats().snapshots_complete, 1u);

  // A newer snapshot supersedes an incomplete one: say what was missing.
  chunk(0, 4, 60);
  const auto superseded = chunk(0, 1, 61);
  ASSERT_EQ(superseded.size(), 1u);
  EXPECT_EQ(superseded[0].kind, NoteKind::snapshot_incomplete);
  EXPECT_EQ(superseded[0].seq, 60u);
  EXPECT_EQ(superseded[0].received, 1u);
  EXPECT_EQ(superseded[0].missing_chunks, (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(analyzer_.stats().snapshots_complete, 2u);

  chunk(1, 2, 70);
  const auto end = analyzer_.finish(clock_);
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0].kind, NoteKind::snapshot_incomplete);
  EXPECT_EQ(end[0].missing_chunks, (std::vector<std::uint32_t>{0}));
  EXPECT_EQ(analyzer_.stats().snapshots_incomplete, 2u);
}

TEST_F(Analysis, SnapshotResyncsTheDeltaStream) {
  delta(100, 103);
  delta(110, 111);  // gap 104..110
  chunk(0, 1, 120);
  EXPECT_TRUE(delta(120, 121).empty());
  analyzer_.finish(clock_);
  EXPECT_EQ(analyzer_.stats().still_missing, 0u);  // the snapshot covered the gap
  EXPECT_TRUE(delta(121, 122).empty());
}

TEST_F(Analysis, MulticastMemberRetransmitFillsTheGroupStream) {
  feed(wire::Subscribe{.subscriber_id = 77, .nonce = 1, .flags = wire::kFlagMulticastMember},
       kSherlock, kDirectory);
  chunk(0, 1, 10);  // unicast snapshot to the member
  delta(10, 12, 0xd1, kGroup);
  const auto gap = delta(14, 15, 0xd1, kGroup);
  ASSERT_EQ(gap.size(), 1u);
  EXPECT_EQ(gap[0].kind, NoteKind::gap);
  nack(13, 14);
  // The retransmit comes by unicast, jumping ahead of the member's unicast stream: not a gap there.
  const auto notes = delta(12, 15, 0xd1, kSherlock);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].kind, NoteKind::retransmit);
  EXPECT_EQ(notes[0].first, 13u);
  EXPECT_EQ(notes[0].last, 14u);
  analyzer_.finish(clock_);
  EXPECT_EQ(analyzer_.stats().still_missing, 0u);
}

// ---- several directories: every stream is one directory's ----

// Two directories on two hosts and a third on A's host, another port: endpoints tell them apart.
const Endpoint kDirectoryA{wire::IpAddress::v4(10, 0, 0, 1), 7400};
const Endpoint kDirectoryB{wire::IpAddress::v4(10, 0, 0, 2), 7400};
const Endpoint kDirectoryC{wire::IpAddress::v4(10, 0, 0, 1), 7401};

class SeveralDirectories : public Analysis {
 protected:
  std::vector<Note> heartbeat_to(const Endpoint& directory, std::uint64_t seq,
                                 std::uint64_t incarnation = kInc1) {
    wire::Heartbeat hb = wire::samples::sample_heartbeat();
    hb.incarnation = incarnation;
    hb.seq = seq;
    return feed(hb, kWatson, directory);
  }
  std::vector<Note> delta_from(const Endpoint& directory, std::uint64_t epoch, std::uint64_t from,
                               std::uint64_t to, const Endpoint& receiver = kSherlock) {
    return feed(wire::Delta{.epoch = epoch, .from_seq = from, .to_seq = to}, directory, receiver);
  }
  std::vector<Note> tick_from(const Endpoint& directory, std::uint64_t epoch, std::uint64_t seq) {
    return feed(wire::Tick{.epoch = epoch, .seq = seq, .lease_ms = 15000}, directory, kSherlock);
  }
};

TEST_F(SeveralDirectories, AWatsonsHeartbeatsToEachDirectoryAreOneStreamEach) {
  // A watson sends every datagram to each of its directories: the same seq once per directory.
  for (std::uint64_t seq = 1; seq <= 20; ++seq) {
    EXPECT_TRUE(heartbeat_to(kDirectoryA, seq).empty()) << seq;
    EXPECT_TRUE(heartbeat_to(kDirectoryB, seq).empty()) << seq << ": not a replay";
    EXPECT_TRUE(heartbeat_to(kDirectoryC, seq).empty()) << seq;
  }
  // Lost on the way to B only: a gap of B's stream, named so.
  EXPECT_TRUE(heartbeat_to(kDirectoryA, 21).empty());
  EXPECT_TRUE(heartbeat_to(kDirectoryA, 22).empty());
  const auto gap = heartbeat_to(kDirectoryB, 22);
  ASSERT_EQ(gap.size(), 1u);
  EXPECT_EQ(gap[0].kind, NoteKind::gap);
  EXPECT_EQ(gap[0].first, 21u);
  EXPECT_EQ(gap[0].last, 21u);
  EXPECT_EQ(gap[0].receiver, kDirectoryB);
  EXPECT_EQ(Analyzer::directory_of(gap[0]), kDirectoryB);
  // A replay to one directory is that directory's replay.
  const auto replay = heartbeat_to(kDirectoryC, 3);
  ASSERT_EQ(replay.size(), 1u);
  EXPECT_EQ(replay[0].kind, NoteKind::replay);
  EXPECT_EQ(replay[0].receiver, kDirectoryC);
  EXPECT_EQ(replay[0].highest, 20u);
  // A restart is seen by each directory's stream.
  EXPECT_EQ(heartbeat_to(kDirectoryA, 1, kInc2).at(0).kind, NoteKind::restart);
  EXPECT_EQ(heartbeat_to(kDirectoryB, 1, kInc2).at(0).kind, NoteKind::restart);
  EXPECT_TRUE(heartbeat_to(kDirectoryA, 2, kInc2).empty());
  EXPECT_TRUE(heartbeat_to(kDirectoryB, 2, kInc2).empty());
  EXPECT_EQ(analyzer_.stats().gaps, 1u);
  EXPECT_EQ(analyzer_.stats().replays, 1u);
  EXPECT_EQ(analyzer_.stats().restarts, 2u);
}

TEST_F(SeveralDirectories, ASherlockFollowingTwoDirectoriesHasTwoStreams) {
  // Two epochs, two sequence spaces, interleaved datagram by datagram: no gap, no duplicate, no
  // restart, no old epoch.
  for (std::uint64_t k = 0; k < 50; ++k) {
    EXPECT_TRUE(delta_from(kDirectoryA, 0xa1, 10 + 2 * k, 12 + 2 * k).empty()) << k;
    EXPECT_TRUE(delta_from(kDirectoryB, 0xb2, 5000 + k, 5001 + k).empty()) << k;
    EXPECT_TRUE(tick_from(kDirectoryA, 0xa1, 12 + 2 * k).empty()) << k;
    EXPECT_TRUE(tick_from(kDirectoryB, 0xb2, 5001 + k).empty()) << k;
  }
  // B loses a Delta; A sends one twice: each note names its own directory.
  const auto gap = delta_from(kDirectoryB, 0xb2, 5052, 5053);
  ASSERT_EQ(gap.size(), 1u);
  EXPECT_EQ(gap[0].kind, NoteKind::gap);
  EXPECT_EQ(gap[0].sender, kDirectoryB);
  EXPECT_EQ(gap[0].first, 5051u);
  EXPECT_EQ(gap[0].last, 5052u);
  const auto dup = delta_from(kDirectoryA, 0xa1, 106, 108);
  ASSERT_EQ(dup.size(), 1u);
  EXPECT_EQ(dup[0].kind, NoteKind::duplicate);
  EXPECT_EQ(dup[0].sender, kDirectoryA);
  EXPECT_EQ(dup[0].highest, 110u);
  // A's NACK does not make B's late Delta a retransmit; B's own NACK does.
  EXPECT_TRUE(feed(wire::Nack{.subscriber_id = 77,
                              .nonce = ++nonce_,
                              .epoch = 0xb2,
                              .first_missing = 5051,
                              .last_missing = 5052},
                   kSherlock, kDirectoryA)
                  .empty());
  EXPECT_EQ(delta_from(kDirectoryB, 0xb2, 5050, 5051).at(0).kind, NoteKind::reorder);
  feed(wire::Nack{.subscriber_id = 77,
                  .nonce = ++nonce_,
                  .epoch = 0xb2,
                  .first_missing = 5052,
                  .last_missing = 5052},
       kSherlock, kDirectoryB);
  EXPECT_EQ(delta_from(kDirectoryB, 0xb2, 5051, 5052).at(0).kind, NoteKind::retransmit);
  // A snapshot from A resyncs A's stream only.
  delta_from(kDirectoryA, 0xa1, 120, 121);    // gap 111..120 at A
  delta_from(kDirectoryB, 0xb2, 5060, 5061);  // gap 5054..5060 at B
  feed(wire::SnapshotChunk{.epoch = 0xa1, .subscriber_id = 77, .nonce = 9, .seq = 130, .count = 1},
       kDirectoryA, kSherlock);
  EXPECT_TRUE(delta_from(kDirectoryA, 0xa1, 130, 131).empty());
  analyzer_.finish(clock_);
  EXPECT_EQ(analyzer_.stats().still_missing, 7u) << "B's gap, not A's";
  EXPECT_EQ(analyzer_.stats().restarts, 0u);
  EXPECT_EQ(analyzer_.stats().old_epoch, 0u);
}

TEST_F(SeveralDirectories, EachDirectorysRestartIsItsOwn) {
  tick_from(kDirectoryA, 0xa1, 1);
  tick_from(kDirectoryB, 0xb2, 1);
  const auto restart = tick_from(kDirectoryB, 0xb3, 0);
  ASSERT_EQ(restart.size(), 1u);
  EXPECT_EQ(restart[0].kind, NoteKind::restart);
  EXPECT_EQ(restart[0].sender, kDirectoryB);
  EXPECT_EQ(restart[0].old_epoch, 0xb2u);
  EXPECT_TRUE(tick_from(kDirectoryA, 0xa1, 2).empty()) << "A did not restart";
  EXPECT_EQ(tick_from(kDirectoryB, 0xb2, 2).at(0).kind, NoteKind::old_epoch);
}

TEST_F(SeveralDirectories, RandomInterleavingsOfInOrderStreamsSayNothing) {
  std::mt19937 rng(7);
  const Endpoint directories[] = {kDirectoryA, kDirectoryB, kDirectoryC};
  std::uint64_t next_delta[] = {0, 1000, 77};
  std::uint64_t next_heartbeat[] = {1, 1, 1};
  for (int i = 0; i < 3000; ++i) {
    const std::size_t d = rng() % 3;
    std::vector<Note> notes;
    if (rng() % 2) {
      const std::uint64_t width = 1 + rng() % 4;
      notes = delta_from(directories[d], 0xe0 + d, next_delta[d], next_delta[d] + width);
      next_delta[d] += width;
    } else {
      notes = heartbeat_to(directories[d], next_heartbeat[d]++);
    }
    ASSERT_TRUE(notes.empty()) << i << ": " << to_string(notes[0].kind);
  }
}

TEST_F(SeveralDirectories, AMemberOfOneDirectorysGroupFollowsAnotherByUnicast) {
  // Member of A's group; B's stream (no group) comes by unicast and is a stream of its own.
  feed(wire::Subscribe{.subscriber_id = 77, .nonce = 1, .flags = wire::kFlagMulticastMember},
       kSherlock, kDirectoryA);
  feed(wire::Subscribe{.subscriber_id = 77, .nonce = 2}, kSherlock, kDirectoryB);
  delta_from(kDirectoryA, 0xa1, 10, 12, kGroup);
  EXPECT_EQ(delta_from(kDirectoryA, 0xa1, 14, 15, kGroup).at(0).kind, NoteKind::gap);
  EXPECT_TRUE(delta_from(kDirectoryB, 0xb2, 0, 3).empty());
  const auto gap = delta_from(kDirectoryB, 0xb2, 5, 6);
  ASSERT_EQ(gap.size(), 1u) << "B's unicast stream is followed, not taken for retransmits";
  EXPECT_EQ(gap[0].kind, NoteKind::gap);
  EXPECT_EQ(gap[0].sender, kDirectoryB);
  // A's unicast Delta to the member fills A's group stream.
  const auto fill = delta_from(kDirectoryA, 0xa1, 12, 15);
  ASSERT_EQ(fill.size(), 1u);
  EXPECT_EQ(fill[0].kind, NoteKind::retransmit);
  EXPECT_EQ(fill[0].first, 13u);
}

TEST_F(Analysis, AuthFailuresAndInvalidDatagramsAreNotAnalysed) {
  wire::Keyring keys;
  keys.add(1, wire::Key{}, true);
  wire::Heartbeat hb = wire::samples::sample_heartbeat();
  hb.seq = 1;
  feed(hb, kWatson, kDirectory, &keys, &keys);
  hb.seq = 5;
  // Forged (no MAC): a receiver with keys drops it, so it makes no gap.
  EXPECT_TRUE(feed(hb, kWatson, kDirectory, nullptr, &keys).empty());
  hb.seq = 2;
  EXPECT_TRUE(feed(hb, kWatson, kDirectory, &keys, &keys).empty());
  const std::vector<std::uint8_t> junk{0x01};
  EXPECT_TRUE(analyzer_.observe(make_record(clock_, kWatson, kDirectory, junk, nullptr)).empty());
}

}  // namespace
}  // namespace baker::dump

namespace baker::dump {
namespace {

// point() against a plain model: the set of numbers seen since the first.
TEST(SequenceTracker, PointsMatchASimpleModel) {
  std::mt19937 rng(99);
  for (int trial = 0; trial < 200; ++trial) {
    SequenceTracker t;
    std::set<std::uint64_t> seen;
    const std::uint64_t start = 1 + rng() % 50;
    std::uint64_t highest = 0;
    using K = SequenceTracker::Result::Kind;
    for (int i = 0; i < 100; ++i) {
      const std::uint64_t seq = start + rng() % 60;
      const auto r = t.point(seq);
      if (seen.empty()) {
        EXPECT_EQ(r.kind, K::first);
      } else if (seen.count(seq) || seq < *seen.begin()) {
        // Before the first number seen, nothing is known to be missing: a duplicate of nothing.
        EXPECT_EQ(r.kind, K::duplicate) << seq;
      } else if (seq == highest + 1) {
        EXPECT_EQ(r.kind, K::in_order);
      } else if (seq > highest) {
        EXPECT_EQ(r.kind, K::gap);
        EXPECT_EQ(r.first, highest + 1);
        EXPECT_EQ(r.last, seq - 1);
      } else {
        EXPECT_EQ(r.kind, K::filled) << seq;
      }
      if (seen.empty() || seq >= *seen.begin()) seen.insert(seq);
      highest = *seen.rbegin();
      EXPECT_EQ(t.missing_count(), highest - *seen.begin() + 1 - seen.size());
    }
  }
}

}  // namespace
}  // namespace baker::dump
