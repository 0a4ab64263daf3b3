#pragma once
// Routes for tests: one builder, so each test names only the fields it cares about.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "wire/messages.hpp"

namespace baker::testing {

// An address the test writes literally ("10.0.0.1", "::1"); a typo fails loudly.
inline wire::IpAddress ip(std::string_view text) {
  const auto a = wire::IpAddress::parse(text);
  if (!a) throw std::invalid_argument("not an IP address: " + std::string(text));
  return *a;
}

inline wire::Route make_route(std::string service, std::string instance, wire::IpAddress address,
                              std::uint16_t port, std::uint16_t weight = 100,
                              wire::InstanceState state = wire::InstanceState::up,
                              std::vector<std::string> tags = {}) {
  wire::Route r;
  r.service = std::move(service);
  r.instance = std::move(instance);
  r.address = address;
  r.port = port;
  r.weight = weight;
  r.state = state;
  r.tags = std::move(tags);
  return r;
}

}  // namespace baker::testing
