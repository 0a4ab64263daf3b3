// Malformed and hostile inputs: each must be rejected with its own reason, never crash.
#include <gtest/gtest.h>

#include <msgpack.hpp>

#include "wire/codec.hpp"
#include "wire/sample_messages.hpp"

namespace baker::wire {
namespace {

// Raw msgpack pieces, concatenated with +, so a case spells out exactly the bytes it sends.
Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
template <typename F>
Bytes packed(F f) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  f(pk);
  return Bytes(buf.data(), buf.data() + buf.size());
}
Bytes arr(std::uint32_t n) {
  return packed([&](auto& pk) { pk.pack_array(n); });
}
Bytes u(std::uint64_t v) {
  return packed([&](auto& pk) { pk.pack(v); });
}
Bytes i(std::int64_t v) {
  return packed([&](auto& pk) { pk.pack(v); });
}
Bytes s(const std::string& v) {
  return packed([&](auto& pk) { pk.pack(v); });
}
Bytes bin(std::size_t n) {
  return packed([&](auto& pk) {
    pk.pack_bin(static_cast<std::uint32_t>(n));
    pk.pack_bin_body(std::string(n, '\x01').data(), static_cast<std::uint32_t>(n));
  });
}
Bytes nil() {
  return {0xc0};
}
Bytes flt() {
  return packed([&](auto& pk) { pk.pack(1.5); });
}

Bytes envelope(std::uint64_t type, const Bytes& body) {
  return arr(4) + u(kProtocolVersion) + u(type) + u(0) + body;
}

// A valid heartbeat body as its 11 fields; a case replaces one.
std::vector<Bytes> heartbeat_fields() {
  return {
      s("greeting"),       s("i-1"), bin(4), u(8080), u(100), u(0), arr(0), u(77), u(1), u(1000),
      u(1'796'000'000'000)};
}
Bytes heartbeat_with(std::size_t field, const Bytes& value) {
  auto f = heartbeat_fields();
  Bytes body = arr(11);
  for (std::size_t k = 0; k < f.size(); ++k) body = body + (k == field ? value : f[k]);
  return envelope(1, body);
}
Bytes tags(std::initializer_list<std::string> t) {
  Bytes b = arr(static_cast<std::uint32_t>(t.size()));
  for (const auto& x : t) b = b + s(x);
  return b;
}
Bytes op_add() {
  return arr(10) + u(0) + s("svc") + s("i") + bin(4) + u(1) + u(1) + u(0) + arr(0) + u(7) + u(1);
}
Bytes op_remove(const Bytes& removal) {
  return arr(6) + u(2) + s("svc") + s("i") + u(7) + u(2) + removal;
}
Bytes snapshot_route(std::uint32_t fields = 9) {
  Bytes r = arr(fields) + s("svc") + s("i") + bin(4) + u(1) + u(1) + u(0) + arr(0);
  for (std::uint32_t k = 7; k < fields; ++k) r = r + u(k);
  return r;
}
// Bodies of the v2 shapes, from their fields (docs/PROTOCOL.md, "Messages").
Bytes goodbye(std::uint64_t incarnation, std::uint64_t seq, std::uint64_t sent_ms) {
  return envelope(2, arr(5) + s("greeting") + s("i-1") + u(incarnation) + u(seq) + u(sent_ms));
}
Bytes subscribe(std::uint64_t id, std::uint64_t nonce, const Bytes& cookie, const Bytes& services,
                std::uint64_t flags = 0) {
  return envelope(3, arr(7) + u(id) + u(nonce) + cookie + services + u(0) + u(0) + u(flags));
}
Bytes delta(std::uint64_t id, std::uint64_t nonce, std::uint64_t from, std::uint64_t to,
            std::uint64_t flags, const Bytes& ops) {
  return envelope(5, arr(7) + u(1) + u(id) + u(nonce) + u(from) + u(to) + u(flags) + ops);
}
Bytes tick(std::uint64_t epoch, std::uint64_t id, std::uint64_t nonce) {
  return envelope(6, arr(8) + u(epoch) + u(id) + u(nonce) + u(5) + u(0) + u(0) + u(0) + u(1000));
}
Bytes nack(std::uint64_t id, std::uint64_t nonce, std::uint64_t first, std::uint64_t last) {
  return envelope(7, arr(5) + u(id) + u(nonce) + u(1) + u(first) + u(last));
}
Bytes snapshot(std::uint64_t id, std::uint64_t nonce, std::uint64_t index, std::uint64_t count,
               const Bytes& routes) {
  return envelope(8, arr(8) + u(1) + u(id) + u(nonce) + u(1) + u(index) + u(count) + u(0) + routes);
}
Bytes retry(std::uint64_t id, std::uint64_t nonce, std::uint64_t delay) {
  return envelope(9, arr(4) + u(1) + u(id) + u(nonce) + u(delay));
}
Bytes challenge(std::uint64_t id, std::uint64_t nonce, const Bytes& cookie) {
  return envelope(10, arr(3) + u(id) + u(nonce) + cookie);
}

struct Case {
  const char* name;
  Bytes bytes;
  DecodeError want;
};

TEST(Malformed, EachInputHasItsReason) {
  const Bytes valid = heartbeat_with(99, {});
  ASSERT_TRUE(decode(valid).ok()) << to_string(decode(valid).error());
  // Each builder is valid as it stands with these arguments: a case changes one thing.
  ASSERT_TRUE(decode(goodbye(1, 1, 1)).ok());
  ASSERT_TRUE(decode(subscribe(1, 1, bin(0), arr(0))).ok());
  ASSERT_TRUE(decode(delta(0, 0, 5, 6, 0, arr(0))).ok());
  ASSERT_TRUE(decode(delta(0, 0, 5, 6, 0, arr(1) + op_add())).ok());
  ASSERT_TRUE(decode(delta(0, 0, 5, 6, 0, arr(1) + op_remove(u(1)))).ok());
  ASSERT_TRUE(decode(snapshot(1, 1, 0, 1, arr(1) + snapshot_route())).ok());
  ASSERT_TRUE(decode(tick(1, 0, 0)).ok());
  ASSERT_TRUE(decode(nack(1, 1, 1, 1)).ok());
  ASSERT_TRUE(decode(snapshot(1, 1, 0, 1, arr(0))).ok());
  ASSERT_TRUE(decode(retry(1, 1, 1)).ok());
  ASSERT_TRUE(decode(challenge(1, 1, bin(1))).ok());
  ASSERT_TRUE(decode(envelope(4, arr(2) + u(1) + u(1))).ok());
  const std::vector<Case> cases = {
      {"empty", {}, DecodeError::empty},
      {"over 65507 bytes", Bytes(65508, 0x90), DecodeError::too_large},
      {"never-used byte 0xc1", {0xc1}, DecodeError::malformed},
      {"top level is a string", s("hello"), DecodeError::wrong_type},
      {"top level is a map", {0x80}, DecodeError::wrong_type},
      {"envelope of 3", arr(3) + u(2) + u(1) + u(0), DecodeError::wrong_field_count},
      {"envelope of 6", arr(6) + u(2) + u(1) + u(0) + arr(0) + u(0) + u(0),
       DecodeError::wrong_field_count},
      {"version 1", arr(4) + u(1) + u(1) + u(0) + arr(0), DecodeError::unknown_version},
      {"version 3", arr(4) + u(3) + u(1) + u(0) + arr(0), DecodeError::unknown_version},
      {"version 0", arr(4) + u(0) + u(1) + u(0) + arr(0), DecodeError::unknown_version},
      {"version as string", arr(4) + s("2") + u(1) + u(0) + arr(0), DecodeError::wrong_type},
      {"type 0", envelope(0, arr(0)), DecodeError::unknown_type},
      {"type 11", envelope(11, arr(0)), DecodeError::unknown_type},
      {"key id over 32 bits", arr(4) + u(2) + u(1) + u(1ull << 32) + arr(0),
       DecodeError::invalid_value},
      {"key id without mac", arr(4) + u(2) + u(1) + u(5) + arr(0), DecodeError::wrong_field_count},
      {"mac without key id", arr(5) + u(2) + u(4) + u(0) + arr(2) + u(1) + u(1) + bin(16),
       DecodeError::invalid_value},
      {"mac of 15 bytes", arr(5) + u(2) + u(4) + u(3) + arr(2) + u(1) + u(1) + bin(15),
       DecodeError::wrong_type},
      {"trailing byte", valid + Bytes{0x00}, DecodeError::trailing_bytes},
      {"cut short", Bytes(valid.begin(), valid.end() - 1), DecodeError::truncated},
      {"array32 claiming 4G elements", Bytes{0xdd, 0xff, 0xff, 0xff, 0xff, 1},
       DecodeError::truncated},
      {"heartbeat of 10 fields (v1 shape)", envelope(1, arr(10) + Bytes(10, 0x00)),
       DecodeError::wrong_field_count},
      {"port as string", heartbeat_with(3, s("8080")), DecodeError::wrong_type},
      {"seq negative", heartbeat_with(8, i(-1)), DecodeError::wrong_type},
      {"seq nil", heartbeat_with(8, nil()), DecodeError::wrong_type},
      {"interval float", heartbeat_with(9, flt()), DecodeError::wrong_type},
      {"sent_ms as string", heartbeat_with(10, s("now")), DecodeError::wrong_type},
      {"service upper case", heartbeat_with(0, s("Greeting")), DecodeError::invalid_service},
      {"service starts with digit", heartbeat_with(0, s("1abc")), DecodeError::invalid_service},
      {"service empty", heartbeat_with(0, s("")), DecodeError::invalid_service},
      {"service 101 chars", heartbeat_with(0, s(std::string(101, 'a'))),
       DecodeError::invalid_service},
      {"service with dot", heartbeat_with(0, s("a.b")), DecodeError::invalid_service},
      {"service as bin", heartbeat_with(0, bin(3)), DecodeError::wrong_type},
      {"instance with space", heartbeat_with(1, s("a b")), DecodeError::invalid_instance},
      {"instance 65 chars", heartbeat_with(1, s(std::string(65, 'x'))),
       DecodeError::invalid_instance},
      {"address of 5 bytes", heartbeat_with(2, bin(5)), DecodeError::invalid_address},
      {"address as string", heartbeat_with(2, s("10.0.0.1")), DecodeError::wrong_type},
      {"port 0", heartbeat_with(3, u(0)), DecodeError::invalid_port},
      {"port 70000", heartbeat_with(3, u(70000)), DecodeError::invalid_port},
      {"weight 257", heartbeat_with(4, u(257)), DecodeError::invalid_value},
      {"state 2", heartbeat_with(5, u(2)), DecodeError::invalid_value},
      {"nine tags", heartbeat_with(6, tags({"a", "b", "c", "d", "e", "f", "g", "h", "i"})),
       DecodeError::invalid_tag},
      {"tag with space", heartbeat_with(6, tags({"a b"})), DecodeError::invalid_tag},
      {"empty tag", heartbeat_with(6, tags({""})), DecodeError::invalid_tag},
      {"tags not an array", heartbeat_with(6, s("v1")), DecodeError::wrong_type},
      {"heartbeat incarnation 0", heartbeat_with(7, u(0)), DecodeError::invalid_value},
      {"heartbeat sent_ms 0", heartbeat_with(10, u(0)), DecodeError::invalid_value},
      {"interval 10 ms", heartbeat_with(9, u(10)), DecodeError::invalid_value},
      {"interval over an hour", heartbeat_with(9, u(3'600'001)), DecodeError::invalid_value},
      {"goodbye incarnation 0", goodbye(0, 1, 1), DecodeError::invalid_value},
      {"goodbye sent_ms 0", goodbye(1, 1, 0), DecodeError::invalid_value},
      {"goodbye of 3 fields (v1 shape)", envelope(2, arr(3) + s("greeting") + s("i-1") + u(1)),
       DecodeError::wrong_field_count},
      {"delta empty range", delta(0, 0, 5, 5, 0, arr(0)), DecodeError::invalid_value},
      {"delta more ops than range", delta(0, 0, 5, 6, 0, arr(2) + op_add() + op_add()),
       DecodeError::invalid_value},
      {"delta unknown flag", delta(0, 0, 5, 6, 4, arr(0)), DecodeError::invalid_value},
      {"delta to the group with a nonce", delta(0, 3, 5, 6, 0, arr(0)), DecodeError::invalid_value},
      {"delta op kind 3", delta(0, 0, 5, 6, 0, arr(1) + arr(3) + u(3) + s("a") + s("b")),
       DecodeError::invalid_value},
      {"remove op with 10 fields",
       delta(0, 0, 5, 6, 0, arr(1) + arr(10) + u(2) + s("a") + s("b") + Bytes(7, 0x00)),
       DecodeError::wrong_field_count},
      {"remove op of 3 fields (before versions)",
       delta(0, 0, 5, 6, 0, arr(1) + arr(3) + u(2) + s("a") + s("b")),
       DecodeError::wrong_field_count},
      {"add op of 8 fields (before versions)",
       delta(0, 0, 5, 6, 0,
             arr(1) + arr(8) + u(0) + s("svc") + s("i") + bin(4) + u(1) + u(1) + u(0) + arr(0)),
       DecodeError::wrong_field_count},
      {"add op with 6 fields", delta(0, 0, 5, 6, 0, arr(1) + arr(6) + u(0) + Bytes(5, 0x00)),
       DecodeError::wrong_field_count},
      {"removal 2", delta(0, 0, 5, 6, 0, arr(1) + op_remove(u(2))), DecodeError::invalid_value},
      {"removal 256", delta(0, 0, 5, 6, 0, arr(1) + op_remove(u(256))), DecodeError::invalid_value},
      {"removal as string", delta(0, 0, 5, 6, 0, arr(1) + op_remove(s("goodbye"))),
       DecodeError::wrong_type},
      {"removal negative", delta(0, 0, 5, 6, 0, arr(1) + op_remove(i(-1))),
       DecodeError::wrong_type},
      {"op incarnation negative",
       delta(0, 0, 5, 6, 0, arr(1) + arr(6) + u(2) + s("svc") + s("i") + i(-7) + u(2) + u(0)),
       DecodeError::wrong_type},
      {"op seq nil",
       delta(0, 0, 5, 6, 0, arr(1) + arr(6) + u(2) + s("svc") + s("i") + u(7) + nil() + u(0)),
       DecodeError::wrong_type},
      {"delta of 5 fields (v1 shape)", envelope(5, arr(5) + u(1) + u(5) + u(6) + u(0) + arr(0)),
       DecodeError::wrong_field_count},
      {"tick epoch 0", tick(0, 0, 0), DecodeError::invalid_value},
      {"tick to the group with a nonce", tick(1, 0, 4), DecodeError::invalid_value},
      {"snapshot index == count", snapshot(1, 1, 3, 3, arr(0)), DecodeError::invalid_value},
      {"snapshot count 0", snapshot(1, 1, 0, 0, arr(0)), DecodeError::invalid_value},
      {"snapshot to the group", snapshot(0, 0, 0, 1, arr(0)), DecodeError::invalid_value},
      {"snapshot without nonce", snapshot(1, 0, 0, 1, arr(0)), DecodeError::invalid_value},
      {"snapshot route of 6 fields", snapshot(1, 1, 0, 1, arr(1) + arr(6) + Bytes(6, 0x00)),
       DecodeError::wrong_field_count},
      {"snapshot route of 7 fields (before versions)",
       snapshot(1, 1, 0, 1, arr(1) + snapshot_route(7)), DecodeError::wrong_field_count},
      {"snapshot route of 10 fields", snapshot(1, 1, 0, 1, arr(1) + snapshot_route(10)),
       DecodeError::wrong_field_count},
      {"snapshot route seq as float",
       snapshot(1, 1, 0, 1,
                arr(1) + arr(9) + s("svc") + s("i") + bin(4) + u(1) + u(1) + u(0) + arr(0) + u(7) +
                    flt()),
       DecodeError::wrong_type},
      {"subscribe 257 services", subscribe(1, 1, bin(0), arr(257) + Bytes(257 * 2, 0xa1)),
       DecodeError::limit_exceeded},
      {"subscribe unknown flag", subscribe(1, 1, bin(0), arr(0), 2), DecodeError::invalid_value},
      {"subscribe id 0", subscribe(0, 1, bin(0), arr(0)), DecodeError::invalid_value},
      {"subscribe nonce 0", subscribe(1, 0, bin(0), arr(0)), DecodeError::invalid_value},
      {"subscribe cookie of 65 bytes", subscribe(1, 1, bin(65), arr(0)),
       DecodeError::limit_exceeded},
      {"subscribe cookie as string", subscribe(1, 1, s("c"), arr(0)), DecodeError::wrong_type},
      {"unsubscribe nonce 0", envelope(4, arr(2) + u(1) + u(0)), DecodeError::invalid_value},
      {"unsubscribe of 1 field (v1 shape)", envelope(4, arr(1) + u(1)),
       DecodeError::wrong_field_count},
      {"nack first > last", nack(1, 1, 5, 4), DecodeError::invalid_value},
      {"nack first 0", nack(1, 1, 0, 4), DecodeError::invalid_value},
      {"nack nonce 0", nack(1, 0, 1, 4), DecodeError::invalid_value},
      {"retry delay over an hour", retry(1, 1, 3'600'001), DecodeError::invalid_value},
      {"retry without subscriber", retry(0, 0, 1), DecodeError::invalid_value},
      {"retry without nonce", retry(1, 0, 1), DecodeError::invalid_value},
      {"challenge empty cookie", challenge(1, 1, bin(0)), DecodeError::invalid_value},
      {"challenge cookie of 65 bytes", challenge(1, 1, bin(65)), DecodeError::limit_exceeded},
      {"challenge without subscriber", challenge(0, 1, bin(8)), DecodeError::invalid_value},
      {"challenge without nonce", challenge(1, 0, bin(8)), DecodeError::invalid_value},
  };
  for (const auto& c : cases) {
    auto d = decode(c.bytes);
    ASSERT_FALSE(d.ok()) << c.name;
    EXPECT_EQ(to_string(d.error()), to_string(c.want)) << "case: " << c.name;
  }
}

// A real v1 heartbeat (version 1, the 10-field body of v1): refused outright, whatever follows;
// mixed clusters are not supported.
TEST(Malformed, V1DatagramsAreUnknownVersion) {
  const Bytes v1_heartbeat = arr(4) + u(1) + u(1) + u(0) + arr(10) + s("greeting") + s("i-1") +
                             bin(4) + u(8080) + u(100) + u(0) + arr(0) + u(77) + u(1) + u(1000);
  const Bytes v1_unsubscribe = arr(4) + u(1) + u(4) + u(0) + arr(1) + u(9);
  const Bytes v1_keyed = arr(5) + u(1) + u(4) + u(3) + arr(1) + u(9) + bin(16);
  Keyring keys;
  keys.add(3, Key{}, true);
  for (const Bytes& b : {v1_heartbeat, v1_unsubscribe, v1_keyed}) {
    auto d = decode(b);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error(), DecodeError::unknown_version);
    auto k = decode(b, {&keys});
    ASSERT_FALSE(k.ok());
    EXPECT_EQ(k.error(), DecodeError::unknown_version);
  }
}

