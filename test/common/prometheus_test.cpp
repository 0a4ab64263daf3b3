#include "common/prometheus.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "metrics_check.hpp"

namespace baker {
namespace {

TEST(MetricsWriter, EveryFamilyHasHelpAndType) {
  MetricsWriter w;
  w.counter("baker_test_events_total", "Events seen.", 3);
  w.gauge("baker_test_depth", "Queue depth.", 1.5);
  EXPECT_EQ(w.text(),
            "# HELP baker_test_events_total Events seen.\n"
            "# TYPE baker_test_events_total counter\n"
            "baker_test_events_total 3\n"
            "# HELP baker_test_depth Queue depth.\n"
            "# TYPE baker_test_depth gauge\n"
            "baker_test_depth 1.5\n");
}

TEST(MetricsWriter, LabelValuesAreEscaped) {
  MetricsWriter w;
  w.family("baker_test_x", MetricsWriter::Type::gauge, "Help with a \\ and\na newline.");
  w.sample(std::uint64_t{1}, {{"backend", "a\"b\\c\nd"}, {"state", "up"}});
  EXPECT_EQ(w.text(),
            "# HELP baker_test_x Help with a \\\\ and\\na newline.\n"
            "# TYPE baker_test_x gauge\n"
            "baker_test_x{backend=\"a\\\"b\\\\c\\nd\",state=\"up\"} 1\n");
}

TEST(MetricsWriter, NumbersHaveOneFormat) {
  EXPECT_EQ(format_metric_value(0), "0");
  EXPECT_EQ(format_metric_value(42), "42");
  EXPECT_EQ(format_metric_value(-7), "-7");
  EXPECT_EQ(format_metric_value(0.1), "0.1");
  EXPECT_EQ(format_metric_value(0.00125), "0.00125");
  EXPECT_EQ(format_metric_value(std::nan("")), "NaN");
  EXPECT_EQ(format_metric_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_metric_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_metric_value(1e300), "1e+300");
}

TEST(MetricsWriter, LargeCountersStayExact) {
  MetricsWriter w;
  w.counter("baker_test_big_total", "Big.", std::uint64_t{18446744073709551615u});
  EXPECT_NE(w.text().find("baker_test_big_total 18446744073709551615\n"), std::string::npos);
}

TEST(MetricsWriter, OutputPassesTheExpositionCheck) {
  MetricsWriter w;
  w.counter("baker_test_events_total", "Events seen.", 3);
  w.gauge("baker_test_last_seconds", "Last duration.", std::nan(""));
  w.family("baker_test_slots", MetricsWriter::Type::gauge, "Slots, by \\ state.");
  w.sample(std::uint64_t{1}, {{"backend", "a\"b\\c\nd"}, {"state", "used"}});
  w.sample(2.5, {{"backend", "a"}, {"state", "free"}});
  w.family("baker_test_empty", MetricsWriter::Type::gauge, "A family without samples.");
  EXPECT_EQ(testing::check_metrics(w.text()), std::vector<std::string>{}) << w.text();
}

// The checker itself: what it must catch (promtool would refuse or lint these).
TEST(MetricsCheck, CatchesWhatPromtoolRefuses) {
  using testing::check_metrics;
  const auto has = [](const std::vector<std::string>& problems, const std::string& what) {
    for (const auto& p : problems) {
      if (p.find(what) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has(check_metrics("baker_x 1\n"), "without # HELP and # TYPE"));
  EXPECT_TRUE(has(check_metrics("# TYPE baker_x gauge\nbaker_x 1\n"), "without # HELP"));
  EXPECT_TRUE(has(check_metrics("# HELP baker_x_total X.\n# TYPE baker_x_total gauge\n"),
                  "only counters end in _total"));
  EXPECT_TRUE(
      has(check_metrics("# HELP baker_x X.\n# TYPE baker_x counter\n"), "must end in _total"));
  EXPECT_TRUE(has(check_metrics("# HELP sherlock_x X.\n# TYPE sherlock_x gauge\n"), "baker_"));
  EXPECT_TRUE(has(check_metrics("# HELP baker_x_ms X.\n# TYPE baker_x_ms gauge\n"), "'ms'"));
  EXPECT_TRUE(has(check_metrics("# HELP baker_x X.\n# TYPE baker_x gauge\nbaker_x{a=\"1} 1\n"),
                  "unterminated"));
  EXPECT_TRUE(
      has(check_metrics("# HELP baker_x X.\n# TYPE baker_x gauge\nbaker_x one\n"), "bad value"));
  EXPECT_TRUE(has(check_metrics("# HELP baker_x X.\n# TYPE baker_x gauge\nbaker_x 1\nbaker_x 2\n"),
                  "series repeated"));
  EXPECT_TRUE(has(check_metrics("# HELP baker_a A.\n# TYPE baker_a gauge\n# HELP baker_b B.\n"
                                "# TYPE baker_b gauge\nbaker_a 1\n"),
                  "outside its family"));
  EXPECT_TRUE(has(check_metrics("# HELP baker_x X.\n# TYPE baker_x gauge\nbaker_x 1"), "newline"));
}

}  // namespace
}  // namespace baker
