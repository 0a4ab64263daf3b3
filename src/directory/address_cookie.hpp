#pragma once
// Stateless address-validation cookies (docs/PROTOCOL.md, "Subscriptions"): issue time in seconds
// of the directory's clock, then a keyed BLAKE2b-128 over (secret, address, port, issue time).
// Only the directory that made a cookie can check it, and it proves that whoever sends it
// received a datagram at that address:port, without the directory keeping any state per address.
#include <array>
#include <cstdint>

#include "common/clock.hpp"
#include "directory/endpoint.hpp"
#include "wire/messages.hpp"

namespace baker::directory {

using CookieSecret = std::array<std::uint8_t, 32>;

// Why a cookie was refused.
enum class CookieCheck : std::uint8_t {
  valid,
  absent,     // no cookie in the Subscribe
  malformed,  // wrong length
  forged,     // tag does not match (another address, another directory process, a guess)
  expired,    // older than the lifetime, or issued "in the future"
};

class AddressCookies {
 public:
  static constexpr std::size_t kSize = 4 + 16;  // issue time (u32 BE), tag

  AddressCookies(const CookieSecret& secret, Duration lifetime)
      : secret_(secret), lifetime_(lifetime) {}

  wire::Cookie issue(const Endpoint& to, TimePoint now) const;
  CookieCheck check(const wire::Cookie& cookie, const Endpoint& from, TimePoint now) const;

 private:
  CookieSecret secret_;
  Duration lifetime_;
};

}  // namespace baker::directory
