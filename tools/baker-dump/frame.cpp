#include "baker-dump/frame.hpp"

#include <algorithm>

namespace baker::dump {
namespace {

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherIpv6 = 0x86dd;
constexpr std::uint16_t kEtherVlan = 0x8100;
constexpr std::uint16_t kEtherQinQ = 0x88a8;
constexpr std::uint8_t kProtoUdp = 17;

std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}
std::uint32_t be32(std::span<const std::uint8_t> b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}
std::uint32_t le32(std::span<const std::uint8_t> b, std::size_t at) {
  return (std::uint32_t{b[at + 3]} << 24) | (std::uint32_t{b[at + 2]} << 16) |
         (std::uint32_t{b[at + 1]} << 8) | b[at];
}

FrameResult skip(FrameSkip s) {
  return FrameResult{s, {}, {}, false};
}

// The IP payload behind an ethertype.
FrameResult by_ethertype(std::uint16_t type, std::span<const std::uint8_t> rest) {
  if (type == kEtherIpv4 || type == kEtherIpv6) return parse_ip(rest);
  return skip(FrameSkip::not_ip);
}

// BSD loopback address families: AF_INET is 2 everywhere, AF_INET6 is 24, 28 or 30 by OS.
FrameResult by_family(std::uint32_t family, std::span<const std::uint8_t> rest) {
  if (family == 2 || family == 24 || family == 28 || family == 30 || family == 10) {
    return parse_ip(rest);
  }
  return skip(FrameSkip::not_ip);
}

FrameResult parse_udp(std::span<const std::uint8_t> segment, FrameResult with_addresses) {
  if (segment.size() < 8) {
    with_addresses.value = FrameSkip::truncated;
    return with_addresses;
  }
  with_addresses.source.port = be16(segment, 0);
  with_addresses.destination.port = be16(segment, 2);
  const std::size_t length = be16(segment, 4);
  if (length < 8) {
    with_addresses.value = FrameSkip::malformed;
    return with_addresses;
  }
  if (length > segment.size()) {
    with_addresses.value = FrameSkip::truncated;
    return with_addresses;
  }
  with_addresses.value = UdpDatagram{with_addresses.source, with_addresses.destination,
                                     segment.subspan(8, length - 8)};
  return with_addresses;
}

FrameResult parse_ipv4(std::span<const std::uint8_t> p) {
  if (p.size() < 20) return skip(FrameSkip::truncated);
  const std::size_t header = std::size_t{p[0] & 0x0fu} * 4;
  if (header < 20) return skip(FrameSkip::malformed);
  const std::size_t total = be16(p, 2);
  if (total < header) return skip(FrameSkip::malformed);
  FrameResult r{FrameSkip::not_udp, {}, {}, true};
  r.source.address = wire::IpAddress::v4(p[12], p[13], p[14], p[15]);
  r.destination.address = wire::IpAddress::v4(p[16], p[17], p[18], p[19]);
  if (p.size() < header) {
    r.value = FrameSkip::truncated;
    return r;
  }
  const std::uint16_t fragment = be16(p, 6);
  const bool more_fragments = (fragment & 0x2000) != 0;
  const std::uint16_t offset = fragment & 0x1fff;
  if (p[9] != kProtoUdp) return r;
  if (more_fragments || offset != 0) {
    r.value = FrameSkip::ip_fragment;
    return r;
  }
  // Ethernet pads short frames: the IP total length, not the frame, says where UDP ends.
  if (total > p.size()) {
    r.value = FrameSkip::truncated;
    return r;
  }
  return parse_udp(p.subspan(header, total - header), r);
}

FrameResult parse_ipv6(std::span<const std::uint8_t> p) {
  if (p.size() < 40) return skip(FrameSkip::truncated);
  FrameResult r{FrameSkip::not_udp, {}, {}, true};
  r.source.address.family = wire::IpAddress::Family::v6;
  r.destination.address.family = wire::IpAddress::Family::v6;
  for (std::size_t i = 0; i < 16; ++i) {
    r.source.address.bytes[i] = p[8 + i];
    r.destination.address.bytes[i] = p[24 + i];
  }
  const std::size_t payload_length = be16(p, 4);
  if (40 + payload_length > p.size()) {
    r.value = FrameSkip::truncated;
    return r;
  }
  auto rest = p.subspan(40, payload_length);
  std::uint8_t next = p[6];
  // Walk the extension headers Baker's traffic could meet; a fragment header ends the walk.
  for (int hops = 0; hops < 8; ++hops) {
    if (next == kProtoUdp) return parse_udp(rest, r);
    if (next == 44) {
      r.value = FrameSkip::ip_fragment;
      return r;
    }
    if (next != 0 && next != 43 && next != 60) return r;  // not UDP (or not one we walk)
    if (rest.size() < 8) {
      r.value = FrameSkip::truncated;
      return r;
    }
    const std::size_t length = (std::size_t{rest[1]} + 1) * 8;
    if (length > rest.size()) {
      r.value = FrameSkip::truncated;
      return r;
    }
    next = rest[0];
    rest = rest.subspan(length);
  }
  r.value = FrameSkip::malformed;
  return r;
}

}  // namespace

