#include "common/duration.hpp"

#include <array>
#include <cstdint>

namespace baker {
namespace {

using Nanos = std::chrono::nanoseconds;

struct Unit {
  std::string_view name;
  std::int64_t ns;
};
// Largest first: format_duration prefers the larger unit on a tie.
constexpr std::array<Unit, 6> kUnits{{{"h", 3'600'000'000'000},
                                      {"m", 60'000'000'000},
                                      {"s", 1'000'000'000},
                                      {"ms", 1'000'000},
                                      {"us", 1'000},
                                      {"ns", 1}}};

constexpr std::string_view kForms = "250ms, 2s, 1m";

std::optional<Duration> fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return std::nullopt;
}

std::string quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text, std::string* error) {
  if (text.empty()) return fail(error, "empty duration: expected e.g. " + std::string(kForms));
  if (text.front() == '-') {
    return fail(error, quoted(text) + ": a duration cannot be negative");
  }
  std::size_t i = 0;
  while (i < text.size() && is_digit(text[i])) ++i;
  const std::string_view whole = text.substr(0, i);
  std::string_view fraction;
  if (i < text.size() && text[i] == '.') {
    const std::size_t start = ++i;
    while (i < text.size() && is_digit(text[i])) ++i;
    fraction = text.substr(start, i - start);
  }
  const std::string_view unit_text = text.substr(i);
  if (whole.empty() && fraction.empty()) {
    return fail(error, quoted(text) + ": expected a duration such as " + std::string(kForms) +
                           " (a number, then us, ms, s, m or h)");
  }
  if (unit_text.empty()) {
    return fail(error, quoted(text) + ": a duration needs a unit: " + std::string(kForms));
  }
  const Unit* unit = nullptr;
  for (const auto& u : kUnits) {
    if (unit_text == u.name) unit = &u;
  }
  if (!unit) {
    return fail(error, quoted(text) + ": unknown unit '" + std::string(unit_text) +
                           "' (use us, ms, s, m or h, e.g. " + std::string(kForms) + ")");
  }
  const auto too_long = [&] {
    return fail(error, quoted(text) + ": too long, at most " + format_duration(kMaxDuration));
  };
  // Exact integer arithmetic in nanoseconds (no floating-point rounding): 0.1s is 100ms.
  const std::int64_t limit = Nanos(kMaxDuration).count();
  std::int64_t ns = 0;
  for (const char c : whole) {
    const std::int64_t digit = c - '0';
    if (ns > (limit / unit->ns + 1) / 10) return too_long();  // stop before any overflow
    ns = ns * 10 + digit;
  }
  if (ns > limit / unit->ns + 1) return too_long();
  ns *= unit->ns;
  // The fraction: digits beyond the unit's nanosecond resolution only round.
  std::int64_t scale = unit->ns;
  for (const char c : fraction) {
    const std::int64_t digit = c - '0';
    if (scale >= 10) {
      scale /= 10;
      ns += digit * scale;
    } else {
      if (digit >= 5 && scale == 1) ++ns;  // first digit past 1 ns: round half up
      scale = 0;
    }
  }
  if (ns > limit) return too_long();
  return std::chrono::duration_cast<Duration>(Nanos(ns));
}

std::optional<Duration> parse_duration_within(std::string_view text, Duration min, Duration max,
                                              std::string* error) {
  const auto d = parse_duration(text, error);
  if (!d) return std::nullopt;
  if (*d < min || *d > max) {
    return fail(error, quoted(text) + ": must be from " + format_duration(min) + " to " +
                           format_duration(max));
  }
  return d;
}

std::string format_duration(Duration d) {
  std::int64_t ns = std::chrono::duration_cast<Nanos>(d).count();
  if (ns == 0) return "0s";
  std::string sign;
  if (ns < 0) {
    sign = "-";
    ns = -ns;
  }
  std::string best;
  for (const auto& u : kUnits) {
    const std::int64_t q = ns / u.ns;
    std::int64_t r = ns % u.ns;
    std::string candidate;
    if (r == 0) {
      candidate = std::to_string(q) + std::string(u.name);
    } else if (q >= 1) {
      // Decimals only when they end within nanosecond resolution.
      std::string digits;
      for (std::int64_t scale = u.ns / 10; r != 0 && scale >= 1; scale /= 10) {
        digits += static_cast<char>('0' + r / scale);
        r %= scale;
      }
      if (r != 0) continue;
      candidate = std::to_string(q) + "." + digits + std::string(u.name);
    } else {
      continue;
    }
    if (best.empty() || candidate.size() < best.size()) best = std::move(candidate);
  }
  return sign + best;
}

}  // namespace baker
