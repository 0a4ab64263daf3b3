#include "wire/codec.hpp"

#include <gtest/gtest.h>

#include "wire/sample_messages.hpp"
#include "wire/validate.hpp"

namespace baker::wire {
namespace {

using samples::sample_heartbeat;
using samples::sample_messages;

Keyring ring_with(std::uint32_t id, std::uint8_t fill, bool primary = true) {
  Keyring k;
  Key key;
  key.fill(fill);
  k.add(id, key, primary);
  return k;
}

TEST(Codec, EveryMessageRoundTripsUnauthenticated) {
  for (const auto& m : sample_messages()) {
    ASSERT_FALSE(validate(m).has_value()) << to_string(type_of(m));
    const Bytes b = encode(m);
    auto d = decode(b);
    ASSERT_TRUE(d.ok()) << to_string(type_of(m)) << ": " << to_string(d.error());
    EXPECT_EQ(d.value().message, m) << to_string(type_of(m));
    EXPECT_EQ(d.value().key_id, 0u);
    EXPECT_FALSE(d.value().authenticated);
  }
}

TEST(Codec, EveryMessageRoundTripsAuthenticated) {
  const Keyring keys = ring_with(7, 0xab);
  for (const auto& m : sample_messages()) {
    const Bytes b = encode(m, &keys);
    auto d = decode(b, {&keys});
    ASSERT_TRUE(d.ok()) << to_string(type_of(m)) << ": " << to_string(d.error());
    EXPECT_EQ(d.value().message, m);
    EXPECT_EQ(d.value().key_id, 7u);
    EXPECT_TRUE(d.value().authenticated);
  }
}

TEST(Codec, HeartbeatFitsSizeBudget) {
  // The budget: <= 64 bytes for IPv4, an 8-character service and instance, no tags, no MAC.
  // incarnation (us) and sent_ms (ms) since 1970 take 9 bytes each; seq grows with uptime.
  Heartbeat h = sample_heartbeat();  // service "greeting" (8 chars), no tags
  h.route.instance = "web-0001";     // 8 chars
  h.seq = 1;                         // a fresh watson: seq in 1 byte
  const Bytes fresh = encode(h);
  EXPECT_EQ(fresh.size(), 57u);
  h.seq = 0xffffffffu;  // a long-lived watson (over 18 h at 1/s): seq needs 5 bytes
  const Bytes plain = encode(h);
  EXPECT_EQ(plain.size(), 61u);
  EXPECT_LE(plain.size(), 64u);
  const Keyring keys = ring_with(1, 1);
  EXPECT_EQ(encode(h, &keys).size(), plain.size() + 18);  // bin8 header + 16-byte MAC
  h.seq = 1;
  EXPECT_EQ(encode(h, &keys).size(), 75u);
}

TEST(Codec, EncodeIntoReusesBuffer) {
  Bytes buf;
  encode_into(sample_heartbeat(), nullptr, buf);
  const Bytes first = buf;
  encode_into(sample_heartbeat(), nullptr, buf);
  EXPECT_EQ(buf, first);
}

TEST(Codec, Ipv6AddressRoundTrips) {
  Heartbeat h = sample_heartbeat();
  h.route.address = *IpAddress::parse("2001:db8::1");
  auto d = decode(encode(h));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<Heartbeat>(d.value().message).route.address.to_string(), "2001:db8::1");
}

// Versions of every encoded width: packing sizes datagrams from encoded_size alone.
const Version kVersions[] = {{0, 0},
                             {1, 127},
                             {1'796'000'000'000'000ULL, 128},
                             {1'796'000'000'000'000ULL, 0xffff},
                             {0xffffffffu, 0x10000},
                             {UINT64_MAX, UINT64_MAX}};

TEST(Codec, EncodedSizeMatchesEncoding) {
  const Route r = samples::sample_route(3);
  Bytes b;
  encode_route_into(r, b);
  EXPECT_EQ(encoded_size(r), b.size());
  EXPECT_EQ(b.front(), 0x97) << "the canonical (digest) form stays array(7)";
  for (const Version& v : kVersions) {
    for (const OpKind kind : {OpKind::add, OpKind::update, OpKind::remove}) {
      Delta one;
      one.epoch = 1;
      one.to_seq = 1;
      one.ops = {{kind, r, v, Removal::goodbye}};
      Delta none = one;
      none.ops.clear();
      EXPECT_EQ(encode(one).size() - encode(none).size(), encoded_size(one.ops[0]))
          << to_string(kind) << " " << v.incarnation << "/" << v.seq;
    }
    SnapshotChunk one{1, 2, 3, 4, 0, 1, 0, {r}, {v}};
    SnapshotChunk none = one;
    none.routes.clear();
    none.versions.clear();
    EXPECT_EQ(encode(one).size() - encode(none).size(), encoded_size(r, v));
    EXPECT_EQ(encoded_size(r, v), encoded_size(r) + encoded_size(v));
  }
}

TEST(Codec, EveryOpKindRoundTripsWithItsVersion) {
  Route gone;
  gone.service = "greeting";
  gone.instance = "i-9";
  for (const Version& v : kVersions) {
    Delta d{1, 0, 0, 10, 14, 0, {}};
    d.ops.push_back({OpKind::add, samples::sample_route(1), v});
    d.ops.push_back({OpKind::update, samples::sample_route(2), v});
    d.ops.push_back({OpKind::remove, gone, v, Removal::expired});
    d.ops.push_back({OpKind::remove, gone, v, Removal::goodbye});
    auto back = decode(encode(d));
    ASSERT_TRUE(back.ok()) << to_string(back.error());
    EXPECT_EQ(std::get<Delta>(back.value().message), d);
  }
}

TEST(Codec, SnapshotRoutesRoundTripWithTheirVersions) {
  SnapshotChunk c{1, 2, 3, 4, 0, 1, kFlagWarmup, {}, {}};
  for (std::size_t k = 0; k < std::size(kVersions); ++k) {
    c.routes.push_back(samples::sample_route(static_cast<int>(k)));
    c.versions.push_back(kVersions[k]);
  }
  auto back = decode(encode(c));
  ASSERT_TRUE(back.ok()) << to_string(back.error());
  EXPECT_EQ(std::get<SnapshotChunk>(back.value().message), c);
}

TEST(Codec, MissingSnapshotVersionsAreEncodedUnknownAndDecodedForEveryRoute) {
  SnapshotChunk c{1, 2, 3, 4, 0, 1, 0, {}, {}};
  c.routes = {samples::sample_route(1), samples::sample_route(2), samples::sample_route(3)};
  c.versions = {{7, 8}};  // fewer than routes: what the encoder does, validate() refuses
  auto back = decode(encode(c));
  ASSERT_TRUE(back.ok()) << to_string(back.error());
  const auto& got = std::get<SnapshotChunk>(back.value().message);
  EXPECT_EQ(got.routes, c.routes);
  EXPECT_EQ(got.versions, (std::vector<Version>{{7, 8}, {0, 0}, {0, 0}}));
  c.versions.clear();
  back = decode(encode(c));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::get<SnapshotChunk>(back.value().message).versions,
            (std::vector<Version>(3, Version{})));
}

// ---- authentication ----

TEST(Auth, WrongKeyIsRejected) {
  const Keyring sender = ring_with(7, 0xab);
  const Keyring receiver = ring_with(7, 0xcd);
  auto d = decode(encode(sample_heartbeat(), &sender), {&receiver});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), DecodeError::bad_mac);
}

