// baker-dump end to end: it records real UDP traffic on loopback (-i lo -w), then decodes the
// capture (text and JSON, field by field), finds gaps, reorders and duplicates in edited copies,
// refuses corrupt and truncated files, and reports bad interfaces and missing permissions.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "baker-dump/frame.hpp"
#include "common/real_clock.hpp"
#include "dump_test_support.hpp"
#include "json_value.hpp"
#include "process.hpp"
#include "routes.hpp"
#include "wire/codec.hpp"

namespace baker::dump {
namespace {

using namespace std::chrono_literals;
using namespace baker::testing;
using baker::testing::parse_json;
using testing::lag_ms;
using testing::Packet;
using testing::run_tool;
using testing::unlagged;
using testing::untimed;
using Bytes = std::vector<std::uint8_t>;

// A watson incarnation: its start, us since 1970 (2026-11-30T...); sent_ms just after it.
constexpr std::uint64_t kWatsonIncarnation = 1'796'000'000'000'000ULL;
constexpr std::uint64_t kSubscriber = 0x77;
constexpr std::uint64_t kDirectoryEpoch = 0xd1;

wire::Route route(const std::string& instance, std::uint8_t host) {
  return baker::testing::make_route("greeting", instance, wire::IpAddress::v4(10, 0, 0, host), 8080,
                                    100, wire::InstanceState::up, {"v1"});
}

wire::Heartbeat heartbeat(std::uint64_t seq) {
  wire::Heartbeat h;
  h.route = route("10.0.0.1:8080", 1);
  h.incarnation = kWatsonIncarnation;
  h.seq = seq;
  h.interval_ms = 500;
  h.sent_ms = baker::unix_time_ms();  // lag= shows how long ago: lines compare unlagged()
  return h;
}

bool is_root() {
  return geteuid() == 0;
}

// One recording shared by the tests of this file: a watson, a sherlock and a "directory" socket
// on loopback exchange one datagram of every type (plus one that is not msgpack), while
// `baker-dump -i lo -w` records them.
class BakerDumpCapture : public ::testing::Test {
 protected:
  static constexpr int kPackets = 16;

  static void SetUpTestSuite() {
    setenv("TZ", "UTC", 1);
    dir_ = new TempDir();
    if (!is_root()) return;  // the tests skip themselves
    recording_ = dir_->file("loopback.pcap");
    UdpSocket directory;  // ephemeral: the port baker-dump filters on
    UdpSocket watson;
    UdpSocket sherlock;
    ports_ = {directory.port(), watson.port(), sherlock.port()};
    ChildProcess capture({bin("baker-dump"), "-i", "lo", "--port", std::to_string(directory.port()),
                          "-w", recording_, "-c", std::to_string(kPackets)});
    ASSERT_TRUE(
        wait_until([&] { return capture.log().find("listening on lo") != std::string::npos; }, 5s))
        << capture.log();
    const auto to_directory = [&](UdpSocket& s, const wire::Message& m) {
      s.send_to(wire::encode(m), "127.0.0.1", directory.port());
    };
    const auto to_sherlock = [&](const wire::Message& m) {
      directory.send_to(wire::encode(m), "127.0.0.1", sherlock.port());
    };
    for (std::uint64_t seq = 1; seq <= 4; ++seq) to_directory(watson, heartbeat(seq));
    to_directory(watson, wire::Goodbye{.service = "greeting",
                                       .instance = "10.0.0.1:8080",
                                       .incarnation = kWatsonIncarnation,
                                       .seq = 5,
                                       .sent_ms = baker::unix_time_ms()});
    to_directory(sherlock, wire::Subscribe{.subscriber_id = kSubscriber,
                                           .nonce = 1,
                                           .cookie = wire::Cookie(24, 0xc0),
                                           .services = {"greeting"}});
    to_sherlock(wire::Delta{
        .epoch = kDirectoryEpoch,
        .subscriber_id = kSubscriber,
        .from_seq = 0,
        .to_seq = 2,
        .ops = {{wire::OpKind::add, route("10.0.0.1:8080", 1), {kWatsonIncarnation, 1}},
                {wire::OpKind::add, route("10.0.0.2:8080", 2), {kWatsonIncarnation + 1, 1}}}});
    auto drained = route("10.0.0.2:8080", 2);
    drained.weight = 50;
    drained.state = wire::InstanceState::draining;
    to_sherlock(wire::Delta{.epoch = kDirectoryEpoch,
                            .subscriber_id = kSubscriber,
                            .from_seq = 2,
                            .to_seq = 3,
                            .ops = {{wire::OpKind::update, drained, {kWatsonIncarnation + 1, 7}}}});
    to_sherlock(wire::Delta{.epoch = kDirectoryEpoch,
                            .subscriber_id = kSubscriber,
                            .from_seq = 3,
                            .to_seq = 5,
                            .ops = {{wire::OpKind::remove,
                                     route("10.0.0.1:8080", 1),
                                     {kWatsonIncarnation, 5},
                                     wire::Removal::goodbye}}});
    to_sherlock(wire::Tick{.epoch = kDirectoryEpoch,
                           .subscriber_id = kSubscriber,
                           .seq = 5,
                           .digest = 0xabc,
                           .route_count = 1,
                           .lease_ms = 15000});
    to_directory(sherlock, wire::Nack{.subscriber_id = kSubscriber,
                                      .nonce = 2,
                                      .epoch = kDirectoryEpoch,
                                      .first_missing = 4,
                                      .last_missing = 5});
    const wire::SnapshotChunk chunk{.epoch = kDirectoryEpoch,
                                    .subscriber_id = kSubscriber,
                                    .nonce = 2,
                                    .seq = 5,
                                    .index = 0,
                                    .count = 2,
                                    .routes = {drained},
                                    .versions = {{kWatsonIncarnation + 1, 9}}};
    to_sherlock(chunk);
    auto second = chunk;
    second.index = 1;
    second.routes.clear();
    second.versions.clear();
    to_sherlock(second);
    to_sherlock(wire::RetryLater{
        .epoch = kDirectoryEpoch, .subscriber_id = kSubscriber, .nonce = 3, .delay_ms = 250});
    to_directory(sherlock, wire::Unsubscribe{.subscriber_id = kSubscriber, .nonce = 4});
    watson.send_to({0xc1, 0x01}, "127.0.0.1", directory.port());
    // -c makes it stop by itself once it has them all.
    const auto status = capture.wait_exit(10s);
    ASSERT_TRUE(status) << "baker-dump did not stop after " << kPackets << " packets:\n"
                        << capture.log();
    ASSERT_EQ(*status, 0) << capture.log();
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "capturing on lo needs root";
    ASSERT_TRUE(std::filesystem::exists(recording_)) << "the recording failed";
  }

