#include "wire/codec.hpp"

#include <gtest/gtest.h>

#include "sample_messages.hpp"
#include "wire/validate.hpp"

namespace baker::wire {
namespace {

using testing::sample_messages;

TEST(Codec, EveryMessageRoundTripsUnauthenticated) {
  for (const auto& m : sample_messages()) {
    ASSERT_FALSE(validate(m).has_value()) << to_string(type_of(m));
    const Bytes b = encode(m);
    auto d = decode(b);
    ASSERT_TRUE(d.ok()) << to_string(type_of(m)) << ": " << to_string(d.error());
    EXPECT_EQ(d.value().message, m) << to_string(type_of(m));
    EXPECT_EQ(d.value().key_id, 0u);
    EXPECT_FALSE(d.value().authenticated);
  }
}

}  // namespace
}  // namespace baker::wire
