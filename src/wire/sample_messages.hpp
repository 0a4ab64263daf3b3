#pragma once
// One realistic instance of every message, shared by the tests, the benchmarks and the fuzz seeds
// (header only; nothing in the daemons uses it).
#include <vector>

#include "wire/messages.hpp"

namespace baker::wire::samples {

inline Route sample_route(int i = 0) {
  Route r;
  r.service = "greeting";
  r.instance = "host-" + std::to_string(i) + ":8080";
  r.address = IpAddress::v4(10, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i));
  r.port = 8080;
  r.weight = 100;
  r.state = InstanceState::up;
  r.tags = {"v1", "zone=a"};
  return r;
}

// The version of a long-running watson's heartbeat: incarnation in 9 bytes, seq in 5 (past 2^16).
inline Version sample_version(int i = 0) {
  return {1'796'000'000'000'000ULL + static_cast<std::uint64_t>(i),
          70'000 + static_cast<std::uint64_t>(i)};
}

inline Heartbeat sample_heartbeat() {
  Heartbeat h;
  h.route = sample_route();
  h.route.tags.clear();
  h.route.instance = "i-1";
  h.incarnation = 1'796'000'000'000'000ULL;  // a start in 2026, us since 1970
  h.seq = 42;
  h.interval_ms = 1000;
  h.sent_ms = 1'796'000'042'000ULL;
  return h;
}

inline std::vector<Message> sample_messages() {
  std::vector<Message> all;
  all.push_back(sample_heartbeat());
  all.push_back(Goodbye{"greeting", "i-1", 1'796'000'000'000'000ULL, 43, 1'796'000'043'000ULL});
  all.push_back(Subscribe{0x5eed0000cafe0077ULL,
                          9,
                          Cookie(24, 0xc0),
                          {"greeting", "_billing-v2"},
                          0xfeedULL,
                          120,
                          kFlagMulticastMember});
  all.push_back(Unsubscribe{0x5eed0000cafe0077ULL, 12});
  Delta d{0xfeedULL, 0x5eed0000cafe0077ULL, 10, 119, 123, kFlagWarmup, {}};
  constexpr std::uint64_t kIncarnation = 1'796'000'000'000'000ULL;
  d.ops.push_back({OpKind::add, sample_route(1), {kIncarnation, 1}});
  Route v6 = sample_route(2);
  v6.address = *IpAddress::parse("fd00::2");
  v6.state = InstanceState::draining;
  d.ops.push_back({OpKind::update, v6, {kIncarnation + 7, 70'000}});
  Route gone;
  gone.service = "greeting";
  gone.instance = "host-3:8080";
  d.ops.push_back({OpKind::remove, gone, {kIncarnation, 43}, Removal::goodbye});
  Route expired;
  expired.service = "greeting";
  expired.instance = "host-6:8080";
  d.ops.push_back({OpKind::remove, expired, {kIncarnation, 200}, Removal::expired});
  all.push_back(d);
  all.push_back(Tick{0xfeedULL, 0, 0, 123, 0xdeadbeefcafef00dULL, 3, 0, 30000});
  all.push_back(Nack{0x5eed0000cafe0077ULL, 10, 0xfeedULL, 121, 122});
  SnapshotChunk s{0xfeedULL, 0x5eed0000cafe0077ULL, 9, 123, 1, 3, 0, {}};
  s.routes = {sample_route(4), sample_route(5)};
  s.versions = {{kIncarnation, 42}, {kIncarnation + 1, 0xffff'ffffULL}};
  all.push_back(s);
  all.push_back(RetryLater{0xfeedULL, 0x5eed0000cafe0077ULL, 11, 250});
  all.push_back(Challenge{0x5eed0000cafe0077ULL, 8, Cookie(24, 0xc0)});
  return all;
}

}  // namespace baker::wire::samples