  std::string D() const { return "127.0.0.1:" + std::to_string(ports_[0]); }
  std::string W() const { return "127.0.0.1:" + std::to_string(ports_[1]); }
  std::string S() const { return "127.0.0.1:" + std::to_string(ports_[2]); }
  testing::RunResult dump(std::vector<std::string> args) const {
    args.insert(args.begin(), bin("baker-dump"));
    return run_tool(args, *dir_);
  }
  // The recording with packets (0-based) left out, or reordered by `order`.
  std::string edited(const std::string& name, const std::vector<int>& order) const {
    int linktype = 0;
    const auto all = testing::read_capture(recording_, &linktype);
    std::vector<Packet> kept;
    for (int i : order) kept.push_back(all.at(static_cast<std::size_t>(i)));
    const std::string path = dir_->file(name);
    testing::write_capture(path, linktype, kept);
    return path;
  }
  static std::vector<int> all_but(std::initializer_list<int> removed) {
    std::vector<int> v;
    for (int i = 0; i < kPackets; ++i) {
      if (std::find(removed.begin(), removed.end(), i) == removed.end()) v.push_back(i);
    }
    return v;
  }

  static TempDir* dir_;
  static std::string recording_;
  static std::array<std::uint16_t, 3> ports_;
};

TempDir* BakerDumpCapture::dir_ = nullptr;
std::string BakerDumpCapture::recording_;
std::array<std::uint16_t, 3> BakerDumpCapture::ports_{};

TEST_F(BakerDumpCapture, RecordingHoldsEveryDatagramAsEthernetFrames) {
  int linktype = 0;
  const auto packets = testing::read_capture(recording_, &linktype);
  EXPECT_EQ(linktype, DLT_EN10MB);  // Linux loopback
  EXPECT_EQ(packets.size(), static_cast<std::size_t>(kPackets));
}

TEST_F(BakerDumpCapture, TextLinesFieldByField) {
  const auto r = dump({"-r", recording_});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = r.lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kPackets)) << r.out;
  for (const auto& l : lines) EXPECT_TRUE(testing::starts_with_time(l)) << l;
  const std::string hb =
      " heartbeat greeting/10.0.0.1:8080 inc=1796000000000000 (2026-11-30T00:53:20.000000Z) seq=";
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(unlagged(untimed(lines[i])),
              W() + " > " + D() + hb + std::to_string(i + 1) + " lag=Xms up w=100 10.0.0.1:8080");
  }
  EXPECT_EQ(unlagged(untimed(lines[4])), W() + " > " + D() +
                                             " goodbye greeting/10.0.0.1:8080 inc=1796000000000000 "
                                             "(2026-11-30T00:53:20.000000Z) seq=5 lag=Xms");
  // sent_ms is the sender's clock a moment before the capture's: the lag is small.
  const auto lag = lag_ms(lines[4]);
  ASSERT_TRUE(lag) << lines[4];
  EXPECT_LT(std::abs(*lag), 5000);
  EXPECT_EQ(untimed(lines[5]), S() + " > " + D() +
                                   " subscribe sub=77 nonce=1 cookie=24B last_epoch=0 last_seq=0 "
                                   "services=greeting");
  EXPECT_EQ(untimed(lines[6]), D() + " > " + S() +
                                   " delta epoch=d1 to=77 (0,2] ops=2 [add greeting/10.0.0.1:8080, "
                                   "add greeting/10.0.0.2:8080]");
  EXPECT_EQ(
      untimed(lines[7]),
      D() + " > " + S() + " delta epoch=d1 to=77 (2,3] ops=1 [update greeting/10.0.0.2:8080]");
  EXPECT_EQ(untimed(lines[8]),
            D() + " > " + S() +
                " delta epoch=d1 to=77 (3,5] ops=1 [remove greeting/10.0.0.1:8080 (goodbye)]");
  EXPECT_EQ(untimed(lines[9]),
            D() + " > " + S() + " tick epoch=d1 to=77 seq=5 routes=1 digest=abc lease=15000ms");
  EXPECT_EQ(untimed(lines[10]), S() + " > " + D() + " nack sub=77 nonce=2 epoch=d1 4..5");
  EXPECT_EQ(untimed(lines[11]),
            D() + " > " + S() + " snapshot epoch=d1 to=77 nonce=2 seq=5 chunk 1/2 routes=1");
  EXPECT_EQ(untimed(lines[12]),
            D() + " > " + S() + " snapshot epoch=d1 to=77 nonce=2 seq=5 chunk 2/2 routes=0");
  EXPECT_EQ(untimed(lines[13]),
            D() + " > " + S() + " retry_later epoch=d1 to=77 nonce=3 delay=250ms");
  EXPECT_EQ(untimed(lines[14]), S() + " > " + D() + " unsubscribe sub=77 nonce=4");
  EXPECT_EQ(untimed(lines[15]), W() + " > " + D() + " invalid malformed len=2");

  // Summary on stderr.
  EXPECT_NE(r.err.find("16 datagrams (15 valid, 1 invalid, 0 failed authentication), 16 shown"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("by type: heartbeat 4, goodbye 1, subscribe 1, unsubscribe 1, delta 3, "
                       "tick 1, nack 1, snapshot 2, retry_later 1"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("invalid: malformed 1"), std::string::npos);
  EXPECT_NE(r.err.find("sequence: 0 gaps"), std::string::npos);
  EXPECT_NE(r.err.find("snapshots: 1 complete, 0 incomplete"), std::string::npos);
}

TEST_F(BakerDumpCapture, VerboseShowsEveryField) {
  const auto r = dump({"-r", recording_, "-v"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(unlagged(r.out).find(" seq=1 lag=Xms sent_ms="), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" up w=100 10.0.0.1:8080 interval=500ms tags=v1 len="), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("delta epoch=d1 to=77 (2,3] ops=1 flags=0 len="), std::string::npos);
  EXPECT_NE(r.out.find("\n    update greeting/10.0.0.2:8080 10.0.0.2:8080 w=50 draining tags=v1 "
                       "inc=1796000000000001 seq=7\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(
      r.out.find("\n    remove greeting/10.0.0.1:8080 inc=1796000000000000 seq=5 (goodbye)\n"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\n    greeting/10.0.0.2:8080 10.0.0.2:8080 w=50 draining tags=v1 "
                       "inc=1796000000000001 seq=9\n"),
            std::string::npos)
      << r.out;  // the snapshot's route
  EXPECT_NE(r.out.find("invalid malformed len=2 hex=c101"), std::string::npos);
}

TEST_F(BakerDumpCapture, JsonObjectsFieldByField) {
  const auto r = dump({"-r", recording_, "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = r.lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kPackets + 1)) << r.out;  // + summary
  std::vector<JsonValue> j;
  for (const auto& l : lines) j.push_back(parse_json(l));

  std::string last_ts;
  for (int i = 0; i < kPackets; ++i) {
    EXPECT_TRUE(j[i].has("time"));
    EXPECT_GE(j[i]["ts"].text, last_ts);  // same length: text order is time order
    last_ts = j[i]["ts"].text;
  }
  for (int i = 0; i < 4; ++i) {
    const auto& h = j[i];
    EXPECT_EQ(h["type"].str(), "heartbeat");
    EXPECT_EQ(h["src"].str(), W());
    EXPECT_EQ(h["dst"].str(), D());
    EXPECT_TRUE(h["valid"].boolean());
    EXPECT_EQ(h["auth"].str(), "none");
    EXPECT_EQ(h["key_id"].u64(), 0u);
    EXPECT_EQ(h["service"].str(), "greeting");
    EXPECT_EQ(h["instance"].str(), "10.0.0.1:8080");
    EXPECT_EQ(h["address"].str(), "10.0.0.1");
    EXPECT_EQ(h["port"].u64(), 8080u);
    EXPECT_EQ(h["weight"].u64(), 100u);
    EXPECT_EQ(h["state"].str(), "up");
    ASSERT_EQ(h["tags"].size(), 1u);
    EXPECT_EQ(h["tags"][0].str(), "v1");
    EXPECT_EQ(h["incarnation"].u64(), kWatsonIncarnation);
    EXPECT_EQ(h["incarnation_time"].str(), "2026-11-30T00:53:20.000000Z");
    EXPECT_EQ(h["seq"].u64(), static_cast<std::uint64_t>(i + 1));
    EXPECT_EQ(h["interval_ms"].u64(), 500u);
    EXPECT_GT(h["sent_ms"].u64(), 1'700'000'000'000u);
    EXPECT_LT(std::abs(std::stoll(h["sent_lag_ms"].text)), 5000);
    EXPECT_EQ(h["len"].u64(), wire::encode(heartbeat(i + 1)).size());
  }
  EXPECT_EQ(j[4]["type"].str(), "goodbye");
  EXPECT_EQ(j[4]["seq"].u64(), 5u);
  EXPECT_EQ(j[5]["type"].str(), "subscribe");
  EXPECT_EQ(j[5]["subscriber"].str(), "77");
  EXPECT_EQ(j[5]["nonce"].u64(), 1u);
  EXPECT_EQ(j[5]["cookie"].str(), "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0");
  EXPECT_EQ(j[5]["services"][0].str(), "greeting");
  EXPECT_FALSE(j[5]["multicast_member"].boolean());
  EXPECT_EQ(j[6]["type"].str(), "delta");
  EXPECT_EQ(j[6]["src"].str(), D());
  EXPECT_EQ(j[6]["dst"].str(), S());
  EXPECT_EQ(j[6]["epoch"].str(), "d1");
  EXPECT_EQ(j[6]["subscriber"].str(), "77");
  EXPECT_EQ(j[6]["nonce"].u64(), 0u);
  EXPECT_EQ(j[6]["from_seq"].u64(), 0u);
  EXPECT_EQ(j[6]["to_seq"].u64(), 2u);
  ASSERT_EQ(j[6]["ops"].size(), 2u);
  EXPECT_EQ(j[6]["ops"][1]["instance"].str(), "10.0.0.2:8080");
  EXPECT_EQ(j[6]["ops"][1]["address"].str(), "10.0.0.2");
  EXPECT_EQ(j[7]["ops"][0]["op"].str(), "update");
  EXPECT_EQ(j[7]["ops"][0]["weight"].u64(), 50u);
  EXPECT_EQ(j[7]["ops"][0]["state"].str(), "draining");
  EXPECT_EQ(j[8]["ops"][0]["op"].str(), "remove");
  EXPECT_EQ(j[9]["type"].str(), "tick");
  EXPECT_EQ(j[9]["digest"].str(), "abc");
  EXPECT_EQ(j[9]["route_count"].u64(), 1u);
  EXPECT_EQ(j[9]["lease_ms"].u64(), 15000u);
  EXPECT_EQ(j[10]["type"].str(), "nack");
  EXPECT_EQ(j[10]["first_missing"].u64(), 4u);
  EXPECT_EQ(j[10]["nonce"].u64(), 2u);
  EXPECT_EQ(j[10]["last_missing"].u64(), 5u);
  EXPECT_EQ(j[11]["type"].str(), "snapshot");
  EXPECT_EQ(j[11]["index"].u64(), 0u);
  EXPECT_EQ(j[11]["nonce"].u64(), 2u);
  EXPECT_EQ(j[11]["count"].u64(), 2u);
  EXPECT_EQ(j[11]["routes"][0]["weight"].u64(), 50u);
  EXPECT_EQ(j[12]["index"].u64(), 1u);
  EXPECT_EQ(j[13]["type"].str(), "retry_later");
  EXPECT_EQ(j[13]["delay_ms"].u64(), 250u);
  EXPECT_EQ(j[13]["nonce"].u64(), 3u);
  EXPECT_EQ(j[14]["type"].str(), "unsubscribe");
  EXPECT_EQ(j[15]["type"].str(), "invalid");
  EXPECT_EQ(j[15]["error"].str(), "malformed");
  EXPECT_EQ(j[15]["hex"].str(), "c101");
  const auto& s = j[16]["summary"];
  EXPECT_EQ(s["datagrams"].u64(), 16u);
  EXPECT_EQ(s["valid"].u64(), 15u);
  EXPECT_EQ(s["by_type"]["delta"].u64(), 3u);
  EXPECT_EQ(s["invalid_by_reason"]["malformed"].u64(), 1u);
  EXPECT_EQ(s["gaps"].u64(), 0u);

  // An independent parser agrees that every line is JSON.
  const std::string path = dir_->file("out.jsonl");
  testing::write_bytes(path, r.out);
  const auto py = run_tool({"/usr/bin/python3", "-c",
                            "import json,sys\n"
                            "rows=[json.loads(l) for l in open(sys.argv[1])]\n"
                            "print(len(rows), rows[6]['ops'][0]['service'])",
                            path},
                           *dir_);
  EXPECT_EQ(py.status, 0) << py.err;
  EXPECT_EQ(py.out, "17 greeting\n");
}

TEST_F(BakerDumpCapture, GapWhenADatagramIsRemoved) {
  // Without heartbeat seq=3 (packet 2) and Delta (2,3] (packet 7).
  const auto r = dump({"-r", edited("gap.pcap", all_but({2, 7}))});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = r.lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kPackets - 2 + 2)) << r.out;
  EXPECT_NE(lines[2].find("heartbeat greeting/10.0.0.1:8080 inc=1796000000000000 "
                          "(2026-11-30T00:53:20.000000Z) seq=4"),
            std::string::npos);
  EXPECT_EQ(lines[3], "!! gap: heartbeat greeting/10.0.0.1:8080 from " + W() + " to " + D() +
                          " inc=1796000000000000 seq 3 missing");
  EXPECT_NE(lines[7].find("delta epoch=d1 to=77 (3,5]"), std::string::npos) << lines[7];
  EXPECT_EQ(lines[8], "!! gap: delta " + D() + " > " + S() + " epoch=d1 seq 3 missing");
  // The snapshot at seq 5 covers the Delta gap; the heartbeat one stays open.
  EXPECT_NE(r.err.find("sequence: 2 gaps (2 missing, 1 never filled)"), std::string::npos) << r.err;

  const auto j = dump({"-r", edited("gap2.pcap", all_but({2})), "--json", "--type", "heartbeat"});
  ASSERT_EQ(j.status, 0) << j.err;
  const auto jl = j.lines();
  ASSERT_EQ(jl.size(), 3u + 1 + 1) << j.out;  // 3 heartbeats, the note, the summary
  const auto note = parse_json(jl[3]);
  EXPECT_EQ(note["note"].str(), "gap");
  EXPECT_EQ(note["stream"].str(), "heartbeat");
  EXPECT_EQ(note["sender"].str(), W());
  EXPECT_EQ(note["incarnation"].u64(), kWatsonIncarnation);
  EXPECT_EQ(note["first_missing"].u64(), 3u);
  EXPECT_EQ(note["last_missing"].u64(), 3u);
  EXPECT_EQ(parse_json(jl[4])["summary"]["filtered_out"].u64(), 12u);
}

TEST_F(BakerDumpCapture, ReplayAndDuplicate) {
  // Heartbeat 3 after 4 (not newer: a directory drops it), and Delta (0,2] twice.
  const auto r = dump({"-r", edited("reorder.pcap", {0, 1, 3, 2, 6, 6})});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = r.lines();
  ASSERT_EQ(lines.size(), 9u) << r.out;
  EXPECT_EQ(lines[3], "!! gap: heartbeat greeting/10.0.0.1:8080 from " + W() + " to " + D() +
                          " inc=1796000000000000 seq 3 missing");
  EXPECT_EQ(lines[5], "!! replay/duplicate: heartbeat greeting/10.0.0.1:8080 from " + W() + " to " +
                          D() +
                          " inc=1796000000000000 seq 3 not newer than 4 (a directory drops it)");
  EXPECT_EQ(lines[8], "!! duplicate: delta " + D() + " > " + S() + " epoch=d1 (0,2] (highest 2)");
  EXPECT_NE(r.err.find("1 gaps (1 missing, 0 never filled), 0 reordered, 0 retransmits, "
                       "1 duplicates, 0 restarts, 0 old-epoch, 0 old-incarnation, 1 replayed"),
            std::string::npos)
      << r.err;
}

TEST_F(BakerDumpCapture, IncompleteSnapshot) {
  const auto r = dump({"-r", edited("snap.pcap", all_but({12})), "--type", "snapshot"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("!! snapshot incomplete: " + D() + " > " + S() +
                       " epoch=d1 seq=5 got 1/2 chunks, missing 2"),
            std::string::npos)
      << r.out;
}

TEST_F(BakerDumpCapture, Filters) {
  auto r = dump({"-r", recording_, "--type", "delta,nack"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.lines().size(), 4u) << r.out;
  r = dump({"-r", recording_, "--service", "greeting"});
  // heartbeats, goodbye, subscribe, 3 deltas, the snapshot chunk with a route
  EXPECT_EQ(r.lines().size(), 10u) << r.out;
  r = dump({"-r", recording_, "--service", "billing"});
  EXPECT_EQ(r.lines().size(), 0u) << r.out;
  r = dump({"-r", recording_, "--src", S()});
  EXPECT_EQ(r.lines().size(), 3u) << r.out;  // subscribe, nack, unsubscribe
  r = dump({"-r", recording_, "--src", "127.0.0.1", "--dst", S()});
  EXPECT_EQ(r.lines().size(), 7u) << r.out;  // the "directory" -> sherlock datagrams
  r = dump({"-r", recording_, "--type", "invalid"});
  EXPECT_EQ(r.lines().size(), 1u) << r.out;
  r = dump({"-r", recording_, "-c", "3"});
  EXPECT_EQ(r.lines().size(), 3u) << r.out;
  // A BPF filter applies to files too.
  r = dump({"-r", recording_, "--filter", "udp and src port " + std::to_string(ports_[1])});
  EXPECT_EQ(r.lines().size(), 6u) << r.out;  // the watson's datagrams
}

TEST_F(BakerDumpCapture, ReadsPcapng) {
  int linktype = 0;
  const auto packets = testing::read_capture(recording_, &linktype);
  const std::string path = dir_->file("copy.pcapng");
  testing::write_pcapng(path, static_cast<std::uint16_t>(linktype), packets);
  const auto ng = dump({"-r", path});
  const auto classic = dump({"-r", recording_});
  ASSERT_EQ(ng.status, 0) << ng.err;
  EXPECT_EQ(ng.out, classic.out);
}

TEST_F(BakerDumpCapture, RewritesWithWriteFromFile) {
  const std::string out = dir_->file("heartbeats.pcap");
  auto r = dump(
      {"-r", recording_, "--filter", "udp and src port " + std::to_string(ports_[1]), "-w", out});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;  // -w prints nothing without --print
  int linktype = 0;
  EXPECT_EQ(testing::read_capture(out, &linktype).size(), 6u);
}

TEST_F(BakerDumpCapture, CorruptAndTruncatedCaptures) {
  const std::string whole = testing::read_text(recording_);
  // Garbage, empty, and a header cut short: refused before any packet.
  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"garbage.pcap", "this is not a capture file at all\n"},
           {"empty.pcap", ""},
           {"header.pcap", whole.substr(0, 10)}}) {
    const std::string path = dir_->file(name);
    testing::write_bytes(path, bytes);
    const auto r = dump({"-r", path});
    EXPECT_EQ(r.status, 1) << name;
    EXPECT_NE(r.err.find("-r '" + path + "': not a readable pcap/pcapng capture"),
              std::string::npos)
        << name << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << name;
  }
  // Cut in the middle of the last packet: what was readable is shown, then a clear error.
  const std::string cut = dir_->file("cut.pcap");
  testing::write_bytes(cut, whole.substr(0, whole.size() - 3));
  auto r = dump({"-r", cut});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.lines().size(), static_cast<std::size_t>(kPackets - 1)) << r.out;
  EXPECT_NE(r.err.find("corrupt or truncated capture after 15 packets"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("15 datagrams"), std::string::npos) << r.err;  // summary still printed
  // A record header claiming an absurd length.
  std::string absurd = whole;
  const std::size_t first_record = 24;  // after the file header
  absurd[first_record + 8] = '\xff';    // caplen
  absurd[first_record + 9] = '\xff';
  absurd[first_record + 10] = '\xff';
  absurd[first_record + 11] = '\x7f';
  const std::string bad = dir_->file("absurd.pcap");
  testing::write_bytes(bad, absurd);
  r = dump({"-r", bad});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("corrupt or truncated capture after 0 packets"), std::string::npos) << r.err;
  // Not there, not readable.
  r = dump({"-r", dir_->file("missing.pcap")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("cannot open: No such file or directory"), std::string::npos) << r.err;
  r = dump({"-r", dir_->path()});
  EXPECT_EQ(r.status, 1) << r.err;
}

// Captures written here (not recorded): MACs good, bad, missing, unknown key, checked with
// --key-file, and link types other than Ethernet.
class BakerDumpFiles : public ::testing::Test {
 protected:
  void SetUp() override { setenv("TZ", "UTC", 1); }
  Packet raw(const Bytes& payload, std::uint16_t sport, int usec) {
    const Endpoint from{wire::IpAddress::v4(127, 0, 0, 1), sport};
    const Endpoint to{wire::IpAddress::v4(127, 0, 0, 1), 7400};
    Packet p;
    p.data = encapsulate_ipv4_udp(from, to, payload);
    p.header.ts.tv_sec = 1700000000;
    p.header.ts.tv_usec = usec;
    p.header.caplen = p.header.len = static_cast<bpf_u_int32>(p.data.size());
    return p;
  }
  testing::RunResult dump(std::vector<std::string> args) {
    args.insert(args.begin(), bin("baker-dump"));
    return run_tool(args, dir_);
  }
  TempDir dir_;
};

TEST_F(BakerDumpFiles, AuthenticationFailuresWithKeyFile) {
  const std::string key1(64, 'a');
  const std::string key2(64, 'b');
  // A directory's key file: announce key 1 (watsons), publish key 2 (sherlocks).
  dir_.write("cluster.keys",
             "# cluster keys\n1 " + key1 + " announce\n2 " + std::string(64, 'c') + " publish\n");
  auto ring = [](std::uint32_t id, char c) {
    std::string error;
    auto k = wire::Keyring::parse(std::to_string(id) + " " + std::string(64, c) + "\n", &error);
    if (!k) throw std::runtime_error(error);
    return *k;
  };
  const auto good = ring(1, 'a');
  const auto wrong_key = ring(1, 'b');
  const auto other_id = ring(9, 'a');
  const auto publish_key = ring(2, 'c');  // a sherlock's key: not for heartbeats
  const std::string path = dir_.file("auth.pcap");
  testing::write_capture(path, DLT_RAW,
                         {raw(wire::encode(heartbeat(1), &good), 40001, 1),
                          raw(wire::encode(heartbeat(9), &wrong_key), 40001, 2),
                          raw(wire::encode(heartbeat(10)), 40001, 3),
                          raw(wire::encode(heartbeat(11), &other_id), 40001, 4),
                          raw(wire::encode(heartbeat(12), &publish_key), 40001, 5),
                          raw(wire::encode(heartbeat(2), &good), 40001, 6)});
  const auto r = dump({"-r", path, "--key-file", dir_.file("cluster.keys")});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = r.lines();
  // No gap 2..8 and no duplicate: the forged datagrams are not part of the stream.
  ASSERT_EQ(lines.size(), 6u) << r.out;
  EXPECT_EQ(lines[0].find("[auth"), std::string::npos);
  EXPECT_NE(lines[1].find(" up w=100 10.0.0.1:8080 [auth bad_mac key=1]"), std::string::npos)
      << lines[1];
  EXPECT_NE(lines[2].find(" up w=100 10.0.0.1:8080 [auth missing_mac key=0]"), std::string::npos);
  EXPECT_NE(lines[3].find("[auth unknown_key key=9]"), std::string::npos);
  EXPECT_NE(lines[4].find(" seq=12 "), std::string::npos) << lines[4];
  EXPECT_NE(lines[4].find("[auth wrong_role key=2]"), std::string::npos) << lines[4];
  EXPECT_NE(r.err.find("6 datagrams (2 valid, 0 invalid, 4 failed authentication)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(
      r.err.find("failed authentication: missing_mac 1, unknown_key 1, bad_mac 1, wrong_role 1"),
      std::string::npos)
      << r.err;
  const auto j = dump({"-r", path, "--key-file", dir_.file("cluster.keys"), "--json"});
  ASSERT_EQ(j.status, 0);
  EXPECT_EQ(parse_json(j.lines()[0])["auth"].str(), "ok");
  EXPECT_EQ(parse_json(j.lines()[1])["auth"].str(), "bad_mac");
  EXPECT_FALSE(parse_json(j.lines()[1])["valid"].boolean());
  EXPECT_EQ(parse_json(j.lines()[4])["auth"].str(), "wrong_role");
  // Without the key file nothing is verified; MACs are shown as unverified in -v.
  const auto v = dump({"-r", path, "-v"});
  EXPECT_NE(v.lines()[0].find("key=1 auth=unverified"), std::string::npos) << v.out;
  // (without keys the forged seq=9 makes a gap note: line 2)
  EXPECT_NE(v.lines()[3].find(" seq=10 "), std::string::npos) << v.out;
  EXPECT_NE(
      v.lines()[3].find(" up w=100 10.0.0.1:8080 interval=500ms tags=v1 len=" +
                        std::to_string(wire::encode(heartbeat(10)).size()) + " key=0 auth=none"),
      std::string::npos)
      << v.out;
  // A bad key file is a clear error.
  dir_.write("bad.keys", "1 nothex\n");
  const auto bad = dump({"-r", path, "--key-file", dir_.file("bad.keys")});
  EXPECT_EQ(bad.status, 1) << "a start-up failure, as in every daemon";
  EXPECT_NE(bad.err.find("key file " + dir_.file("bad.keys") + ", line 1: "), std::string::npos)
      << bad.err;
  const auto missing = dump({"-r", path, "--key-file", dir_.file("none.keys")});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("cannot read"), std::string::npos) << missing.err;
}

// A committed capture made with `baker-dump -i any -w` (Linux cooked headers, IPv4 and IPv6):
// test/baker-dump/captures/make_fixtures.sh re-records it.
TEST_F(BakerDumpFiles, CommittedAnyInterfaceCapture) {
  const std::string path = std::string(BAKER_DUMP_CAPTURES) + "/any_v4_v6.pcap";
  int linktype = 0;
  testing::read_capture(path, &linktype);
  EXPECT_EQ(linktype, DLT_LINUX_SLL);
  const auto r = dump({"-r", path});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> expected = {
      "01:52:36.002003 127.0.0.1:47401 > 127.0.0.1:47400 heartbeat greeting/i-1 "
      "inc=1796000000000000 (2026-11-30T00:53:20.000000Z) "
      "seq=1 lag=1ms up w=100 10.0.0.1:8080",
      "01:52:36.002195 127.0.0.1:47401 > 127.0.0.1:47400 heartbeat greeting/i-1 "
      "inc=1796000000000000 (2026-11-30T00:53:20.000000Z) "
      "seq=2 lag=0ms up w=100 10.0.0.1:8080",
      "01:52:36.002202 127.0.0.1:47401 > 127.0.0.1:47400 heartbeat greeting/i-1 "
      "inc=1796000000000000 (2026-11-30T00:53:20.000000Z) "
      "seq=4 lag=0ms up w=100 10.0.0.1:8080",
      "!! gap: heartbeat greeting/i-1 from 127.0.0.1:47401 to 127.0.0.1:47400 "
      "inc=1796000000000000 seq 3 missing",
      "01:52:36.002206 127.0.0.1:47401 > 127.0.0.1:47400 goodbye greeting/i-1 inc=1796000000000000 "
      "(2026-11-30T00:53:20.000000Z) "
      "seq=5 lag=0ms",
      "01:52:36.002302 [::1]:47400 > [::1]:47402 delta epoch=d1 to=77 (0,1] ops=1 [add "
      "greeting/i-2]",
      "01:52:36.002583 [::1]:47400 > [::1]:47402 delta epoch=d1 to=77 (2,3] ops=1 [remove "
      "greeting/i-2 (goodbye)]",
      "!! gap: delta [::1]:47400 > [::1]:47402 epoch=d1 seq 2 missing",
      "01:52:36.002590 [::1]:47400 > [::1]:47402 snapshot epoch=d1 to=77 nonce=9 seq=3 chunk 1/2 "
      "routes=1 warmup",
      "01:52:36.002596 [::1]:47400 > [::1]:47402 tick epoch=d1 to=77 nonce=9 seq=3 routes=1 "
      "digest=abc lease=15000ms warmup",
      "01:52:36.002600 127.0.0.1:47401 > 127.0.0.1:47400 invalid malformed len=2",
      "!! snapshot incomplete: [::1]:47400 > [::1]:47402 epoch=d1 seq=3 got 1/2 chunks, missing 2",
  };
  EXPECT_EQ(r.lines(), expected);
  EXPECT_NE(r.err.find("sequence: 2 gaps (2 missing, 1 never filled)"), std::string::npos) << r.err;
  const auto v = dump({"-r", path, "-v"});
  EXPECT_NE(v.out.find("\n    add greeting/i-2 [::2]:9090 w=100 up tags=- inc=1796000000000001 "
                       "seq=1\n"),
            std::string::npos)
      << v.out;
  EXPECT_NE(v.out.find("\n    remove greeting/i-2 inc=1796000000000001 seq=2 (goodbye)\n"),
            std::string::npos)
      << v.out;
  EXPECT_NE(v.out.find("\n    greeting/i-1 10.0.0.1:8080 w=100 up tags=- inc=1796000000000000 "
                       "seq=4\n"),
            std::string::npos)
      << v.out;
  const auto j = dump({"-r", path, "--json"});
  const auto delta = parse_json(j.lines()[5]);
  EXPECT_EQ(delta["src"].str(), "[::1]:47400");
  EXPECT_EQ(delta["directory"].str(), "[::1]:47400");
  EXPECT_EQ(delta["ops"][0]["incarnation"].u64(), 1'796'000'000'000'001ULL);
  EXPECT_EQ(parse_json(j.lines()[0])["directory"].str(), "127.0.0.1:47400");
  EXPECT_EQ(delta["ops"][0]["address"].str(), "::2");
  EXPECT_EQ(delta["ops"][0]["port"].u64(), 9090u);
  EXPECT_EQ(delta["time"].str(), "2026-12-02T01:52:36.002302Z");
}

TEST_F(BakerDumpFiles, IpFragmentsAreCountedAndNoted) {
  Packet frag = raw(wire::encode(heartbeat(1)), 40001, 1);
  frag.data[6] = 0x20;  // more fragments
  frag.data[7] = 0x00;
  const std::string path = dir_.file("frag.pcap");
  testing::write_capture(path, DLT_RAW, {frag, raw(wire::encode(heartbeat(2)), 40001, 2)});
  const auto r = dump({"-r", path});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = r.lines();
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0], "!! skipped: ip_fragment 127.0.0.1 > 127.0.0.1");
  EXPECT_NE(lines[1].find("seq=2"), std::string::npos);
  EXPECT_NE(r.err.find("skipped frames: ip_fragment 1 (of 2)"), std::string::npos) << r.err;
}

TEST_F(BakerDumpFiles, BadFlagsAndInterfaces) {
  auto r = dump({"-i", "no-such-if0", "-c", "1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("unknown interface 'no-such-if0'"), std::string::npos) << r.err;
  r = dump({"-r", "x.pcap", "-i", "lo"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("-r and -i"), std::string::npos) << r.err;
  r = dump({"-c", "0"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--count"), std::string::npos);
  r = dump({"--type", "heartbeats"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unknown type 'heartbeats'"), std::string::npos);
  r = dump({"--src", "nowhere"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--src 'nowhere'"), std::string::npos);
  r = dump({"--port", "70000"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--port '70000'"), std::string::npos);
  r = dump({"-B", "0"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--buffer-mb"), std::string::npos);
  r = dump({"--join", "10.0.0.1:7410"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("not a multicast address"), std::string::npos);
  r = dump({"--bogus"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("bogus"), std::string::npos);
  if (is_root()) {
    r = dump({"-i", "lo", "--filter", "udp and and", "-c", "1"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("invalid filter 'udp and and'"), std::string::npos) << r.err;
  }
  r = dump({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("usage: baker-dump"), std::string::npos);
  EXPECT_NE(r.out.find("--key-file"), std::string::npos);
}

// A burst as a directory sends after a restart (thousands of Deltas and snapshot chunks at
// once) must be captured whole: the kernel ring must not overflow.
TEST_F(BakerDumpFiles, CapturesABurstWithoutDrops) {
  if (!is_root()) GTEST_SKIP() << "capturing on lo needs root";
  constexpr int kBurst = 3000;
  UdpSocket sender;
  UdpSocket receiver;
  ChildProcess capture({bin("baker-dump"), "-i", "lo", "--port", std::to_string(receiver.port()),
                        "-c", std::to_string(kBurst), "--type", "delta", "--json"},
                       dir_.file("burst.log"));
  ASSERT_TRUE(
      wait_until([&] { return capture.log().find("listening on lo") != std::string::npos; }, 5s))
      << capture.log();
  wire::Delta d{.epoch = 0xd1};
  const auto r = route("10.0.0.1:8080", 1);
  for (int i = 0; i < 20; ++i) d.ops.push_back({wire::OpKind::update, r});  // ~1.1 KB
  for (int i = 0; i < kBurst; ++i) {
    d.from_seq = static_cast<std::uint64_t>(i) * 20;
    d.to_seq = d.from_seq + 20;
    sender.send_to(wire::encode(d), "127.0.0.1", receiver.port());
  }
  const auto status = capture.wait_exit(20s);
  ASSERT_TRUE(status) << capture.log().substr(capture.log().size() - 2000);
  EXPECT_EQ(*status, 0);
  const std::string log = capture.log();
  EXPECT_NE(log.find("baker-dump: " + std::to_string(kBurst) +
                     " packets captured, 0 dropped by the kernel"),
            std::string::npos)
      << log.substr(log.size() - 2000);
  EXPECT_NE(log.find("\"summary\":{\"frames\":" + std::to_string(kBurst) + ",\"datagrams\":" +
                     std::to_string(kBurst) + ",\"valid\":" + std::to_string(kBurst)),
            std::string::npos);
  EXPECT_NE(log.find("\"gaps\":0,"), std::string::npos);  // every range tiles the previous one
}

// Runs baker-dump as user nobody without capabilities: capturing must fail with a clear message.
std::vector<std::string> as_nobody(std::vector<std::string> args) {
  std::vector<std::string> v{"setpriv",        "--reuid=65534",   "--regid=65534",
                             "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                             bin("baker-dump")};
  v.insert(v.end(), args.begin(), args.end());
  return v;
}

bool can_drop_privileges() {
  return is_root() && access("/usr/bin/setpriv", X_OK) == 0;
}

TEST_F(BakerDumpFiles, NoPermissionToCapture) {
  if (!can_drop_privileges()) GTEST_SKIP() << "needs root and setpriv";
  const auto r = run_tool(as_nobody({"-i", "lo", "-c", "1"}), dir_);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("no permission to capture on 'lo'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("setcap"), std::string::npos);
}

// Sends to a multicast group over loopback.
void send_to_group(const Bytes& bytes, const std::string& group, std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  in_addr lo{};
  inet_pton(AF_INET, "127.0.0.1", &lo);
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  inet_pton(AF_INET, group.c_str(), &to.sin_addr);
  sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  close(fd);
}

bool joined(const std::string& group_hex_le) {
  return testing::read_text("/proc/net/igmp").find(group_hex_le) != std::string::npos;
}

TEST_F(BakerDumpFiles, JoinsMulticastGroupAndCapturesIt) {
  if (!is_root()) GTEST_SKIP() << "capturing on lo needs root";
  const std::uint16_t port = baker::testing::free_udp_port();
  const std::string group = "239.255.74.91";
  ASSERT_FALSE(joined("5B4AFFEF"));
  ChildProcess capture({bin("baker-dump"), "-i", "lo", "--join", group + ":" + std::to_string(port),
                        "--join-if", "127.0.0.1", "-c", "2"},
                       dir_.file("join.log"));
  ASSERT_TRUE(
      wait_until([&] { return capture.log().find("listening on lo") != std::string::npos; }, 5s))
      << capture.log();
  EXPECT_NE(capture.log().find("joined " + group), std::string::npos);
  EXPECT_TRUE(joined("5B4AFFEF")) << testing::read_text("/proc/net/igmp");  // the membership
  send_to_group(wire::encode(wire::Tick{.epoch = 0xd1, .seq = 7, .digest = 1, .lease_ms = 15000}),
                group, port);
  send_to_group(wire::encode(wire::Delta{.epoch = 0xd1, .from_seq = 7, .to_seq = 8}), group, port);
  const auto status = capture.wait_exit(5s);
  ASSERT_TRUE(status) << capture.log();
  EXPECT_EQ(*status, 0) << capture.log();
  const std::string log = capture.log();
  EXPECT_NE(log.find(" > " + group + ":" + std::to_string(port) + " tick epoch=d1 to=group seq=7"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find(" > " + group + ":" + std::to_string(port) + " delta epoch=d1 to=group (7,8]"),
            std::string::npos)
      << log;
  EXPECT_FALSE(joined("5B4AFFEF"));  // left on exit
}

TEST_F(BakerDumpFiles, JoinWithoutCapturePermissionReadsTheGroupFromItsSocket) {
  if (!can_drop_privileges()) GTEST_SKIP() << "needs root and setpriv";
  chmod(dir_.path().c_str(), 0777);  // nobody writes the capture here
  const std::uint16_t port = baker::testing::free_udp_port();
  const std::string group = "239.255.74.92";
  const std::string file = dir_.file("direct.pcap");
  ChildProcess capture(as_nobody({"-i", "lo", "--join", group + ":" + std::to_string(port),
                                  "--join-if", "127.0.0.1", "-c", "2", "-w", file, "--print"}),
                       dir_.file("direct.log"));
  ASSERT_TRUE(wait_until(
      [&] { return capture.log().find("from a socket instead") != std::string::npos; }, 5s))
      << capture.log();
  EXPECT_NE(capture.log().find("no permission to capture on 'lo'"), std::string::npos);
  // The socket is ready once the message is out; send until both have arrived.
  send_to_group(wire::encode(wire::Tick{.epoch = 0xd1, .seq = 7, .digest = 1, .lease_ms = 15000}),
                group, port);
  send_to_group(wire::encode(wire::Delta{.epoch = 0xd1, .from_seq = 7, .to_seq = 8}), group, port);
  const auto status = capture.wait_exit(5s);
  ASSERT_TRUE(status) << capture.log();
  EXPECT_EQ(*status, 0) << capture.log();
  EXPECT_NE(capture.log().find("127.0.0.1:"), std::string::npos);
  EXPECT_NE(capture.log().find(" > " + group + ":" + std::to_string(port) +
                               " tick epoch=d1 to=group seq=7"),
            std::string::npos)
      << capture.log();
  // What it wrote reads back as the same datagrams (synthesized IPv4/UDP, DLT_RAW).
  const auto r = dump({"-r", file});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(r.lines().size(), 2u) << r.out;
  EXPECT_NE(r.lines()[1].find(" > " + group + ":" + std::to_string(port) +
                              " delta epoch=d1 to=group (7,8] ops=0"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace baker::dump
