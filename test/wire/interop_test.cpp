// The body of a real datagram is plain msgpack: an independent implementation (python3-msgpack,
// Debian's package) decodes it, and Python's own BLAKE2b verifies its MAC.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "wire/sample_messages.hpp"
#include "wire/codec.hpp"

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

TEST(Interop, PythonMsgpackDecodesAHeartbeat) {
  Heartbeat h = samples::sample_heartbeat();
  h.route.tags = {"v2", "canary"};
  EXPECT_EQ(run_python(encode(h)),
            "v1 type=1 key=0 mac=none greeting i-1 10.0.0.0 8080 100 0 v2,canary "
            "1311768467294899695 42 1000\n");
}

TEST(Interop, PythonVerifiesTheMacAndDetectsAWrongKey) {
  Keyring keys;
  Key key;
  for (std::size_t k = 0; k < key.size(); ++k) key[k] = static_cast<std::uint8_t>(k);
  keys.add(12, key, true);
  const std::string key_hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  const std::string out = run_python(encode(samples::sample_heartbeat(), &keys), key_hex);
  EXPECT_EQ(out.rfind("v1 type=1 key=12 mac=ok greeting", 0), 0u) << out;
  const std::string wrong =
      run_python(encode(samples::sample_heartbeat(), &keys), std::string(64, 'f'));
  EXPECT_EQ(wrong.rfind("v1 type=1 key=12 mac=bad", 0), 0u) << wrong;
}

TEST(Interop, PythonMsgpackDecodesADelta) {
  const auto all = samples::sample_messages();
  const Delta& d = std::get<Delta>(all[4]);
  EXPECT_EQ(run_python(encode(d)),
            "v1 type=5 key=0 mac=none 65261 120 123 1 0:greeting/host-1:8080@10.0.0.1:8080 "
            "1:greeting/host-2:8080@fd00::2:8080 remove:greeting/host-3:8080\n");
}

}  // namespace
}  // namespace baker::wire
