#pragma once
// The one host:port grammar of every flag and config setting: "HOST:PORT", "[IPv6]:PORT", and,
// where a default port applies, "HOST", "[IPv6]" or a bare IPv6 address. HOST is a name or an IPv4
// address (letters, digits, '.', '-', '_'); a bare IPv6 address cannot carry a port (brackets).
// Pure: no resolving; callers that take names resolve them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace baker {

struct HostPort {
  std::string host;  // as written, IPv6 without brackets
  std::uint16_t port = 0;
  // "host:port", or "[v6]:port" (the form parse_host_port reads back).
  std::string to_string() const;
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

struct HostPortRules {
  std::optional<std::uint16_t> default_port;  // the port when the text names none
  bool allow_zero = false;                    // port 0: "any free port"
  bool numeric = false;                       // HOST must be an IP address, not a name
};

// On error returns nullopt and sets *error to a message quoting the text and saying what is
// wrong, e.g. "'localhost:7400': expected a numeric IP address (IPv6 in brackets: [::1]:7400)".
std::optional<HostPort> parse_host_port(std::string_view text, const HostPortRules& rules = {},
                                        std::string* error = nullptr);

// "7400" -> 7400: a port alone, 1..65535 (0 too when allow_zero).
std::optional<std::uint16_t> parse_port(std::string_view text, bool allow_zero = false);

}  // namespace baker
