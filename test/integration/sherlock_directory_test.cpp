// The real directory and the real sherlock (--no-haproxy), fed heartbeats and goodbyes scripted by
// the test: sherlock's replica must end equal to the directory's table (same routes, same digest),
// directly and through a relay that drops a fifth of the datagrams in both directions.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <variant>
#include <vector>

#include "json_value.hpp"
#include "metrics_check.hpp"
#include "process.hpp"
#include "routes.hpp"
#include "wire/codec.hpp"
#include "wire/digest.hpp"

namespace baker::sherlock {
namespace {

using namespace std::chrono_literals;
using namespace baker::testing;

// A route as both daemons' /routes show it.
wire::Route route_of(const std::string& service, const JsonValue& j) {
  std::vector<std::string> tags;
  for (const auto& t : j["tags"].items) tags.push_back(t.str());
  return baker::testing::make_route(
      service, j["instance"].str(),
      wire::IpAddress::parse(j["address"].str()).value_or(wire::IpAddress{}),
      static_cast<std::uint16_t>(j["port"].u64()), static_cast<std::uint16_t>(j["weight"].u64()),
      j["state"].str() == "up" ? wire::InstanceState::up : wire::InstanceState::draining, tags);
}

// The page's JSON, or nullopt while a daemon is not serving a whole page yet.
std::optional<JsonValue> json_of(const std::string& body) {
  try {
    return parse_json(body);
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
}

struct TableView {
  std::string epoch;  // 16 hex digits
  std::uint64_t seq = 0;
  std::vector<wire::Route> routes;  // sorted by (service, instance)
  std::uint64_t digest() const { return wire::table_digest(routes); }
};

void sort_routes(std::vector<wire::Route>& routes) {
  std::sort(routes.begin(), routes.end(), [](const auto& a, const auto& b) {
    return std::tie(a.service, a.instance) < std::tie(b.service, b.instance);
  });
}

// The directory's GET /routes: {"epoch":"..","seq":N,"warmup":..,"routes":[{"service":..}],..}
std::optional<TableView> directory_table(std::uint16_t port) {
  const auto r = http_get("127.0.0.1", port, "/routes");
  if (!r || r->status != 200) return std::nullopt;
  const auto j = json_of(r->body);
  if (!j || !j->has("routes") || !j->has("epoch")) return std::nullopt;
  TableView t{(*j)["epoch"].str(), (*j)["seq"].u64(), {}};
  for (const auto& x : (*j)["routes"].items) t.routes.push_back(route_of(x["service"].str(), x));
  sort_routes(t.routes);
  return t;
}

// sherlock's GET /routes ({"service":[route..]}) and GET /digest.
std::optional<TableView> sherlock_table(std::uint16_t port, std::uint64_t* digest = nullptr) {
  const auto d = http_get("127.0.0.1", port, "/digest");
  const auto r = http_get("127.0.0.1", port, "/routes");
  if (!d || !r) return std::nullopt;
  const auto dj = json_of(d->body);
  const auto rj = json_of(r->body);
  if (!dj || !rj || !dj->has("epoch")) return std::nullopt;
  TableView t{(*dj)["epoch"].str(), (*dj)["seq"].u64(), {}};
  if (digest) *digest = std::stoull((*dj)["digest"].str(), nullptr, 16);
  for (const auto& [service, list] : rj->fields) {
    for (const auto& x : list.items) t.routes.push_back(route_of(service, x));
  }
  sort_routes(t.routes);
  return t;
}

// ---- a lossy UDP relay between sherlock and the directory -------------------------------------

class LossyRelay {
 public:
  explicit LossyRelay(std::uint16_t directory_port) : directory_port_(directory_port) {
    thread_ = std::thread([this] { run(); });
  }
  ~LossyRelay() {
    stop_ = true;
    thread_.join();
  }
  std::uint16_t port() const { return front_.port(); }  // where sherlock sends
  void set_loss(double p) { loss_percent_ = static_cast<int>(p * 100); }
  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t forwarded() const { return forwarded_; }

 private:
  void run() {
    std::mt19937 rng(12345);
    std::vector<std::uint8_t> buf(65536);
    sockaddr_in sherlock{};
    bool know_sherlock = false;
    sockaddr_in directory{};
    directory.sin_family = AF_INET;
    directory.sin_port = htons(directory_port_);
    directory.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    while (!stop_) {
      pollfd fds[2] = {{front_.fd(), POLLIN, 0}, {back_.fd(), POLLIN, 0}};
      if (poll(fds, 2, 20) <= 0) continue;
      for (int k = 0; k < 2; ++k) {
        if (!(fds[k].revents & POLLIN)) continue;
        sockaddr_in from{};
        socklen_t len = sizeof from;
        const auto n = recvfrom(fds[k].fd, buf.data(), buf.size(), MSG_DONTWAIT,
                                reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) continue;
        if (k == 0) {
          sherlock = from;
          know_sherlock = true;
        }
        if (static_cast<int>(rng() % 100) < loss_percent_.load()) {
          ++dropped_;
          continue;
        }
        if (k == 1 && !know_sherlock) continue;
        // sherlock -> front -> back -> directory; directory -> back -> front -> sherlock
        const int out_fd = k == 0 ? back_.fd() : front_.fd();
        const sockaddr_in& to = k == 0 ? directory : sherlock;
        sendto(out_fd, buf.data(), static_cast<std::size_t>(n), 0,
               reinterpret_cast<const sockaddr*>(&to), sizeof to);
        ++forwarded_;
      }
    }
  }

  std::uint16_t directory_port_;
  UdpSocket front_;
  UdpSocket back_;
  std::atomic<int> loss_percent_{0};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> forwarded_{0};
  std::thread thread_;
};

// ---- scripted watsons ---------------------------------------------------------------------------

std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

class Watsons {
 public:
  explicit Watsons(std::uint16_t directory_port) : directory_port_(directory_port) {}

  // Sends a heartbeat: adds the instance, or updates it if anything differs.
  void beat(const std::string& service, int i, std::uint16_t weight = 100,
            wire::InstanceState state = wire::InstanceState::up) {
    wire::Heartbeat h;
    h.route.service = service;
    h.route.instance = "i-" + std::to_string(i);
    h.route.address =
        wire::IpAddress::v4(10, 1, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i));
    h.route.port = static_cast<std::uint16_t>(9000 + i);
    h.route.weight = weight;
    h.route.state = state;
    h.route.tags = {"zone=a"};
    h.incarnation = epoch_;
    h.seq = ++seq_[h.route.service + "/" + h.route.instance];
    h.sent_ms = wall_ms();
    h.interval_ms = 60000;  // nothing expires during a test
    socket_.send_to(wire::encode(h), "127.0.0.1", directory_port_);
  }
  void goodbye(const std::string& service, int i) {
    wire::Goodbye g{service, "i-" + std::to_string(i), epoch_, 0, wall_ms()};
    g.seq = ++seq_[service + "/" + g.instance];
    socket_.send_to(wire::encode(g), "127.0.0.1", directory_port_);
  }

 private:
  std::uint16_t directory_port_;
  UdpSocket socket_;
  std::uint64_t epoch_ = 0x77;
  std::map<std::string, std::uint64_t> seq_;
};

class SherlockWithDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override { start_directory(); }
  void start_directory(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{bin("directory"),
                                  "--listen",
                                  "127.0.0.1:" + std::to_string(directory_port_),
                                  "--metrics",
                                  "127.0.0.1:" + std::to_string(directory_http_),
                                  "--warmup-max",
                                  "0s",
                                  "--max-clock-skew",
                                  "100ms"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    directory_ = std::make_unique<ChildProcess>(argv);
    ASSERT_TRUE(wait_until([&] { return directory_table(directory_http_).has_value(); }, 5000ms))
        << directory_->log();
    // Heartbeats count only if sent after its start + --max-clock-skew (the restart rule).
    std::this_thread::sleep_for(150ms);
  }
  void start_sherlock(std::uint16_t directory_port, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{bin("sherlock"), "--no-haproxy",
                                  "--directory",   "127.0.0.1:" + std::to_string(directory_port),
                                  "--listen",      "127.0.0.1:0",
                                  "--http",        "127.0.0.1:" + std::to_string(sherlock_http_)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    sherlock_ = std::make_unique<ChildProcess>(argv);
  }
  // Both sides hold the same table: routes, sequence, epoch and digest.
  bool converged(std::string* why = nullptr) {
    std::uint64_t digest = 0;
    const auto d = directory_table(directory_http_);
    const auto s = sherlock_table(sherlock_http_, &digest);
    if (!d || !s) {
      if (why) *why = "a /routes or /digest did not answer or parse";
      return false;
    }
    const bool same =
        d->routes == s->routes && d->seq == s->seq && d->epoch == s->epoch && digest == d->digest();
    if (why) {
      *why = "directory: " + std::to_string(d->routes.size()) + " routes, seq " +
             std::to_string(d->seq) + ", epoch " + d->epoch +
             "; sherlock: " + std::to_string(s->routes.size()) + " routes, seq " +
             std::to_string(s->seq) + ", epoch " + s->epoch + ", digest " +
             (digest == d->digest() ? "equal" : "differs");
    }
    return same;
  }
  std::string sherlock_metrics() {
    const auto r = http_get("127.0.0.1", sherlock_http_, "/metrics");
    return r ? r->body : "";
  }
  static double metric(const std::string& text, const std::string& name) {
    return baker::testing::metric_sum(text, name).value_or(-1);
  }

  std::uint16_t directory_port_ = free_udp_port();
  std::uint16_t directory_http_ = free_tcp_port();
  std::uint16_t sherlock_http_ = free_tcp_port();
  std::unique_ptr<ChildProcess> directory_;
  std::unique_ptr<ChildProcess> sherlock_;
};

TEST_F(SherlockWithDirectoryTest, ReplicaEndsEqualToTheDirectorysTable) {
  Watsons w(directory_port_);
  for (int i = 0; i < 30; ++i) w.beat(i % 3 == 0 ? "api" : i % 3 == 1 ? "web" : "db", i);
  start_sherlock(directory_port_);
  std::string why;
  ASSERT_TRUE(wait_until([&] { return converged(); }, 5000ms)) << (converged(&why), why) << "\n"
                                                               << sherlock_->log();
  ASSERT_EQ(sherlock_table(sherlock_http_)->routes.size(), 30u);

  // Changes while subscribed: goodbyes, updates (weight, draining), new instances.
  for (int i = 0; i < 5; ++i) w.goodbye(i % 3 == 0 ? "api" : i % 3 == 1 ? "web" : "db", i);
  for (int i = 5; i < 10; ++i) {
    w.beat(i % 3 == 0 ? "api" : i % 3 == 1 ? "web" : "db", i, 7, wire::InstanceState::draining);
  }
  for (int i = 30; i < 40; ++i) w.beat("cache", i);
  ASSERT_TRUE(wait_until(
      [&] { return converged() && sherlock_table(sherlock_http_)->routes.size() == 35; }, 5000ms))
      << (converged(&why), why) << "\n"
      << sherlock_->log();
  const auto metrics = sherlock_metrics();
  EXPECT_GE(metric(metrics, "baker_sherlock_deltas_applied_total"), 1) << metrics;
  EXPECT_EQ(metric(metrics, "baker_sherlock_synced"), 1) << metrics;
}

TEST_F(SherlockWithDirectoryTest, ReplicaEndsEqualAfterALossyPath) {
  LossyRelay relay(directory_port_);
  Watsons w(directory_port_);  // heartbeats go straight to the directory
  for (int i = 0; i < 60; ++i) w.beat("svc-" + std::to_string(i % 4), i);
  relay.set_loss(0.2);
  start_sherlock(relay.port());

  // Three seconds of churn at 20% loss both ways between sherlock and the directory.
  std::mt19937 rng(7);
  const auto until = std::chrono::steady_clock::now() + 3s;
  int next = 60;
  while (std::chrono::steady_clock::now() < until) {
    for (int k = 0; k < 5; ++k) {
      const int i = static_cast<int>(rng() % static_cast<unsigned>(next));
      const auto service = "svc-" + std::to_string(i % 4);
      switch (rng() % 3) {
        case 0:
          w.goodbye(service, i);
          break;
        case 1:
          w.beat(service, i, static_cast<std::uint16_t>(rng() % 257));
          break;
        default:
          w.beat("svc-" + std::to_string(next % 4), next);
          ++next;
      }
    }
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_GT(relay.dropped(), 0u);

  relay.set_loss(0);
  std::string why;
  ASSERT_TRUE(wait_until([&] { return converged(); }, 15000ms)) << (converged(&why), why) << "\n"
                                                                << sherlock_->log();
  const auto metrics = sherlock_metrics();
  EXPECT_GT(metric(metrics, "baker_sherlock_nacks_sent_total") +
                metric(metrics, "baker_sherlock_snapshot_requests_total"),
            1)
      << metrics;
  EXPECT_EQ(metric(metrics, "baker_sherlock_synced"), 1) << metrics;
  std::printf(
      "relay dropped %llu of %llu datagrams; sherlock sent %g NACKs, %g snapshot requests, "
      "%g resyncs\n",
      static_cast<unsigned long long>(relay.dropped()),
      static_cast<unsigned long long>(relay.dropped() + relay.forwarded()),
      metric(metrics, "baker_sherlock_nacks_sent_total"),
      metric(metrics, "baker_sherlock_snapshot_requests_total"),
      metric(metrics, "baker_sherlock_resyncs_total"));
}

// Multicast members hold the whole table (the digest covers it) and show only their services.
class SherlockMulticastTest : public SherlockWithDirectoryTest {
 protected:
  void SetUp() override {}
};

TEST_F(SherlockMulticastTest, MemberHearsTheGroupAndShowsItsServices) {
  const std::string group =
      "239.255.75." + std::to_string(10 + getpid() % 200) + ":" + std::to_string(free_udp_port());
  start_directory({"--multicast", group, "--multicast-if", "127.0.0.1", "--multicast-ttl", "0"});
  Watsons w(directory_port_);
  for (int i = 0; i < 12; ++i) w.beat(i % 2 ? "api" : "web", i);
  start_sherlock(directory_port_,
                 {"--multicast", group, "--multicast-if", "127.0.0.1", "--service", "api"});
  if (!wait_until([&] { return http_get("127.0.0.1", sherlock_http_, "/digest").has_value(); },
                  3000ms)) {
    if (sherlock_->log().find("join") != std::string::npos || !sherlock_->running()) {
      GTEST_SKIP() << "cannot join a multicast group on 127.0.0.1 here: " << sherlock_->log();
    }
    FAIL() << sherlock_->log();
  }
  const auto same_digest = [&] {
    std::uint64_t digest = 0;
    const auto d = directory_table(directory_http_);
    const auto s = sherlock_table(sherlock_http_, &digest);
    return d && s && d->seq == s->seq && digest == d->digest();
  };
  ASSERT_TRUE(wait_until(same_digest, 5000ms)) << sherlock_->log();
  for (int i = 12; i < 20; ++i) w.beat(i % 2 ? "api" : "web", i);  // Deltas go to the group
  // Well before a lease renewal (5 s) could bring them by unicast.
  ASSERT_TRUE(wait_until(
      [&] { return same_digest() && directory_table(directory_http_)->routes.size() == 20; },
      2000ms))
      << sherlock_->log();
  const auto metrics = sherlock_metrics();
  EXPECT_GT(metric(metrics, "baker_sherlock_multicast_datagrams_received_total"), 0) << metrics;
  const auto shown = sherlock_table(sherlock_http_)->routes;
  EXPECT_EQ(shown.size(), 10u);
  for (const auto& r : shown) EXPECT_EQ(r.service, "api");
  const auto dm = http_get("127.0.0.1", directory_http_, "/metrics")->body;
  EXPECT_NE(dm.find("baker_directory_subscribers{delivery=\"multicast\"} 1"), std::string::npos)
      << dm;
}

}  // namespace
}  // namespace baker::sherlock
