#include "common/prometheus.hpp"

#include <charconv>
#include <cmath>

namespace baker {
namespace {

// HELP text escapes backslash and newline; a label value also the double quote.
void append_escaped(std::string& out, std::string_view text, bool label_value) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && label_value) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

}  // namespace

std::string format_metric_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Integral values within 2^53 print without a fraction or exponent (counters, gauges of counts).
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    return std::to_string(static_cast<long long>(value));
  }
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
  return std::string(buf, end);
}

void MetricsWriter::family(std::string_view name, Type type, std::string_view help) {
  family_.assign(name);
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += type == Type::counter ? " counter\n" : " gauge\n";
}

void MetricsWriter::sample_prefix(std::initializer_list<Label> labels) {
  out_ += family_;
  if (labels.size() == 0) return;
  out_ += '{';
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) out_ += ',';
    first = false;
    out_ += key;
    out_ += "=\"";
    append_escaped(out_, value, true);
    out_ += '"';
  }
  out_ += '}';
}

void MetricsWriter::sample(double value, std::initializer_list<Label> labels) {
  sample_prefix(labels);
  out_ += ' ';
  out_ += format_metric_value(value);
  out_ += '\n';
}

void MetricsWriter::sample(std::uint64_t value, std::initializer_list<Label> labels) {
  sample_prefix(labels);
  out_ += ' ';
  out_ += std::to_string(value);
  out_ += '\n';
}

void MetricsWriter::counter(std::string_view name, std::string_view help, std::uint64_t value) {
  family(name, Type::counter, help);
  sample(value);
}

void MetricsWriter::gauge(std::string_view name, std::string_view help, double value) {
  family(name, Type::gauge, help);
  sample(value);
}

}  // namespace baker