TEST(Malformed, EveryPrefixOfEveryMessageIsRejectedAsTruncated) {
  for (const auto& m : samples::sample_messages()) {
    const Bytes full = encode(m);
    for (std::size_t n = 0; n < full.size(); ++n) {
      auto d = decode(std::span(full.data(), n));
      ASSERT_FALSE(d.ok()) << to_string(type_of(m)) << " cut at " << n;
      EXPECT_EQ(d.error(), n == 0 ? DecodeError::empty : DecodeError::truncated)
          << to_string(type_of(m)) << " cut at " << n << ": " << to_string(d.error());
    }
  }
}

TEST(Malformed, EveryPrefixOfAnAuthenticatedMessageIsRejected) {
  Keyring keys;
  Key k;
  k.fill(3);
  keys.add(3, k, true);
  for (const auto& m : samples::sample_messages()) {
    const Bytes full = encode(m, &keys);
    for (std::size_t n = 0; n < full.size(); ++n) {
      EXPECT_FALSE(decode(std::span(full.data(), n), {&keys}).ok()) << n;
      EXPECT_FALSE(decode(std::span(full.data(), n)).ok()) << n;
    }
  }
}

TEST(Malformed, SizeLimitIsConfigurable) {
  const Bytes hb = encode(samples::sample_heartbeat());
  DecodeOptions small;
  small.max_datagram = hb.size() - 1;
  auto d = decode(hb, small);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), DecodeError::too_large);
}

}  // namespace
}  // namespace baker::wire
