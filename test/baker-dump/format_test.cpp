#include "baker-dump/format.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <limits>

#include "common/json.hpp"
#include "json_value.hpp"
#include "wire/sample_messages.hpp"

namespace baker::dump {
namespace {

using baker::testing::parse_json;
using wire::samples::sample_messages;

const Endpoint kFrom{wire::IpAddress::v4(127, 0, 0, 1), 40001};
const Endpoint kTo{wire::IpAddress::v4(127, 0, 0, 1), 7400};
// 2023-11-14T22:13:20.000042Z
const Timestamp kTime{1700000000, 42};

class Format : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
  static Record record(const wire::Message& m) {
    return make_record(kTime, kFrom, kTo, wire::encode(m), nullptr);
  }
  static std::string body(const wire::Message& m, bool verbose = false) {
    return format_body(record(m), FormatOptions{verbose});
  }
};

TEST_F(Format, Times) {
  EXPECT_EQ(format_time(kTime), "22:13:20.000042");
  EXPECT_EQ(format_iso_time(kTime), "2023-11-14T22:13:20.000042Z");
  EXPECT_EQ(format_time({1700000000, 999999}), "22:13:20.999999");
}

// Found fuzzing baker-dump (dump_frame_fuzz): a capture's time stamp is any 64-bit number (pcapng),
// and a year past INT_MAX overflowed `tm_year + 1900` (signed overflow, UB).
TEST_F(Format, IsoTimeOfTheFarFutureDoesNotOverflowTheYear) {
  EXPECT_EQ(format_iso_time({67767976233532800, 0}), "2147483648-01-01T00:00:00.000000Z");
}

TEST_F(Format, Hex) {
  EXPECT_EQ(hex_u64(0), "0");
  EXPECT_EQ(hex_u64(0x1a2b), "1a2b");
  EXPECT_EQ(hex_u64(0xffffffffffffffffULL), "ffffffffffffffff");
  const std::vector<std::uint8_t> b{0x00, 0xab, 0x10};
  EXPECT_EQ(hex_bytes(b, 10), "00ab10");
  EXPECT_EQ(hex_bytes(b, 2), "00ab");
}

TEST_F(Format, HeartbeatLine) {
  wire::Heartbeat hb;
  hb.route.service = "greeting";
  hb.route.instance = "10.0.0.1:8080";
  hb.route.address = wire::IpAddress::v4(10, 0, 0, 1);
  hb.route.port = 8080;
  hb.route.weight = 100;
  hb.route.tags = {"v1", "zone=a"};
  hb.incarnation = 1'699'999'990'000'123ULL;  // started 10 s before the capture time
  hb.seq = 42;
  hb.interval_ms = 500;
  hb.sent_ms = 1'699'999'999'997ULL;  // 3 ms before it was captured
  EXPECT_EQ(format_text(record(hb), {}),
            "22:13:20.000042 127.0.0.1:40001 > 127.0.0.1:7400 heartbeat greeting/10.0.0.1:8080 "
            "inc=1699999990000123 (2023-11-14T22:13:10.000123Z) seq=42 lag=3ms up w=100 "
            "10.0.0.1:8080");
  EXPECT_EQ(body(hb, true),
            "heartbeat greeting/10.0.0.1:8080 inc=1699999990000123 (2023-11-14T22:13:10.000123Z) "
            "seq=42 lag=3ms sent_ms=1699999999997 up w=100 10.0.0.1:8080 "
            "interval=500ms tags=v1,zone=a len=" +
                std::to_string(wire::encode(hb).size()) + " key=0 auth=none");
  hb.route.state = wire::InstanceState::draining;
  hb.route.address = *wire::IpAddress::parse("fd00::2");
  hb.sent_ms = 1'700'000'000'250ULL;  // the watson's clock runs ahead: a negative lag
  EXPECT_EQ(body(hb),
            "heartbeat greeting/10.0.0.1:8080 inc=1699999990000123 (2023-11-14T22:13:10.000123Z) "
            "seq=42 lag=-250ms draining w=100 [fd00::2]:8080");
  const auto j = parse_json(format_json(record(hb)));
  EXPECT_EQ(j["incarnation"].u64(), 1'699'999'990'000'123ULL);
  EXPECT_EQ(j["incarnation_time"].str(), "2023-11-14T22:13:10.000123Z");
  EXPECT_EQ(j["sent_ms"].u64(), 1'700'000'000'250ULL);
  EXPECT_EQ(j["sent_lag_ms"].text, "-250");
}

TEST_F(Format, EveryMessageTypeLine) {
  const auto all = sample_messages();
  // The samples were sent in 2026, the fixture's capture time is 2023: a large negative lag.
  EXPECT_EQ(body(all[1]),
            "goodbye greeting/i-1 inc=1796000000000000 (2026-11-30T00:53:20.000000Z) seq=43 "
            "lag=-96000043000ms");
  EXPECT_EQ(body(all[2]),
            "subscribe sub=5eed0000cafe0077 nonce=9 cookie=24B last_epoch=feed last_seq=120 "
            "services=greeting,_billing-v2 "
            "multicast");
  EXPECT_EQ(body(all[3]), "unsubscribe sub=5eed0000cafe0077 nonce=12");
  EXPECT_EQ(body(all[4]),
            "delta epoch=feed to=5eed0000cafe0077 nonce=10 (119,123] ops=4 [add "
            "greeting/host-1:8080, update greeting/host-2:8080, remove greeting/host-3:8080 "
            "(goodbye), remove greeting/host-6:8080 (expired)] warmup");
  EXPECT_EQ(body(all[5]),
            "tick epoch=feed to=group seq=123 routes=3 digest=deadbeefcafef00d lease=30000ms");
  EXPECT_EQ(body(all[6]), "nack sub=5eed0000cafe0077 nonce=10 epoch=feed 121..122");
  EXPECT_EQ(body(all[7]),
            "snapshot epoch=feed to=5eed0000cafe0077 nonce=9 seq=123 chunk 2/3 routes=2");
  EXPECT_EQ(body(all[8]), "retry_later epoch=feed to=5eed0000cafe0077 nonce=11 delay=250ms");
  EXPECT_EQ(body(all[9]), "challenge to=5eed0000cafe0077 nonce=8 cookie=24B");
  EXPECT_EQ(body(all[9], true)
                .rfind("challenge to=5eed0000cafe0077 nonce=8 cookie=24B cookie_hex="
                       "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0 len=",
                       0),
            0u);
  EXPECT_EQ(body(wire::Subscribe{.subscriber_id = 5, .nonce = 1}),
            "subscribe sub=5 nonce=1 cookie=0B last_epoch=0 last_seq=0 services=*");
}

TEST_F(Format, LongDeltaListsFirstOpsOnly) {
  wire::Delta d{.epoch = 9, .from_seq = 0, .to_seq = 6};
  for (int i = 0; i < 6; ++i) d.ops.push_back({wire::OpKind::add, wire::samples::sample_route(i)});
  EXPECT_EQ(
      body(d),
      "delta epoch=9 to=group (0,6] ops=6 [add greeting/host-0:8080, add greeting/host-1:8080, add "
      "greeting/host-2:8080, add greeting/host-3:8080, ... 2 more]");
  EXPECT_EQ(body(wire::Delta{.epoch = 9, .from_seq = 6, .to_seq = 7}),
            "delta epoch=9 to=group (6,7] ops=0");
}

TEST_F(Format, VerboseDeltaAndSnapshotListEveryOpAndRoute) {
  const auto all = sample_messages();
  const std::string delta = body(all[4], true);
  EXPECT_EQ(delta.substr(0, delta.find('\n')),
            "delta epoch=feed to=5eed0000cafe0077 nonce=10 (119,123] ops=4 warmup flags=1 len=" +
                std::to_string(wire::encode(all[4]).size()) + " key=0 auth=none");
  // Every op with the version it comes from (watson incarnation, seq); removes with the reason.
  EXPECT_NE(delta.find("\n    add greeting/host-1:8080 10.0.0.1:8080 w=100 up tags=v1,zone=a "
                       "inc=1796000000000000 seq=1\n"),
            std::string::npos)
      << delta;
  EXPECT_NE(delta.find("\n    update greeting/host-2:8080 [fd00::2]:8080 w=100 draining tags=v1,"
                       "zone=a inc=1796000000000007 seq=70000\n"),
            std::string::npos)
      << delta;
  EXPECT_NE(delta.find("\n    remove greeting/host-3:8080 inc=1796000000000000 seq=43 (goodbye)\n"),
            std::string::npos)
      << delta;
  EXPECT_TRUE(
      delta.ends_with("\n    remove greeting/host-6:8080 inc=1796000000000000 seq=200 "
                      "(expired)"))
      << delta;
  const std::string snap = body(all[7], true);
  EXPECT_NE(
      snap.find(
          "snapshot epoch=feed to=5eed0000cafe0077 nonce=9 seq=123 chunk 2/3 routes=2 flags=0"),
      std::string::npos);
  EXPECT_NE(snap.find("\n    greeting/host-4:8080 10.0.0.4:8080 w=100 up tags=v1,zone=a "
                      "inc=1796000000000000 seq=42\n"),
            std::string::npos)
      << snap;
  EXPECT_TRUE(
      snap.ends_with("\n    greeting/host-5:8080 10.0.0.5:8080 w=100 up tags=v1,zone=a "
                     "inc=1796000000000001 seq=4294967295"))
      << snap;
  wire::SnapshotChunk unknown = std::get<wire::SnapshotChunk>(all[7]);
  unknown.versions.clear();  // encoded as {0, 0}: unknown
  EXPECT_TRUE(body(unknown, true).ends_with(" tags=v1,zone=a inc=0 seq=0"));
}

TEST_F(Format, InvalidDatagramShowsReason) {
  const std::vector<std::uint8_t> junk{0xc1, 0x00, 0x01};
  const Record r = make_record(kTime, kFrom, kTo, junk, nullptr);
  EXPECT_EQ(format_body(r, {}), "invalid malformed len=3");
  EXPECT_EQ(format_body(r, FormatOptions{true}), "invalid malformed len=3 hex=c10001");
  const auto j = parse_json(format_json(r));
  EXPECT_EQ(j["type"].str(), "invalid");
  EXPECT_EQ(j["error"].str(), "malformed");
  EXPECT_EQ(j["hex"].str(), "c10001");
  EXPECT_FALSE(j["valid"].boolean());
}

TEST_F(Format, AuthFailureIsMarked) {
  wire::Keyring keys;
  keys.add(3, wire::Key{}, true);
  wire::Keyring other;
  wire::Key k{};
  k[0] = 1;
  other.add(3, k, true);
  const auto hb = wire::samples::sample_heartbeat();
  const Record r = make_record(kTime, kFrom, kTo, wire::encode(hb, &other), &keys);
  EXPECT_EQ(format_body(r, {}),
            "heartbeat greeting/i-1 inc=1796000000000000 (2026-11-30T00:53:20.000000Z) seq=42 "
            "lag=-96000042000ms up w=100 "
            "10.0.0.0:8080 [auth bad_mac key=3]");
  const auto j = parse_json(format_json(r));
  EXPECT_EQ(j["type"].str(), "heartbeat");
  EXPECT_EQ(j["auth"].str(), "bad_mac");
  EXPECT_EQ(j["key_id"].u64(), 3u);
  EXPECT_FALSE(j["valid"].boolean());
}

TEST_F(Format, JsonHasEveryFieldOfEveryType) {
  const auto all = sample_messages();
  const auto hb = parse_json(format_json(record(all[0])));
  EXPECT_EQ(hb["time"].str(), "2023-11-14T22:13:20.000042Z");
  EXPECT_EQ(hb["ts"].text, "1700000000.000042");
  EXPECT_EQ(hb["src"].str(), "127.0.0.1:40001");
  EXPECT_EQ(hb["dst"].str(), "127.0.0.1:7400");
  EXPECT_EQ(hb["len"].u64(), wire::encode(all[0]).size());
  EXPECT_EQ(hb["type"].str(), "heartbeat");
  EXPECT_TRUE(hb["valid"].boolean());
  EXPECT_EQ(hb["auth"].str(), "none");
  EXPECT_EQ(hb["service"].str(), "greeting");
  EXPECT_EQ(hb["instance"].str(), "i-1");
  EXPECT_EQ(hb["address"].str(), "10.0.0.0");
  EXPECT_EQ(hb["port"].u64(), 8080u);
  EXPECT_EQ(hb["weight"].u64(), 100u);
  EXPECT_EQ(hb["state"].str(), "up");
  EXPECT_EQ(hb["tags"].size(), 0u);
  EXPECT_EQ(hb["incarnation"].u64(), 1'796'000'000'000'000ULL);
  EXPECT_EQ(hb["incarnation_time"].str(), "2026-11-30T00:53:20.000000Z");
  EXPECT_EQ(hb["sent_ms"].u64(), 1'796'000'042'000ULL);
  EXPECT_EQ(hb["sent_lag_ms"].text, "-96000042000");
  EXPECT_EQ(hb["seq"].u64(), 42u);
  EXPECT_EQ(hb["interval_ms"].u64(), 1000u);

  const auto bye = parse_json(format_json(record(all[1])));
  EXPECT_EQ(bye["type"].str(), "goodbye");
  EXPECT_EQ(bye["seq"].u64(), 43u);

  const auto sub = parse_json(format_json(record(all[2])));
  EXPECT_EQ(sub["subscriber"].str(), "5eed0000cafe0077");
  EXPECT_EQ(sub["nonce"].u64(), 9u);
  EXPECT_EQ(sub["cookie"].str(), "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0");
  EXPECT_EQ(sub["services"][1].str(), "_billing-v2");
  EXPECT_EQ(sub["last_epoch"].str(), "feed");
  EXPECT_EQ(sub["last_seq"].u64(), 120u);
  EXPECT_TRUE(sub["multicast_member"].boolean());

  EXPECT_EQ(parse_json(format_json(record(all[3])))["subscriber"].str(), "5eed0000cafe0077");
  EXPECT_EQ(parse_json(format_json(record(all[3])))["nonce"].u64(), 12u);

  const auto delta = parse_json(format_json(record(all[4])));
  EXPECT_EQ(delta["subscriber"].str(), "5eed0000cafe0077");
  EXPECT_EQ(delta["nonce"].u64(), 10u);
  EXPECT_EQ(delta["from_seq"].u64(), 119u);
  EXPECT_EQ(delta["to_seq"].u64(), 123u);
  EXPECT_TRUE(delta["warmup"].boolean());
  ASSERT_EQ(delta["ops"].size(), 4u);
  EXPECT_EQ(delta["ops"][0]["op"].str(), "add");
  EXPECT_EQ(delta["ops"][0]["tags"][1].str(), "zone=a");
  EXPECT_EQ(delta["ops"][0]["incarnation"].u64(), 1'796'000'000'000'000ULL);
  EXPECT_EQ(delta["ops"][0]["incarnation_time"].str(), "2026-11-30T00:53:20.000000Z");
  EXPECT_EQ(delta["ops"][0]["seq"].u64(), 1u);
  EXPECT_FALSE(delta["ops"][0].has("removal"));
  EXPECT_EQ(delta["ops"][1]["address"].str(), "fd00::2");
  EXPECT_EQ(delta["ops"][1]["state"].str(), "draining");
  EXPECT_EQ(delta["ops"][1]["seq"].u64(), 70'000u);
  EXPECT_EQ(delta["ops"][2]["op"].str(), "remove");
  EXPECT_FALSE(delta["ops"][2].has("address"));
  EXPECT_EQ(delta["ops"][2]["incarnation"].u64(), 1'796'000'000'000'000ULL);
  EXPECT_EQ(delta["ops"][2]["seq"].u64(), 43u);
  EXPECT_EQ(delta["ops"][2]["removal"].str(), "goodbye");
  EXPECT_EQ(delta["ops"][3]["removal"].str(), "expired");
  EXPECT_EQ(delta["directory"].str(), "127.0.0.1:40001") << "a directory datagram: its source";
  EXPECT_EQ(hb["directory"].str(), "127.0.0.1:7400") << "a watson datagram: its destination";
  EXPECT_EQ(sub["directory"].str(), "127.0.0.1:7400") << "a sherlock request: its destination";

  const auto tick = parse_json(format_json(record(all[5])));
  EXPECT_EQ(tick["digest"].str(), "deadbeefcafef00d");
  EXPECT_EQ(tick["route_count"].u64(), 3u);
  EXPECT_EQ(tick["lease_ms"].u64(), 30000u);
  EXPECT_FALSE(tick["warmup"].boolean());

  const auto nack = parse_json(format_json(record(all[6])));
  EXPECT_EQ(nack["first_missing"].u64(), 121u);
  EXPECT_EQ(nack["last_missing"].u64(), 122u);

  const auto snap = parse_json(format_json(record(all[7])));
  EXPECT_EQ(snap["type"].str(), "snapshot");
  EXPECT_EQ(snap["index"].u64(), 1u);
  EXPECT_EQ(snap["count"].u64(), 3u);
  EXPECT_EQ(snap["routes"][1]["instance"].str(), "host-5:8080");
  EXPECT_EQ(snap["routes"][1]["incarnation"].u64(), 1'796'000'000'000'001ULL);
  EXPECT_EQ(snap["routes"][1]["seq"].u64(), 0xffff'ffffULL);
  EXPECT_EQ(snap["routes"][0]["seq"].u64(), 42u);

  EXPECT_EQ(parse_json(format_json(record(all[8])))["delay_ms"].u64(), 250u);
  EXPECT_EQ(parse_json(format_json(record(all[8])))["nonce"].u64(), 11u);
  EXPECT_EQ(parse_json(format_json(record(all[5])))["subscriber"].str(), "0");
  const auto challenge = parse_json(format_json(record(all[9])));
  EXPECT_EQ(challenge["type"].str(), "challenge");
  EXPECT_EQ(challenge["subscriber"].str(), "5eed0000cafe0077");
  EXPECT_EQ(challenge["nonce"].u64(), 8u);
  EXPECT_EQ(challenge["cookie"].str().size(), 48u);
}

TEST_F(Format, JsonStringsAreEscaped) {
  EXPECT_EQ(json_string("a\"b\\c\n\x01\xff"), "\"a\\\"b\\\\c\\n\\u0001\\u00ff\"");
  EXPECT_EQ(parse_json(json_string("q\"\\\t")).str(), "q\"\\\t");
}

Note heartbeat_note(NoteKind kind) {
  Note n;
  n.kind = kind;
  n.stream = StreamKind::heartbeat;
  n.time = kTime;
  n.sender = kFrom;
  n.service = "greeting";
  n.instance = "i-1";
  n.epoch = 1'796'000'000'000'000ULL;  // the incarnation
  return n;
}

Note delta_note(NoteKind kind) {
  Note n;
  n.kind = kind;
  n.stream = StreamKind::delta;
  n.time = kTime;
  n.sender = kTo;
  n.receiver = Endpoint{wire::IpAddress::v4(127, 0, 0, 1), 5000};
  n.epoch = 0xfeed;
  return n;
}

TEST_F(Format, NoteLines) {
  Note gap = heartbeat_note(NoteKind::gap);
  gap.first = 43;
  gap.last = 44;
  EXPECT_EQ(format_text(gap),
            "!! gap: heartbeat greeting/i-1 from 127.0.0.1:40001 inc=1796000000000000 seq 43..44 "
            "missing");
  gap.receiver = kTo;  // the directory the stream goes to (the analyzer always sets it)
  EXPECT_EQ(format_text(gap),
            "!! gap: heartbeat greeting/i-1 from 127.0.0.1:40001 to 127.0.0.1:7400 "
            "inc=1796000000000000 seq 43..44 missing");
  Note dgap = delta_note(NoteKind::gap);
  dgap.first = dgap.last = 121;
  EXPECT_EQ(format_text(dgap),
            "!! gap: delta 127.0.0.1:7400 > 127.0.0.1:5000 epoch=feed seq 121 missing");
  Note replay = heartbeat_note(NoteKind::replay);
  replay.to_seq = 43;
  replay.highest = 45;
  EXPECT_EQ(format_text(replay),
            "!! replay/duplicate: heartbeat greeting/i-1 from 127.0.0.1:40001 inc=1796000000000000 "
            "seq 43 not newer than 45 (a directory drops it)");
  Note old = heartbeat_note(NoteKind::old_incarnation);
  old.to_seq = 7;
  old.old_epoch = 1'796'000'005'000'000ULL;
  EXPECT_EQ(format_text(old),
            "!! old incarnation: heartbeat greeting/i-1 from 127.0.0.1:40001 inc=1796000000000000 "
            "seq 7 (newest 1796000005000000; a directory refuses it)");
  Note retransmit = delta_note(NoteKind::retransmit);
  retransmit.from_seq = 120;
  retransmit.to_seq = 125;
  retransmit.first = 121;
  retransmit.last = 122;
  EXPECT_EQ(format_text(retransmit),
            "!! retransmit: delta 127.0.0.1:7400 > 127.0.0.1:5000 epoch=feed (120,125] fills "
            "121..122");
  Note dup = delta_note(NoteKind::duplicate);
  dup.from_seq = 120;
  dup.to_seq = 123;
  dup.highest = 125;
  dup.answers_nack = true;
  EXPECT_EQ(format_text(dup),
            "!! duplicate: delta 127.0.0.1:7400 > 127.0.0.1:5000 epoch=feed (120,123] (highest "
            "125), answers a nack");
  Note restart = heartbeat_note(NoteKind::restart);
  restart.old_epoch = 1'795'999'000'000'000ULL;
  EXPECT_EQ(format_text(restart),
            "!! restart: heartbeat greeting/i-1 from 127.0.0.1:40001 incarnation 1795999000000000 "
            "-> 1796000000000000 (started 2026-11-30T00:53:20.000000Z)");
  Note dir = delta_note(NoteKind::restart);
  dir.stream = StreamKind::directory;
  dir.receiver.reset();
  dir.old_epoch = 0xbeef;
  EXPECT_EQ(format_text(dir), "!! restart: directory 127.0.0.1:7400 epoch beef -> feed");
  Note snap = delta_note(NoteKind::snapshot_incomplete);
  snap.stream = StreamKind::snapshot;
  snap.seq = 123;
  snap.count = 5;
  snap.received = 3;
  snap.missing_chunks = {1, 3};
  EXPECT_EQ(format_text(snap),
            "!! snapshot incomplete: 127.0.0.1:7400 > 127.0.0.1:5000 epoch=feed seq=123 got 3/5 "
            "chunks, missing 2,4");
  Note skipped;
  skipped.kind = NoteKind::skipped;
  skipped.stream = StreamKind::frame;
  skipped.sender = Endpoint{wire::IpAddress::v4(10, 0, 0, 1), 0};
  skipped.receiver = Endpoint{wire::IpAddress::v4(10, 0, 0, 2), 0};
  skipped.reason = "ip_fragment";
  EXPECT_EQ(format_text(skipped), "!! skipped: ip_fragment 10.0.0.1 > 10.0.0.2");
}

TEST_F(Format, NoteJson) {
  Note gap = heartbeat_note(NoteKind::gap);
  gap.first = 43;
  gap.last = 44;
  const auto j = parse_json(format_json(gap));
  EXPECT_EQ(j["note"].str(), "gap");
  EXPECT_EQ(j["stream"].str(), "heartbeat");
  EXPECT_EQ(j["sender"].str(), "127.0.0.1:40001");
  EXPECT_EQ(j["service"].str(), "greeting");
  EXPECT_EQ(j["instance"].str(), "i-1");
  EXPECT_EQ(j["incarnation"].u64(), 1'796'000'000'000'000ULL);
  Note old = heartbeat_note(NoteKind::old_incarnation);
  old.to_seq = 7;
  old.old_epoch = 1'796'000'005'000'000ULL;
  const auto o = parse_json(format_json(old));
  EXPECT_EQ(o["note"].str(), "old_incarnation");
  EXPECT_EQ(o["newest_incarnation"].u64(), 1'796'000'005'000'000ULL);
  EXPECT_EQ(o["seq"].u64(), 7u);
  Note replay = heartbeat_note(NoteKind::replay);
  replay.to_seq = 3;
  replay.highest = 9;
  const auto r = parse_json(format_json(replay));
  EXPECT_EQ(r["note"].str(), "replay");
  EXPECT_EQ(r["highest"].u64(), 9u);
  EXPECT_EQ(j["first_missing"].u64(), 43u);
  EXPECT_EQ(j["last_missing"].u64(), 44u);
  EXPECT_EQ(j["time"].str(), "2023-11-14T22:13:20.000042Z");
  EXPECT_FALSE(j.has("directory")) << "no receiver, no directory";
  gap.receiver = kTo;
  EXPECT_EQ(parse_json(format_json(gap))["directory"].str(), "127.0.0.1:7400");

  Note snap = delta_note(NoteKind::snapshot_incomplete);
  snap.stream = StreamKind::snapshot;
  snap.count = 5;
  snap.received = 3;
  snap.missing_chunks = {1, 3};
  const auto s = parse_json(format_json(snap));
  EXPECT_EQ(s["receiver"].str(), "127.0.0.1:5000");
  EXPECT_EQ(s["directory"].str(), "127.0.0.1:7400") << "a directory's stream: its sender";
  EXPECT_EQ(s["missing_indexes"][1].u64(), 3u);
  EXPECT_EQ(s["received"].u64(), 3u);

  Note dup = delta_note(NoteKind::duplicate);
  dup.from_seq = 1;
  dup.to_seq = 2;
  const auto d = parse_json(format_json(dup));
  EXPECT_EQ(d["from_seq"].u64(), 1u);
  EXPECT_FALSE(d["answers_nack"].boolean());
}

// Found by dump_frame_fuzz: capture time stamps and sent_ms both come off the wire.
TEST_F(Format, ExtremeTimesNeitherOverflowNorThrow) {
  wire::Heartbeat hb = wire::samples::sample_heartbeat();
  hb.sent_ms = ~0ULL;
  hb.incarnation = ~0ULL;
  for (const Timestamp t : {Timestamp{std::numeric_limits<std::int64_t>::max(), 999'999},
                            Timestamp{std::numeric_limits<std::int64_t>::min(), -999'999},
                            Timestamp{67'767'976'233'532'800, 0}}) {
    const Record r = make_record(t, kFrom, kTo, wire::encode(hb), nullptr);
    EXPECT_NE(format_body(r, {}).find(" lag="), std::string::npos);
    EXPECT_FALSE(format_json(r).empty());
  }
}

}  // namespace
}  // namespace baker::dump
