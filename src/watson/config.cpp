#include "watson/config.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>

#include "common/duration.hpp"
#include "wire/address.hpp"
#include "wire/limits.hpp"
#include "wire/validate.hpp"

namespace baker::watson {
namespace {

using std::chrono::milliseconds;

constexpr std::array kSettings = {
    SettingInfo{"service_name", "NAME", false,
                "service this instance belongs to (1..100 of a-z 0-9 _ -, starting with a letter "
                "or _); required"},
    SettingInfo{"service_url", "URL", false,
                "http://host:port[/path] where clients reach the instance; its address and port "
                "are announced (a host name is resolved once at start); required"},
    SettingInfo{"instance_id", "ID", false, "instance id (default <address>:<port>)"},
    SettingInfo{"weight", "N", false, "HAProxy weight 0..256 carried in heartbeats (default 100)"},
    SettingInfo{"tags", "TAG[,TAG]", true, "tags carried in heartbeats (at most 8)"},
    SettingInfo{"directory", "ADDR[:PORT]", true,
                "directory to heartbeat to; repeat (or comma-separate) for several "
                "(default 127.0.0.1:7400)"},
    SettingInfo{"key_file", "PATH", false,
                "cluster key file: heartbeats carry a MAC made with its primary key (reloaded on "
                "SIGHUP)"},
    SettingInfo{"health_check_url", "URL", false,
                "HTTP health check: GET this http:// URL; healthy if the status is expected"},
    SettingInfo{"expected_codes", "LIST", false,
                "HTTP statuses counted as healthy, e.g. 200-299,301 (default 200-299)"},
    SettingInfo{"tcp_check", "HOST:PORT", false,
                "TCP health check: healthy if a connection opens (check: tcp alone connects to "
                "the service_url address)"},
    SettingInfo{"exec_check", "COMMAND", false,
                "command health check: run with /bin/sh -c; healthy if it exits 0 in time"},
    SettingInfo{"check", "KIND", false,
                "http, tcp, exec or none (always healthy; for tests); default: the one whose "
                "setting is given"},
    SettingInfo{"check_timeout", "DURATION", false,
                "time limit of one check, 1ms..10m, e.g. 300ms, 2s (default 1s); an exec check's "
                "process group is killed after it"},
    SettingInfo{"period", "SECONDS", false,
                "seconds between heartbeats and between health checks, 1..3600 (default 1); a "
                "bare number, as in Baker Street's watson.conf"},
    SettingInfo{"interval", "DURATION", false,
                "the period as a duration, 50ms..1h, e.g. 100ms in tests; overrides period"},
    SettingInfo{
        "rise", "N", false,
        "consecutive passing checks to become healthy again (healthy_threshold; default 2)"},
    SettingInfo{"fall", "N", false,
                "consecutive failing checks to become unhealthy (unhealthy_threshold; default 3)"},
    SettingInfo{
        "jitter", "FRACTION", false,
        "heartbeat gaps are drawn from [(1-jitter) x period, period]; 0..0.5 (default 0.1)"},
    SettingInfo{"goodbye_count", "N", false,
                "Goodbye datagrams sent on leaving, 1..10 (default 3)"},
    SettingInfo{"goodbye_spacing", "DURATION", false,
                "time between those Goodbyes, 1ms..5s (default 100ms)"},
    SettingInfo{"draining", "", false,
                "start draining (heartbeats say draining; SIGUSR1 drains, SIGUSR2 undrains)"},
    SettingInfo{"drain_file", "PATH", false,
                "drain while this file exists (looked at every period)"},
    SettingInfo{"log_level", "LEVEL", false,
                "trace, debug, info, warn, error, critical or off (default info)"},
};

// Other names a file may use: Baker Street's and Envoy's.
constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kAliases = {{
    {"healthy_threshold", "rise"},
    {"unhealthy_threshold", "fall"},
    {"directories", "directory"},
    {"directory_host", "directory"},
    {"logging", "log_level"},
    {"timeout", "check_timeout"},
}};

std::string describe(std::string_view name, const SettingValue& v) {
  return std::string(name) + " (" + v.origin + ")";
}

std::string invalid(std::string_view name, const SettingValue& v, std::string_view value,
                    std::string_view why) {
  return "invalid " + describe(name, v) + " '" + std::string(value) + "': " + std::string(why);
}
// For the toolkit's parsers, whose messages start with the value quoted ("'5': ...").
std::string invalid(std::string_view name, const SettingValue& v, std::string_view quoted_why) {
  return "invalid " + describe(name, v) + " " + std::string(quoted_why);
}

std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    std::string cur;
    for (char c : v) {
      if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
        if (!cur.empty()) out.push_back(std::move(cur));
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
  }
  return out;
}

std::optional<unsigned long> parse_unsigned(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  unsigned long v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_decimal(std::string_view s) {
  // A plain non-negative decimal: digits, optionally '.' and digits.
  if (s.empty() || s.size() > 20) return std::nullopt;
  double whole = 0;
  double scale = 0;
  bool digits = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digits = true;
      if (scale == 0) {
        whole = whole * 10 + (c - '0');
      } else {
        whole += (c - '0') * scale;
        scale /= 10;
      }
    } else if (c == '.' && scale == 0) {
      scale = 0.1;
    } else {
      return std::nullopt;
    }
  }
  if (!digits) return std::nullopt;
  return whole;
}

