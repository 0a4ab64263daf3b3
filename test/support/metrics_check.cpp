#include "metrics_check.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

namespace baker::testing {
namespace {

struct Family {
  bool help = false;
  bool type = false;
  std::string kind;
  bool samples_done = false;  // another family started after this one's samples
};

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

bool valid_value(std::string_view v) {
  if (v == "NaN" || v == "+Inf" || v == "-Inf") return true;
  if (v.empty()) return false;
  const std::string s(v);
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

class Checker {
 public:
  explicit Checker(std::string_view prefix) : prefix_(prefix) {}

  void line(std::string_view l, int n) {
    line_no_ = n;
    if (l.empty()) return problem("blank line");
    if (l.front() == '#') return comment(l);
    sample(l);
  }

  std::vector<std::string> finish() {
    for (const auto& [name, f] : families_) {
      if (f.help && !f.type) problems_.push_back(name + ": # HELP without # TYPE");
      if (f.type && !f.help) problems_.push_back(name + ": # TYPE without # HELP");
    }
    return std::move(problems_);
  }

 private:
  void problem(const std::string& what) {
    problems_.push_back("line " + std::to_string(line_no_) + ": " + what);
  }

  void comment(std::string_view l) {
    const auto words = split(l, ' ');
    if (words.size() < 3 || (words[1] != "HELP" && words[1] != "TYPE")) return;  // a comment
    const std::string& name = words[2];
    auto& f = families_[name];
    if (current_ != name) {
      if (families_.count(current_)) families_[current_].samples_done = true;
      if (f.samples_done) problem(name + ": family appears twice (not contiguous)");
      current_ = name;
    }
    if (words[1] == "HELP") {
      if (f.help) problem(name + ": second # HELP");
      if (f.type) problem(name + ": # HELP after # TYPE");  // Baker writes HELP first
      f.help = true;
      if (words.size() < 4 || l.size() <= std::string("# HELP  ").size() + name.size()) {
        problem(name + ": empty help text");
      }
      lint_name(name);
      return;
    }
    if (f.type) problem(name + ": second # TYPE");
    if (words.size() != 4) return problem(name + ": # TYPE needs exactly one type");
    f.type = true;
    f.kind = words[3];
    if (f.kind != "counter" && f.kind != "gauge" && f.kind != "histogram" && f.kind != "summary" &&
        f.kind != "untyped") {
      problem(name + ": unknown type '" + f.kind + "'");
    }
    const bool total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
    if (f.kind == "counter" && !total) problem(name + ": a counter's name must end in _total");
    if (f.kind != "counter" && total) problem(name + ": only counters end in _total");
  }

  void lint_name(const std::string& name) {
    if (name.rfind(prefix_, 0) != 0) problem(name + ": not named " + std::string(prefix_) + "...");
    for (const char c : name) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
        problem(name + ": not snake case (a-z 0-9 _)");
        break;
      }
    }
    static const std::set<std::string> kAbbreviations = {"s",  "ms", "us", "ns", "sec", "b",
                                                         "kb", "mb", "gb", "tb", "pb"};
    static const std::set<std::string> kNonBaseUnits = {
        "milliseconds", "microseconds", "nanoseconds", "minutes",   "hours",
        "days",         "kilobytes",    "megabytes",   "gigabytes", "bits"};
    for (const auto& part : split(name, '_')) {
      if (part == "counter" || part == "gauge") problem(name + ": the type in the name");
      if (kAbbreviations.count(part)) problem(name + ": abbreviated unit '" + part + "'");
      if (kNonBaseUnits.count(part)) problem(name + ": use base units, not '" + part + "'");
    }
  }

  void sample(std::string_view l) {
    std::size_t i = 0;
    if (i >= l.size() || !name_start(l[i])) return problem("sample without a metric name");
    while (i < l.size() && name_char(l[i])) ++i;
    const std::string name(l.substr(0, i));
    std::string labels;
    if (i < l.size() && l[i] == '{') {
      const auto close = parse_labels(l, i + 1);
      if (!close) return;
      labels = std::string(l.substr(i, *close + 1 - i));
      i = *close + 1;
    }
    if (i >= l.size() || l[i] != ' ') return problem(name + ": expected ' value' after the name");
    const auto rest = split(l.substr(i + 1), ' ');
    if (rest.empty() || rest.size() > 2 || !valid_value(rest[0])) {
      return problem(name + ": bad value '" + std::string(l.substr(i + 1)) + "'");
    }
    const auto it = families_.find(name);
    if (it == families_.end() || !it->second.type || !it->second.help) {
      return problem(name + ": sample without # HELP and # TYPE before it");
    }
    if (current_ != name) problem(name + ": sample outside its family's block");
    if (!series_.insert(name + labels).second) problem(name + labels + ": series repeated");
  }

