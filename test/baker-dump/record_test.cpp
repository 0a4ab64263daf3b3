#include "baker-dump/record.hpp"

#include <gtest/gtest.h>

#include "wire/sample_messages.hpp"

namespace baker::dump {
namespace {

const Endpoint kFrom{wire::IpAddress::v4(127, 0, 0, 1), 40001};
const Endpoint kTo{wire::IpAddress::v4(127, 0, 0, 1), 7400};

wire::Keyring ring(std::uint32_t id, std::uint8_t fill) {
  wire::Keyring k;
  wire::Key key{};
  key.fill(fill);
  k.add(id, key, true);
  return k;
}

TEST(Record, DecodesWithoutKeys) {
  const auto hb = wire::samples::sample_heartbeat();
  const auto bytes = wire::encode(hb);
  const Record r = make_record({1, 2}, kFrom, kTo, bytes, nullptr);
  ASSERT_TRUE(r.message);
  EXPECT_EQ(std::get<wire::Heartbeat>(*r.message), hb);
  EXPECT_EQ(r.auth, AuthStatus::none);
  EXPECT_TRUE(r.valid());
  EXPECT_EQ(r.payload, bytes);
}

TEST(Record, MacWithoutKeyFileIsUnverified) {
  const auto keys = ring(7, 0x11);
  const Record r =
      make_record({}, kFrom, kTo, wire::encode(wire::samples::sample_heartbeat(), &keys), nullptr);
  EXPECT_EQ(r.auth, AuthStatus::unverified);
  EXPECT_EQ(r.key_id, 7u);
  EXPECT_TRUE(r.valid());
}

TEST(Record, KeyFileVerifiesMac) {
  const auto keys = ring(7, 0x11);
  const Record r =
      make_record({}, kFrom, kTo, wire::encode(wire::samples::sample_heartbeat(), &keys), &keys);
  EXPECT_EQ(r.auth, AuthStatus::ok);
  EXPECT_TRUE(r.valid());
}

TEST(Record, AuthFailuresKeepTheClaimedMessage) {
  const auto keys = ring(7, 0x11);
  const auto other_id = ring(8, 0x11);
  const auto other_key = ring(7, 0x22);
  const auto hb = wire::samples::sample_heartbeat();

  const Record missing = make_record({}, kFrom, kTo, wire::encode(hb), &keys);
  EXPECT_EQ(missing.auth, AuthStatus::missing_mac);
  EXPECT_FALSE(missing.valid());
  ASSERT_TRUE(missing.message);  // still shown: what the datagram claims
  EXPECT_EQ(std::get<wire::Heartbeat>(*missing.message), hb);

  const Record unknown = make_record({}, kFrom, kTo, wire::encode(hb, &other_id), &keys);
  EXPECT_EQ(unknown.auth, AuthStatus::unknown_key);
  EXPECT_EQ(unknown.key_id, 8u);

  const Record bad = make_record({}, kFrom, kTo, wire::encode(hb, &other_key), &keys);
  EXPECT_EQ(bad.auth, AuthStatus::bad_mac);
  EXPECT_FALSE(bad.valid());
  EXPECT_TRUE(bad.message);

  auto altered = wire::encode(hb, &keys);
  altered[10] ^= 0x01;  // a byte of the body: the MAC no longer matches
  const Record tampered = make_record({}, kFrom, kTo, altered, &keys);
  EXPECT_EQ(tampered.auth, AuthStatus::bad_mac);
}

TEST(Record, UndecodableKeepsTheReason) {
  auto bytes = wire::encode(wire::samples::sample_heartbeat());
  bytes.resize(bytes.size() - 3);
  const Record r = make_record({}, kFrom, kTo, bytes, nullptr);
  EXPECT_FALSE(r.message);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(*r.error, wire::DecodeError::truncated);
  EXPECT_FALSE(r.valid());

  const auto keys = ring(7, 0x11);
  const Record empty = make_record({}, kFrom, kTo, {}, &keys);
  ASSERT_TRUE(empty.error);
  EXPECT_EQ(*empty.error, wire::DecodeError::empty);
}

TEST(Record, AKeyWithoutTheMessagesRoleIsWrongRole) {
  // baker-dump given a directory's key file (announce key 1, publish key 2) sees a Delta made
  // with the announce key: a key holder's doing, shown but not analysed.
  wire::Keyring dir;
  wire::Key a{}, p{};
  a.fill(1);
  p.fill(2);
  dir.add(1, a, true, static_cast<wire::Roles>(wire::Role::announce));
  dir.add(2, p, true, static_cast<wire::Roles>(wire::Role::publish));
  wire::Keyring forger;
  forger.add(1, a, true);
  const auto delta = wire::samples::sample_messages()[4];
  const Record r = make_record({}, kFrom, kTo, wire::encode(delta, &forger), &dir);
  EXPECT_EQ(r.auth, AuthStatus::wrong_role);
  EXPECT_EQ(to_string(r.auth), "wrong_role");
  ASSERT_TRUE(r.message);
  EXPECT_EQ(*r.message, delta);
  EXPECT_FALSE(r.valid());
  const Record ok = make_record({}, kFrom, kTo, wire::encode(delta, &dir), &dir);
  EXPECT_EQ(ok.auth, AuthStatus::ok);
  EXPECT_EQ(ok.key_id, 2u);
}

TEST(Record, AV1DatagramIsUnknownVersion) {
  const std::vector<std::uint8_t> v1 = {0x94, 0x01, 0x04, 0x00, 0x91, 0x09};  // v1 Unsubscribe
  const Record r = make_record({}, kFrom, kTo, v1, nullptr);
  EXPECT_FALSE(r.message);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(*r.error, wire::DecodeError::unknown_version);
}

}  // namespace
}  // namespace baker::dump
