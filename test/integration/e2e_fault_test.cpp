// End to end on real processes: directory, watsons beside real sample services, sherlock and a
// real HAProxy. Faults: directory SIGKILL + restart, sherlock restart, HAProxy restart, a rolling
// upgrade under load, hostile datagrams, every start order. The directory faults, the upgrade, the
// sherlock restart and the hostile datagrams run with one directory and with two (every watson
// heartbeating to both, sherlock merging both streams).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <array>

#include "common/real_clock.hpp"
#include "e2e_support.hpp"
#include "http_load.hpp"
#include "wire/codec.hpp"

namespace baker::testing {
namespace {

constexpr auto kConverge = 10000ms;

std::string external_haproxy_config() {
  return "frontend fe\n"
         "    bind 127.0.0.1:{FRONTEND}\n"
         "    default_backend greeting\n"
         "backend greeting\n"
         "    balance random\n"
         "    http-reuse always\n"
         "    server-template slot 1-8 127.0.0.1:9 disabled weight 1\n";
}

std::set<std::string> ports_of(const std::set<std::string>& routes) {
  std::set<std::string> out;
  for (const auto& r : routes) out.insert(r.substr(r.find('@') + 1, r.find('/') - r.find('@') - 1));
  return out;
}

std::set<std::string> ready_set(const std::string& sock) {
  auto v = ready_servers(sock, "greeting");
  return {v.begin(), v.end()};
}

// One directory, or two (the same faults with every directory in them).
class EndToEndFault : public ::testing::TestWithParam<std::size_t> {};

INSTANTIATE_TEST_SUITE_P(Directories, EndToEndFault, ::testing::Values(1u, 2u),
                         [](const auto& info) { return info.param == 1 ? "One" : "Two"; });

// With two directories both are killed: all down, the last routes stay.
TEST_P(EndToEndFault, DirectoryKilledAndRestartedDropsNoRouteAndAcceptsNewInstances) {
  Cluster c(GetParam());
  c.start_directory();
  for (int i = 0; i < 3; ++i) c.add_instance("v1");
  c.start_sherlock_managed();
  ASSERT_TRUE(wait_until([&] { return c.sherlock_count("greeting") == 3; }, kConverge))
      << c.sherlock().log();
  ASSERT_TRUE(wait_until(
      [&] {
        auto r = http_get("127.0.0.1", c.frontend_port(), "/greeting");
        return r && r->status == 200;
      },
      kConverge));
  HttpLoad load("127.0.0.1", c.frontend_port(), "/greeting/", 2);

  for (std::size_t k = 0; k < c.directory_count(); ++k) c.kill_directory(k);
  std::size_t fewest = 3;
  auto watch = [&](std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) {
      fewest = std::min(fewest, c.sherlock_count("greeting"));
      std::this_thread::sleep_for(50ms);
    }
  };
  watch(1500ms);  // directory down for several heartbeat intervals
  c.start_directory();
  watch(2500ms);  // through the restarted directory's warm-up (1 s) and beyond
  EXPECT_EQ(fewest, 3u) << "a sherlock dropped routes because the directory restarted";

