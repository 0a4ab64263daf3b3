#include "directory/status_pages.hpp"

#include <gtest/gtest.h>

#include "directory_test_support.hpp"
#include "metrics_check.hpp"

namespace baker::directory::testing {
namespace {

TEST(StatusPages, MetricsNameRoutesSubscribersRejectsAndWarmup) {
  DirectoryConfig c;
  ManualTimeSource clock;
  DirectoryCore core(c, 5, clock.now());
  core.on_datagram(heartbeat("web", "a", 1), kWatson, clock.now());
  core.on_datagram(wire::Tick{}, kWatson, clock.now());  // unexpected: a reject
  subscribe_with_cookie(core, subscribe(1), endpoint(1, 1), clock.now());
  ShellStats shell;
  shell.decode_errors[static_cast<int>(wire::DecodeError::bad_mac)] = 3;
  shell.kernel_drops = 7;
  shell.heartbeats_per_second = 1234;
  const std::string m = render_metrics(core, shell);
  EXPECT_NE(m.find("\nbaker_directory_routes 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("baker_directory_subscribers{delivery=\"unicast\"} 1\n"), std::string::npos);
  EXPECT_NE(m.find("baker_directory_warmup 1\n"), std::string::npos);
  EXPECT_NE(m.find("baker_directory_heartbeats_per_second 1234\n"), std::string::npos);
  EXPECT_NE(m.find("baker_directory_rejected_datagrams_total{reason=\"bad_mac\"} 3\n"),
            std::string::npos);
  EXPECT_NE(m.find("rejected_datagrams_total{reason=\"unexpected_message\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.find("rejected_datagrams_total{reason=\"receive_queue_overflow\"} 7\n"),
            std::string::npos);
  EXPECT_NE(m.find("# TYPE baker_directory_heartbeats_total counter\n"), std::string::npos);
  EXPECT_NE(m.find("baker_directory_snapshots_started_total 1\n"), std::string::npos);
  EXPECT_EQ(baker::testing::check_metrics(m), std::vector<std::string>{}) << m;
}

TEST(StatusPages, ReplayRuleRejectionsAndTombstonesAreCountedByReason) {
  DirectoryConfig c;
  c.warmup_max = 0s;
  ManualTimeSource clock;
  DirectoryCore core(c, 5, clock.now());
  core.set_wall_clock(kWallAtStart, clock.now());
  clock.advance(10s);
  const std::uint64_t wall = kWallAtStart + 10'000;
  core.on_datagram(stamped(heartbeat("web", "a", 1), wall), kWatson, clock.now());
  core.on_datagram(stamped(goodbye("web", "a", 7, 2), wall), kWatson, clock.now());
  core.on_datagram(stamped(heartbeat("web", "a", 1), wall), kWatson, clock.now());  // tombstoned
  core.on_datagram(stamped(heartbeat("web", "b", 1), wall - 60'000), kWatson, clock.now());
  const std::string m = render_metrics(core, ShellStats{});
  EXPECT_NE(m.find("rejected_datagrams_total{reason=\"tombstoned\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("rejected_datagrams_total{reason=\"stale_timestamp\"} 1\n"), std::string::npos);
  EXPECT_NE(m.find("rejected_datagrams_total{reason=\"before_start\"} 0\n"), std::string::npos);
  EXPECT_NE(m.find("\nbaker_directory_tombstones 1\n"), std::string::npos);
  EXPECT_NE(m.find("\nbaker_directory_tombstones_evicted_total 0\n"), std::string::npos);
  EXPECT_NE(m.find("\nbaker_directory_clock_warnings_total 1\n"), std::string::npos);
  EXPECT_EQ(baker::testing::check_metrics(m), std::vector<std::string>{}) << m;
}

TEST(StatusPages, RoutesAsJsonAllOrOneService) {
  DirectoryConfig c;
  c.miss_limit = 3;  // expires_in_ms below: 3 x 1000 - 500
  ManualTimeSource clock;
  DirectoryCore core(c, 0xabc, clock.now());
  auto hb = heartbeat("web", "a", 1);
  hb.route.tags = {"quote\"and\\slash"};
  core.on_datagram(hb, kWatson, clock.now());
  core.on_datagram(heartbeat("api", "b", 1), kWatson, clock.now());
  clock.advance(std::chrono::milliseconds(500));
  const std::string all = render_routes_json(core, "", clock.now());
  EXPECT_EQ(all.rfind("{\"epoch\":\"0000000000000abc\",\"seq\":2,\"warmup\":true,", 0), 0u) << all;
  EXPECT_NE(all.find("\"service\":\"web\",\"instance\":\"a\",\"address\":\"10.0.0.1\","
                     "\"port\":8080,\"weight\":100,\"state\":\"up\","
                     "\"tags\":[\"quote\\\"and\\\\slash\"],\"interval_ms\":1000,"
                     "\"expires_in_ms\":2500}"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("\"service\":\"api\""), std::string::npos);
  const std::string api = render_routes_json(core, "api", clock.now());
  EXPECT_EQ(api.find("\"service\":\"web\""), std::string::npos);
  EXPECT_NE(api.find("\"service\":\"api\""), std::string::npos);
  EXPECT_NE(api.find("\"truncated\":false"), std::string::npos);
  const std::string cut = render_routes_json(core, "", clock.now(), 1);
  EXPECT_NE(cut.find("\"truncated\":true"), std::string::npos) << cut;
  EXPECT_EQ(cut.find("\"service\":\"api\""), std::string::npos);
}

TEST(StatusPages, RoutesJsonEscapesControlCharacters) {
  ManualTimeSource clock;
  DirectoryCore core(DirectoryConfig{}, 1, clock.now());
  auto hb = heartbeat("web", "a", 1);
  hb.route.tags = {
      std::string("tab\tnew\nline\x01"
                  "end")};
  core.on_datagram(hb, kWatson, clock.now());
  const std::string all = render_routes_json(core, "", clock.now());
  EXPECT_NE(all.find("\"tags\":[\"tab\\tnew\\nline\\u0001end\"]"), std::string::npos) << all;
}

// The number of <tr> rows of the table with this class (its header included).
std::size_t table_rows(const std::string& page, const std::string& css_class) {
  const auto start = page.find("<table class=\"" + css_class + "\">");
  if (start == std::string::npos) return 0;
  const auto end = page.find("</table>", start);
  std::size_t rows = 0;
  for (auto at = page.find("<tr>", start); at < end; at = page.find("<tr>", at + 1)) ++rows;
  return rows;
}

TEST(StatusPage, ShowsServicesInstancesSubscribersWarmupAndRejects) {
  DirectoryConfig c;
  c.miss_limit = 3;
  ManualTimeSource clock;
  DirectoryCore core(c, 0xabc, clock.now());
  auto hb = heartbeat("web", "a", 1);
  hb.route.tags = {"<img src=x>", "v2"};  // from the network: escaped, never markup
  hb.route.weight = 42;
  core.on_datagram(hb, kWatson, clock.now());
  core.on_datagram(heartbeat("web", "b", 1, 7, 1000, 8081), kWatson, clock.now());
  core.on_datagram(heartbeat("api", "c", 1), kWatson, clock.now());
  subscribe_with_cookie(core, subscribe(0x77, {"web"}), endpoint(3, 4000), clock.now());
  core.on_datagram(wire::Tick{}, kWatson, clock.now());  // unexpected: a reject
  clock.advance(std::chrono::milliseconds(500));
  ShellStats shell;
  shell.decode_errors[static_cast<int>(wire::DecodeError::bad_mac)] = 3;

  const auto reply = render_status_page(core, shell, "/", clock.now());
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "text/html; charset=utf-8");
  const auto& p = reply.body;
  EXPECT_NE(p.find("Warming up after start"), std::string::npos) << p;
  EXPECT_NE(p.find("<a href=\"/?service=web\">web</a></td><td class=\"n\">2</td>"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find("<a href=\"/?service=api\">api</a></td><td class=\"n\">1</td>"),
            std::string::npos);
  EXPECT_EQ(table_rows(p, "instances"), 4u);  // header + 3
  EXPECT_NE(p.find("<td>web</td><td>a</td><td>10.0.0.1:8080</td><td><span class=\"up\">up</span>"
                   "</td><td class=\"n\">42</td><td>&lt;img src=x&gt;, v2</td>"),
            std::string::npos)
      << p;
  EXPECT_EQ(p.find("<img"), std::string::npos);
  // Heard 500 ms ago; expires 3 x 1 s after it.
  EXPECT_NE(p.find("<td>500ms ago</td><td>2.5s</td>"), std::string::npos) << p;
  // The subscriber: its address, id, delivery, filter, lag, renewal.
  EXPECT_NE(p.find("<td>127.0.0.3:4000</td><td><code>0000000000000077</code></td><td>unicast</td>"
                   "<td>web</td>"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find("<td>500ms ago</td><td>14.5s</td>"), std::string::npos) << p;  // lease 15 s
  EXPECT_NE(p.find("<td>bad_mac</td><td class=\"n\">3</td>"), std::string::npos) << p;
  EXPECT_NE(p.find("<td>unexpected_message</td><td class=\"n\">1</td>"), std::string::npos);

  // A renewal that says it applied seq 1 of this epoch (the table is at 3): lag 2 at renewal.
  clock.advance(std::chrono::milliseconds(200));
  subscribe_with_cookie(core, subscribe(0x77, {"web"}, 0xabc, 1), endpoint(3, 4000), clock.now());
  clock.advance(std::chrono::milliseconds(100));
  const auto renewed = render_status_page(core, shell, "/", clock.now()).body;
  EXPECT_NE(renewed.find("<td>web</td><td class=\"n\">2</td><td>100ms ago</td><td>14.9s</td>"),
            std::string::npos)
      << renewed;

  const auto api = render_status_page(core, shell, "/?service=api", clock.now());
  EXPECT_EQ(table_rows(api.body, "instances"), 2u);
  EXPECT_NE(api.body.find("Instances of api"), std::string::npos);
}

TEST(StatusPage, InstancesArePagedAndBadPageNumbersRefused) {
  DirectoryConfig c;
  c.warmup_max = 0s;
  ManualTimeSource clock;
  DirectoryCore core(c, 1, clock.now());
  const std::size_t n = kInstancesPerPage * 2 + 5;
  for (std::size_t i = 0; i < n; ++i) {
    core.on_datagram(heartbeat("web", "i" + std::to_string(i), 1), kWatson, clock.now());
  }
  const auto first = render_status_page(core, ShellStats{}, "/", clock.now()).body;
  EXPECT_EQ(table_rows(first, "instances"), kInstancesPerPage + 1);
  EXPECT_NE(first.find("Instances 1-200 of 405 (page 1 of 3)"), std::string::npos) << first;
  EXPECT_NE(first.find("<a href=\"/?page=2\">next</a>"), std::string::npos);
  EXPECT_EQ(first.find("previous"), std::string::npos);
  EXPECT_EQ(first.find("Warming up"), std::string::npos);

  const auto last = render_status_page(core, ShellStats{}, "/?page=3", clock.now()).body;
  EXPECT_EQ(table_rows(last, "instances"), 6u);
  EXPECT_NE(last.find("Instances 401-405 of 405 (page 3 of 3)"), std::string::npos) << last;
  EXPECT_EQ(last.find(">next<"), std::string::npos);

  const auto beyond = render_status_page(core, ShellStats{}, "/?page=999999", clock.now());
  EXPECT_EQ(beyond.status, 200);
  EXPECT_EQ(table_rows(beyond.body, "instances"), 1u);  // an empty page, not an error

  for (const char* bad : {"/?page=0", "/?page=-3", "/?page=x", "/?page=99999999999"}) {
    EXPECT_EQ(render_status_page(core, ShellStats{}, bad, clock.now()).status, 400) << bad;
  }
}

}  // namespace
}  // namespace baker::directory::testing
