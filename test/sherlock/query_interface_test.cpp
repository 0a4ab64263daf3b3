#include "sherlock/query_interface.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include "metrics_check.hpp"
#include "scripted_directory.hpp"
#include "wire/codec.hpp"

namespace baker::sherlock {
namespace {

using namespace std::chrono_literals;
using testing::make_route;
using testing::ScriptedDirectory;

class QueryInterfaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ReplicaConfig c;
    c.subscriber_id = 9;
    c.name = "10.1.1.1:7400";
    streams = std::make_unique<DirectoryStreams>(std::vector<ReplicaConfig>{c},
                                                 std::vector<std::string>{});
    dir.subscriber_id = 9;
    dir.set(make_route("api", "b", 2));
    auto a = make_route("api", "a", 1);
    a.tags = {"zone=\"x\"", "v\\2"};
    a.state = wire::InstanceState::draining;
    dir.set(a);
    dir.set(make_route("web", "w", 3));
    const auto sub = streams->start(0, now);
    for (const auto& m : dir.answer(sub[0])) streams->on_message(0, m, now);
    streams->take_changes();
  }
  HttpReply get(const std::string& path) {
    return handle_query(path, *streams, stats, now + 1500ms, nullptr);
  }

  ScriptedDirectory dir{0xABC};
  std::unique_ptr<DirectoryStreams> streams;
  ReceiveStats stats;
  TimePoint now = TimePoint{} + 1h;
};

TEST_F(QueryInterfaceTest, RoutesListsEveryServiceSortedWithEscapedTags) {
  const auto r = get("/routes");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body,
            "{\"api\":[{\"instance\":\"a\",\"address\":\"10.0.0.1\",\"port\":8001,\"weight\":100,"
            "\"state\":\"draining\",\"tags\":[\"zone=\\\"x\\\"\",\"v\\\\2\"]},"
            "{\"instance\":\"b\",\"address\":\"10.0.0.2\",\"port\":8002,\"weight\":100,"
            "\"state\":\"up\",\"tags\":[\"v1\"]}],"
            "\"web\":[{\"instance\":\"w\",\"address\":\"10.0.0.3\",\"port\":8003,\"weight\":100,"
            "\"state\":\"up\",\"tags\":[\"v1\"]}]}\n");
}

TEST_F(QueryInterfaceTest, OneServiceOrNotFound) {
  const auto r = get("/routes/web");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.rfind("{\"web\":[{\"instance\":\"w\"", 0), 0u) << r.body;
  EXPECT_EQ(get("/routes/nope").status, 404);
  EXPECT_EQ(get("/routes/Bad%20Name").status, 404);
  EXPECT_EQ(get("/elsewhere").status, 404);
  EXPECT_EQ(get("/routes?pretty=1").status, 200);
}

