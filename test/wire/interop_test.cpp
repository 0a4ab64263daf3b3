// The body of a real datagram is plain msgpack: an independent implementation (python3-msgpack,
// Debian's package) decodes every v2 message, and Python's own BLAKE2b verifies its MAC. The
// Python side names the fields in docs/PROTOCOL.md's order; this side prints the structs.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "wire/codec.hpp"
#include "wire/sample_messages.hpp"

#ifndef BAKER_WIRE_TEST_DIR
#error "BAKER_WIRE_TEST_DIR must point at test/wire"
#endif

namespace baker::wire {
namespace {

std::string run_python(const Bytes& datagram, const std::string& key_hex = "") {
  char path[] = "/tmp/baker-interop-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(datagram.data()),
             static_cast<std::streamsize>(datagram.size()));
  const std::string cmd = std::string("/usr/bin/python3 ") + BAKER_WIRE_TEST_DIR +
                          "/interop_decode.py " + path + " " + key_hex + " 2>&1";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    std::array<char, 512> buf{};
    while (fgets(buf.data(), buf.size(), p)) out += buf.data();
    pclose(p);
  }
  std::remove(path);
  return out;
}

std::string hex(const Cookie& c) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (auto b : c) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}
std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}
std::string route(const Route& r) {
  return r.service + "/" + r.instance + "@" + r.address.to_string() + ":" + std::to_string(r.port) +
         "/" + std::to_string(r.weight) + "/" + std::to_string(static_cast<int>(r.state)) + "/" +
         joined(r.tags);
}
std::string version(const Version& v) {
  return "v" + std::to_string(v.incarnation) + "." + std::to_string(v.seq);
}

// What interop_decode.py must print for m, from the struct (the C++ side of the comparison).
struct Expected {
  std::ostringstream o;
  template <typename T>
  void f(const char* name, const T& v) {
    o << ' ' << name << '=' << +v;
  }
  void f(const char* name, const std::string& v) { o << ' ' << name << '=' << v; }
  void operator()(const Heartbeat& m) {
    route_fields(m.route);
    f("incarnation", m.incarnation);
    f("seq", m.seq);
    f("interval_ms", m.interval_ms);
    f("sent_ms", m.sent_ms);
  }
  void route_fields(const Route& r) {
    f("service", r.service);
    f("instance", r.instance);
    f("address", r.address.to_string());
    f("port", r.port);
    f("weight", r.weight);
    f("state", static_cast<int>(r.state));
    f("tags", joined(r.tags));
  }
  void operator()(const Goodbye& m) {
    f("service", m.service);
    f("instance", m.instance);
    f("incarnation", m.incarnation);
    f("seq", m.seq);
    f("sent_ms", m.sent_ms);
  }
  void operator()(const Subscribe& m) {
    f("subscriber", m.subscriber_id);
    f("nonce", m.nonce);
    f("cookie", hex(m.cookie));
    f("services", joined(m.services));
    f("last_epoch", m.last_epoch);
    f("last_seq", m.last_seq);
    f("flags", m.flags);
  }
  void operator()(const Unsubscribe& m) {
    f("subscriber", m.subscriber_id);
    f("nonce", m.nonce);
  }
  void operator()(const Delta& m) {
    f("epoch", m.epoch);
    f("subscriber", m.subscriber_id);
    f("nonce", m.nonce);
    f("from_seq", m.from_seq);
    f("to_seq", m.to_seq);
    f("flags", m.flags);
    std::string ops;
    for (const auto& op : m.ops) {
      if (!ops.empty()) ops += ";";
      ops += op.kind == OpKind::remove
                 ? "remove:" + op.route.service + "/" + op.route.instance + "#" +
                       version(op.version) + ":" + std::string(to_string(op.removal))
                 : std::to_string(static_cast<int>(op.kind)) + ":" + route(op.route) + "#" +
                       version(op.version);
    }
    f("ops", ops);
  }
  void operator()(const Tick& m) {
    f("epoch", m.epoch);
    f("subscriber", m.subscriber_id);
    f("nonce", m.nonce);
    f("seq", m.seq);
    f("digest", m.digest);
    f("route_count", m.route_count);
    f("flags", m.flags);
    f("lease_ms", m.lease_ms);
  }
  void operator()(const Nack& m) {
    f("subscriber", m.subscriber_id);
    f("nonce", m.nonce);
    f("epoch", m.epoch);
    f("first_missing", m.first_missing);
    f("last_missing", m.last_missing);
  }
  void operator()(const SnapshotChunk& m) {
    f("epoch", m.epoch);
    f("subscriber", m.subscriber_id);
    f("nonce", m.nonce);
    f("seq", m.seq);
    f("index", m.index);
    f("count", m.count);
    f("flags", m.flags);
    std::string routes;
    for (std::size_t k = 0; k < m.routes.size(); ++k) {
      routes += (routes.empty() ? "" : ";") + route(m.routes[k]) + "#" +
                version(k < m.versions.size() ? m.versions[k] : Version{});
    }
    f("routes", routes);
  }
  void operator()(const RetryLater& m) {
    f("epoch", m.epoch);
    f("subscriber", m.subscriber_id);
    f("nonce", m.nonce);
    f("delay_ms", m.delay_ms);
  }
  void operator()(const Challenge& m) {
    f("subscriber", m.subscriber_id);
    f("nonce", m.nonce);
    f("cookie", hex(m.cookie));
  }
};

std::string expected(const Message& m, std::uint32_t key_id, const char* mac) {
  Expected e;
  e.o << "v2 " << to_string(type_of(m)) << " key=" << key_id << " mac=" << mac;
  std::visit(e, m);
  e.o << '\n';
  return e.o.str();
}

constexpr const char* kKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

Keyring test_ring() {
  Keyring keys;
  Key key;
  for (std::size_t k = 0; k < key.size(); ++k) key[k] = static_cast<std::uint8_t>(k);
  keys.add(12, key, true);
  return keys;
}

TEST(Interop, PythonDecodesEveryMessageUnauthenticated) {
  for (const auto& m : samples::sample_messages()) {
    EXPECT_EQ(run_python(encode(m)), expected(m, 0, "none")) << to_string(type_of(m));
  }
}

TEST(Interop, PythonDecodesAndVerifiesEveryMessageAuthenticated) {
  const Keyring keys = test_ring();
  for (const auto& m : samples::sample_messages()) {
    EXPECT_EQ(run_python(encode(m, &keys), kKeyHex), expected(m, 12, "ok"))
        << to_string(type_of(m));
  }
}

TEST(Interop, PythonDetectsAWrongKey) {
  const Keyring keys = test_ring();
  for (const auto& m : samples::sample_messages()) {
    EXPECT_EQ(run_python(encode(m, &keys), std::string(64, 'f')), expected(m, 12, "bad"))
        << to_string(type_of(m));
  }
}

TEST(Interop, AV1DatagramIsRefusedByBoth) {
  // A v1 heartbeat as v1 senders wrote it: [1, 1, 0, [10 fields]].
  const Bytes v1 = {0x94, 0x01, 0x01, 0x00, 0x9a, 0xa1, 'g',  0xa1, 'i',  0xc4, 0x04, 10,   0,
                    0,    1,    0xcd, 0x1f, 0x90, 0x64, 0x00, 0x90, 0x4d, 0x01, 0xcd, 0x03, 0xe8};
  EXPECT_EQ(run_python(v1), "refused unknown_version 1\n");
  auto d = decode(v1);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), DecodeError::unknown_version);
}

}  // namespace
}  // namespace baker::wire
