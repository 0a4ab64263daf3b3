#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace baker::wire {

// An IPv4 or IPv6 address as raw network-order bytes (what goes on the wire: bin 4 or bin 16).
struct IpAddress {
  enum class Family : std::uint8_t { v4 = 4, v6 = 6 };
  Family family = Family::v4;
  std::array<std::uint8_t, 16> bytes{};  // v4 uses the first 4

  static IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);
  // Parses dotted-quad IPv4 or RFC 4291 IPv6 text; no host names, no ports, no zone ids.
  static std::optional<IpAddress> parse(std::string_view text);
  std::size_t size() const { return family == Family::v4 ? 4 : 16; }
  std::string to_string() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
};

// Where a datagram came from or goes to (an address and a port), without any socket library
// type, so cores and captures share it.
struct Endpoint {
  IpAddress address;
  std::uint16_t port = 0;

  std::string to_string() const;  // "1.2.3.4:5" or "[fd00::1]:5"
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
};

}  // namespace baker::wire
