#include "common/prometheus.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

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

}  // namespace
}  // namespace baker