std::string_view to_string(FrameSkip s) noexcept {
  switch (s) {
    case FrameSkip::unsupported_link:
      return "unsupported_link";
    case FrameSkip::not_ip:
      return "not_ip";
    case FrameSkip::not_udp:
      return "not_udp";
    case FrameSkip::ip_fragment:
      return "ip_fragment";
    case FrameSkip::truncated:
      return "truncated_frame";
    case FrameSkip::malformed:
      return "malformed_frame";
  }
  return "unknown";
}

FrameResult parse_ip(std::span<const std::uint8_t> packet) noexcept {
  if (packet.empty()) return skip(FrameSkip::truncated);
  switch (packet[0] >> 4) {
    case 4:
      return parse_ipv4(packet);
    case 6:
      return parse_ipv6(packet);
    default:
      return skip(FrameSkip::not_ip);
  }
}

std::vector<std::uint8_t> encapsulate_ipv4_udp(const Endpoint& source, const Endpoint& destination,
                                               std::span<const std::uint8_t> payload) {
  const std::size_t udp_length = 8 + payload.size();
  const std::size_t total = 20 + udp_length;
  std::vector<std::uint8_t> p(total, 0);
  p[0] = 0x45;  // version 4, 5 words of header
  p[2] = static_cast<std::uint8_t>(total >> 8);
  p[3] = static_cast<std::uint8_t>(total);
  p[6] = 0x40;  // don't fragment
  p[8] = 64;    // TTL
  p[9] = kProtoUdp;
  for (int i = 0; i < 4; ++i) {
    p[12 + i] = source.address.bytes[i];
    p[16 + i] = destination.address.bytes[i];
  }
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < 20; i += 2) sum += be16(p, i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  const auto checksum = static_cast<std::uint16_t>(~sum);
  p[10] = static_cast<std::uint8_t>(checksum >> 8);
  p[11] = static_cast<std::uint8_t>(checksum);
  p[20] = static_cast<std::uint8_t>(source.port >> 8);
  p[21] = static_cast<std::uint8_t>(source.port);
  p[22] = static_cast<std::uint8_t>(destination.port >> 8);
  p[23] = static_cast<std::uint8_t>(destination.port);
  p[24] = static_cast<std::uint8_t>(udp_length >> 8);
  p[25] = static_cast<std::uint8_t>(udp_length);
  std::copy(payload.begin(), payload.end(), p.begin() + 28);
  return p;
}

FrameResult parse_frame(int linktype, std::span<const std::uint8_t> frame) noexcept {
  switch (linktype) {
    case link::kEthernet: {
      if (frame.size() < 14) return skip(FrameSkip::truncated);
      std::size_t at = 12;
      std::uint16_t type = be16(frame, at);
      // Up to two VLAN tags (802.1Q, QinQ).
      for (int tags = 0; tags < 2 && (type == kEtherVlan || type == kEtherQinQ); ++tags) {
        at += 4;
        if (frame.size() < at + 2) return skip(FrameSkip::truncated);
        type = be16(frame, at);
      }
      return by_ethertype(type, frame.subspan(at + 2));
    }
    case link::kNull:
      if (frame.size() < 4) return skip(FrameSkip::truncated);
      // Host byte order of the capturing machine: accept either.
      {
        const std::uint32_t le = le32(frame, 0);
        const std::uint32_t be = be32(frame, 0);
        return by_family(le < 256 ? le : be, frame.subspan(4));
      }
    case link::kLoop:
      if (frame.size() < 4) return skip(FrameSkip::truncated);
      return by_family(be32(frame, 0), frame.subspan(4));
    case link::kRaw:
    case link::kRawAlt:
    case link::kRawLinktype:
      return parse_ip(frame);
    case link::kIpv4:
    case link::kIpv6:
      return parse_ip(frame);
    case link::kLinuxSll:
      // packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2)
      if (frame.size() < 16) return skip(FrameSkip::truncated);
      return by_ethertype(be16(frame, 14), frame.subspan(16));
    case link::kLinuxSll2:
      // protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) addr len(1) addr(8)
      if (frame.size() < 20) return skip(FrameSkip::truncated);
      return by_ethertype(be16(frame, 0), frame.subspan(20));
    default:
      return skip(FrameSkip::unsupported_link);
  }
}

}  // namespace baker::dump
