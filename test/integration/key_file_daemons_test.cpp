// Key files on the real binaries: a key file readable by group or others stops every daemon and
// baker-dump at start (exit 1, the chmod fix in the message), and a SIGHUP whose configuration has
// lost its key file keeps authentication on (fail closed) and says so in the log.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"
#include "wire/auth.hpp"
#include "wire/codec.hpp"

namespace baker::testing {
namespace {

const std::string kKeyLine = "1 " + std::string(64, 'c') + " primary\n";
constexpr const char* kRefused =
    "reload refused: the new configuration has no key file, which would turn authentication off; "
    "keeping the current keys";

wire::Keyring keyring() {
  std::string error;
  auto ring = wire::Keyring::parse(kKeyLine, &error);
  EXPECT_TRUE(ring) << error;
  return ring ? *ring : wire::Keyring{};
}

wire::Heartbeat heartbeat(const std::string& instance, std::uint64_t seq) {
  wire::Heartbeat h;
  h.route.service = "greeting";
  h.route.instance = instance;
  h.route.address = wire::IpAddress::v4(127, 0, 0, 1);
  h.route.port = 8080;
  h.incarnation = 0xabc;
  h.seq = seq;
  h.interval_ms = 10000;
  h.sent_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  return h;
}

// The value of one sample line of a /metrics page ("name{labels} value"), -1 if absent.
double sample(std::uint16_t port, const std::string& name) {
  const auto r = http_get("127.0.0.1", port, "/metrics");
  if (!r) return -1;
  const auto at = r->body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(r->body.substr(at + 1 + name.size() + 1));
}

bool logged(ChildProcess& p, const std::string& text) {
  return wait_until([&] { return p.log().find(text) != std::string::npos; }, 3000ms);
}

TEST(KeyFilePermissions, EveryBinaryRefusesAKeyFileReadableByOthers) {
  TempDir tmp;
  tmp.write("keys", kKeyLine);
  const std::string keys = tmp.file("keys");
  ASSERT_EQ(::chmod(keys.c_str(), 0644), 0);
  const std::string expected =
      "key file " + keys + " is readable by group or others (mode 0644): run chmod 600 " + keys;
  const std::vector<std::vector<std::string>> commands{
      {bin("directory"), "--listen", "127.0.0.1:0", "--metrics", "off", "--key-file", keys},
      {bin("watson"), "--service-name", "greeting", "--service-url", "http://127.0.0.1:8080/",
       "--directory", "127.0.0.1:9", "--check", "none", "--key-file", keys},
      {bin("sherlock"), "--no-haproxy", "--directory", "127.0.0.1:9", "--listen", "127.0.0.1:0",
       "--http", "127.0.0.1:0", "--key-file", keys},
      {bin("baker-dump"), "-r", tmp.file("none.pcap"), "--key-file", keys},
  };
  for (const auto& argv : commands) {
    ChildProcess p(argv);
    const auto status = p.wait_exit(5000ms);
    ASSERT_TRUE(status) << argv[0] << " did not exit\n" << p.log();
    EXPECT_EQ(*status, 1) << argv[0] << "\n" << p.log();
    EXPECT_NE(p.log().find(expected), std::string::npos) << argv[0] << "\n" << p.log();
  }
}

TEST(KeyFileReload, DirectoryKeepsItsKeysWhenTheConfigLosesTheKeyFile) {
  TempDir tmp;
  tmp.write("keys", kKeyLine);
  tmp.write("directory.conf", "key-file = " + tmp.file("keys") + "\n");
  const std::uint16_t port = free_udp_port();
  const std::uint16_t metrics = free_tcp_port();
  ChildProcess dir({bin("directory"), "--listen", "127.0.0.1:" + std::to_string(port), "--metrics",
                    "127.0.0.1:" + std::to_string(metrics), "--warmup-max", "0s", "--config",
                    tmp.file("directory.conf"), "--max-clock-skew", "100ms"});
  ASSERT_TRUE(wait_until([&] { return sample(metrics, "baker_directory_routes") == 0; }, 5000ms))
      << dir.log();
  std::this_thread::sleep_for(150ms);  // the restart rule: start + max-clock-skew

  tmp.write("directory.conf", "log-level = debug\n");
  dir.signal(SIGHUP);
  ASSERT_TRUE(logged(dir, kRefused)) << dir.log();
  EXPECT_NE(dir.log().find("(the log level is applied)"), std::string::npos) << dir.log();

  // Still authenticated: a datagram without a MAC is rejected, a signed one is routed.
  UdpSocket watson;
  watson.send_to(wire::encode(heartbeat("plain", 1)), "127.0.0.1", port);
  ASSERT_TRUE(wait_until(
      [&] {
        return sample(metrics,
                      "baker_directory_rejected_datagrams_total{reason=\"missing_mac\"}") == 1;
      },
      3000ms))
      << dir.log();
  const auto ring = keyring();
  watson.send_to(wire::encode(heartbeat("signed", 1), &ring), "127.0.0.1", port);
  ASSERT_TRUE(wait_until([&] { return sample(metrics, "baker_directory_routes") == 1; }, 3000ms));
  const auto routes = http_get("127.0.0.1", metrics, "/routes");
  ASSERT_TRUE(routes);
  EXPECT_EQ(routes->body.find("plain"), std::string::npos) << routes->body;
  EXPECT_TRUE(dir.running());
}

TEST(KeyFileReload, SherlockKeepsItsKeysWhenTheConfigLosesTheKeyFile) {
  TempDir tmp;
  tmp.write("keys", kKeyLine);
  tmp.write("sherlock.conf", "key-file = " + tmp.file("keys") + "\n");
  UdpSocket directory;
  const std::uint16_t http = free_tcp_port();
  ChildProcess sherlock({bin("sherlock"), "--no-haproxy", "--directory",
                         "127.0.0.1:" + std::to_string(directory.port()), "--listen", "127.0.0.1:0",
                         "--http", "127.0.0.1:" + std::to_string(http), "--config",
                         tmp.file("sherlock.conf")});
  const auto ring = keyring();
  // The next datagram from sherlock, decoded with the keys (it fails without a MAC).
  wire::Subscribe latest;  // RetryLater binds to the latest request's nonce
  auto next_signed = [&](std::uint16_t* from) {
    const auto bytes = directory.receive(3000ms, from);
    if (!bytes) return false;
    const auto m = wire::decode(*bytes, wire::DecodeOptions{&ring});
    if (m.ok() && std::holds_alternative<wire::Subscribe>(m.value().message)) {
      latest = std::get<wire::Subscribe>(m.value().message);
    }
    return m.ok();
  };
  std::uint16_t sherlock_port = 0;
  ASSERT_TRUE(next_signed(&sherlock_port)) << "a signed Subscribe\n" << sherlock.log();

  tmp.write("sherlock.conf", "log-level = debug\n");
  sherlock.signal(SIGHUP);
  ASSERT_TRUE(logged(sherlock, kRefused)) << sherlock.log();

  directory.send_to(wire::encode(wire::Tick{0x5eed, 0, 0, 0, 0, 0, 0, 15000}), "127.0.0.1",
                    sherlock_port);  // no MAC
  ASSERT_TRUE(wait_until(
      [&] {
        return sample(http, "baker_sherlock_decode_rejects_total{reason=\"missing_mac\"}") == 1;
      },
      3000ms))
      << sherlock.log();
  // And it still signs what it sends: RetryLater makes it subscribe again soon.
  directory.send_to(
      wire::encode(wire::RetryLater{0x5eed, latest.subscriber_id, latest.nonce, 10}, &ring),
      "127.0.0.1", sherlock_port);
  ASSERT_TRUE(next_signed(nullptr)) << sherlock.log();
  EXPECT_TRUE(sherlock.running());
}

TEST(KeyFileReload, WatsonKeepsSigningWhenItsKeyFileStopsLoading) {
  // watson re-reads only the key file named at start (its config file is not re-read), so the
  // way a SIGHUP could lose the keys is a key file that no longer loads.
  TempDir tmp;
  tmp.write("keys", kKeyLine);
  UdpSocket directory;
  ChildProcess watson({bin("watson"), "--service-name", "greeting", "--service-url",
                       "http://127.0.0.1:8080/", "--directory",
                       "127.0.0.1:" + std::to_string(directory.port()), "--interval", "100ms",
                       "--check", "none", "--key-file", tmp.file("keys")});
  const auto ring = keyring();
  auto signed_heartbeats = [&](int n) {
    for (int i = 0; i < n; ++i) {
      const auto bytes = directory.receive(3000ms);
      if (!bytes) return false;
      const auto decoded = wire::decode(*bytes, wire::DecodeOptions{&ring});
      if (!decoded.ok() || !decoded.value().authenticated) return false;
    }
    return true;
  };
  ASSERT_TRUE(signed_heartbeats(2)) << watson.log();

  const std::string keys = tmp.file("keys");
  ASSERT_EQ(::chmod(keys.c_str(), 0644), 0);
  watson.signal(SIGHUP);
  ASSERT_TRUE(logged(watson, "run chmod 600 " + keys + "; keeping the current keys"))
      << watson.log();
  ASSERT_TRUE(signed_heartbeats(3)) << watson.log();
  EXPECT_TRUE(watson.running());
}

}  // namespace
}  // namespace baker::testing
