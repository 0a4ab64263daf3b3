#include "baker-dump/frame.hpp"

#include <gtest/gtest.h>

#include <random>

#include "frames.hpp"

namespace baker::dump {
namespace {

using namespace testing;

const Bytes kPayload{0x94, 0x01, 0x01, 0x00, 0x90};
const V4 kSrc{127, 0, 0, 1};
const V4 kDst{127, 0, 0, 2};

Bytes v4_udp(std::uint16_t sport = 40001, std::uint16_t dport = 7400) {
  return ipv4(kSrc, kDst, 17, udp(sport, dport, kPayload));
}

void expect_datagram(const FrameResult& r, const std::string& src, const std::string& dst) {
  const auto* d = std::get_if<UdpDatagram>(&r.value);
  ASSERT_NE(d, nullptr) << "skipped: " << to_string(std::get<FrameSkip>(r.value));
  EXPECT_EQ(d->source.to_string(), src);
  EXPECT_EQ(d->destination.to_string(), dst);
  EXPECT_EQ(Bytes(d->payload.begin(), d->payload.end()), kPayload);
}

FrameSkip skip_of(const FrameResult& r) {
  const auto* s = std::get_if<FrameSkip>(&r.value);
  return s ? *s : static_cast<FrameSkip>(255);
}

TEST(Frame, EthernetIpv4Udp) {
  expect_datagram(parse_frame(link::kEthernet, ethernet(0x0800, v4_udp())), "127.0.0.1:40001",
                  "127.0.0.2:7400");
}

TEST(Frame, EthernetPaddingIsNotPayload) {
  Bytes frame = ethernet(0x0800, v4_udp());
  frame.resize(frame.size() + 20, 0);  // short frames are padded to 60 bytes on the wire
  expect_datagram(parse_frame(link::kEthernet, frame), "127.0.0.1:40001", "127.0.0.2:7400");
}

TEST(Frame, EthernetWithVlanTags) {
  expect_datagram(parse_frame(link::kEthernet, ethernet(0x0800, v4_udp(), 1)), "127.0.0.1:40001",
                  "127.0.0.2:7400");
  expect_datagram(parse_frame(link::kEthernet, ethernet(0x0800, v4_udp(), 2)), "127.0.0.1:40001",
                  "127.0.0.2:7400");
}

TEST(Frame, Ipv4WithOptions) {
  Bytes ip = v4_udp();
  ip[0] = 0x46;  // 24-byte header: insert 4 bytes of options (NOPs) after the fixed part
  ip.insert(ip.begin() + 20, {1, 1, 1, 1});
  ip[3] = static_cast<std::uint8_t>(ip.size());
  expect_datagram(parse_frame(link::kRaw, ip), "127.0.0.1:40001", "127.0.0.2:7400");
}

TEST(Frame, Ipv6Udp) {
  V6 dst = v6_loopback();
  dst[0] = 0xfd;
  const Bytes ip = ipv6(v6_loopback(), dst, 17, udp(40001, 7400, kPayload));
  expect_datagram(parse_frame(link::kEthernet, ethernet(0x86dd, ip)), "[::1]:40001",
                  "[fd00::1]:7400");
}

TEST(Frame, Ipv6HopByHopThenUdp) {
  Bytes ext{17, 0, 0, 0, 0, 0, 0, 0};  // next = UDP, length 8 bytes
  const Bytes ip = ipv6(v6_loopback(), v6_loopback(), 0, ext + udp(40001, 7400, kPayload));
  expect_datagram(parse_frame(link::kRaw, ip), "[::1]:40001", "[::1]:7400");
}

TEST(Frame, Ipv6FragmentIsSkippedWithAddresses) {
  Bytes frag{17, 0, 0, 1, 0, 0, 0, 9};
  const auto r =
      parse_frame(link::kRaw, ipv6(v6_loopback(), v6_loopback(), 44, frag + udp(1, 2, kPayload)));
  EXPECT_EQ(skip_of(r), FrameSkip::ip_fragment);
  EXPECT_TRUE(r.has_addresses);
  EXPECT_EQ(r.source.address.to_string(), "::1");
}

TEST(Frame, LinuxCookedV1AndV2) {
  expect_datagram(parse_frame(link::kLinuxSll, linux_sll(0x0800, v4_udp())), "127.0.0.1:40001",
                  "127.0.0.2:7400");
  expect_datagram(parse_frame(link::kLinuxSll2, linux_sll2(0x0800, v4_udp())), "127.0.0.1:40001",
                  "127.0.0.2:7400");
}

TEST(Frame, BsdLoopbackEitherByteOrder) {
  expect_datagram(parse_frame(link::kNull, null_header(2, true, v4_udp())), "127.0.0.1:40001",
                  "127.0.0.2:7400");
  expect_datagram(parse_frame(link::kNull, null_header(2, false, v4_udp())), "127.0.0.1:40001",
                  "127.0.0.2:7400");
  expect_datagram(parse_frame(link::kLoop, null_header(2, false, v4_udp())), "127.0.0.1:40001",
                  "127.0.0.2:7400");
  const Bytes ip6 = ipv6(v6_loopback(), v6_loopback(), 17, udp(5, 6, kPayload));
  expect_datagram(parse_frame(link::kNull, null_header(30, true, ip6)), "[::1]:5", "[::1]:6");
}

TEST(Frame, RawLinkTypes) {
  for (int t : {link::kRaw, link::kRawAlt, link::kRawLinktype, link::kIpv4}) {
    expect_datagram(parse_frame(t, v4_udp()), "127.0.0.1:40001", "127.0.0.2:7400");
  }
}

TEST(Frame, Ipv4FragmentsAreSkipped) {
  // First piece (more fragments) and a later piece (offset != 0).
  for (std::uint16_t field : {0x2000, 0x0010}) {
    const auto r = parse_frame(link::kRaw, ipv4(kSrc, kDst, 17, udp(1, 2, kPayload), field));
    EXPECT_EQ(skip_of(r), FrameSkip::ip_fragment);
    EXPECT_TRUE(r.has_addresses);
    EXPECT_EQ(r.destination.address.to_string(), "127.0.0.2");
  }
}

TEST(Frame, OtherProtocolsAreSkipped) {
  EXPECT_EQ(skip_of(parse_frame(link::kRaw, ipv4(kSrc, kDst, 6, Bytes(20, 0)))),
            FrameSkip::not_udp);
  EXPECT_EQ(skip_of(parse_frame(link::kEthernet, ethernet(0x0806, Bytes(28, 0)))),
            FrameSkip::not_ip);
  EXPECT_EQ(skip_of(parse_frame(147, v4_udp())), FrameSkip::unsupported_link);
  EXPECT_EQ(skip_of(parse_frame(link::kRaw, Bytes{0x50, 0, 0})), FrameSkip::not_ip);
}

TEST(Frame, BadHeadersAreMalformed) {
  Bytes short_ihl = v4_udp();
  short_ihl[0] = 0x44;
  EXPECT_EQ(skip_of(parse_frame(link::kRaw, short_ihl)), FrameSkip::malformed);
  Bytes short_udp = v4_udp();
  short_udp[24] = 0;
  short_udp[25] = 7;  // UDP length below its own header
  EXPECT_EQ(skip_of(parse_frame(link::kRaw, short_udp)), FrameSkip::malformed);
}

// Every cut of a valid frame is rejected cleanly (never read past the end, never a datagram).
TEST(Frame, EveryTruncationIsRejected) {
  const std::vector<std::pair<int, Bytes>> frames = {
      {link::kEthernet, ethernet(0x0800, v4_udp(), 1)},
      {link::kLinuxSll, linux_sll(0x0800, v4_udp())},
      {link::kLinuxSll2,
       linux_sll2(0x86dd, ipv6(v6_loopback(), v6_loopback(), 17, udp(1, 2, kPayload)))},
      {link::kNull, null_header(2, true, v4_udp())},
  };
  for (const auto& [type, frame] : frames) {
    for (std::size_t n = 0; n < frame.size(); ++n) {
      const Bytes cut(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(n));
      const auto r = parse_frame(type, cut);
      EXPECT_TRUE(std::holds_alternative<FrameSkip>(r.value)) << "type " << type << " cut " << n;
    }
  }
}

TEST(Frame, EncapsulatedDatagramParsesBackWithValidChecksum) {
  const Endpoint src{wire::IpAddress::v4(127, 0, 0, 1), 40001};
  const Endpoint dst{wire::IpAddress::v4(239, 255, 74, 0), 7410};
  const Bytes packet = encapsulate_ipv4_udp(src, dst, kPayload);
  ASSERT_EQ(packet.size(), 20 + 8 + kPayload.size());
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < 20; i += 2) sum += (packet[i] << 8) | packet[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(sum, 0xffffu);  // a correct header checksums to all ones
  expect_datagram(parse_frame(link::kRaw, packet), "127.0.0.1:40001", "239.255.74.0:7410");
}

}  // namespace
}  // namespace baker::dump

