#pragma once
// Hand-built link/IP/UDP frames for the parser tests (written out byte by byte, independently of
// the code under test).
#include <array>
#include <cstdint>
#include <vector>

namespace baker::dump::testing {

using Bytes = std::vector<std::uint8_t>;
using V4 = std::array<std::uint8_t, 4>;
using V6 = std::array<std::uint8_t, 16>;

inline void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

inline Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes& payload) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<std::uint16_t>(8 + payload.size()));
  put16(b, 0);  // no checksum
  return b + payload;
}

// flags_fragment: the 16-bit flags + fragment offset field (0x2000 = more fragments).
inline Bytes ipv4(V4 src, V4 dst, std::uint8_t proto, const Bytes& payload,
                  std::uint16_t flags_fragment = 0x4000) {
  Bytes b{0x45, 0};
  put16(b, static_cast<std::uint16_t>(20 + payload.size()));
  put16(b, 0x1234);  // id
  put16(b, flags_fragment);
  b.push_back(64);
  b.push_back(proto);
  put16(b, 0);  // checksum not checked by the parser
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  return b + payload;
}

inline Bytes ipv6(const V6& src, const V6& dst, std::uint8_t next, const Bytes& payload) {
  Bytes b{0x60, 0, 0, 0};
  put16(b, static_cast<std::uint16_t>(payload.size()));
  b.push_back(next);
  b.push_back(64);
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  return b + payload;
}

inline V6 v6_loopback() {
  V6 a{};
  a[15] = 1;
  return a;
}

inline Bytes ethernet(std::uint16_t ethertype, const Bytes& payload, int vlan_tags = 0) {
  Bytes b{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1};  // dst mac, src mac
  for (int i = 0; i < vlan_tags; ++i) {
    put16(b, i == 0 && vlan_tags == 2 ? 0x88a8 : 0x8100);
    put16(b, 42);  // VLAN id
  }
  put16(b, ethertype);
  return b + payload;
}

inline Bytes linux_sll(std::uint16_t protocol, const Bytes& payload) {
  Bytes b;
  put16(b, 0);    // packet type: to us
  put16(b, 772);  // ARPHRD_LOOPBACK
  put16(b, 6);
  for (int i = 0; i < 8; ++i) b.push_back(0);
  put16(b, protocol);
  return b + payload;
}

inline Bytes linux_sll2(std::uint16_t protocol, const Bytes& payload) {
  Bytes b;
  put16(b, protocol);
  put16(b, 0);                      // reserved
  b.insert(b.end(), {0, 0, 0, 1});  // ifindex
  put16(b, 772);
  b.push_back(0);  // packet type
  b.push_back(6);  // address length
  for (int i = 0; i < 8; ++i) b.push_back(0);
  return b + payload;
}

// BSD loopback header: address family as a 32-bit integer in the given byte order.
inline Bytes null_header(std::uint32_t family, bool little_endian, const Bytes& payload) {
  Bytes b(4);
  for (int i = 0; i < 4; ++i) {
    const int shift = little_endian ? 8 * i : 8 * (3 - i);
    b[i] = static_cast<std::uint8_t>(family >> shift);
  }
  return b + payload;
}

}  // namespace baker::dump::testing
