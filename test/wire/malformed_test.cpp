// Malformed and hostile inputs: each must be rejected with its own reason, never crash.
#include <gtest/gtest.h>

#include <msgpack.hpp>

#include "wire/sample_messages.hpp"
#include "wire/codec.hpp"

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
  return arr(4) + u(1) + u(type) + u(0) + body;
}

// A valid heartbeat body as its 10 fields; a case replaces one.
std::vector<Bytes> heartbeat_fields() {
  return {s("greeting"), s("i-1"), bin(4), u(8080), u(100), u(0), arr(0), u(77), u(1), u(1000)};
}
Bytes heartbeat_with(std::size_t field, const Bytes& value) {
  auto f = heartbeat_fields();
  Bytes body = arr(10);
  for (std::size_t k = 0; k < f.size(); ++k) body = body + (k == field ? value : f[k]);
  return envelope(1, body);
}
Bytes tags(std::initializer_list<std::string> t) {
  Bytes b = arr(static_cast<std::uint32_t>(t.size()));
  for (const auto& x : t) b = b + s(x);
  return b;
}
Bytes op_add() {
  return arr(8) + u(0) + s("svc") + s("i") + bin(4) + u(1) + u(1) + u(0) + arr(0);
}

struct Case {
  const char* name;
  Bytes bytes;
  DecodeError want;
};

TEST(Malformed, EachInputHasItsReason) {
  const Bytes valid = heartbeat_with(99, {});
  ASSERT_TRUE(decode(valid).ok()) << to_string(decode(valid).error());
  const std::vector<Case> cases = {
      {"empty", {}, DecodeError::empty},
      {"over 65507 bytes", Bytes(65508, 0x90), DecodeError::too_large},
      {"never-used byte 0xc1", {0xc1}, DecodeError::malformed},
      {"top level is a string", s("hello"), DecodeError::wrong_type},
      {"top level is a map", {0x80}, DecodeError::wrong_type},
      {"envelope of 3", arr(3) + u(1) + u(1) + u(0), DecodeError::wrong_field_count},
      {"envelope of 6", arr(6) + u(1) + u(1) + u(0) + arr(0) + u(0) + u(0),
       DecodeError::wrong_field_count},
      {"version 2", arr(4) + u(2) + u(1) + u(0) + arr(0), DecodeError::unknown_version},
      {"version 0", arr(4) + u(0) + u(1) + u(0) + arr(0), DecodeError::unknown_version},
      {"version as string", arr(4) + s("1") + u(1) + u(0) + arr(0), DecodeError::wrong_type},
      {"type 0", envelope(0, arr(0)), DecodeError::unknown_type},
      {"type 10", envelope(10, arr(0)), DecodeError::unknown_type},
      {"key id over 32 bits", arr(4) + u(1) + u(1) + u(1ull << 32) + arr(0),
       DecodeError::invalid_value},
      {"key id without mac", arr(4) + u(1) + u(1) + u(5) + arr(0), DecodeError::wrong_field_count},
      {"mac without key id", arr(5) + u(1) + u(4) + u(0) + arr(1) + u(1) + bin(16),
       DecodeError::invalid_value},
      {"mac of 15 bytes", arr(5) + u(1) + u(4) + u(3) + arr(1) + u(1) + bin(15),
       DecodeError::wrong_type},
      {"trailing byte", valid + Bytes{0x00}, DecodeError::trailing_bytes},
      {"cut short", Bytes(valid.begin(), valid.end() - 1), DecodeError::truncated},
      {"array32 claiming 4G elements", Bytes{0xdd, 0xff, 0xff, 0xff, 0xff, 1},
       DecodeError::truncated},
      {"body of 9 fields", envelope(1, arr(9) + Bytes(9, 0x00)), DecodeError::wrong_field_count},
      {"port as string", heartbeat_with(3, s("8080")), DecodeError::wrong_type},
      {"seq negative", heartbeat_with(8, i(-1)), DecodeError::wrong_type},
      {"seq nil", heartbeat_with(8, nil()), DecodeError::wrong_type},
      {"interval float", heartbeat_with(9, flt()), DecodeError::wrong_type},
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
      {"epoch 0", heartbeat_with(7, u(0)), DecodeError::invalid_value},
      {"interval 10 ms", heartbeat_with(9, u(10)), DecodeError::invalid_value},
      {"interval over an hour", heartbeat_with(9, u(3'600'001)), DecodeError::invalid_value},
      {"delta empty range", envelope(5, arr(5) + u(1) + u(5) + u(5) + u(0) + arr(0)),
       DecodeError::invalid_value},
      {"delta more ops than range",
       envelope(5, arr(5) + u(1) + u(5) + u(6) + u(0) + arr(2) + op_add() + op_add()),
       DecodeError::invalid_value},
      {"delta unknown flag", envelope(5, arr(5) + u(1) + u(5) + u(6) + u(4) + arr(0)),
       DecodeError::invalid_value},
      {"delta op kind 3",
       envelope(5, arr(5) + u(1) + u(5) + u(6) + u(0) + arr(1) + arr(3) + u(3) + s("a") + s("b")),
       DecodeError::invalid_value},
      {"remove op with 8 fields",
       envelope(5, arr(5) + u(1) + u(5) + u(6) + u(0) + arr(1) + arr(8) + u(2) + s("a") + s("b") +
                       Bytes(5, 0x00)),
       DecodeError::wrong_field_count},
      {"snapshot index == count", envelope(8, arr(6) + u(1) + u(1) + u(3) + u(3) + u(0) + arr(0)),
       DecodeError::invalid_value},
      {"snapshot count 0", envelope(8, arr(6) + u(1) + u(1) + u(0) + u(0) + u(0) + arr(0)),
       DecodeError::invalid_value},
      {"snapshot route of 6 fields",
       envelope(8, arr(6) + u(1) + u(1) + u(0) + u(1) + u(0) + arr(1) + arr(6) + Bytes(6, 0x00)),
       DecodeError::wrong_field_count},
      {"subscribe 257 services", envelope(3, arr(5) + u(1) + arr(257) + Bytes(257 * 2, 0xa1)),
       DecodeError::limit_exceeded},
      {"subscribe unknown flag", envelope(3, arr(5) + u(1) + arr(0) + u(0) + u(0) + u(2)),
       DecodeError::invalid_value},
      {"subscribe id 0", envelope(3, arr(5) + u(0) + arr(0) + u(0) + u(0) + u(0)),
       DecodeError::invalid_value},
      {"nack first > last", envelope(7, arr(4) + u(1) + u(1) + u(5) + u(4)),
       DecodeError::invalid_value},
      {"nack first 0", envelope(7, arr(4) + u(1) + u(1) + u(0) + u(4)), DecodeError::invalid_value},
      {"retry delay over an hour", envelope(9, arr(2) + u(1) + u(3'600'001)),
       DecodeError::invalid_value},
  };
  for (const auto& c : cases) {
    auto d = decode(c.bytes);
    ASSERT_FALSE(d.ok()) << c.name;
    EXPECT_EQ(to_string(d.error()), to_string(c.want)) << "case: " << c.name;
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
