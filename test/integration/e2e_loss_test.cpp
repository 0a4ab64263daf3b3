// Loss in both directions between the directory and everyone else, made with nftables inside a
// network namespace that this test process creates for itself (unshare: it vanishes with the
// process, and nothing outside it is touched). With two directories, the same loss on both links.
#include <gtest/gtest.h>

#include "e2e_support.hpp"

namespace baker::testing {
namespace {

class EndToEndLoss : public ::testing::TestWithParam<std::size_t> {};

TEST_P(EndToEndLoss, ReplicaConvergesAfterLossAndNothingIsFalselyExpired) {
  ASSERT_EQ(enter_private_network(), "");

  Cluster c(GetParam());
  c.set_watson_interval_ms(
      1000);            // the default period, so the default miss-limit is what is tested
  c.start_directory();  // default miss-limit (5)
  for (int i = 0; i < 3; ++i) c.add_instance("v1");
  c.start_sherlock_replica_only();
  const auto all_equal = [&](std::size_t n) {
    if (c.sherlock_count("greeting") != n) return false;
    for (std::size_t k = 0; k < c.directory_count(); ++k) {
      if (c.sherlock_routes() != c.directory_routes("", k)) return false;
    }
    return true;
  };
  ASSERT_TRUE(wait_until([&] { return all_equal(3); }, 15000ms));
  std::this_thread::sleep_for(1200ms);  // past the directory's warm-up
  const auto expired = [&] {
    double sum = 0;
    for (std::size_t k = 0; k < c.directory_count(); ++k) {
      sum += c.directory_metric("baker_directory_route_changes_total{kind=\"expiry\"}", k);
    }
    return sum;
  };
  const auto set_loss = [&](int percent) {
    for (std::size_t k = 0; k < c.directory_count(); ++k) {
      if (percent == 0) {
        c.heal_directory(k);
      } else {
        c.set_directory_loss(k, percent);
      }
    }
  };
  ASSERT_EQ(expired(), 0);

  // 10% loss each way for 5 s with 1 s heartbeats: an instance is expired only if 5 heartbeats
  // in a row are lost (p = 1e-5 per interval), so a false expiry here would mean expiry reacts to
  // loss it should absorb (with the old default of 3 it happened in ~1.5% of runs).
  set_loss(10);
  std::this_thread::sleep_for(5000ms);
  EXPECT_EQ(expired(), 0) << "an instance was expired at 10% loss";

  // 25% loss each way while instances join and leave.
  set_loss(25);
  c.add_instance("v2");
  c.add_instance("v2");
  c.instance(0).watson->stop();  // goodbyes (some of them lost)
  std::this_thread::sleep_for(4000ms);

  // The loss was real: the rules dropped datagrams (on every directory's link).
  for (std::size_t k = 0; k < c.directory_count(); ++k) {
    EXPECT_GT(c.directory_drops(k), 2u) << "directory " << k;
  }
  set_loss(0);
  EXPECT_TRUE(wait_until([&] { return c.directory_routes().size() == 4 && all_equal(4); }, 15000ms))
      << "directory: " << c.directory_routes().size()
      << " sherlock: " << c.sherlock_routes().size();
  auto digest = http_get("127.0.0.1", c.sherlock_http_port(), "/digest");
  ASSERT_TRUE(digest);
  EXPECT_NE(digest->body.find("\"synced\":true"), std::string::npos) << digest->body;
  for (std::size_t k = 0; k < c.directory_count(); ++k) {
    const auto s = c.stream(k);
    ASSERT_TRUE(s) << digest->body;
    EXPECT_TRUE(s->synced && s->routes == 4) << "directory " << k << ": " << digest->body;
  }
}

INSTANTIATE_TEST_SUITE_P(Directories, EndToEndLoss, ::testing::Values(1u, 2u),
                         [](const auto& info) { return info.param == 1 ? "One" : "Two"; });

}  // namespace
}  // namespace baker::testing
