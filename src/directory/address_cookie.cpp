#include "directory/address_cookie.hpp"

#include <sodium.h>

#include <algorithm>

namespace baker::directory {
namespace {

std::uint32_t seconds_of(TimePoint t) {
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

// The issue time as it leads both the tagged bytes and the cookie: 4 bytes, big-endian.
void put_issued(std::uint32_t issued, std::uint8_t* at) {
  at[0] = static_cast<std::uint8_t>(issued >> 24);
  at[1] = static_cast<std::uint8_t>(issued >> 16);
  at[2] = static_cast<std::uint8_t>(issued >> 8);
  at[3] = static_cast<std::uint8_t>(issued);
}

std::array<std::uint8_t, 16> tag(const CookieSecret& secret, const Endpoint& e,
                                 std::uint32_t issued) {
  std::array<std::uint8_t, 4 + 1 + 16 + 2> in{};
  put_issued(issued, in.data());
  in[4] = static_cast<std::uint8_t>(e.address.family);
  std::copy(e.address.bytes.begin(), e.address.bytes.end(), in.begin() + 5);
  in[21] = static_cast<std::uint8_t>(e.port >> 8);
  in[22] = static_cast<std::uint8_t>(e.port);
  std::array<std::uint8_t, 16> out{};
  crypto_generichash(out.data(), out.size(), in.data(), in.size(), secret.data(), secret.size());
  return out;
}

}  // namespace

wire::Cookie AddressCookies::issue(const Endpoint& to, TimePoint now) const {
  const std::uint32_t issued = seconds_of(now);
  wire::Cookie c(kSize);
  put_issued(issued, c.data());
  const auto t = tag(secret_, to, issued);
  std::copy(t.begin(), t.end(), c.begin() + 4);
  return c;
}

CookieCheck AddressCookies::check(const wire::Cookie& cookie, const Endpoint& from,
                                  TimePoint now) const {
  if (cookie.empty()) return CookieCheck::absent;
  if (cookie.size() != kSize) return CookieCheck::malformed;
  const std::uint32_t issued = (std::uint32_t{cookie[0]} << 24) | (std::uint32_t{cookie[1]} << 16) |
                               (std::uint32_t{cookie[2]} << 8) | std::uint32_t{cookie[3]};
  const auto t = tag(secret_, from, issued);
  if (sodium_memcmp(t.data(), cookie.data() + 4, t.size()) != 0) return CookieCheck::forged;
  const std::uint32_t now_s = seconds_of(now);
  const auto lifetime_s = std::chrono::duration_cast<std::chrono::seconds>(lifetime_).count();
  if (issued > now_s || static_cast<std::int64_t>(now_s - issued) > lifetime_s) {
    return CookieCheck::expired;
  }
  return CookieCheck::valid;
}

}  // namespace baker::directory
