#pragma once
// The one duration grammar of every flag and config setting: <integer or decimal><unit>, units
// ns, us, ms, s, m, h ("250ms", "2s", "1.5s", "1m"). A bare number is refused (it meant ms in one
// daemon and s in another), so are signs, spaces and anything above kMaxDuration. Pure.
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace baker {

// Nothing Baker waits for is longer; larger values are typos (a missing unit, an extra 0).
inline constexpr Duration kMaxDuration = std::chrono::hours(24);

// "1.5s" -> 1500ms (rounded to the nearest nanosecond). On error returns nullopt and sets *error
// to a message that quotes the text and shows the accepted forms, e.g.
// "'5': a duration needs a unit: 250ms, 2s, 1m".
std::optional<Duration> parse_duration(std::string_view text, std::string* error = nullptr);

// parse_duration, then min <= d <= max; the error names the range ("from 100ms to 10m").
std::optional<Duration> parse_duration_within(std::string_view text, Duration min, Duration max,
                                              std::string* error = nullptr);

// The shortest exact spelling parse_duration reads back: "0s", "250ms", "1.5s", "2m", "1h",
// "100us", "1h30m" is "90m". For --help defaults and logs.
std::string format_duration(Duration d);

}  // namespace baker