// Baker Street's watson.conf `period`: seconds, a bare integer or decimal ("1", "2.5"); the one
// setting that keeps a bare number. A duration with a unit ("3s", "500ms") works too.
std::optional<milliseconds> parse_period(std::string_view text) {
  if (const auto seconds = parse_decimal(text)) {
    if (*seconds > 1e9) return std::nullopt;
    return milliseconds(static_cast<std::int64_t>(std::llround(*seconds * 1000)));
  }
  const auto d = parse_duration(text);
  if (!d) return std::nullopt;
  return std::chrono::duration_cast<milliseconds>(*d);
}

std::optional<bool> parse_bool(std::string_view s) {
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "" || lower == "1" || lower == "true" || lower == "yes" || lower == "on") {
    return true;
  }
  if (lower == "0" || lower == "false" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

// Baker Street's logging names (Python's) map onto spdlog's.
std::optional<std::string> parse_log_level(std::string_view s) {
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "warning") return "warn";
  static constexpr std::string_view kLevels[] = {"trace", "debug",    "info", "warn",
                                                 "error", "critical", "off"};
  for (auto l : kLevels) {
    if (lower == l) return lower;
  }
  return std::nullopt;
}

class Builder {
 public:
  explicit Builder(const Settings& s) : s_(s) {}

  const SettingValue* get(std::string_view name) const {
    const auto it = s_.find(std::string(name));
    return it == s_.end() || it->second.values.empty() ? nullptr : &it->second;
  }
  // The single value of a setting (the last, if a non-repeatable one was somehow given twice).
  std::optional<std::string> one(std::string_view name) const {
    const auto* v = get(name);
    if (!v) return std::nullopt;
    return v->values.back();
  }

  std::optional<std::string> unsigned_in(std::string_view name, unsigned long lo, unsigned long hi,
                                         unsigned long& out) const {
    const auto* v = get(name);
    if (!v) return std::nullopt;
    const auto n = parse_unsigned(v->values.back());
    if (!n || *n < lo || *n > hi) {
      return invalid(
          name, *v, v->values.back(),
          "must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
    }
    out = *n;
    return std::nullopt;
  }

  // A duration setting (common/duration.hpp's grammar) within [lo, hi], in whole milliseconds.
  std::optional<std::string> duration_in(std::string_view name, milliseconds lo, milliseconds hi,
                                         milliseconds& out) const {
    const auto* v = get(name);
    if (!v) return std::nullopt;
    std::string why;
    const auto d = parse_duration_within(v->values.back(), lo, hi, &why);
    if (!d) return invalid(name, *v, why);
    if (*d % milliseconds(1) != Duration::zero()) {
      return invalid(name, *v, v->values.back(), "must be whole milliseconds");
    }
    out = std::chrono::duration_cast<milliseconds>(*d);
    return std::nullopt;
  }

 private:
  const Settings& s_;
};

}  // namespace

