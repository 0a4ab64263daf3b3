#pragma once
// Bounds on every field Baker puts on the wire. docs/PROTOCOL.md lists the same values; keep both
// true.
#include <cstddef>
#include <cstdint>

namespace baker::wire {

inline constexpr std::uint8_t kProtocolVersion = 2;

inline constexpr std::size_t kMaxServiceNameLength = 100;
inline constexpr std::size_t kMaxInstanceIdLength = 64;
inline constexpr std::size_t kMaxTagLength = 64;
inline constexpr std::size_t kMaxTags = 8;
inline constexpr std::size_t kMaxServicesPerSubscribe = 256;
inline constexpr std::uint32_t kMaxWeight = 256;  // HAProxy's own range is 0..256
inline constexpr std::uint32_t kMinIntervalMs = 50;
inline constexpr std::uint32_t kMaxIntervalMs = 3'600'000;
inline constexpr std::uint32_t kMaxRetryDelayMs = 3'600'000;
inline constexpr std::uint32_t kMaxLeaseMs = 3'600'000;
inline constexpr std::uint32_t kMaxSnapshotChunks = 1u << 20;
inline constexpr std::size_t kMaxCookieSize = 64;  // Challenge cookies are opaque, at most this

// Largest UDP payload over IPv4; the decoder refuses anything larger outright.
inline constexpr std::size_t kMaxDatagramSize = 65'507;
// What senders pack into one datagram by default: fits a 1500-byte Ethernet MTU under IPv6
// (1500 - 40 IPv6 - 8 UDP = 1452) with room to spare.
inline constexpr std::size_t kDefaultDatagramBudget = 1400;
// Smallest budget the packers accept: one maximal route (or op) with the largest version must
// always fit in one datagram (816 bytes with a MAC, test/wire/packing_test.cpp).
inline constexpr std::size_t kMinDatagramBudget = 1200;

inline constexpr std::size_t kMacSize = 16;  // keyed BLAKE2b output, bytes
inline constexpr std::size_t kKeySize = 32;  // cluster key, bytes

}  // namespace baker::wire
