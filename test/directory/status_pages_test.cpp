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

}  // namespace
}  // namespace baker::directory::testing