TEST(Auth, UnknownKeyIdIsRejected) {
  const Keyring sender = ring_with(8, 0xab);
  const Keyring receiver = ring_with(7, 0xab);
  auto d = decode(encode(sample_heartbeat(), &sender), {&receiver});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), DecodeError::unknown_key);
}

TEST(Auth, MissingMacIsRejectedWhenKeysRequired) {
  const Keyring receiver = ring_with(7, 0xab);
  auto d = decode(encode(sample_heartbeat()), {&receiver});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), DecodeError::missing_mac);
}

TEST(Auth, EveryAlteredByteIsRejected) {
  const Keyring keys = ring_with(7, 0xab);
  for (const auto& m : sample_messages()) {
    const Bytes good = encode(m, &keys);
    for (std::size_t i = 0; i < good.size(); ++i) {
      Bytes bad = good;
      bad[i] ^= 0x01;
      auto d = decode(bad, {&keys});
      EXPECT_FALSE(d.ok()) << to_string(type_of(m)) << " byte " << i;
    }
  }
}

TEST(Auth, RotationAcceptsOldAndNewKeys) {
  // Step 1 of a rotation: every node holds old (primary) and new; step 2: new is primary.
  Key old_key, new_key;
  old_key.fill(1);
  new_key.fill(2);
  Keyring old_primary, new_primary, receiver;
  old_primary.add(1, old_key, true);
  new_primary.add(2, new_key, true);
  receiver.add(1, old_key, true);
  receiver.add(2, new_key);
  EXPECT_TRUE(decode(encode(sample_heartbeat(), &old_primary), {&receiver}).ok());
  EXPECT_TRUE(decode(encode(sample_heartbeat(), &new_primary), {&receiver}).ok());
  Keyring after;  // step 3: old key removed
  after.add(2, new_key, true);
  auto d = decode(encode(sample_heartbeat(), &old_primary), {&after});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), DecodeError::unknown_key);
}

