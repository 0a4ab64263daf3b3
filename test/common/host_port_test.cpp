#include "common/host_port.hpp"

#include <gtest/gtest.h>

namespace baker {
namespace {

std::string error_of(std::string_view text, const HostPortRules& rules = {}) {
  std::string error;
  EXPECT_FALSE(parse_host_port(text, rules, &error)) << text;
  return error;
}

TEST(HostPort, HostPortAndBracketedIpv6) {
  EXPECT_EQ(parse_host_port("127.0.0.1:7400"), (HostPort{"127.0.0.1", 7400}));
  EXPECT_EQ(parse_host_port("dir-1.example_lan:1"), (HostPort{"dir-1.example_lan", 1}));
  EXPECT_EQ(parse_host_port("[::1]:7400"), (HostPort{"::1", 7400}));
  EXPECT_EQ(parse_host_port("[fe80::1]:65535"), (HostPort{"fe80::1", 65535}));
}

TEST(HostPort, DefaultPort) {
  const HostPortRules rules{7400};
  EXPECT_EQ(parse_host_port("a:1", rules), (HostPort{"a", 1}));
  EXPECT_EQ(parse_host_port("a", rules), (HostPort{"a", 7400}));
  EXPECT_EQ(parse_host_port("::1", rules), (HostPort{"::1", 7400}));
  EXPECT_EQ(parse_host_port("[::1]", rules), (HostPort{"::1", 7400}));
  EXPECT_EQ(parse_host_port("[fe80::1]:9", rules), (HostPort{"fe80::1", 9}));
  EXPECT_NE(error_of("a").find("missing port; expected HOST:PORT or [IPv6]:PORT"),
            std::string::npos);
  EXPECT_NE(error_of("a:", rules).find("port '' is not a number 1..65535"), std::string::npos);
}

TEST(HostPort, ZeroOnlyWhenAllowed) {
  EXPECT_NE(error_of("127.0.0.1:0").find("1..65535"), std::string::npos);
  HostPortRules any;
  any.allow_zero = true;
  EXPECT_EQ(parse_host_port("0.0.0.0:0", any), (HostPort{"0.0.0.0", 0}));
}

TEST(HostPort, NumericRefusesNames) {
  HostPortRules numeric;
  numeric.numeric = true;
  EXPECT_EQ(parse_host_port("10.0.0.1:80", numeric), (HostPort{"10.0.0.1", 80}));
  EXPECT_EQ(parse_host_port("[::1]:80", numeric), (HostPort{"::1", 80}));
  EXPECT_NE(error_of("localhost:7400", numeric).find("'localhost' is not a numeric IP address"),
            std::string::npos);
  EXPECT_NE(error_of("999.1.1.1:1", numeric).find("not a numeric IP address"), std::string::npos);
}

TEST(HostPort, ClearErrors) {
  EXPECT_EQ(error_of(""), "'': expected HOST:PORT or [IPv6]:PORT");
  EXPECT_NE(error_of("::1:7400").find("an IPv6 address needs brackets, e.g. [::1]:7400"),
            std::string::npos);
  EXPECT_NE(error_of("[::1:7400").find("unterminated '['"), std::string::npos);
  EXPECT_NE(error_of("[::1]7400").find("unexpected text after ']'"), std::string::npos);
  EXPECT_NE(error_of("[1.2.3.4]:80").find("not an IPv6 address"), std::string::npos);
  EXPECT_NE(error_of(":7400").find("missing host"), std::string::npos);
  EXPECT_NE(error_of("a b:1").find("invalid character ' ' in host"), std::string::npos);
  EXPECT_NE(error_of("a:70000").find("port '70000' is not a number 1..65535"), std::string::npos);
  EXPECT_NE(error_of("a:-1").find("port '-1'"), std::string::npos);
  EXPECT_NE(error_of("a:123456").find("port '123456'"), std::string::npos);
  EXPECT_NE(error_of("a:1x").find("port '1x'"), std::string::npos);
}

TEST(HostPort, ToStringReadsBack) {
  EXPECT_EQ((HostPort{"::1", 7400}).to_string(), "[::1]:7400");
  EXPECT_EQ((HostPort{"10.0.0.1", 80}).to_string(), "10.0.0.1:80");
  for (const auto& hp : {HostPort{"::1", 7400}, HostPort{"host", 1}}) {
    EXPECT_EQ(parse_host_port(hp.to_string()), hp);
  }
}

TEST(HostPort, PortAlone) {
  EXPECT_EQ(parse_port("7400"), 7400);
  EXPECT_FALSE(parse_port("0"));
  EXPECT_EQ(parse_port("0", /*allow_zero=*/true), 0);
  EXPECT_FALSE(parse_port("65536"));
  EXPECT_FALSE(parse_port(""));
  EXPECT_FALSE(parse_port("+1"));
}

}  // namespace
}  // namespace baker
