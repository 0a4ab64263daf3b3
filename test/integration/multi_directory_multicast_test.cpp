// Several directories with multicast: the real directories (each sending its Deltas and Ticks to
// a group), real watsons heartbeating to both, and a real sherlock (--no-haproxy) hearing the
// groups: one group per directory, or one group shared by both (told apart by source). Changes
// arrive through the groups, and through the other directory after one is SIGKILLed.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "metrics_check.hpp"
#include "process.hpp"

namespace baker::testing {
namespace {

std::string local(std::uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

class MultiDirectoryMulticast : public ::testing::TestWithParam<bool> {
 protected:
  bool shared_group() const { return GetParam(); }

  void SetUp() override {
    const std::uint16_t group_port = free_udp_port();
    const std::string base = "239.255.76." + std::to_string(10 + getpid() % 200) + ":";
    // Two groups on one port: each socket, bound to its group's address, hears only its own.
    groups_ = shared_group()
                  ? std::vector<std::string>{base + std::to_string(group_port)}
                  : std::vector<std::string>{base + std::to_string(group_port),
                                             "239.255.77." + std::to_string(10 + getpid() % 200) +
                                                 ":" + std::to_string(group_port)};
    for (int i = 0; i < 2; ++i) {
      ports_.push_back(free_udp_port());
      metrics_.push_back(free_tcp_port());
      start_directory(i);
    }
    std::vector<std::string> args = {bin("sherlock"),       "--no-haproxy",   "--http",
                                     local(sherlock_http_), "--multicast-if", "127.0.0.1"};
    for (auto p : ports_) args.insert(args.end(), {"--directory", local(p)});
    for (const auto& g : groups_) args.insert(args.end(), {"--multicast", g});
    sherlock_ = std::make_unique<ChildProcess>(args);
  }

  void start_directory(int i) {
    const std::string& group = groups_[shared_group() ? 0 : static_cast<std::size_t>(i)];
    directories_.resize(2);
    directories_[static_cast<std::size_t>(i)] =
        std::make_unique<ChildProcess>(std::vector<std::string>{
            bin("directory"), "--listen", local(ports_[i]), "--metrics", local(metrics_[i]),
            "--warmup-max", "0s", "--multicast", group, "--multicast-if", "127.0.0.1",
            "--multicast-ttl", "0", "--log-level", "debug"});
  }

  // A watson for instance `n` of "api" (no health check), heartbeating to both directories.
  void add_watson(int n) {
    std::vector<std::string> args = {bin("watson"),
                                     "--service-name",
                                     "api",
                                     "--service-url",
                                     "http://127.0.0.1:" + std::to_string(20000 + n),
                                     "--check",
                                     "none",
                                     "--interval",
                                     "200ms"};
    for (auto p : ports_) args.insert(args.end(), {"--directory", local(p)});
    watsons_.push_back(std::make_unique<ChildProcess>(args));
  }

  std::string sherlock_page(const std::string& path) {
    const auto r = http_get("127.0.0.1", sherlock_http_, path);
    return r ? r->body : "";
  }
  std::size_t routes() {
    const auto body = sherlock_page("/routes");
    std::size_t n = 0;
    for (auto at = body.find("\"instance\""); at != std::string::npos;
         at = body.find("\"instance\"", at + 1)) {
      ++n;
    }
    return n;
  }
  double sherlock_metric(const std::string& family,
                         std::initializer_list<MetricLabel> labels = {}) {
    return metric_sum(sherlock_page("/metrics"), family, labels).value_or(-1);
  }

  std::vector<std::string> groups_;
  std::vector<std::uint16_t> ports_, metrics_;
  std::uint16_t sherlock_http_ = free_tcp_port();
  std::vector<std::unique_ptr<ChildProcess>> directories_;
  std::unique_ptr<ChildProcess> sherlock_;
  std::vector<std::unique_ptr<ChildProcess>> watsons_;
};

TEST_P(MultiDirectoryMulticast, ChangesArriveThroughTheGroupsAndSurviveADirectoryKilled) {
  add_watson(1);
  add_watson(2);
  ASSERT_TRUE(wait_until([&] { return routes() == 2; }, 5000ms)) << sherlock_->log();
  // Both streams followed, each through its directory (and its group).
  for (auto p : ports_) {
    ASSERT_TRUE(wait_until(
        [&] {
          return sherlock_metric("baker_sherlock_directory_routes", {{"directory", local(p)}}) == 2;
        },
        3000ms))
        << local(p) << "\n"
        << sherlock_page("/metrics");
  }
  const double group_before = sherlock_metric("baker_sherlock_multicast_datagrams_received_total");
  add_watson(3);  // its add goes out as a Delta on the group(s)
  ASSERT_TRUE(wait_until([&] { return routes() == 3; }, 2000ms)) << sherlock_page("/digest");
  EXPECT_GT(sherlock_metric("baker_sherlock_multicast_datagrams_received_total"), group_before);
  for (auto p : ports_) {
    EXPECT_GT(sherlock_metric("baker_sherlock_deltas_applied_total", {{"directory", local(p)}}), 0)
        << local(p);
  }
  EXPECT_EQ(
      sherlock_metric("baker_sherlock_ignored_datagrams_total", {{"reason", "foreign_epoch"}}), 0)
      << "each group datagram went to its own directory's stream: " << sherlock_page("/metrics");

  directories_[0]->signal(SIGKILL);
  add_watson(4);  // joins while directory 0 is gone
  ASSERT_TRUE(wait_until([&] { return routes() == 4; }, 2000ms)) << sherlock_page("/digest");
  watsons_[0]->stop();  // its Goodbye reaches directory 1 only
  ASSERT_TRUE(wait_until([&] { return routes() == 3; }, 2000ms)) << sherlock_page("/digest");
  // Directory 0 returns (a new process, its table rebuilt from heartbeats): nothing flaps back.
  start_directory(0);
  ASSERT_TRUE(wait_until(
      [&] {
        return sherlock_metric("baker_sherlock_directory_routes",
                               {{"directory", local(ports_[0])}}) == 3;
      },
      5000ms))
      << sherlock_page("/digest");
  EXPECT_EQ(routes(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Groups, MultiDirectoryMulticast, ::testing::Values(false, true),
                         [](const auto& info) {
                           return info.param ? std::string("OneSharedGroup")
                                             : std::string("OneGroupPerDirectory");
                         });

}  // namespace
}  // namespace baker::testing
