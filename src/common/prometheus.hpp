#pragma once
// The one Prometheus text-format writer (exposition format 0.0.4) every daemon's /metrics uses:
// each family gets its HELP and TYPE lines, label values are escaped, and numbers are printed one
// way everywhere (integers as integers, other values in the shortest form that reads back exactly,
// NaN and +Inf/-Inf as Prometheus spells them).
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace baker {

class MetricsWriter {
 public:
  enum class Type { counter, gauge };
  using Label = std::pair<std::string_view, std::string_view>;

  // Starts a family: "# HELP <name> <help>" and "# TYPE <name> <type>". Samples that follow
  // belong to it. `name` is the full name (baker_<component>_<what>[_total|_seconds|_bytes]).
  void family(std::string_view name, Type type, std::string_view help);
  // One sample of the current family, with optional labels: name{k="v",...} value.
  void sample(double value, std::initializer_list<Label> labels = {});
  void sample(std::uint64_t value, std::initializer_list<Label> labels = {});

  // A family with one unlabelled sample.
  void counter(std::string_view name, std::string_view help, std::uint64_t value);
  void gauge(std::string_view name, std::string_view help, double value);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void sample_prefix(std::initializer_list<Label> labels);

  std::string out_;
  std::string family_;
};

// A number as the writer prints it (exposed for tests and for writers of other formats).
std::string format_metric_value(double value);

}  // namespace baker
