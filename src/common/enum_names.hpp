#pragma once
// An enum's names as a table indexed by value: to_string is one bounds-checked lookup, and a
// static_assert beside each table (its size against the last value) keeps it as long as its enum.
#include <array>
#include <cstddef>
#include <string_view>

namespace baker {

template <std::size_t N, typename E>
constexpr std::string_view enum_name(const std::array<std::string_view, N>& names, E value,
                                     std::string_view unknown = "unknown") {
  const auto i = static_cast<std::size_t>(value);
  return i < N ? names[i] : unknown;
}

// True when `names` has one entry per value from 0 to `last`.
template <std::size_t N, typename E>
constexpr bool names_every_value(const std::array<std::string_view, N>& /*names*/, E last) {
  return N == static_cast<std::size_t>(last) + 1;
}

}  // namespace baker
