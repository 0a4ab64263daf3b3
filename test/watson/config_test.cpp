#include "watson/config.hpp"

#include <gtest/gtest.h>

namespace baker::watson {
namespace {

using namespace std::chrono_literals;

Settings base() {
  Settings s;
  s["service_name"] = {{"greeting"}, "--service-name"};
  s["service_url"] = {{"http://10.0.0.5:8080"}, "--service-url"};
  s["health_check_url"] = {{"http://10.0.0.5:8080/health"}, "--health-check-url"};
  return s;
}

std::string error_of(const Settings& s) {
  const auto r = build_config(s);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.error();
}

TEST(Config, MinimalConfigGetsTheDefaults) {
  const auto r = build_config(base());
  ASSERT_TRUE(r.ok()) << r.error();
  const auto& c = r.value();
  EXPECT_EQ(c.service_name, "greeting");
  EXPECT_EQ(c.service.host, "10.0.0.5");
  EXPECT_EQ(c.service.port, 8080);
  EXPECT_EQ(c.check, CheckKind::http);
  EXPECT_EQ(c.health_check_url.target, "/health");
  EXPECT_EQ(c.interval, 1000ms);
  EXPECT_EQ(c.rise, 2u);
  EXPECT_EQ(c.fall, 3u);
  EXPECT_EQ(c.weight, 100);
  ASSERT_EQ(c.directories.size(), 1u);
  EXPECT_EQ(c.directories[0], (HostPort{"127.0.0.1", 7400}));
  EXPECT_TRUE(c.instance_id.empty());
  EXPECT_EQ(c.expected_codes, (StatusRanges{{200, 299}}));
  EXPECT_FALSE(c.draining);
}

TEST(Config, MissingFieldsAreNamed) {
  auto s = base();
  s.erase("service_name");
  EXPECT_NE(error_of(s).find("missing service_name"), std::string::npos);
  s = base();
  s.erase("service_url");
  EXPECT_NE(error_of(s).find("missing service_url"), std::string::npos);
  s = base();
  s.erase("health_check_url");
  EXPECT_NE(error_of(s).find("missing health check"), std::string::npos);
}

TEST(Config, BadServiceNameIsNamedWithItsOrigin) {
  auto s = base();
  s["service_name"] = {{"Greeting!"}, "watson.conf line 3"};
  const auto e = error_of(s);
  EXPECT_NE(e.find("service_name"), std::string::npos) << e;
  EXPECT_NE(e.find("watson.conf line 3"), std::string::npos) << e;
  EXPECT_NE(e.find("Greeting!"), std::string::npos) << e;
}

TEST(Config, BadUrlsAreRejected) {
  for (const char* bad : {"10.0.0.5:8080", "ftp://x:1", "http://", "http://x:0", "http://x:70000",
                          "http://x:abc", "http://user@x:80", "http://[::1:80"}) {
    auto s = base();
    s["service_url"] = {{bad}, "--service-url"};
    EXPECT_NE(error_of(s).find("invalid service_url"), std::string::npos) << bad;
  }
  auto s = base();
  s["health_check_url"] = {{"https://10.0.0.5/health"}, "--health-check-url"};
  EXPECT_NE(error_of(s).find("https is not supported"), std::string::npos);
}

TEST(Config, PeriodBelowOneSecondIsRejectedButTheTestingKnobGoesTo50Ms) {
  auto s = base();
  s["period"] = {{"0.5"}, "watson.conf line 4"};
  auto e = error_of(s);
  EXPECT_NE(e.find("period"), std::string::npos);
  EXPECT_NE(e.find("at least 1 second"), std::string::npos);
  s["period"] = {{"500ms"}, "--period"};
  EXPECT_NE(error_of(s).find("at least 1 second"), std::string::npos);
  s["period"] = {{"fast"}, "--period"};
  EXPECT_NE(error_of(s).find("invalid period"), std::string::npos);
  s["period"] = {{"2.5"}, "--period"};
  EXPECT_EQ(build_config(s).value().interval, 2500ms);
  s["period"] = {{"3"}, "--period"};
  EXPECT_EQ(build_config(s).value().interval, 3000ms);

  s["period"] = {{"2s"}, "--period"};
  EXPECT_EQ(build_config(s).value().interval, 2000ms) << "a unit is fine too";

  s = base();
  s["interval"] = {{"49ms"}, "--interval"};
  EXPECT_EQ(error_of(s), "invalid interval (--interval) '49ms': must be from 50ms to 1h");
  s["interval"] = {{"50"}, "--interval"};
  EXPECT_EQ(error_of(s),
            "invalid interval (--interval) '50': a duration needs a unit: 250ms, 2s, 1m");
  s["interval"] = {{"50ms"}, "--interval"};
  EXPECT_EQ(build_config(s).value().interval, 50ms);
  s["interval"] = {{"1.5s"}, "--interval"};
  EXPECT_EQ(build_config(s).value().interval, 1500ms);
  s["interval"] = {{"100.5ms"}, "--interval"};
  EXPECT_NE(error_of(s).find("whole milliseconds"), std::string::npos);
}

TEST(Config, ChecksAreInferredOrChosen) {
  auto s = base();
  s.erase("health_check_url");
  s["tcp_check"] = {{"127.0.0.1:9000"}, "--tcp-check"};
  auto c = build_config(s).value();
  EXPECT_EQ(c.check, CheckKind::tcp);
  EXPECT_EQ(c.tcp_target, (HostPort{"127.0.0.1", 9000}));

  s.erase("tcp_check");
  s["check"] = {{"tcp"}, "--check"};
  c = build_config(s).value();
  EXPECT_EQ(c.tcp_target, (HostPort{"10.0.0.5", 8080})) << "defaults to the service address";

  s["check"] = {{"none"}, "--check"};
  EXPECT_EQ(build_config(s).value().check, CheckKind::none);

  s["check"] = {{"exec"}, "--check"};
  EXPECT_NE(error_of(s).find("missing exec_check"), std::string::npos);
  s["exec_check"] = {{"true"}, "--exec-check"};
  c = build_config(s).value();
  EXPECT_EQ(c.check, CheckKind::exec);
  EXPECT_EQ(c.exec_command, "true");

  s["check"] = {{"ping"}, "--check"};
  EXPECT_NE(error_of(s).find("invalid check"), std::string::npos);

  s = base();
  s["exec_check"] = {{"true"}, "--exec-check"};
  EXPECT_NE(error_of(s).find("several health checks"), std::string::npos);
  s["check"] = {{"http"}, "--check"};
  EXPECT_EQ(build_config(s).value().check, CheckKind::http) << "check chooses among several";
}

TEST(Config, WeightTagsDirectoriesAndInstance) {
  auto s = base();
  s["weight"] = {{"0"}, "--weight"};
  s["tags"] = {{"v2,zone-a", "canary"}, "--tags"};
  s["directory"] = {{"10.0.0.1:7400, 10.0.0.2", "[::1]:7500", "10.0.0.1:7400"}, "--directory"};
  s["instance_id"] = {{"greeting-1"}, "--instance-id"};
  const auto r = build_config(s);
  ASSERT_TRUE(r.ok()) << r.error();
  const auto& c = r.value();
  EXPECT_EQ(c.weight, 0);
  EXPECT_EQ(c.tags, (std::vector<std::string>{"v2", "zone-a", "canary"}));
  ASSERT_EQ(c.directories.size(), 3u) << "duplicates collapse";
  EXPECT_EQ(c.directories[1], (HostPort{"10.0.0.2", 7400}));
  EXPECT_EQ(c.directories[2], (HostPort{"::1", 7500}));
  EXPECT_EQ(c.instance_id, "greeting-1");

  s["weight"] = {{"257"}, "--weight"};
  EXPECT_NE(error_of(s).find("invalid weight"), std::string::npos);
  s = base();
  s["tags"] = {{"a,b,c,d,e,f,g,h,i"}, "--tags"};
  EXPECT_NE(error_of(s).find("at most 8"), std::string::npos);
  s = base();
  s["instance_id"] = {{"has space"}, "--instance-id"};
  EXPECT_NE(error_of(s).find("invalid instance_id"), std::string::npos);
  s = base();
  s["directory"] = {{"10.0.0.1:99999"}, "--directory"};
  EXPECT_NE(error_of(s).find("invalid directory"), std::string::npos);
}

TEST(Config, TimingKnobsAndTheirBounds) {
  auto s = base();
  s["rise"] = {{"5"}, "--rise"};
  s["fall"] = {{"1"}, "--fall"};
  s["check_timeout"] = {{"300ms"}, "--check-timeout"};
  s["jitter"] = {{"0.2"}, "--jitter"};
  s["goodbye_count"] = {{"5"}, "--goodbye-count"};
  s["goodbye_spacing"] = {{"20ms"}, "--goodbye-spacing"};
  s["expected_codes"] = {{"200,204,301-302"}, "--expected-codes"};
  s["log_level"] = {{"WARNING"}, "logging"};
  s["draining"] = {{"yes"}, "draining"};
  const auto c = build_config(s).value();
  EXPECT_EQ(c.rise, 5u);
  EXPECT_EQ(c.fall, 1u);
  EXPECT_EQ(c.check_timeout, 300ms);
  EXPECT_DOUBLE_EQ(c.jitter, 0.2);
  EXPECT_EQ(c.goodbye_count, 5u);
  EXPECT_EQ(c.goodbye_spacing, 20ms);
  EXPECT_EQ(c.expected_codes, (StatusRanges{{200, 200}, {204, 204}, {301, 302}}));
  EXPECT_EQ(c.log_level, "warn");
  EXPECT_TRUE(c.draining);

  for (auto [name, value] :
       std::vector<std::pair<const char*, const char*>>{{"rise", "0"},
                                                        {"fall", "-1"},
                                                        {"check_timeout", "0s"},
                                                        {"check_timeout", "2"},
                                                        {"check_timeout", "11m"},
                                                        {"jitter", "0.7"},
                                                        {"goodbye_count", "0"},
                                                        {"goodbye_spacing", "9999ms"},
                                                        {"goodbye_spacing", "20"},
                                                        {"expected_codes", "200-100"},
                                                        {"expected_codes", "99"},
                                                        {"log_level", "loud"},
                                                        {"draining", "maybe"}}) {
    auto bad = base();
    bad[name] = {{value}, "x"};
    EXPECT_NE(error_of(bad).find(std::string("invalid ") + name), std::string::npos)
        << name << "=" << value;
  }
}

TEST(Config, UnknownSettingIsAnError) {
  auto s = base();
  s["colour"] = {{"blue"}, "--colour"};
  EXPECT_NE(error_of(s).find("unknown setting 'colour'"), std::string::npos);
}

TEST(Config, SettingNamesAndAliases) {
  EXPECT_EQ(canonical_setting_name("service-name"), "service_name");
  EXPECT_EQ(canonical_setting_name("SERVICE_NAME"), "service_name");
  EXPECT_EQ(canonical_setting_name("healthy_threshold"), "rise");
  EXPECT_EQ(canonical_setting_name("unhealthy-threshold"), "fall");
  EXPECT_EQ(canonical_setting_name("directory_host"), "directory");
  EXPECT_EQ(canonical_setting_name("directories"), "directory");
  EXPECT_EQ(canonical_setting_name("logging"), "log_level");
  EXPECT_FALSE(canonical_setting_name("colour").has_value());
  for (const auto& s : all_settings()) EXPECT_EQ(canonical_setting_name(s.name), s.name);
}

TEST(Config, UrlParsing) {
  std::string why;
  auto u = parse_http_url("http://localhost:9000/foobar?x=1#frag", false, &why);
  ASSERT_TRUE(u) << why;
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 9000);
  EXPECT_EQ(u->target, "/foobar?x=1");
  EXPECT_EQ(u->authority(), "localhost:9000");
  u = parse_http_url("HTTP://10.0.0.1", false, &why);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->authority(), "10.0.0.1");
  u = parse_http_url("http://[::1]:8080/h", false, &why);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->authority(), "[::1]:8080");
  u = parse_http_url("https://example.com", true, &why);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 443);
}

TEST(Config, StatusRanges) {
  const auto r = parse_status_ranges("200-299,404");
  ASSERT_TRUE(r);
  EXPECT_TRUE(status_matches(*r, 200));
  EXPECT_TRUE(status_matches(*r, 299));
  EXPECT_TRUE(status_matches(*r, 404));
  EXPECT_FALSE(status_matches(*r, 300));
  EXPECT_FALSE(status_matches(*r, 503));
}

}  // namespace
}  // namespace baker::watson
