#pragma once
// Where a datagram came from or goes to, without any socket library type, so the core stays pure.
#include <cstddef>
#include <cstdint>
#include <string>

#include "wire/address.hpp"

namespace baker::directory {

struct Endpoint {
  wire::IpAddress address;
  std::uint16_t port = 0;

  std::string to_string() const;  // "1.2.3.4:5" or "[fd00::1]:5"
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

}  // namespace baker::directory