std::span<const SettingInfo> all_settings() {
  return kSettings;
}

std::optional<std::string> canonical_setting_name(std::string_view written) {
  std::string name;
  for (char c : written) {
    name += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  for (const auto& [alias, canonical] : kAliases) {
    if (name == alias) return std::string(canonical);
  }
  if (find_setting(name)) return name;
  return std::nullopt;
}

const SettingInfo* find_setting(std::string_view canonical) {
  for (const auto& s : kSettings) {
    if (s.name == canonical) return &s;
  }
  return nullptr;
}

std::string HttpUrl::authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string a = v6 ? "[" + host + "]" : host;
  const std::uint16_t default_port = scheme == "https" ? 443 : 80;
  if (port != default_port) a += ":" + std::to_string(port);
  return a;
}

std::optional<HttpUrl> parse_http_url(std::string_view text, bool allow_https, std::string* error) {
  auto fail = [error](std::string why) -> std::optional<HttpUrl> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  HttpUrl url;
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    return fail("expected http://host:port[/path]");
  }
  std::string scheme;
  for (char c : text.substr(0, scheme_end)) {
    scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (scheme == "https" && !allow_https) return fail("https is not supported here, use http://");
  if (scheme != "http" && scheme != "https") {
    return fail("scheme '" + scheme + "' is not supported, use http://");
  }
  url.scheme = scheme;
  url.port = scheme == "https" ? 443 : 80;
  text.remove_prefix(scheme_end + 3);
  const auto path_start = text.find_first_of("/?#");
  std::string_view authority = text.substr(0, path_start);
  if (path_start != std::string_view::npos) {
    std::string_view rest = text.substr(path_start);
    rest = rest.substr(0, rest.find('#'));
    url.target = rest.empty() || rest.front() != '/' ? "/" + std::string(rest) : std::string(rest);
  }
  if (authority.find('@') != std::string_view::npos) return fail("user names are not supported");
  if (authority.empty()) return fail("missing host");
  std::string_view port_text;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("unterminated '[' in host");
    url.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected text after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) return fail("empty port");
    }
    if (!wire::IpAddress::parse(url.host)) return fail("'" + url.host + "' is not an IPv6 address");
  } else {
    const auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return fail("empty port");
    }
  }
  if (url.host.empty()) return fail("missing host");
  for (char c : url.host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' &&
        c != '_') {
      return fail("invalid character '" + std::string(1, c) + "' in host");
    }
  }
  if (!port_text.empty()) {
    const auto p = parse_unsigned(port_text);
    if (!p || *p < 1 || *p > 65535) {
      return fail("port '" + std::string(port_text) + "' is not in 1..65535");
    }
    url.port = static_cast<std::uint16_t>(*p);
  }
  return url;
}

std::optional<StatusRanges> parse_status_ranges(std::string_view text) {
  StatusRanges out;
  for (const auto& item : split_list({std::string(text)})) {
    const auto dash = item.find('-');
    const auto lo = parse_unsigned(std::string_view(item).substr(0, dash));
    const auto hi =
        dash == std::string::npos ? lo : parse_unsigned(std::string_view(item).substr(dash + 1));
    if (!lo || !hi || *lo < 100 || *hi > 599 || *lo > *hi) return std::nullopt;
    out.emplace_back(static_cast<int>(*lo), static_cast<int>(*hi));
  }
  if (out.empty()) return std::nullopt;
  return out;
}

bool status_matches(const StatusRanges& ranges, int status) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [status](const auto& r) { return status >= r.first && status <= r.second; });
}

std::string_view to_string(CheckKind k) noexcept {
  switch (k) {
    case CheckKind::none:
      return "none";
    case CheckKind::http:
      return "http";
    case CheckKind::tcp:
      return "tcp";
    case CheckKind::exec:
      return "exec";
  }
  return "?";
}

