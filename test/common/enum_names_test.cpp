#include "common/enum_names.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace baker {
namespace {

enum class Colour : std::uint8_t { red, green, blue };
constexpr std::array<std::string_view, 3> kColourNames = {"red", "green", "blue"};
static_assert(names_every_value(kColourNames, Colour::blue));
// A table one short of its enum is caught at compile time.
static_assert(!names_every_value(std::array<std::string_view, 2>{"red", "green"}, Colour::blue));

TEST(EnumNames, NamesEachValueAndSaysUnknownOutsideTheTable) {
  EXPECT_EQ(enum_name(kColourNames, Colour::red), "red");
  EXPECT_EQ(enum_name(kColourNames, Colour::blue), "blue");
  EXPECT_EQ(enum_name(kColourNames, static_cast<Colour>(7)), "unknown");
  EXPECT_EQ(enum_name(kColourNames, static_cast<Colour>(3), "?"), "?");
}

}  // namespace
}  // namespace baker