  // Labels from just after '{'; returns the index of '}' or nullopt (problem recorded).
  std::optional<std::size_t> parse_labels(std::string_view l, std::size_t i) {
    std::set<std::string> keys;
    while (i < l.size() && l[i] != '}') {
      const std::size_t start = i;
      if (!name_start(l[i]) || l[i] == ':') {
        problem("bad label name in '" + std::string(l) + "'");
        return std::nullopt;
      }
      while (i < l.size() && name_char(l[i]) && l[i] != ':') ++i;
      const std::string key(l.substr(start, i - start));
      if (!keys.insert(key).second) problem("label '" + key + "' repeated");
      if (i + 1 >= l.size() || l[i] != '=' || l[i + 1] != '"') {
        problem("expected =\"...\" after label '" + key + "'");
        return std::nullopt;
      }
      i += 2;
      while (i < l.size() && l[i] != '"') {
        if (l[i] == '\\') {
          if (i + 1 >= l.size() || (l[i + 1] != '\\' && l[i + 1] != '"' && l[i + 1] != 'n')) {
            problem("bad escape in label '" + key + "'");
            return std::nullopt;
          }
          ++i;
        }
        ++i;
      }
      if (i >= l.size()) {
        problem("unterminated label value of '" + key + "'");
        return std::nullopt;
      }
      ++i;  // closing quote
      if (i < l.size() && l[i] == ',') ++i;
    }
    if (i >= l.size()) {
      problem("unterminated label set in '" + std::string(l) + "'");
      return std::nullopt;
    }
    return i;
  }

  std::string_view prefix_;
  int line_no_ = 0;
  std::map<std::string, Family> families_;
  std::string current_;
  std::set<std::string> series_;
  std::vector<std::string> problems_;
};

}  // namespace

std::vector<std::string> check_metrics(std::string_view text, std::string_view prefix) {
  Checker c(prefix);
  if (text.empty()) return {"empty page"};
  if (text.back() != '\n') return {"the page does not end with a newline"};
  int n = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto nl = text.find('\n', start);
    c.line(text.substr(start, nl - start), ++n);
    start = nl + 1;
  }
  return c.finish();
}

std::string promtool_check(const std::string& text) {
  if (std::system("command -v promtool > /dev/null 2>&1") != 0) {
    return "promtool is not installed (tools/install-deps extracts it from Debian's prometheus)";
  }
  char path[] = "/tmp/baker-metrics-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return "cannot create a temporary file";
  close(fd);
  std::ofstream(path) << text;
  std::string out;
  const std::string command = std::string("promtool check metrics < ") + path + " 2>&1";
  if (FILE* p = popen(command.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    const int status = pclose(p);
    if (status == 0) out.clear();
    if (status != 0 && out.empty()) out = "promtool failed";
  } else {
    out = "cannot run promtool";
  }
  std::remove(path);
  return out;
}

std::optional<double> metric_sum(std::string_view text, std::string_view family,
                                 std::initializer_list<MetricLabel> labels) {
  std::optional<double> sum;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#' || line.substr(0, family.size()) != family) continue;
    std::string_view rest = line.substr(family.size());
    std::string_view label_text;
    if (!rest.empty() && rest[0] == '{') {
      const auto close = rest.find('}');
      if (close == std::string_view::npos) continue;
      label_text = rest.substr(1, close - 1);
      rest = rest.substr(close + 1);
    }
    if (rest.empty() || rest[0] != ' ') continue;  // another family with this prefix
    bool all = true;
    for (const auto& [k, v] : labels) {
      const std::string want = std::string(k) + "=\"" + std::string(v) + "\"";
      const auto at = label_text.find(want);
      // A whole pair: at the start or after a comma, and followed by a comma or the end.
      if (at == std::string_view::npos || (at != 0 && label_text[at - 1] != ',') ||
          (at + want.size() != label_text.size() && label_text[at + want.size()] != ',')) {
        all = false;
        break;
      }
    }
    if (!all) continue;
    sum = sum.value_or(0) + std::stod(std::string(rest.substr(1)));
  }
  return sum;
}

}  // namespace baker::testing
