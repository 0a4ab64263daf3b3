#pragma once
// Link layer -> IPv4/IPv6 -> UDP: finds the UDP datagram in one captured frame. Pure; no pcap.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "wire/address.hpp"

namespace baker::dump {

// A UDP endpoint as seen in a packet header.
using wire::Endpoint;  // address and port of a captured datagram

// Link-layer header types Baker's captures contain (values of pcap's DLT_* / LINKTYPE_*).
namespace link {
inline constexpr int kNull = 0;           // BSD loopback, host-order address family
inline constexpr int kEthernet = 1;       // DLT_EN10MB
inline constexpr int kRaw = 12;           // DLT_RAW on Linux: the frame is the IP packet
inline constexpr int kRawAlt = 14;        // DLT_RAW on some BSDs
inline constexpr int kLoop = 108;         // OpenBSD loopback, network-order address family
inline constexpr int kRawLinktype = 101;  // LINKTYPE_RAW as written in files
inline constexpr int kLinuxSll = 113;     // Linux "any" cooked capture v1
inline constexpr int kIpv4 = 228;
inline constexpr int kIpv6 = 229;
inline constexpr int kLinuxSll2 = 276;  // Linux "any" cooked capture v2
}  // namespace link

// Why a frame carries no UDP datagram we can show.
enum class FrameSkip : std::uint8_t {
  unsupported_link,  // link-layer type this tool does not parse
  not_ip,            // link payload is not IPv4/IPv6 (ARP, LLDP, ...)
  not_udp,           // IP payload is not UDP (TCP, ICMP, ...)
  ip_fragment,       // a piece of a fragmented IP datagram: not reassembled
  truncated,         // frame shorter than its headers claim (snap length, corrupt capture)
  malformed,         // a header with impossible values (IHL < 5, UDP length < 8, ...)
};
inline constexpr int kFrameSkipCount = static_cast<int>(FrameSkip::malformed) + 1;
std::string_view to_string(FrameSkip s) noexcept;

struct UdpDatagram {
  Endpoint source;
  Endpoint destination;
  std::span<const std::uint8_t> payload;  // points into the frame
};

// What parse_frame found: a datagram, or why not (with the IP endpoints when they were known,
// so a fragment can still be reported by address).
struct FrameResult {
  std::variant<UdpDatagram, FrameSkip> value;
  Endpoint source;  // valid for skips past the IP header (port 0 when unknown)
  Endpoint destination;
  bool has_addresses = false;
};

FrameResult parse_frame(int linktype, std::span<const std::uint8_t> frame) noexcept;
// Same from the IP header on (IPv4 or IPv6, told apart by the version nibble).
FrameResult parse_ip(std::span<const std::uint8_t> packet) noexcept;

// An IPv4 packet (20-byte header, checksummed) carrying one UDP datagram (checksum 0, "none"),
// for writing datagrams received from a socket into a DLT_RAW capture file, and for tests.
// Both endpoints must be IPv4; payload at most 65,507 bytes.
std::vector<std::uint8_t> encapsulate_ipv4_udp(const Endpoint& source, const Endpoint& destination,
                                               std::span<const std::uint8_t> payload);

}  // namespace baker::dump