  c.add_instance("v2");  // joining works again after the restart
  EXPECT_TRUE(wait_until([&] { return c.sherlock_count("greeting") == 4; }, kConverge));
  for (std::size_t k = 0; k < c.directory_count(); ++k) {
    EXPECT_TRUE(
        wait_until([&] { return c.sherlock_routes() == c.directory_routes("", k); }, kConverge))
        << "directory " << k;
  }
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << (load.failures().empty() ? "" : load.failures().front());
  EXPECT_GT(load.ok(), 100u);
}

TEST_P(EndToEndFault, RollingUpgradeUnderLoadFailsNoRequest) {
  Cluster c(GetParam());
  c.start_directory();
  std::vector<std::size_t> v1;
  for (int i = 0; i < 3; ++i) v1.push_back(c.add_instance("v1"));
  c.start_sherlock_managed();
  ASSERT_TRUE(wait_until([&] { return c.sherlock_count("greeting") == 3; }, kConverge));
  ASSERT_TRUE(wait_until(
      [&] {
        auto r = http_get("127.0.0.1", c.frontend_port(), "/greeting");
        return r && r->status == 200;
      },
      kConverge));

  HttpLoad load("127.0.0.1", c.frontend_port(), "/greeting/", 4);
  for (std::size_t old : v1) {
    c.add_instance("v2");
    ASSERT_TRUE(wait_until([&] { return c.sherlock_count("greeting") == 4; }, kConverge));
    Instance& inst = c.instance(old);
    const std::string me = "127.0.0.1:" + std::to_string(inst.port);
    inst.watson->signal(SIGUSR1);  // drain: no new requests
    ASSERT_TRUE(wait_until(
        [&] {
          for (const auto& r : c.sherlock_routes("greeting")) {
            if (r.find(me) != std::string::npos && r.find("/draining") != std::string::npos)
              return true;
          }
          return false;
        },
        kConverge));
    std::this_thread::sleep_for(300ms);  // requests in flight finish
    inst.watson->stop();                 // goodbye
    ASSERT_TRUE(wait_until([&] { return c.sherlock_count("greeting") == 3; }, kConverge));
    std::this_thread::sleep_for(300ms);  // sherlock moves the slot drain -> maint
    inst.service->stop();
  }
  std::this_thread::sleep_for(500ms);
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << (load.failures().empty() ? "" : load.failures().front());
  EXPECT_GT(load.ok(),
            200u);  // enough traffic to mean something; the count depends on machine load
  std::uint64_t v2_answers = 0;
  for (const auto& [body, n] : load.bodies()) {
    if (body.find("greeting v2") != std::string::npos) v2_answers += n;
  }
  EXPECT_GT(v2_answers, 100u);
  for (const auto& r : c.sherlock_routes("greeting")) {
    EXPECT_EQ(r.find("v1"), std::string::npos) << r;
  }
}

TEST_P(EndToEndFault, SherlockRestartRebuildsReplicaAndHaproxyKeepsItsServers) {
  Cluster c(GetParam());
  TempDir hdir;
  TestHaproxy haproxy(hdir, external_haproxy_config());
  c.start_directory();
  for (int i = 0; i < 3; ++i) c.add_instance("v1");
  c.start_sherlock_external(haproxy.admin_socket());
  ASSERT_TRUE(wait_until([&] { return ready_set(haproxy.admin_socket()).size() == 3; }, kConverge))
      << c.sherlock().log();
  const auto before = ready_set(haproxy.admin_socket());
  EXPECT_EQ(before, ports_of(c.directory_routes("greeting")));

  c.stop_sherlock();
  EXPECT_EQ(ready_set(haproxy.admin_socket()), before) << "servers must outlive sherlock";
  c.start_sherlock_external(haproxy.admin_socket());
  for (std::size_t k = 0; k < c.directory_count(); ++k) {
    ASSERT_TRUE(
        wait_until([&] { return c.sherlock_routes() == c.directory_routes("", k); }, kConverge));
  }
  std::this_thread::sleep_for(500ms);  // a reconcile pass
  EXPECT_EQ(ready_set(haproxy.admin_socket()), before);
}

TEST(EndToEnd, HaproxyRestartedUnderSherlockGetsItsServersBack) {
  Cluster c;
  TempDir hdir;
  TestHaproxy haproxy(hdir, external_haproxy_config());
  c.start_directory();
  for (int i = 0; i < 2; ++i) c.add_instance("v1");
  c.start_sherlock_external(haproxy.admin_socket());
  ASSERT_TRUE(wait_until([&] { return ready_set(haproxy.admin_socket()).size() == 2; }, kConverge));
  const auto before = ready_set(haproxy.admin_socket());
  haproxy.kill_hard();
  haproxy.start();  // fresh haproxy: every slot disabled again
  EXPECT_TRUE(wait_until([&] { return ready_set(haproxy.admin_socket()) == before; }, kConverge))
      << c.sherlock().log();
  auto r = http_get("127.0.0.1", haproxy.frontend_port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// With two directories every directory gets the same hostile datagrams.
TEST_P(EndToEndFault, HostileDatagramsAreCountedAndChangeNothing) {
  Cluster c(GetParam());
  const std::string key = "1 " + std::string(64, 'a') + "\n";
  c.dir().write("keys", key);
  c.dir().write("wrong", "1 " + std::string(64, 'b') + "\n");
  const auto keyfile = c.dir().file("keys");
  c.start_directory({"--key-file", keyfile});
  c.add_instance("v1", {"--key-file", keyfile});
  c.start_sherlock_replica_only({"--key-file", keyfile});
  ASSERT_TRUE(wait_until([&] { return c.sherlock_count("greeting") == 1; }, kConverge));
  for (std::size_t k = 0; k < c.directory_count(); ++k) {
    ASSERT_TRUE(
        wait_until([&] { return c.sherlock_routes() == c.directory_routes("", k); }, kConverge));
  }
  const auto routes = c.directory_routes();

  std::string err;
  const auto good = *wire::Keyring::parse(key, &err);
  const auto wrong = *wire::Keyring::parse("1 " + std::string(64, 'b') + "\n", &err);
  wire::Heartbeat forged;
  forged.route.service = "greeting";
  forged.route.instance = "evil:1";
  forged.route.address = wire::IpAddress::v4(127, 0, 0, 66);
  forged.route.port = 6666;
  forged.incarnation = 99;
  forged.seq = 1;
  forged.sent_ms = baker::unix_time_ms();
  UdpSocket attacker;
  const auto send = [&](const wire::Bytes& b) {
    for (std::size_t k = 0; k < c.directory_count(); ++k) {
      attacker.send_to(b, "127.0.0.1", c.directory_port(k));
    }
  };
  send({0x00, 0x01, 0x02});       // garbage
  send(wire::Bytes(9000, 0xc1));  // oversized garbage
  auto truncated = wire::encode(forged, &good);
  truncated.resize(truncated.size() / 2);
  send(truncated);  // truncated
  auto v2 = wire::encode(forged);
  v2[1] = 3;                           // a version this build does not speak
  send(v2);                            // wrong version
  send(wire::encode(forged));          // no MAC
  send(wire::encode(forged, &wrong));  // forged with a wrong key
  auto altered = wire::encode(forged, &good);
  altered[10] ^= 1;
  send(altered);  // altered after signing
  // A NACK flood from a fake subscriber (validly signed: an insider's worst case).
  for (std::uint64_t i = 1; i <= 2000; ++i) {
    wire::Nack n;  // fields by name: a positional list silently shifted when nonce came in
    n.subscriber_id = 1234;
    n.nonce = i;
    n.epoch = 1;
    n.first_missing = 1;
    n.last_missing = 1000;
    send(wire::encode(n, &good));
  }

  for (std::size_t k = 0; k < c.directory_count(); ++k) {
    SCOPED_TRACE("directory " + std::to_string(k));
    const auto reason = [&](const std::string& r) {
      return c.directory_metric("baker_directory_rejected_datagrams_total{reason=\"" + r + "\"}",
                                k);
    };
    ASSERT_TRUE(wait_until([&] { return reason("bad_mac") >= 2; }, 3000ms))
        << c.directory_metrics(k);
    EXPECT_GE(reason("missing_mac"), 1);
    EXPECT_GE(reason("unknown_version"), 1);
    EXPECT_GE(reason("truncated") + reason("malformed") + reason("wrong_type"), 2);
    EXPECT_TRUE(c.directory(k).running());
  }
  EXPECT_TRUE(c.sherlock().running());
  std::this_thread::sleep_for(500ms);
  for (std::size_t k = 0; k < c.directory_count(); ++k) {
    EXPECT_EQ(c.directory_routes("", k), routes) << "a forged datagram changed directory " << k;
  }
  EXPECT_EQ(c.sherlock_routes(), routes);
  // Still serving: a new, properly signed instance joins.
  c.add_instance("v2", {"--key-file", keyfile});
  EXPECT_TRUE(wait_until([&] { return c.sherlock_count("greeting") == 2; }, kConverge));
}

// Keys by role (docs/PROTOCOL.md, "Roles"): watsons hold only the announce key, sherlocks only the
// publish key, the directory both. Routes flow; a datagram MACed with a key of the wrong role is
// refused as wrong_role (a watson host cannot subscribe or publish, a sherlock host cannot
// announce); and a daemon given a file without the role it needs refuses to start, naming the role.
TEST(EndToEnd, SplitKeysRouteAndNoRoleStandsInForAnother) {
  Cluster c;
  const std::string announce = "1 " + std::string(64, 'a') + " announce\n";
  const std::string publish = "2 " + std::string(64, 'b') + " publish\n";
  c.dir().write("watson.keys", announce);
  c.dir().write("sherlock.keys", publish);
  c.dir().write("directory.keys", announce + publish);
  c.start_directory({"--key-file", c.dir().file("directory.keys")});
  c.add_instance("v1", {"--key-file", c.dir().file("watson.keys")});
  c.start_sherlock_replica_only({"--key-file", c.dir().file("sherlock.keys")});
  ASSERT_TRUE(wait_until([&] { return c.sherlock_count("greeting") == 1; }, kConverge))
      << c.sherlock().log() << c.directory().log();
  const auto routes = c.directory_routes();

  std::string err;
  const auto watson_ring = *wire::Keyring::parse(announce, &err);
  const auto sherlock_ring = *wire::Keyring::parse(publish, &err);
  UdpSocket attacker;
  // A watson host's key on a Subscribe (it would start a stream) and on a Delta-shaped insider
  // message: refused after the MAC checks out.
  wire::Subscribe sub;
  sub.subscriber_id = 0x77;
  sub.nonce = 1;
  wire::Bytes forged_subscribe;
  {
    // encode() refuses a ring without the message's role; build the MAC with the announce key by
    // hand, as a watson host could.
    wire::Keyring as_publish;
    as_publish.add(1, *watson_ring.find(1), true, static_cast<wire::Roles>(wire::Role::publish));
    forged_subscribe = wire::encode(sub, &as_publish);
  }
  attacker.send_to(forged_subscribe, "127.0.0.1", c.directory_port());
  // A sherlock host's key on a heartbeat: it would add a route.
  wire::Heartbeat hb;
  hb.route.service = "greeting";
  hb.route.instance = "evil:1";
  hb.route.address = wire::IpAddress::v4(127, 0, 0, 66);
  hb.route.port = 6666;
  hb.incarnation = baker::unix_time_us();
  hb.seq = 1;
  hb.sent_ms = baker::unix_time_ms();
  wire::Keyring as_announce;
  as_announce.add(2, *sherlock_ring.find(2), true, static_cast<wire::Roles>(wire::Role::announce));
  attacker.send_to(wire::encode(hb, &as_announce), "127.0.0.1", c.directory_port());

  const auto reason = [&](const std::string& r) {
    return c.directory_metric("baker_directory_rejected_datagrams_total{reason=\"" + r + "\"}");
  };
  ASSERT_TRUE(wait_until([&] { return reason("wrong_role") >= 2; }, 3000ms))
      << c.directory_metrics();
  EXPECT_EQ(attacker.receive(300ms), std::nullopt) << "the forged Subscribe was answered";
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(c.directory_routes(), routes);
  EXPECT_EQ(c.sherlock_routes(), routes);

  // The wrong file for the job: refused at start with the role named.
  ChildProcess watson({bin("watson"), "--service-name", "greeting", "--service-url",
                       "http://127.0.0.1:8080/", "--directory", "127.0.0.1:9", "--check", "none",
                       "--key-file", c.dir().file("sherlock.keys")});
  EXPECT_EQ(watson.wait_exit(5000ms), std::optional<int>(1)) << watson.log();
  EXPECT_NE(watson.log().find("has no key with the announce role, which watson needs"),
            std::string::npos)
      << watson.log();
  ChildProcess sherlock({bin("sherlock"), "--no-haproxy", "--directory", "127.0.0.1:9", "--listen",
                         "127.0.0.1:0", "--http", "127.0.0.1:0", "--key-file",
                         c.dir().file("watson.keys")});
  EXPECT_EQ(sherlock.wait_exit(5000ms), std::optional<int>(1)) << sherlock.log();
  EXPECT_NE(sherlock.log().find("has no key with the publish role, which sherlock needs"),
            std::string::npos)
      << sherlock.log();
}

TEST(EndToEnd, EveryStartOrderReachesTheSameRoutes) {
  std::array<int, 3> order = {0, 1, 2};  // 0 directory, 1 watson, 2 sherlock
  do {
    Cluster c;
    std::size_t inst = 0;
    for (int step : order) {
      if (step == 0) c.start_directory();
      if (step == 1) inst = c.add_instance("v1");
      if (step == 2) c.start_sherlock_replica_only();
      std::this_thread::sleep_for(300ms);
    }
    (void)inst;
    const std::string name =
        std::to_string(order[0]) + std::to_string(order[1]) + std::to_string(order[2]);
    EXPECT_TRUE(wait_until(
        [&] {
          const auto d = c.directory_routes();
          return d.size() == 1 && c.sherlock_routes() == d;
        },
        kConverge))
        << "start order " << name << " (0 directory, 1 watson, 2 sherlock): " << c.sherlock().log();
  } while (std::next_permutation(order.begin(), order.end()));
}

}  // namespace
}  // namespace baker::testing