wire::Result<WatsonConfig, std::string> build_config(const Settings& settings) {
  for (const auto& [name, value] : settings) {
    if (!find_setting(name)) return "unknown setting '" + name + "' (" + value.origin + ")";
  }
  const Builder b(settings);
  WatsonConfig c;
  auto missing = [](std::string_view name) {
    std::string flag(name);
    std::replace(flag.begin(), flag.end(), '_', '-');
    return "missing " + std::string(name) + ": give --" + flag + " or '" + std::string(name) +
           ": ...' in the config file";
  };

  // Identity.
  const auto* name = b.get("service_name");
  if (!name) return missing("service_name");
  c.service_name = name->values.back();
  if (!wire::is_valid_service_name(c.service_name)) {
    return invalid("service_name", *name, c.service_name,
                   "must be 1..100 characters of a-z 0-9 _ -, starting with a-z or _");
  }
  const auto* url = b.get("service_url");
  if (!url) return missing("service_url");
  {
    std::string why;
    const auto parsed = parse_http_url(url->values.back(), /*allow_https=*/true, &why);
    if (!parsed) return invalid("service_url", *url, url->values.back(), why);
    c.service = *parsed;
  }
  if (const auto* id = b.get("instance_id")) {
    c.instance_id = id->values.back();
    if (!wire::is_valid_instance_id(c.instance_id)) {
      return invalid("instance_id", *id, c.instance_id,
                     "must be 1..64 characters of A-Z a-z 0-9 _ - . :");
    }
  }
  unsigned long n = 0;
  if (auto e = b.unsigned_in("weight", 0, wire::kMaxWeight, n)) return *e;
  if (b.get("weight")) c.weight = static_cast<std::uint16_t>(n);
  if (const auto* tags = b.get("tags")) {
    c.tags = split_list(tags->values);
    for (const auto& t : c.tags) {
      if (!wire::is_valid_tag(t)) {
        return invalid("tags", *tags, t,
                       "a tag is 1..64 printable ASCII characters without space or comma");
      }
    }
    if (c.tags.size() > wire::kMaxTags) {
      return invalid("tags", *tags, std::to_string(c.tags.size()) + " tags", "at most 8 allowed");
    }
  }

  // Directories.
  if (const auto* dirs = b.get("directory")) {
    c.directories.clear();
    for (const auto& d : split_list(dirs->values)) {
      std::string why;
      const auto hp = parse_host_port(d, {kDefaultDirectoryPort}, &why);
      if (!hp) return invalid("directory", *dirs, why);
      if (std::find(c.directories.begin(), c.directories.end(), *hp) == c.directories.end()) {
        c.directories.push_back(*hp);
      }
    }
    if (c.directories.empty()) return invalid("directory", *dirs, "", "no directory given");
  }
  if (auto k = b.one("key_file")) c.key_file = *k;

  // Health check.
  const auto* http = b.get("health_check_url");
  const auto* tcp = b.get("tcp_check");
  const auto* exec = b.get("exec_check");
  if (const auto* kind = b.get("check")) {
    const auto& k = kind->values.back();
    if (k == "http") {
      c.check = CheckKind::http;
      if (!http) return "check (" + kind->origin + ") is http but " + missing("health_check_url");
    } else if (k == "tcp") {
      c.check = CheckKind::tcp;
    } else if (k == "exec") {
      c.check = CheckKind::exec;
      if (!exec) return "check (" + kind->origin + ") is exec but " + missing("exec_check");
    } else if (k == "none") {
      c.check = CheckKind::none;
    } else {
      return invalid("check", *kind, k, "must be http, tcp, exec or none");
    }
  } else {
    std::vector<std::string> given;
    if (http) given.emplace_back("health_check_url");
    if (tcp) given.emplace_back("tcp_check");
    if (exec) given.emplace_back("exec_check");
    if (given.empty()) {
      return std::string(
          "missing health check: give health_check_url (HTTP GET), tcp_check, exec_check, or "
          "check: none");
    }
    if (given.size() > 1) {
      return "several health checks given (" + given[0] + ", " + given[1] +
             "): keep one, or choose with check: http|tcp|exec";
    }
    c.check = http ? CheckKind::http : tcp ? CheckKind::tcp : CheckKind::exec;
  }
  if (c.check == CheckKind::http) {
    std::string why;
    const auto parsed = parse_http_url(http->values.back(), /*allow_https=*/false, &why);
    if (!parsed) return invalid("health_check_url", *http, http->values.back(), why);
    c.health_check_url = *parsed;
  }
  if (const auto* codes = b.get("expected_codes")) {
    const auto r = parse_status_ranges(codes->values.back());
    if (!r) {
      return invalid("expected_codes", *codes, codes->values.back(),
                     "expected statuses or ranges within 100..599, e.g. 200-299,301");
    }
    c.expected_codes = *r;
  }
  if (c.check == CheckKind::tcp) {
    if (tcp) {
      std::string why;
      const auto hp = parse_host_port(tcp->values.back(), {}, &why);
      if (!hp) return invalid("tcp_check", *tcp, why);
      c.tcp_target = *hp;
    } else {
      c.tcp_target = HostPort{c.service.host, c.service.port};
    }
  }
  if (c.check == CheckKind::exec) {
    c.exec_command = exec->values.back();
    if (c.exec_command.empty()) return invalid("exec_check", *exec, "", "empty command");
  }
  if (auto e = b.duration_in("check_timeout", milliseconds(1), std::chrono::minutes(10),
                             c.check_timeout)) {
    return *e;
  }

  // Timing.
  if (const auto* p = b.get("period")) {
    const auto d = parse_period(p->values.back());
    if (!d) {
      return invalid("period", *p, p->values.back(), "expected seconds, e.g. 1, 2.5 or 3s");
    }
    if (*d < std::chrono::seconds(1)) {
      return invalid("period", *p, p->values.back(), "must be at least 1 second");
    }
    if (*d > milliseconds(wire::kMaxIntervalMs)) {
      return invalid("period", *p, p->values.back(), "must be at most 3600 seconds");
    }
    c.interval = *d;
  }
  if (auto e = b.duration_in("interval", milliseconds(wire::kMinIntervalMs),
                             milliseconds(wire::kMaxIntervalMs), c.interval)) {
    return *e;
  }
  if (auto e = b.unsigned_in("rise", 1, 100, n)) return *e;
  if (b.get("rise")) c.rise = static_cast<unsigned>(n);
  if (auto e = b.unsigned_in("fall", 1, 100, n)) return *e;
  if (b.get("fall")) c.fall = static_cast<unsigned>(n);
  if (const auto* j = b.get("jitter")) {
    const auto v = parse_decimal(j->values.back());
    if (!v || *v > 0.5) return invalid("jitter", *j, j->values.back(), "must be from 0 to 0.5");
    c.jitter = *v;
  }
  if (auto e = b.unsigned_in("goodbye_count", 1, 10, n)) return *e;
  if (b.get("goodbye_count")) c.goodbye_count = static_cast<unsigned>(n);
  if (auto e = b.duration_in("goodbye_spacing", milliseconds(1), std::chrono::seconds(5),
                             c.goodbye_spacing)) {
    return *e;
  }

  // Draining and logging.
  if (const auto* d = b.get("draining")) {
    const auto v = parse_bool(d->values.back());
    if (!v) return invalid("draining", *d, d->values.back(), "expected true or false");
    c.draining = *v;
  }
  if (auto f = b.one("drain_file")) c.drain_file = *f;
  if (const auto* l = b.get("log_level")) {
    const auto v = parse_log_level(l->values.back());
    if (!v) {
      return invalid("log_level", *l, l->values.back(),
                     "expected trace, debug, info, warn, error, critical or off");
    }
    c.log_level = *v;
  }
  return c;
}

}  // namespace baker::watson
