// Loss in both directions between the directory and everyone else, made with nftables inside a
// network namespace that this test process creates for itself (unshare: it vanishes with the
// process, and nothing outside it is touched).
#include <gtest/gtest.h>
#include <sched.h>

#include <cstdlib>
#include <cstring>

#include "e2e_support.hpp"

namespace baker::testing {
namespace {

bool sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

// Drops `percent`% of UDP datagrams to and from the directory's port (0 removes the rules).
void set_loss(std::uint16_t port, int percent) {
  ASSERT_TRUE(sh("nft flush chain inet baker_loss in"));
  if (percent == 0) return;
  const std::string p = std::to_string(port);
  const std::string drop =
      " numgen random mod 100 \"<\" " + std::to_string(percent) + " counter drop";
  ASSERT_TRUE(sh("nft add rule inet baker_loss in udp dport " + p + drop));
  ASSERT_TRUE(sh("nft add rule inet baker_loss in udp sport " + p + drop));
}

// Datagrams the rules dropped so far.
std::uint64_t dropped() {
  std::uint64_t total = 0;
  if (FILE* p = popen("nft list chain inet baker_loss in", "r")) {
    char line[512];
    while (fgets(line, sizeof line, p)) {
      if (const char* at = std::strstr(line, "packets "))
        total += std::strtoull(at + 8, nullptr, 10);
    }
    pclose(p);
  }
  return total;
}

TEST(EndToEndLoss, ReplicaConvergesAfterLossAndNothingIsFalselyExpired) {
  ASSERT_EQ(unshare(CLONE_NEWNET), 0)
      << "unshare(CLONE_NEWNET): " << strerror(errno) << " (the test runs as root)";
  ASSERT_TRUE(sh("ip link set lo up"));
  ASSERT_TRUE(sh("nft add table inet baker_loss"));
  ASSERT_TRUE(sh("nft 'add chain inet baker_loss in { type filter hook input priority 0 ; }'"));

  Cluster c;
  c.set_watson_interval_ms(
      1000);            // the default period, so the default miss-limit is what is tested
  c.start_directory();  // default miss-limit (5)
  for (int i = 0; i < 3; ++i) c.add_instance("v1");
  c.start_sherlock_replica_only();
  ASSERT_TRUE(wait_until(
      [&] {
        return c.sherlock_count("greeting") == 3 && c.sherlock_routes() == c.directory_routes();
      },
      15000ms));
  std::this_thread::sleep_for(1200ms);  // past the directory's warm-up
  const auto expired = [&] {
    return c.directory_metric("baker_directory_route_changes_total{kind=\"expiry\"}");
  };
  ASSERT_EQ(expired(), 0);

  // 10% loss each way for 5 s with 1 s heartbeats: an instance is expired only if 5 heartbeats
  // in a row are lost (p = 1e-5 per interval), so a false expiry here would mean expiry reacts to
  // loss it should absorb (with the old default of 3 it happened in ~1.5% of runs).
  set_loss(c.directory_port(), 10);
  std::this_thread::sleep_for(5000ms);
  EXPECT_EQ(expired(), 0) << "an instance was expired at 10% loss";

  // 25% loss each way while instances join and leave.
  set_loss(c.directory_port(), 25);
  c.add_instance("v2");
  c.add_instance("v2");
  c.instance(0).watson->stop();  // goodbyes (some of them lost)
  std::this_thread::sleep_for(4000ms);

  // The loss was real: the rules dropped datagrams.
  EXPECT_GT(dropped(), 2u);
  set_loss(c.directory_port(), 0);
  EXPECT_TRUE(wait_until(
      [&] {
        const auto d = c.directory_routes();
        return d.size() == 4 && c.sherlock_routes() == d;
      },
      15000ms))
      << "directory: " << c.directory_routes().size()
      << " sherlock: " << c.sherlock_routes().size();
  auto digest = http_get("127.0.0.1", c.sherlock_http_port(), "/digest");
  ASSERT_TRUE(digest);
  EXPECT_NE(digest->body.find("\"synced\":true"), std::string::npos) << digest->body;
}

}  // namespace
}  // namespace baker::testing
