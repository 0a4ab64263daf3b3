#include "sherlock/status_page.hpp"

#include <gtest/gtest.h>

#include "driver_harness.hpp"
#include "scripted_directory.hpp"

namespace baker::sherlock {
namespace {

using namespace std::chrono_literals;
using haproxy::testing::DriverHarness;
using testing::make_route;
using testing::ScriptedDirectory;

// A sink that is only a driver (the shell's part the page reads).
class DriverSink final : public RouteSink {
 public:
  explicit DriverSink(const haproxy::HaproxyDriver& d) : driver_(d) {}
  void routes_changed(const ServiceRoutes&, const std::vector<std::string>&) override {}
  const haproxy::HaproxyDriver* haproxy_driver() const override { return &driver_; }
  std::string haproxy_description() const override { return "external, admin socket /x.sock"; }

 private:
  const haproxy::HaproxyDriver& driver_;
};

class StatusPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ReplicaConfig c;
    c.subscriber_id = 9;
    c.name = "10.1.1.1:7400";
    streams = std::make_unique<DirectoryStreams>(std::vector<ReplicaConfig>{c},
                                                 std::vector<std::string>{});
    dir.subscriber_id = 9;
    auto a = make_route("api", "a", 1);
    a.tags = {"<script>"};
    dir.set(a);
    dir.set(make_route("api", "b", 2));
    dir.set(make_route("web", "w", 3));
  }
  void sync() {
    const auto sub = streams->start(0, now);
    for (const auto& m : dir.answer(sub[0])) streams->on_message(0, m, now);
    const auto changed = streams->take_changes();
    harness.haproxy.add_backend("api", 4);  // "web" has none: the page says so
    harness.set(streams->table().view(), changed);
    harness.advance(1s);
  }
  HttpReply get(const std::string& target, const RouteSink* sink) {
    return render_status_page(*streams, sink, target, now + 1500ms);
  }

  ScriptedDirectory dir{0xABC};
  std::unique_ptr<DirectoryStreams> streams;
  DriverHarness harness;
  TimePoint now = TimePoint{} + 1h;
};

TEST_F(StatusPageTest, InstancesSitNextToTheirHaproxyServers) {
  sync();
  DriverSink sink(harness.driver);
  const auto r = get("/", &sink);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  const auto& p = r.body;
  // The stream and its health.
  EXPECT_NE(p.find("<td>10.1.1.1:7400</td><td><span class=\"synced\">synced</span>"),
            std::string::npos)
      << p;
  // api/a is served by a slot of backend api; the tag is escaped.
  EXPECT_NE(p.find("<td>a</td><td>10.0.0.1:8001</td><td><span class=\"up\">up</span></td><td "
                   "class=\"n\">100</td><td>&lt;script&gt;</td><td>api/slot"),
            std::string::npos)
      << p;
  EXPECT_EQ(p.find("<script>"), std::string::npos);
  EXPECT_NE(p.find("<span class=\"serving\">serving</span>"), std::string::npos) << p;
  EXPECT_NE(p.find("Backend <code>api</code>: 4 servers, 2 free."), std::string::npos) << p;
  // web has no backend in HAProxy.
  EXPECT_NE(p.find("HAProxy has no backend <code>web</code>"), std::string::npos) << p;
  EXPECT_NE(p.find("HAProxy: external, admin socket /x.sock (connected)"), std::string::npos);
}

TEST_F(StatusPageTest, ARemovedInstanceShowsItsServerDraining) {
  sync();
  dir.remove("api", "b");
  for (const auto& m : dir.publish()) streams->on_message(0, m, now);
  harness.set(streams->table().view(), streams->take_changes());
  harness.haproxy.server_at("api", "10.0.0.2", 8002)->sessions = 3;  // still busy: drains
  harness.advance(100ms);
  DriverSink sink(harness.driver);
  const auto p = get("/?service=api", &sink).body;
  EXPECT_NE(p.find("<td>10.0.0.2:8002</td><td><span class=\"down\">gone</span>"), std::string::npos)
      << p;
  EXPECT_NE(p.find("<span class=\"draining\">draining</span>"), std::string::npos) << p;
  EXPECT_EQ(p.find("<h3 id=\"s-web\">"), std::string::npos);  // one service asked for
}

TEST_F(StatusPageTest, BeforeAnySnapshotAndWithoutHaproxy) {
  const auto p = get("/", nullptr).body;
  EXPECT_NE(p.find("No directory&#39;s snapshot yet"), std::string::npos) << p;
  EXPECT_NE(p.find("HAProxy: none (--no-haproxy)"), std::string::npos);
  EXPECT_NE(p.find("No routes yet."), std::string::npos);
  sync();
  const auto q = get("/", nullptr).body;
  EXPECT_NE(q.find("<td>-</td><td>--no-haproxy</td><td>-</td>"), std::string::npos) << q;
}

TEST_F(StatusPageTest, ServicesArePagedAndBadPagesRefused) {
  for (std::size_t i = 0; i < kServicesPerPage + 3; ++i) {
    dir.set(make_route("svc" + std::to_string(100 + i), "x", static_cast<int>(i + 10)));
  }
  sync();
  const auto first = get("/", nullptr).body;
  EXPECT_NE(first.find("Services 1-25 of 30 (page 1 of 2)"), std::string::npos) << first;
  EXPECT_NE(first.find("<a href=\"/?page=2\">next</a>"), std::string::npos);
  const auto second = get("/?page=2", nullptr).body;
  EXPECT_NE(second.find("Services 26-30 of 30 (page 2 of 2)"), std::string::npos) << second;
  EXPECT_NE(second.find("<h3 id=\"s-web\">"), std::string::npos);  // sorted: web is last
  for (const char* bad : {"/?page=0", "/?page=a", "/?page=-1"}) {
    EXPECT_EQ(get(bad, nullptr).status, 400) << bad;
  }
}

}  // namespace
}  // namespace baker::sherlock