namespace baker::dump {
namespace {

// Random and mutated frames through every link type: never a crash, never a payload outside the
// frame (ASan checks the second in sanitizer builds).
TEST(Frame, RandomAndMutatedFramesAreSafe) {
  std::mt19937 rng(1234);
  const std::vector<int> types = {link::kEthernet, link::kNull,      link::kLoop, link::kRaw,
                                  link::kLinuxSll, link::kLinuxSll2, link::kIpv6, 147};
  const testing::Bytes seed =
      testing::ethernet(0x0800, testing::ipv4({127, 0, 0, 1}, {127, 0, 0, 2}, 17,
                                              testing::udp(1, 2, testing::Bytes(40, 0x90))));
  for (int round = 0; round < 20000; ++round) {
    testing::Bytes frame;
    if (round % 2 == 0) {
      frame.resize(rng() % 128);
      for (auto& b : frame) b = static_cast<std::uint8_t>(rng());
    } else {
      frame = seed;
      for (int flips = 0; flips < 4; ++flips) {
        frame[rng() % frame.size()] = static_cast<std::uint8_t>(rng());
      }
      frame.resize(rng() % (frame.size() + 1));
    }
    for (int t : types) {
      const auto r = parse_frame(t, frame);
      if (const auto* d = std::get_if<UdpDatagram>(&r.value)) {
        ASSERT_GE(d->payload.data(), frame.data());
        ASSERT_LE(d->payload.data() + d->payload.size(), frame.data() + frame.size());
      }
    }
  }
}

}  // namespace
}  // namespace baker::dump
