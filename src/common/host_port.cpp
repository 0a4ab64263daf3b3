#include "common/host_port.hpp"

#include <algorithm>

#include "wire/address.hpp"

namespace baker {
namespace {

std::optional<HostPort> fail(std::string* error, std::string_view text, const std::string& why) {
  if (error) *error = "'" + std::string(text) + "': " + why;
  return std::nullopt;
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

std::string expected_forms(const HostPortRules& rules) {
  const std::string host = rules.numeric ? "ADDR" : "HOST";
  return rules.default_port ? "expected " + host + "[:PORT] or [IPv6][:PORT]"
                            : "expected " + host + ":PORT or [IPv6]:PORT";
}

}  // namespace

std::string HostPort::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<std::uint16_t> parse_port(std::string_view text, bool allow_zero) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned long p = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    p = p * 10 + static_cast<unsigned long>(c - '0');
  }
  if (p > 65535 || (p == 0 && !allow_zero)) return std::nullopt;
  return static_cast<std::uint16_t>(p);
}

std::optional<HostPort> parse_host_port(std::string_view text, const HostPortRules& rules,
                                        std::string* error) {
  if (text.empty()) return fail(error, text, expected_forms(rules));
  std::string_view host;
  std::optional<std::string_view> port_text;
  bool bracketed = false;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return fail(error, text, "unterminated '['");
    bracketed = true;
    host = text.substr(1, close - 1);
    const auto after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail(error, text, "unexpected text after ']'");
      port_text = after.substr(1);
    }
  } else if (const auto colons = std::count(text.begin(), text.end(), ':'); colons == 1) {
    const auto colon = text.find(':');
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  } else if (colons > 1) {
    // A bare IPv6 address: it cannot carry a port without brackets.
    if (!rules.default_port || !wire::IpAddress::parse(text)) {
      return fail(error, text, "an IPv6 address needs brackets, e.g. [::1]:7400");
    }
    host = text;
    bracketed = true;
  } else {
    host = text;
  }

  if (host.empty()) return fail(error, text, "missing host; " + expected_forms(rules));
  if (bracketed) {
    const auto a = wire::IpAddress::parse(host);
    if (!a || a->family != wire::IpAddress::Family::v6) {
      return fail(error, text, "'" + std::string(host) + "' is not an IPv6 address");
    }
  } else {
    for (const char c : host) {
      if (!name_char(c)) {
        return fail(
            error, text,
            "invalid character '" + std::string(1, c) + "' in host; " + expected_forms(rules));
      }
    }
    if (rules.numeric && !wire::IpAddress::parse(host)) {
      return fail(error, text,
                  "'" + std::string(host) +
                      "' is not a numeric IP address (names are not taken here; IPv6 in "
                      "brackets: [::1]:7400)");
    }
  }

  HostPort out{std::string(host), 0};
  if (!port_text) {
    if (!rules.default_port) return fail(error, text, "missing port; " + expected_forms(rules));
    out.port = *rules.default_port;
    return out;
  }
  const auto port = parse_port(*port_text, rules.allow_zero);
  if (!port) {
    return fail(error, text,
                "port '" + std::string(*port_text) + "' is not a number " +
                    (rules.allow_zero ? "0..65535 (0: any free port)" : "1..65535"));
  }
  out.port = *port;
  return out;
}

}  // namespace baker
