#include "common/html.hpp"

#include <cstdio>

namespace baker {

void append_html(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
}

std::string html(std::string_view text) {
  std::string out;
  append_html(out, text);
  return out;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decode_component(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && out.size() < 256; ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}
}  // namespace

std::map<std::string, std::string> parse_query(std::string_view target) {
  std::map<std::string, std::string> out;
  const auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto key = decode_component(part.substr(0, eq));
    auto value =
        eq == std::string_view::npos ? std::string() : decode_component(part.substr(eq + 1));
    if (out.size() >= 16 && !out.count(key)) continue;
    out[std::move(key)] = std::move(value);
  }
  return out;
}

std::optional<std::size_t> page_number(const std::map<std::string, std::string>& query) {
  const auto it = query.find("page");
  if (it == query.end()) return 1;
  const std::string& text = it->second;
  if (text.empty() || text.size() > 10) return std::nullopt;
  unsigned long long v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v < 1 || v > 1'000'000'000ULL) return std::nullopt;
  return static_cast<std::size_t>(v);
}

namespace {
constexpr std::string_view kStyle = R"(<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.2em 2em;color:#1d2330;background:#fafbfc}
h1{font-size:1.4em;margin:.2em 0 .1em}h2{font-size:1.1em;margin:1.4em 0 .4em;border-bottom:1px solid #dde1e8;padding-bottom:.2em}
.sub{color:#5b6474;margin:0 0 1em}
table{border-collapse:collapse;margin:.3em 0;background:#fff;box-shadow:0 0 0 1px #dde1e8}
th,td{padding:.25em .7em;text-align:left;border-bottom:1px solid #eef0f4;vertical-align:top}
th{background:#f0f2f6;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.banner{padding:.5em .9em;margin:.6em 0;border-radius:4px}.warn{background:#fff4cc;border:1px solid #e8c547}
.info{background:#e8f1ff;border:1px solid #9bbcf0}.note{color:#5b6474;font-size:.92em;margin:.2em 0 .8em}
.up,.serving,.synced,.ok{color:#137333;font-weight:600}.draining,.warming,.stale{color:#a15c00;font-weight:600}
.down,.missing,.unreachable,.free{color:#8a8f99}.bad{color:#b3261e;font-weight:600}
a{color:#1a57c9}code{font-size:.95em}
</style>)";
}  // namespace

HtmlPage::HtmlPage(std::string_view title, int refresh_seconds) {
  out_ = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  if (refresh_seconds > 0) {
    out_ += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(refresh_seconds) + "\">";
  }
  out_ += "<title>";
  append_html(out_, title);
  out_ += "</title>";
  out_ += kStyle;
  out_ += "</head><body>\n";
}

void HtmlPage::heading(std::string_view text) {
  out_ += "<h2>";
  append_html(out_, text);
  out_ += "</h2>\n";
}

void HtmlPage::banner(std::string_view kind, std::string_view text) {
  out_ += "<div class=\"banner ";
  append_html(out_, kind);
  out_ += "\">";
  append_html(out_, text);
  out_ += "</div>\n";
}

std::string HtmlPage::finish() {
  out_ += "</body></html>\n";
  return std::move(out_);
}

HtmlTable::HtmlTable(std::string& out, std::initializer_list<std::string_view> headers,
                     std::string_view css_class)
    : out_(out) {
  out_ += "<table";
  if (!css_class.empty()) {
    out_ += " class=\"";
    append_html(out_, css_class);
    out_ += "\"";
  }
  out_ += "><tr>";
  for (const auto h : headers) {
    out_ += "<th>";
    append_html(out_, h);
    out_ += "</th>";
  }
  out_ += "</tr>\n";
}

void HtmlTable::row(std::initializer_list<std::string_view> cells) {
  out_ += "<tr>";
  for (const auto c : cells) {
    out_ += "<td>";
    append_html(out_, c);
    out_ += "</td>";
  }
  out_ += "</tr>\n";
}

void HtmlTable::raw_row(const std::vector<std::string>& cells) {
  out_ += "<tr>";
  for (const auto& c : cells) {
    out_ += c.rfind("<td", 0) == 0 ? c : "<td>" + c + "</td>";
  }
  out_ += "</tr>\n";
}

void HtmlTable::finish(std::size_t shown, std::size_t total, std::string_view what) {
  out_ += "</table>\n";
  if (shown < total) {
    out_ += "<p class=\"note\">Showing " + group_digits(shown) + " of " + group_digits(total) + " ";
    append_html(out_, what);
    out_ += ".</p>\n";
  }
}

std::string group_digits(unsigned long long n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string short_duration_ms(long long ms) {
  const bool negative = ms < 0;
  const unsigned long long v =
      negative ? 0ULL - static_cast<unsigned long long>(ms) : static_cast<unsigned long long>(ms);
  char buf[48];
  if (v < 1000) {
    std::snprintf(buf, sizeof buf, "%llums", v);
  } else if (v < 60'000) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(v) / 1000.0);
  } else if (v < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%llum %02llus", v / 60'000, v / 1000 % 60);
  } else if (v < 86'400'000) {
    std::snprintf(buf, sizeof buf, "%lluh %02llum", v / 3'600'000, v / 60'000 % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%llud %lluh", v / 86'400'000, v / 3'600'000 % 24);
  }
  return negative ? std::string("-") + buf : std::string(buf);
}

}  // namespace baker
