#include "baker-dump/inspector.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "frames.hpp"
#include "json_value.hpp"
#include "wire/sample_messages.hpp"

namespace baker::dump {
namespace {

using namespace testing;
using baker::testing::parse_json;

const V4 kLocal{127, 0, 0, 1};

Bytes frame_of(const wire::Message& m, std::uint16_t sport = 40001, std::uint16_t dport = 7400) {
  return ethernet(0x0800, ipv4(kLocal, kLocal, 17, udp(sport, dport, wire::encode(m))));
}

wire::Heartbeat hb(std::uint64_t seq) {
  auto h = wire::samples::sample_heartbeat();
  h.seq = seq;
  return h;
}

class InspectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
  std::vector<std::string> frame(Inspector& in, const Bytes& f) {
    ++time_.usec;
    return in.on_frame(time_, link::kEthernet, f);
  }
  Timestamp time_{1700000000, 0};
};

TEST_F(InspectorTest, OneLinePerDatagramThenItsNotes) {
  Inspector in({});
  auto first = frame(in, frame_of(hb(1)));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0],
            "22:13:20.000001 127.0.0.1:40001 > 127.0.0.1:7400 heartbeat greeting/i-1 "
            "inc=1796000000000000 (2026-11-30T00:53:20.000000Z) seq=1 lag=-96000042000ms up w=100 "
            "10.0.0.0:8080");
  auto second = frame(in, frame_of(hb(3)));
  ASSERT_EQ(second.size(), 2u);
  EXPECT_NE(second[0].find("seq=3"), std::string::npos);
  EXPECT_EQ(second[1],
            "!! gap: heartbeat greeting/i-1 from 127.0.0.1:40001 to 127.0.0.1:7400 "
            "inc=1796000000000000 seq 2 missing");
  EXPECT_EQ(in.counters().valid, 2u);
  EXPECT_EQ(in.counters().by_type[1], 2u);
  EXPECT_EQ(in.analysis().gaps, 1u);
}

TEST_F(InspectorTest, JsonLinesAndNotes) {
  InspectorOptions o;
  o.json = true;
  Inspector in(o);
  frame(in, frame_of(hb(1)));
  const auto lines = frame(in, frame_of(hb(4)));
  ASSERT_EQ(lines.size(), 2u);
  const auto d = parse_json(lines[0]);
  EXPECT_EQ(d["type"].str(), "heartbeat");
  EXPECT_EQ(d["seq"].u64(), 4u);
  EXPECT_EQ(d["src"].str(), "127.0.0.1:40001");
  const auto n = parse_json(lines[1]);
  EXPECT_EQ(n["note"].str(), "gap");
  EXPECT_EQ(n["first_missing"].u64(), 2u);
  EXPECT_EQ(n["last_missing"].u64(), 3u);
  const auto s = parse_json(in.summary_json());
  EXPECT_EQ(s["summary"]["datagrams"].u64(), 2u);
  EXPECT_EQ(s["summary"]["by_type"]["heartbeat"].u64(), 2u);
  EXPECT_EQ(s["summary"]["gaps"].u64(), 1u);
  EXPECT_EQ(s["summary"]["missing"].u64(), 2u);
}

TEST_F(InspectorTest, FiltersHideDatagramsButAnalysisSeesThem) {
  InspectorOptions o;
  o.filter.types = type_bit(wire::MessageType::delta);
  Inspector in(o);
  EXPECT_TRUE(frame(in, frame_of(hb(1))).empty());
  EXPECT_TRUE(frame(in, frame_of(hb(3))).empty());  // the gap note is about heartbeats: hidden
  EXPECT_EQ(in.counters().filtered_out, 2u);
  EXPECT_EQ(in.analysis().gaps, 1u);
  // Deltas to one receiver: the filter shows them; a service filter does not invent gaps.
  InspectorOptions by_service;
  by_service.filter.services = {"billing"};
  Inspector svc(by_service);
  wire::Delta a{.epoch = 5,
                .from_seq = 0,
                .to_seq = 1,
                .ops = {{wire::OpKind::add, wire::samples::sample_route(1)}}};
  auto billing = wire::samples::sample_route(2);
  billing.service = "billing";
  wire::Delta b{.epoch = 5, .from_seq = 1, .to_seq = 2, .ops = {{wire::OpKind::add, billing}}};
  EXPECT_TRUE(frame(svc, frame_of(a, 7400, 5000)).empty());
  const auto shown = frame(svc, frame_of(b, 7400, 5000));
  ASSERT_EQ(shown.size(), 1u);  // no gap: the hidden Delta (0,1] was seen
  EXPECT_NE(shown[0].find("delta epoch=5 to=group (1,2]"), std::string::npos);
}