TEST(Auth, ReceiverWithoutKeysAcceptsButDoesNotVerify) {
  const Keyring keys = ring_with(7, 0xab);
  auto d = decode(encode(sample_heartbeat(), &keys));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.value().key_id, 7u);
  EXPECT_FALSE(d.value().authenticated);
}

TEST(KeyFile, ParsesKeysAndPrimary) {
  std::string err;
  auto k = Keyring::parse(
      "# cluster keys\n"
      "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
      "2 FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF primary  # new\n",
      &err);
  ASSERT_TRUE(k) << err;
  EXPECT_EQ(k->size(), 2u);
  EXPECT_EQ(k->primary_id(), 2u);
  EXPECT_EQ((*k->find(1))[31], 0x1f);
}

TEST(KeyFile, SingleKeyIsPrimary) {
  std::string err;
  auto k = Keyring::parse("9 " + std::string(64, 'a') + "\n", &err);
  ASSERT_TRUE(k) << err;
  EXPECT_EQ(k->primary_id(), 9u);
}

TEST(KeyFile, RejectsBadFilesWithLineNumbers) {
  const std::string key(64, 'a');
  const std::pair<std::string, std::string> cases[] = {
      {"", "no key"},
      {"1 abc\n", "line 1: key must be exactly 64 hex digits"},
      {"0 " + key + "\n", "line 1: key id must be"},
      {"# c\nx " + key + "\n", "line 2: key id must be"},
      {"1 " + std::string(63, 'a') + "g\n", "line 1: key must be hex digits only"},
      {"1 " + key + "\n1 " + key + "\n", "line 2: duplicate key id"},
      {"1 " + key + "\n2 " + key + "\n", "none is marked primary"},
      {"1 " + key + " primary\n2 " + key + " primary\n",
       "line 2: a second primary announce key (the first is on line 1)"},
      {"1 " + key + " main\n",
       "line 1: unknown word 'main' (expected primary, announce or publish)"},
      {"4294967296 " + key + "\n", "line 1: key id must be"},
  };
  for (const auto& [text, want] : cases) {
    std::string err;
    EXPECT_FALSE(Keyring::parse(text, &err)) << text;
    EXPECT_NE(err.find(want), std::string::npos) << "got: " << err << " want: " << want;
  }
}

TEST(KeyFile, StructuredErrorsCarryTheLine) {
  const std::string key(64, 'a');
  KeyringError e;
  EXPECT_FALSE(Keyring::parse("# keys\n\n1 " + key + "\n2 zz\n", &e));
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.message, "key must be exactly 64 hex digits (32 bytes)");
  EXPECT_FALSE(Keyring::parse("# nothing\n", &e));
  EXPECT_EQ(e.line, 0) << "the file as a whole";
  EXPECT_EQ(e.message, "holds no key");
}

}  // namespace
}  // namespace baker::wire