TEST_F(QueryInterfaceTest, NotFoundEchoesTheServiceEscaped) {
  const auto r = get(std::string("/routes/a\x01\"b\n"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"error\":\"no routes for service\",\"service\":\"a\\u0001\\\"b\\n\"}\n");
}

TEST_F(QueryInterfaceTest, DigestMatchesTheDirectorys) {
  const auto r = get("/digest");
  EXPECT_EQ(r.status, 200);
  char digest[17];
  std::snprintf(digest, sizeof digest, "%016llx", static_cast<unsigned long long>(dir.digest()));
  const std::string fields = "\"epoch\":\"0000000000000abc\",\"seq\":3,\"digest\":\"" +
                             std::string(digest) +
                             "\",\"routes\":3,\"synced\":true,\"warmup\":false,"
                             "\"reachable\":true";
  // One directory: its fields at the top as before, and in the list of streams.
  EXPECT_EQ(r.body, "{" + fields +
                        ",\"disputed\":0,\"directories\":[{\"directory\":\"10.1.1.1:7400\"," +
                        fields + ",\"live\":true}]}\n");
}

TEST_F(QueryInterfaceTest, MetricsInPrometheusTextFormat) {
  stats.rejects[static_cast<std::size_t>(wire::DecodeError::bad_mac)] = 4;
  const auto r = get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("# TYPE baker_sherlock_routes gauge\nbaker_sherlock_routes 3\n"),
            std::string::npos);
  const std::string d = "{directory=\"10.1.1.1:7400\"}";
  EXPECT_NE(r.body.find("baker_sherlock_snapshots_applied_total" + d + " 1\n"), std::string::npos);
  EXPECT_NE(r.body.find("baker_sherlock_directory_reachable" + d + " 1\n"), std::string::npos);
  EXPECT_NE(r.body.find("baker_sherlock_directory_live" + d + " 1\n"), std::string::npos);
  EXPECT_NE(r.body.find("baker_sherlock_directory_last_datagram_seconds" + d + " 1.5\n"),
            std::string::npos);
  EXPECT_NE(r.body.find("baker_sherlock_decode_rejects_total{reason=\"bad_mac\"} 4\n"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("baker_sherlock_nacks_sent_total" + d + " 0\n"), std::string::npos);
  EXPECT_NE(r.body.find("baker_sherlock_ignored_datagrams_total{directory=\"10.1.1.1:7400\","
                        "reason=\"unbound_answer\"} 0\n"),
            std::string::npos);
  EXPECT_EQ(baker::testing::check_metrics(r.body), std::vector<std::string>{}) << r.body;
}

TEST(QueryInterfaceTwoDirectories, DigestListsEachStreamAndTheMergedCount) {
  ReplicaConfig a;
  a.subscriber_id = 9;
  a.name = "10.1.1.1:7400";
  ReplicaConfig b = a;
  b.name = "10.1.1.2:7400";
  DirectoryStreams streams({a, b}, {});
  ScriptedDirectory one{0xA}, two{0xB};
  one.subscriber_id = two.subscriber_id = 9;
  one.set(make_route("api", "x", 1));
  two.set(make_route("api", "y", 2));
  const TimePoint now = TimePoint{} + 1h;
  for (const auto& m : one.answer(streams.start(0, now)[0])) streams.on_message(0, m, now);
  const auto r = handle_query("/digest", streams, ReceiveStats{}, now, nullptr).body;
  EXPECT_EQ(
      r.rfind("{\"routes\":1,\"disputed\":0,\"directories\":[{\"directory\":\"10.1.1.1:7400\","
              "\"epoch\":\"000000000000000a\"",
              0),
      0u)
      << r;
  EXPECT_NE(r.find("{\"directory\":\"10.1.1.2:7400\",\"epoch\":\"0000000000000000\",\"seq\":0,"),
            std::string::npos)
      << "the second directory has not answered yet: " << r;
  EXPECT_NE(r.find("\"reachable\":false,\"live\":false}]}"), std::string::npos) << r;
  for (const auto& m : two.answer(streams.start(1, now)[0])) streams.on_message(1, m, now);
  const auto both = handle_query("/digest", streams, ReceiveStats{}, now, nullptr).body;
  EXPECT_EQ(both.rfind("{\"routes\":2,", 0), 0u) << both;
  const auto metrics = handle_query("/metrics", streams, ReceiveStats{}, now, nullptr).body;
  EXPECT_NE(metrics.find("baker_sherlock_directory_routes{directory=\"10.1.1.2:7400\"} 1\n"),
            std::string::npos);
  EXPECT_NE(metrics.find("baker_sherlock_routes 2\n"), std::string::npos);
  EXPECT_EQ(baker::testing::check_metrics(metrics), std::vector<std::string>{}) << metrics;
}

class CountingSink : public RouteSink {
 public:
  void routes_changed(const ServiceRoutes&, const std::vector<std::string>&) override {}
  void append_metrics(std::string& out) const override { out += "haproxy_thing 1\n"; }
};

TEST_F(QueryInterfaceTest, MetricsEndWithTheSinksOwn) {
  CountingSink sink;
  const auto r = handle_query("/metrics", *streams, stats, now, &sink);
  EXPECT_EQ(r.body.substr(r.body.size() - 16), "haproxy_thing 1\n");
}

}  // namespace
}  // namespace baker::sherlock
