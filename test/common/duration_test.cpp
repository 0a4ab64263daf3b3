#include "common/duration.hpp"

#include <gtest/gtest.h>

namespace baker {
namespace {

using namespace std::chrono_literals;

std::string error_of(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parse_duration(text, &error)) << text;
  return error;
}

TEST(Duration, IntegersAndDecimalsWithAUnit) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("2s"), 2s);
  EXPECT_EQ(parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(parse_duration("0.1s"), 100ms) << "exact, no floating-point rounding";
  EXPECT_EQ(parse_duration("1m"), 1min);
  EXPECT_EQ(parse_duration("1.5m"), 90s);
  EXPECT_EQ(parse_duration("2h"), 2h);
  EXPECT_EQ(parse_duration("100us"), 100us);
  EXPECT_EQ(parse_duration("0.5ms"), 500us);
  EXPECT_EQ(parse_duration("0s"), 0s);
  EXPECT_EQ(parse_duration(".5s"), 500ms);
  EXPECT_EQ(parse_duration("007s"), 7s);
  EXPECT_EQ(parse_duration("24h"), 24h);
}

TEST(Duration, ABareNumberIsRefusedShowingTheForms) {
  EXPECT_EQ(error_of("5"), "'5': a duration needs a unit: 250ms, 2s, 1m");
  EXPECT_EQ(error_of("1.5"), "'1.5': a duration needs a unit: 250ms, 2s, 1m");
  EXPECT_EQ(error_of("0"), "'0': a duration needs a unit: 250ms, 2s, 1m");
}

TEST(Duration, MalformedNegativeAndAbsurdValuesAreRefused) {
  EXPECT_NE(error_of("-1s").find("cannot be negative"), std::string::npos);
  EXPECT_NE(error_of("5d").find("unknown unit 'd'"), std::string::npos);
  EXPECT_NE(error_of("5 s").find("unknown unit ' s'"), std::string::npos);
  EXPECT_NE(error_of("5S").find("unknown unit"), std::string::npos);
  EXPECT_NE(error_of("s").find("expected a duration such as 250ms"), std::string::npos);
  EXPECT_NE(error_of("+5s").find("expected a duration"), std::string::npos);
  EXPECT_NE(error_of(" 5s").find("expected a duration"), std::string::npos);
  EXPECT_NE(error_of("1.2.3s").find("unknown unit"), std::string::npos);
  EXPECT_NE(error_of("").find("empty"), std::string::npos);
  EXPECT_NE(error_of("25h").find("too long, at most 24h"), std::string::npos);
  EXPECT_NE(error_of("1441m").find("too long"), std::string::npos);
  EXPECT_NE(error_of("99999999999999999999999s").find("too long"), std::string::npos)
      << "no overflow";
  EXPECT_NE(error_of("soon").find("'soon'"), std::string::npos);
}

TEST(Duration, WithinARange) {
  std::string error;
  EXPECT_EQ(parse_duration_within("10s", 1s, 1min, &error), 10s);
  EXPECT_FALSE(parse_duration_within("10ms", 100ms, 1min, &error));
  EXPECT_EQ(error, "'10ms': must be from 100ms to 1m");
  EXPECT_FALSE(parse_duration_within("10", 100ms, 1min, &error));
  EXPECT_EQ(error, "'10': a duration needs a unit: 250ms, 2s, 1m");
}

TEST(Duration, FormatIsShortExactAndReadsBack) {
  EXPECT_EQ(format_duration(0s), "0s");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(1500ms), "1.5s");
  EXPECT_EQ(format_duration(1250ms), "1.25s");
  EXPECT_EQ(format_duration(2s), "2s");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(1min), "1m");
  EXPECT_EQ(format_duration(10min), "10m");
  EXPECT_EQ(format_duration(2h), "2h");
  EXPECT_EQ(format_duration(100us), "100us");
  EXPECT_EQ(format_duration(1500us), "1.5ms");
  EXPECT_EQ(format_duration(-2s), "-2s");
  EXPECT_EQ(format_duration(std::chrono::nanoseconds(67)), "67ns");
  for (const Duration d :
       {Duration(1ms), Duration(2ms), Duration(999ms), Duration(1001ms), Duration(61s),
        Duration(3599s), Duration(7h), Duration(1234567us),
        Duration(std::chrono::nanoseconds(1500)),
        // Found by watson_config_fuzz: below 1us the text was "67ns", which
        // the grammar did not take.
        Duration(std::chrono::nanoseconds(67)), Duration(std::chrono::nanoseconds(1001))}) {
    EXPECT_EQ(parse_duration(format_duration(d)), d) << format_duration(d);
  }
}

}  // namespace
}  // namespace baker
