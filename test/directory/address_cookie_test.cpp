#include "directory/address_cookie.hpp"

#include <gtest/gtest.h>

#include "directory_test_support.hpp"

namespace baker::directory::testing {
namespace {

CookieSecret secret(std::uint8_t fill) {
  CookieSecret s;
  s.fill(fill);
  return s;
}

TEST(AddressCookies, ValidOnlyForItsAddressPortAndMaker) {
  const AddressCookies cookies(secret(1), 10min);
  const TimePoint now = TimePoint{} + 1h;
  const auto c = cookies.issue(endpoint(1, 5000), now);
  EXPECT_EQ(c.size(), AddressCookies::kSize);
  EXPECT_EQ(cookies.check(c, endpoint(1, 5000), now + 1s), CookieCheck::valid);
  // A stranger replaying it from elsewhere, or another directory process, gets nothing from it.
  EXPECT_EQ(cookies.check(c, endpoint(1, 5001), now), CookieCheck::forged);
  EXPECT_EQ(cookies.check(c, endpoint(2, 5000), now), CookieCheck::forged);
  EXPECT_EQ(AddressCookies(secret(2), 10min).check(c, endpoint(1, 5000), now), CookieCheck::forged);
  EXPECT_EQ(cookies.check({}, endpoint(1, 5000), now), CookieCheck::absent);
  EXPECT_EQ(cookies.check(wire::Cookie(5, 0), endpoint(1, 5000), now), CookieCheck::malformed);
  auto tampered = c;
  tampered[0] ^= 1;  // a later issue time, to stretch its life
  EXPECT_EQ(cookies.check(tampered, endpoint(1, 5000), now), CookieCheck::forged);
}

TEST(AddressCookies, ExpireAfterTheirLifetime) {
  const AddressCookies cookies(secret(1), 10min);
  const TimePoint now = TimePoint{} + 1h;
  const auto c = cookies.issue(endpoint(1, 5000), now);
  EXPECT_EQ(cookies.check(c, endpoint(1, 5000), now + 10min), CookieCheck::valid);
  EXPECT_EQ(cookies.check(c, endpoint(1, 5000), now + 10min + 1s), CookieCheck::expired);
  EXPECT_EQ(cookies.check(c, endpoint(1, 5000), now - 2s), CookieCheck::expired);
}

}  // namespace
}  // namespace baker::directory::testing
