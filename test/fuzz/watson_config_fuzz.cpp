// libFuzzer target for watson's configuration: the config file (Baker Street's watson.conf or
// `name = value` lines) -> entries -> settings -> a validated WatsonConfig, as watson's start-up
// reads it, plus each value through the small parsers behind the settings (URLs, host:port,
// durations, status ranges) whatever its name.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/duration.hpp"
#include "common/host_port.hpp"
#include "watson/config.hpp"
#include "watson/config_file.hpp"
#include "watson/watson_options.hpp"
#include "wire/validate.hpp"

namespace {

using namespace baker::watson;

void check(bool property) {
  if (!property) std::abort();
}

void parse_value(std::string_view value) {
  for (const bool https : {false, true}) {
    std::string why;
    if (const auto url = parse_http_url(value, https, &why)) {
      check(!url->host.empty() && url->port != 0 && !url->target.empty());
      check(url->target.front() == '/');
      check(https || url->scheme == "http");
      url->authority();
    } else {
      check(!why.empty());
    }
  }
  if (const auto hp = baker::parse_host_port(value, {.default_port = kDefaultDirectoryPort})) {
    check(!hp->host.empty() && hp->port != 0);
    check(baker::parse_host_port(hp->to_string()) == hp);  // reads back what it writes
  }
  for (const bool zero : {false, true}) {
    std::string why;
    const auto hp = baker::parse_host_port(value, {.allow_zero = zero}, &why);
    check(hp ? (zero || hp->port != 0) : !why.empty());
  }
  std::string why;
  if (const auto d = baker::parse_duration(value, &why)) {
    check(d->count() >= 0 && *d <= baker::kMaxDuration);
    check(baker::parse_duration(baker::format_duration(*d)) == d);  // reads back what it writes
  } else {
    check(!why.empty());
  }
  if (const auto ranges = parse_status_ranges(value)) {
    check(!ranges->empty());
    for (const auto& [lo, hi] : *ranges) {
      check(100 <= lo && lo <= hi && hi <= 599);
      check(status_matches(*ranges, lo) && status_matches(*ranges, hi));
    }
  }
  canonical_setting_name(value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto entries = parse_config_text(text);
  if (!entries) {
    check(entries.error().line >= 1 && !entries.error().message.empty());
    return 0;
  }
  int line = 0;
  for (const auto& e : entries.value()) {
    check(!e.name.empty() && e.line > line);
    line = e.line;
    parse_value(e.value);
  }
  const auto settings = merge_settings({}, entries.value(), "fuzz.conf");
  if (!settings) {
    check(!settings.error().empty());
    return 0;
  }
  const auto config = build_config(settings.value());
  if (!config) {
    check(!config.error().empty());
    return 0;
  }
  const auto& c = config.value();
  check(baker::wire::is_valid_service_name(c.service_name));
  check(!c.directories.empty() && c.rise >= 1 && c.fall >= 1);
  check(c.interval.count() > 0 && c.jitter >= 0 && c.jitter <= 0.5);
  return 0;
}
