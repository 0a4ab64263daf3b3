#include "baker-dump/filter.hpp"

#include <gtest/gtest.h>

#include "wire/sample_messages.hpp"

namespace baker::dump {
namespace {

using wire::MessageType;

const Endpoint kWatson{wire::IpAddress::v4(10, 0, 0, 5), 40001};
const Endpoint kDirectory{wire::IpAddress::v4(10, 0, 0, 1), 7400};

Record record(const wire::Message& m, const Endpoint& from = kWatson,
              const Endpoint& to = kDirectory) {
  return make_record({}, from, to, wire::encode(m), nullptr);
}

TEST(FilterParse, TypeLists) {
  std::string bad;
  EXPECT_EQ(parse_type_list("heartbeat", &bad), type_bit(MessageType::heartbeat));
  EXPECT_EQ(parse_type_list("heartbeat,delta,snapshot,invalid", &bad),
            type_bit(MessageType::heartbeat) | type_bit(MessageType::delta) |
                type_bit(MessageType::snapshot_chunk) | kInvalidBit);
  EXPECT_FALSE(parse_type_list("heartbeat,bogus", &bad));
  EXPECT_EQ(bad, "bogus");
  EXPECT_FALSE(parse_type_list("", &bad));
  EXPECT_FALSE(parse_type_list("delta,", &bad));
}

TEST(FilterParse, Addresses) {
  auto a = parse_address_match("10.0.0.1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->address.to_string(), "10.0.0.1");
  EXPECT_FALSE(a->port);
  auto b = parse_address_match("10.0.0.1:7400");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->port, 7400);
  auto c = parse_address_match("[::1]:7400");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->address.to_string(), "::1");
  EXPECT_EQ(c->port, 7400);
  EXPECT_TRUE(parse_address_match("::1"));
  EXPECT_TRUE(parse_address_match("[fd00::2]"));
  EXPECT_FALSE(parse_address_match("host.example"));
  EXPECT_FALSE(parse_address_match("10.0.0.1:99999"));
  EXPECT_FALSE(parse_address_match(""));
}

TEST(Filter, EmptyMatchesEverything) {
  const Filter f;
  for (const auto& m : wire::samples::sample_messages()) EXPECT_TRUE(f.matches(record(m)));
}

TEST(Filter, ByType) {
  Filter f;
  f.types = type_bit(MessageType::heartbeat) | type_bit(MessageType::nack);
  const auto all = wire::samples::sample_messages();
  EXPECT_TRUE(f.matches(record(all[0])));   // heartbeat
  EXPECT_FALSE(f.matches(record(all[1])));  // goodbye
  EXPECT_FALSE(f.matches(record(all[4])));  // delta
  EXPECT_TRUE(f.matches(record(all[6])));   // nack
  const std::vector<std::uint8_t> junk{0xc1};
  const Record invalid = make_record({}, kWatson, kDirectory, junk, nullptr);
  EXPECT_FALSE(f.matches(invalid));
  f.types = kInvalidBit;
  EXPECT_TRUE(f.matches(invalid));
  EXPECT_FALSE(f.matches(record(all[0])));
}

TEST(Filter, AuthFailuresCountAsInvalidAndAsTheirType) {
  wire::Keyring keys;
  keys.add(1, wire::Key{}, true);
  const Record r =
      make_record({}, kWatson, kDirectory, wire::encode(wire::samples::sample_heartbeat()), &keys);
  ASSERT_EQ(r.auth, AuthStatus::missing_mac);
  Filter f;
  f.types = kInvalidBit;
  EXPECT_TRUE(f.matches(r));
  f.types = type_bit(MessageType::heartbeat);
  EXPECT_TRUE(f.matches(r));
}

TEST(Filter, ByService) {
  Filter f;
  f.services = {"billing"};
  auto hb = wire::samples::sample_heartbeat();
  EXPECT_FALSE(f.matches(record(hb)));
  hb.route.service = "billing";
  EXPECT_TRUE(f.matches(record(hb)));
  EXPECT_TRUE(f.matches(record(wire::Goodbye{
      .service = "billing", .instance = "i", .incarnation = 1, .seq = 1, .sent_ms = 1})));
  // Deltas and snapshots match if any op or route is about the service.
  wire::Delta d{.epoch = 1, .from_seq = 0, .to_seq = 2};
  d.ops.push_back({wire::OpKind::add, wire::samples::sample_route(1)});
  EXPECT_FALSE(f.matches(record(d)));
  auto billing = wire::samples::sample_route(2);
  billing.service = "billing";
  d.ops.push_back({wire::OpKind::remove, billing});
  EXPECT_TRUE(f.matches(record(d)));
  wire::SnapshotChunk s{.epoch = 1,
                        .subscriber_id = 7,
                        .nonce = 1,
                        .seq = 2,
                        .index = 0,
                        .count = 1,
                        .routes = {billing}};
  EXPECT_TRUE(f.matches(record(s)));
  // A Subscribe to every service concerns billing too; one to others does not.
  EXPECT_TRUE(f.matches(record(wire::Subscribe{.subscriber_id = 1, .nonce = 1})));
  EXPECT_FALSE(
      f.matches(record(wire::Subscribe{.subscriber_id = 1, .nonce = 1, .services = {"greeting"}})));
  EXPECT_FALSE(f.matches(
      record(wire::Tick{.epoch = 1, .seq = 2, .digest = 3, .route_count = 4, .lease_ms = 15000})));
}

TEST(Filter, BySourceAndDestination) {
  Filter f;
  f.sources = {*parse_address_match("10.0.0.5")};
  const auto hb = wire::samples::sample_heartbeat();
  EXPECT_TRUE(f.matches(record(hb)));
  EXPECT_FALSE(f.matches(record(hb, kDirectory, kWatson)));
  f.sources = {*parse_address_match("10.0.0.5:40002")};
  EXPECT_FALSE(f.matches(record(hb)));
  f.sources = {*parse_address_match("10.0.0.5:40002"), *parse_address_match("10.0.0.5:40001")};
  EXPECT_TRUE(f.matches(record(hb)));
  Filter g;
  g.destinations = {*parse_address_match("10.0.0.1:7400")};
  EXPECT_TRUE(g.matches(record(hb)));
  EXPECT_FALSE(g.matches(record(hb, kDirectory, kWatson)));
}

TEST(Filter, Notes) {
  Note gap;
  gap.kind = NoteKind::gap;
  gap.stream = StreamKind::heartbeat;
  gap.sender = kWatson;
  gap.service = "greeting";
  gap.types = type_bit(MessageType::heartbeat) | type_bit(MessageType::goodbye);
  Filter f;
  EXPECT_TRUE(f.matches(gap));
  f.types = type_bit(MessageType::goodbye);
  EXPECT_TRUE(f.matches(gap));
  f.types = type_bit(MessageType::delta);
  EXPECT_FALSE(f.matches(gap));
  Filter s;
  s.services = {"billing"};
  EXPECT_FALSE(s.matches(gap));
  Note delta_gap;
  delta_gap.stream = StreamKind::delta;
  delta_gap.sender = kDirectory;
  delta_gap.types = type_bit(MessageType::delta);
  EXPECT_TRUE(s.matches(delta_gap));  // no service of its own
  Filter src;
  src.sources = {*parse_address_match("10.0.0.1")};
  EXPECT_TRUE(src.matches(delta_gap));
  EXPECT_FALSE(src.matches(gap));
}

}  // namespace
}  // namespace baker::dump
