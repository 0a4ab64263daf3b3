#pragma once
// What the status pages share: escaping, one page skeleton (inline CSS, refreshing itself, no
// fetches), tables capped with a note, and the query of a page URL. Pure: strings in, strings out.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace baker {

// Appends `text` with & < > " ' escaped: any name from the network is safe in text and attributes.
void append_html(std::string& out, std::string_view text);
std::string html(std::string_view text);

// "/?page=2&service=web" -> {"page": "2", "service": "web"}, %XX and '+' decoded; the path part
// is ignored. Later keys win; at most 16 keys, each at most 256 bytes (the rest is dropped).
std::map<std::string, std::string> parse_query(std::string_view target);

// The query's "page": 1 when absent, nullopt unless a number 1..1e9 (a 400 for the caller).
std::optional<std::size_t> page_number(const std::map<std::string, std::string>& query);

// One page: <head> with the style and a refresh every refresh_seconds (0: none), then what the
// caller appends, then finish().
class HtmlPage {
 public:
  HtmlPage(std::string_view title, int refresh_seconds);
  std::string& body() { return out_; }
  void heading(std::string_view text);  // <h2>
  // A banner: kind "warn" (yellow) or "info".
  void banner(std::string_view kind, std::string_view text);
  std::string finish();

 private:
  std::string out_;
};

// A table with a header row. Cells are escaped unless added as raw HTML.
class HtmlTable {
 public:
  HtmlTable(std::string& out, std::initializer_list<std::string_view> headers,
            std::string_view css_class = "");
  void row(std::initializer_list<std::string_view> cells);
  // A row whose cells are HTML already (the caller escaped what came from outside).
  void raw_row(const std::vector<std::string>& cells);
  // Closes the table; with shown < total, a note under it says so.
  void finish(std::size_t shown, std::size_t total, std::string_view what);

 private:
  std::string& out_;
};

// "1,234,567": counts a person reads at a glance.
std::string group_digits(unsigned long long n);
// "850ms", "12s", "3m 20s", "2h 05m", "4d 3h": an age or a time left, to the unit that matters.
std::string short_duration_ms(long long ms);

}  // namespace baker