TEST_F(InspectorTest, FragmentsAndOtherFramesAreCounted) {
  Inspector in({});
  const auto frag =
      frame(in, ethernet(0x0800, ipv4({10, 0, 0, 1}, {10, 0, 0, 2}, 17, Bytes(30, 0), 0x2000)));
  ASSERT_EQ(frag.size(), 1u);
  EXPECT_EQ(frag[0], "!! skipped: ip_fragment 10.0.0.1 > 10.0.0.2");
  EXPECT_TRUE(frame(in, ethernet(0x0806, Bytes(28, 0))).empty());  // ARP: counted only
  EXPECT_EQ(in.counters().frames, 2u);
  EXPECT_EQ(in.counters().datagrams, 0u);
  EXPECT_EQ(in.counters().skipped[static_cast<int>(FrameSkip::ip_fragment)], 1u);
  EXPECT_EQ(in.counters().skipped[static_cast<int>(FrameSkip::not_ip)], 1u);
  EXPECT_NE(in.summary_text().find("skipped frames: not_ip 1, ip_fragment 1 (of 2)"),
            std::string::npos)
      << in.summary_text();
}

TEST_F(InspectorTest, InvalidAndAuthFailuresInSummary) {
  wire::Keyring keys;
  keys.add(1, wire::Key{}, true);
  InspectorOptions o;
  o.keys = &keys;
  Inspector in(o);
  const auto good = wire::encode(hb(1), &keys);
  frame(in, ethernet(0x0800, ipv4(kLocal, kLocal, 17, udp(1, 7400, good))));
  const auto forged = frame(in, frame_of(hb(2)));  // no MAC
  ASSERT_EQ(forged.size(), 1u);
  EXPECT_NE(forged[0].find("[auth missing_mac key=0]"), std::string::npos);
  auto cut = good;
  cut.resize(5);
  const auto bad = frame(in, ethernet(0x0800, ipv4(kLocal, kLocal, 17, udp(1, 7400, cut))));
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].find("invalid truncated len=5"), std::string::npos);
  EXPECT_EQ(in.counters().valid, 1u);
  EXPECT_EQ(in.counters().auth_failed, 1u);
  EXPECT_EQ(in.counters().invalid, 1u);
  const std::string s = in.summary_text();
  EXPECT_NE(s.find("3 datagrams (1 valid, 1 invalid, 1 failed authentication)"), std::string::npos)
      << s;
  EXPECT_NE(s.find("invalid: truncated 1"), std::string::npos);
  EXPECT_NE(s.find("failed authentication: missing_mac 1"), std::string::npos);
  const auto j = parse_json(in.summary_json());
  EXPECT_EQ(j["summary"]["invalid_by_reason"]["truncated"].u64(), 1u);
  EXPECT_EQ(j["summary"]["auth_by_reason"]["missing_mac"].u64(), 1u);
}

TEST_F(InspectorTest, FinishReportsIncompleteSnapshots) {
  Inspector in({});
  frame(in, frame_of(
                wire::SnapshotChunk{
                    .epoch = 9, .subscriber_id = 7, .nonce = 1, .seq = 4, .index = 0, .count = 2},
                7400, 5000));
  const auto end = in.finish(time_);
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0],
            "!! snapshot incomplete: 127.0.0.1:7400 > 127.0.0.1:5000 epoch=9 seq=4 got 1/2 "
            "chunks, missing 2");
  EXPECT_NE(in.summary_text().find("snapshots: 0 complete, 1 incomplete"), std::string::npos);
}

TEST_F(InspectorTest, DirectDatagramsNeedNoFrame) {
  Inspector in({});
  const Endpoint from{wire::IpAddress::v4(127, 0, 0, 1), 7400};
  const Endpoint group{wire::IpAddress::v4(239, 255, 74, 0), 7410};
  const auto bytes = wire::encode(wire::Tick{.epoch = 7, .seq = 3, .digest = 1, .lease_ms = 15000});
  const auto lines = in.on_datagram(time_, from, group, bytes);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("127.0.0.1:7400 > 239.255.74.0:7410 tick epoch=7 to=group seq=3"),
            std::string::npos);
  EXPECT_EQ(in.counters().frames, 0u);
  EXPECT_EQ(in.counters().datagrams, 1u);
}

}  // namespace
}  // namespace baker::dump
