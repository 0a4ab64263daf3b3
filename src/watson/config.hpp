#pragma once
// watson's configuration: the settings (one table of names shared by flags and config file), their
// validation into a WatsonConfig, and the small parsers behind it. Pure: no files, no DNS.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/host_port.hpp"
#include "wire/result.hpp"

namespace baker::watson {

// One setting watson understands. The config file uses `name` (or with '-' for '_'); the flag is
// `--name` with '-' for '_'.
struct SettingInfo {
  std::string_view name;
  std::string_view value_name;  // for --help; empty for a switch
  bool repeatable;              // may be given several times (values accumulate)
  std::string_view help;
};
std::span<const SettingInfo> all_settings();
// Canonical name for a name as written in a file or flag ("service-name", "healthy_threshold",
// Baker Street's "directory_host" and "logging"...); nullopt if unknown.
std::optional<std::string> canonical_setting_name(std::string_view written);
const SettingInfo* find_setting(std::string_view canonical);

// A setting as given: its values and where they came from, for error messages.
struct SettingValue {
  std::vector<std::string> values;
  std::string origin;  // "--period", "watson.conf line 4"
};
using Settings = std::map<std::string, SettingValue>;  // canonical name -> value

struct HttpUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // as written (no brackets for IPv6)
  std::uint16_t port = 80;
  std::string target = "/";       // path and query
  std::string authority() const;  // host[:port] for the Host header
};
// "http://host[:port][/path]" (https only when allow_https). On failure returns nullopt and sets
// *error to what is wrong.
std::optional<HttpUrl> parse_http_url(std::string_view text, bool allow_https, std::string* error);

// HTTP statuses a health check accepts: "200-299", "200,204,301-302".
using StatusRanges = std::vector<std::pair<int, int>>;
std::optional<StatusRanges> parse_status_ranges(std::string_view text);
bool status_matches(const StatusRanges& ranges, int status);

enum class CheckKind : std::uint8_t { none, http, tcp, exec };
std::string_view to_string(CheckKind k) noexcept;

struct WatsonConfig {
  std::string service_name;
  HttpUrl service;          // service_url: the instance's address (host, resolved at start), port
  std::string instance_id;  // empty: "<address>:<port>" once the address is known
  std::uint16_t weight = 100;
  std::vector<std::string> tags;
  std::vector<HostPort> directories{{"127.0.0.1", 7400}};
  std::string key_file;

  CheckKind check = CheckKind::none;
  HttpUrl health_check_url;  // http
  StatusRanges expected_codes{{200, 299}};
  HostPort tcp_target;       // tcp; defaults to the service's host and port
  std::string exec_command;  // exec: run with /bin/sh -c
  std::chrono::milliseconds check_timeout{1000};

  std::chrono::milliseconds interval{1000};  // heartbeats and checks (period, or interval)
  unsigned rise = 2;
  unsigned fall = 3;
  double jitter = 0.1;
  unsigned goodbye_count = 3;
  std::chrono::milliseconds goodbye_spacing{100};

  bool draining = false;
  std::string drain_file;
  std::string log_level = "info";
};

inline constexpr std::uint16_t kDefaultDirectoryPort = 7400;

// Validates every setting; the error names the setting, the bad value and where it came from.
wire::Result<WatsonConfig, std::string> build_config(const Settings& settings);

}  // namespace baker::watson
