// Attacks on the subscription path with the real directory and sherlock binaries on loopback
// (docs/PROTOCOL.md, "Threat model"): datagrams crafted with the wire codec, sources "spoofed" by
// binding sockets to other 127.x.y.z addresses, and the directory's own address spoofed through a
// relay that stands between sherlock and the directory (sherlock's --directory is the relay, so
// whatever the relay's socket sends is, to sherlock, from its directory).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "metrics_check.hpp"
#include "process.hpp"
#include "wire/auth.hpp"
#include "wire/codec.hpp"
#include "wire/digest.hpp"

namespace {

using namespace baker::testing;
namespace wire = baker::wire;

constexpr const char* kKeyLine =
    "1 4242424242424242424242424242424242424242424242424242424242424242\n";

std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::optional<std::uint64_t> json_u64(const std::string& body, const std::string& key) {
  const auto at = body.find("\"" + key + "\":");
  if (at == std::string::npos) return std::nullopt;
  const auto value = at + key.size() + 3;
  if (body[value] == '"') return std::stoull(body.substr(value + 1), nullptr, 16);
  return std::stoull(body.substr(value));
}

// The family's samples with these labels, summed over the rest (e.g. over directories); -1 if none.
double sample(std::uint16_t port, const std::string& family,
              std::initializer_list<baker::testing::MetricLabel> labels = {}) {
  const auto r = http_get("127.0.0.1", port, "/metrics");
  if (!r) return -1;
  return baker::testing::metric_sum(r->body, family, labels).value_or(-1);
}

// Forwards sherlock <-> directory and records what sherlock sends.
class Relay {
 public:
  explicit Relay(std::uint16_t directory_port) : directory_port_(directory_port) {
    thread_ = std::thread([this] { run(); });
  }
  ~Relay() {
    stop_ = true;
    thread_.join();
  }
  std::uint16_t port() const { return front_.port(); }
  // Sends to sherlock from the relay's socket: from sherlock's directory's address.
  void inject(const wire::Bytes& bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    if (sherlock_port_) front_.send_to(bytes, "127.0.0.1", sherlock_port_);
  }
  std::vector<wire::Bytes> captured() {
    std::lock_guard<std::mutex> lock(mu_);
    return captured_;
  }
  std::uint16_t sherlock_port() {
    std::lock_guard<std::mutex> lock(mu_);
    return sherlock_port_;
  }

 private:
  void run() {
    while (!stop_) {
      pollfd fds[2] = {{front_.fd(), POLLIN, 0}, {back_.fd(), POLLIN, 0}};
      if (poll(fds, 2, 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        std::uint16_t from = 0;
        if (auto b = front_.receive(1ms, &from)) {
          std::lock_guard<std::mutex> lock(mu_);
          sherlock_port_ = from;
          captured_.push_back(*b);
          back_.send_to(*b, "127.0.0.1", directory_port_);
        }
      }
      if (fds[1].revents & POLLIN) {
        if (auto b = back_.receive(1ms)) inject(*b);
      }
    }
  }
  std::uint16_t directory_port_;
  UdpSocket front_;
  UdpSocket back_;
  std::mutex mu_;
  std::uint16_t sherlock_port_ = 0;
  std::vector<wire::Bytes> captured_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class ReplaySubscribeTest : public ::testing::Test {
 protected:
  void start_directory(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {bin("directory"),
                                     "--listen",
                                     "127.0.0.1:" + std::to_string(dir_port),
                                     "--metrics",
                                     "127.0.0.1:" + std::to_string(dir_metrics),
                                     "--warmup-max",
                                     "0s",
                                     "--lease",
                                     "3s",
                                     "--max-clock-skew",
                                     "100ms"};
    if (keys) argv.insert(argv.end(), {"--key-file", tmp.file("keys")});
    argv.insert(argv.end(), extra.begin(), extra.end());
    directory = std::make_unique<ChildProcess>(argv);
    ASSERT_TRUE(wait_until(
        [&] { return http_get("127.0.0.1", dir_metrics, "/metrics").has_value(); }, 5000ms))
        << directory->log();
    // Heartbeats count only if sent after its start + --max-clock-skew (the restart rule).
    std::this_thread::sleep_for(150ms);
  }
  // A sherlock behind the relay (its --directory is the relay).
  void start_sherlock(std::vector<std::string> extra = {}) {
    relay = std::make_unique<Relay>(dir_port);
    std::vector<std::string> argv = {bin("sherlock"), "--no-haproxy",
                                     "--directory",   "127.0.0.1:" + std::to_string(relay->port()),
                                     "--listen",      "127.0.0.1:0",
                                     "--http",        "127.0.0.1:" + std::to_string(sherlock_http)};
    if (keys) argv.insert(argv.end(), {"--key-file", tmp.file("keys")});
    argv.insert(argv.end(), extra.begin(), extra.end());
    sherlock = std::make_unique<ChildProcess>(argv);
  }
  void use_keys() {
    tmp.write("keys", kKeyLine);
    std::string error;
    keys = wire::Keyring::parse(kKeyLine, &error);
    ASSERT_TRUE(keys) << error;
  }
  const wire::Keyring* ring() const { return keys ? &*keys : nullptr; }

  void beat(const std::string& instance) {
    wire::Heartbeat h;
    h.route.service = "api";
    h.route.instance = instance;
    h.route.address = wire::IpAddress::v4(10, 0, 0, 1);
    h.route.port = 8080;
    h.incarnation = 77;
    h.seq = ++seq_;
    h.interval_ms = 60000;
    h.sent_ms = wall_ms();
    watson.send_to(wire::encode(h, ring()), "127.0.0.1", dir_port);
  }
  std::string digest() {
    const auto r = http_get("127.0.0.1", sherlock_http, "/digest");
    return r ? r->body : "";
  }
  bool sherlock_has(const std::string& instance) {
    const auto r = http_get("127.0.0.1", sherlock_http, "/routes");
    return r && r->body.find("\"instance\":\"" + instance + "\"") != std::string::npos;
  }
  // Starts both and waits until sherlock holds route "a".
  void following() {
    start_directory();
    beat("a");
    start_sherlock();
    ASSERT_TRUE(wait_until([&] { return sherlock_has("a"); }, 5000ms))
        << sherlock->log() << directory->log();
  }
  // sherlock's latest Subscribe, from what the relay saw.
  wire::Subscribe captured_subscribe(bool first = false) {
    wire::Subscribe s;
    for (const auto& b : relay->captured()) {
      auto m = wire::decode(b, wire::DecodeOptions{ring()});
      if (m && std::holds_alternative<wire::Subscribe>(m.value().message)) {
        s = std::get<wire::Subscribe>(m.value().message);
        if (first) break;
      }
    }
    return s;
  }
  // The next change of our directory still reaches sherlock.
  void expect_still_following(const std::string& instance) {
    beat(instance);
    EXPECT_TRUE(wait_until([&] { return sherlock_has(instance); }, 4000ms))
        << digest() << sherlock->log();
  }

  TempDir tmp;
  std::optional<wire::Keyring> keys;
  std::uint16_t dir_port = free_udp_port();
  std::uint16_t dir_metrics = free_tcp_port();
  std::uint16_t sherlock_http = free_tcp_port();
  std::unique_ptr<ChildProcess> directory;
  std::unique_ptr<Relay> relay;
  std::unique_ptr<ChildProcess> sherlock;
  UdpSocket watson;
  std::uint64_t seq_ = 0;
};

// (a) Another directory process with the same key: its valid Tick, Delta and snapshot, sent to
// sherlock from elsewhere and from its directory's own address, change nothing.
TEST_F(ReplaySubscribeTest, ForeignDirectorysValidDatagramsChangeNothing) {
  use_keys();
  following();
  const auto epoch = json_u64(digest(), "epoch");
  const auto me = captured_subscribe();
  wire::Route evil;
  evil.service = "api";
  evil.instance = "evil";
  evil.address = wire::IpAddress::v4(10, 6, 6, 6);
  evil.port = 6666;
  const std::uint64_t other = 0xbadbad;
  wire::Tick tick;
  tick.epoch = other;
  tick.seq = 1;
  tick.digest = wire::table_digest(std::vector<wire::Route>{evil});
  tick.route_count = 1;
  tick.lease_ms = 15000;
  wire::Delta delta;
  delta.epoch = other;
  delta.from_seq = 0;
  delta.to_seq = 1;
  delta.ops.push_back({wire::OpKind::add, evil});
  wire::SnapshotChunk chunk;
  chunk.epoch = other;
  chunk.subscriber_id = me.subscriber_id;
  chunk.nonce = me.nonce + 1000;  // a nonce we never sent (a guess; replays are unit-tested)
  chunk.seq = 1;
  chunk.routes = {evil};
  UdpSocket stranger(0, "127.0.0.66");
  for (int i = 0; i < 20; ++i) {
    for (const wire::Message& m : std::vector<wire::Message>{
             tick, delta, chunk,
             wire::Tick{tick.epoch, me.subscriber_id, me.nonce, 1, 0, 0, 0, 15000}}) {
      const auto bytes = wire::encode(m, ring());
      relay->inject(bytes);
      stranger.send_to(bytes, "127.0.0.1", relay->sherlock_port());
    }
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(json_u64(digest(), "epoch"), epoch) << digest();
  EXPECT_FALSE(sherlock_has("evil"));
  expect_still_following("b");
  EXPECT_GT(sample(sherlock_http, "baker_sherlock_ignored_datagrams_total",
                   {{"reason", "foreign_source"}}),
            0);
  EXPECT_NE(digest().find("\"reachable\":true"), std::string::npos) << digest();
}

// (a, multicast) The same datagrams sent to sherlock's multicast group change nothing either:
// the group carries only the shared stream, and another epoch is never adopted from it.
TEST_F(ReplaySubscribeTest, ForeignDirectorysValidDatagramsOnTheGroupChangeNothing) {
  use_keys();
  const std::string group = "239.255.66.1";
  const std::uint16_t group_port = free_udp_port();
  const std::string at = group + ":" + std::to_string(group_port);
  start_directory({"--multicast", at, "--multicast-if", "127.0.0.1", "--multicast-ttl", "0"});
  beat("a");
  start_sherlock({"--multicast", at, "--multicast-if", "127.0.0.1"});
  ASSERT_TRUE(wait_until([&] { return sherlock_has("a"); }, 5000ms)) << sherlock->log();
  if (sample(dir_metrics, "baker_directory_subscribers{delivery=\"multicast\"}") != 1) {
    GTEST_SKIP() << "no multicast on loopback here";
  }
  const auto epoch = json_u64(digest(), "epoch");
  wire::Route evil;
  evil.service = "api";
  evil.instance = "evil";
  evil.address = wire::IpAddress::v4(10, 6, 6, 6);
  evil.port = 6666;
  wire::Delta delta;
  delta.epoch = 0xbadbad;
  delta.from_seq = 0;
  delta.to_seq = 1;
  delta.ops.push_back({wire::OpKind::add, evil});
  wire::Tick tick;
  tick.epoch = 0xbadbad;
  tick.seq = 1;
  tick.lease_ms = 15000;
  wire::Delta ours_but_addressed = delta;  // our epoch, but addressed to a subscriber
  ours_but_addressed.epoch = *epoch;
  ours_but_addressed.subscriber_id = captured_subscribe().subscriber_id;
  ours_but_addressed.from_seq = 1;
  ours_but_addressed.to_seq = 2;
  UdpSocket attacker(0, "127.0.0.66");
  in_addr itf{};
  inet_pton(AF_INET, "127.0.0.1", &itf);
  setsockopt(attacker.fd(), IPPROTO_IP, IP_MULTICAST_IF, &itf, sizeof itf);
  for (int i = 0; i < 20; ++i) {
    for (const wire::Message& m : std::vector<wire::Message>{tick, delta, ours_but_addressed}) {
      attacker.send_to(wire::encode(m, ring()), group, group_port);
    }
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(json_u64(digest(), "epoch"), epoch) << digest();
  EXPECT_FALSE(sherlock_has("evil"));
  EXPECT_GT(sample(sherlock_http, "baker_sherlock_multicast_datagrams_received_total"), 20);
  EXPECT_GT(sample(sherlock_http, "baker_sherlock_ignored_datagrams_total",
                   {{"reason", "wrong_addressee"}}),
            0);
  expect_still_following("b");
}

// (b) A Subscribe from a spoofed source (without and with a MAC, fresh or replayed) earns that
// source at most 3x its bytes and never a snapshot; a replayed Subscribe diverts nothing.
TEST_F(ReplaySubscribeTest, SpoofedSubscribesEarnAtMostThreeTimesTheirBytes) {
  following();
  UdpSocket victim(0, "127.0.0.99");  // where the spoofed Subscribes "come from"
  std::size_t sent = 0;
  const auto send = [&](const wire::Bytes& b) {
    sent += b.size();
    victim.send_to(b, "127.0.0.1", dir_port);
  };
  std::string error;
  const auto some_key = *wire::Keyring::parse(kKeyLine, &error);
  wire::Subscribe s;
  s.subscriber_id = 12345;
  for (int i = 0; i < 5; ++i) {
    s.nonce = static_cast<std::uint64_t>(i + 1);
    send(wire::encode(s));
    send(wire::encode(s, &some_key));
  }
  s.cookie = wire::Cookie(20, 0x55);  // a guessed cookie
  send(wire::encode(s));
  const auto captured = captured_subscribe();  // the live sherlock's, replayed from here
  for (const auto& b : relay->captured()) send(b);
  std::size_t received = 0;
  bool snapshot = false;
  const auto end = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < end) {
    const auto b = victim.receive(100ms);
    if (!b) continue;
    received += b->size();
    const auto m = wire::decode(*b);
    snapshot = snapshot || (m && std::holds_alternative<wire::SnapshotChunk>(m.value().message));
  }
  EXPECT_LE(received, 3 * sent);
  EXPECT_FALSE(snapshot);
  EXPECT_GT(sample(dir_metrics, "baker_directory_challenges_sent_total"), 0);
  EXPECT_GT(sample(dir_metrics, "baker_directory_rejected_datagrams_total",
                   {{"reason", "replayed_request"}}),
            0);
  EXPECT_NE(captured.subscriber_id, 0u);
  expect_still_following("b");  // the stream still goes to the live sherlock
}

// (c) A RetryLater replayed every 150 ms does not stop sherlock renewing; /digest stays true.
TEST_F(ReplaySubscribeTest, ReplayedRetryLaterDoesNotStopRenewals) {
  following();
  const auto first = captured_subscribe(/*first=*/true);
  const auto epoch = *json_u64(digest(), "epoch");
  const auto before = sample(dir_metrics, "baker_directory_subscribes_total");
  const auto retry =
      wire::encode(wire::RetryLater{epoch, first.subscriber_id, first.nonce, 3'600'000});
  for (int i = 0; i < 25; ++i) {  // ~4 s: sherlock renews every lease/3 = 1 s
    relay->inject(retry);
    std::this_thread::sleep_for(150ms);
  }
  EXPECT_GE(sample(dir_metrics, "baker_directory_subscribes_total") - before, 2);
  EXPECT_NE(digest().find("\"reachable\":true"), std::string::npos) << digest();
  expect_still_following("b");
}

// (d) Without keys, a Delta [epoch, 0, 0, 0, 2^64-1, 0, []] from a stranger and from the spoofed
// directory address does not freeze sherlock.
TEST_F(ReplaySubscribeTest, HugeForgedDeltaDoesNotFreeze) {
  following();
  wire::Delta d;
  d.epoch = *json_u64(digest(), "epoch");
  d.from_seq = 0;
  d.to_seq = UINT64_MAX;
  const auto bytes = wire::encode(d);
  UdpSocket stranger(0, "127.0.0.66");
  stranger.send_to(bytes, "127.0.0.1", relay->sherlock_port());
  relay->inject(bytes);
  // Within the margin: believed, then undone by the Ticks (poisoned-replica recovery).
  d.to_seq = 1000;
  relay->inject(wire::encode(d));
  expect_still_following("b");
  EXPECT_GT(sample(sherlock_http, "baker_sherlock_ignored_datagrams_total",
                   {{"reason", "implausible_range"}}),
            0);
  EXPECT_TRUE(
      wait_until([&] { return json_u64(digest(), "seq") < 1000 && sherlock_has("b"); }, 8000ms))
      << digest();
}

// (e) 1,000 forged subscriber ids "renewed" from elsewhere take no slot: a new sherlock gets in.
TEST_F(ReplaySubscribeTest, ForgedSubscriberIdsDoNotShutOutANewSherlock) {
  start_directory({"--max-subscribers", "5"});
  beat("a");
  UdpSocket forger(0, "127.0.0.77");
  std::mt19937_64 rng(1);
  for (int i = 0; i < 1000; ++i) {
    wire::Subscribe s;
    s.subscriber_id = rng() | 1;
    s.nonce = 1000;
    s.cookie = wire::Cookie(20, static_cast<std::uint8_t>(i));
    forger.send_to(wire::encode(s), "127.0.0.1", dir_port);
  }
  start_sherlock();
  EXPECT_TRUE(wait_until([&] { return sherlock_has("a"); }, 5000ms)) << sherlock->log();
  EXPECT_EQ(sample(dir_metrics, "baker_directory_subscribers{delivery=\"unicast\"}"), 1);
}

// (f) Without keys, a fresh sherlock gets its routes within 5 s while 10,000 forged Subscribes a
// second from many 127.x addresses arrive at the directory.
TEST_F(ReplaySubscribeTest, FreshSherlockServedDuringASubscribeFlood) {
  start_directory();
  for (int i = 0; i < 100; ++i) beat("i-" + std::to_string(i));
  std::atomic<bool> stop{false};
  std::thread flood([&] {
    std::vector<std::unique_ptr<UdpSocket>> sockets;
    for (int i = 0; i < 50; ++i) {
      sockets.push_back(std::make_unique<UdpSocket>(
          0, "127.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)));
    }
    std::uint64_t n = 0;
    while (!stop) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int k = 0; k < 100; ++k) {  // 100 per 10 ms
        wire::Subscribe s;
        s.subscriber_id = ++n;
        s.nonce = n;
        sockets[n % sockets.size()]->send_to(wire::encode(s), "127.0.0.1", dir_port);
      }
      std::this_thread::sleep_until(t0 + 10ms);
    }
  });
  std::this_thread::sleep_for(300ms);
  const auto t0 = std::chrono::steady_clock::now();
  start_sherlock();
  const bool served = wait_until([&] { return sherlock_has("i-99"); }, 5000ms);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  stop = true;
  flood.join();
  EXPECT_TRUE(served) << sherlock->log();
  std::printf("fresh sherlock served after %lld ms under the flood (challenges sent: %.0f)\n",
              static_cast<long long>(ms),
              sample(dir_metrics, "baker_directory_challenges_sent_total"));
  EXPECT_EQ(sample(dir_metrics, "baker_directory_subscribers{delivery=\"unicast\"}"), 1);
}

// (g) Per-host cap: a third proven subscription from one host is refused; another host is not.
TEST_F(ReplaySubscribeTest, PerHostCapLimitsProvenSubscriptionsOfOneHost) {
  start_directory({"--max-subscribers-per-host", "2"});
  beat("a");
  const auto subscribe = [&](UdpSocket& s, std::uint64_t id) -> std::optional<wire::Message> {
    wire::Subscribe m;
    m.subscriber_id = id;
    m.nonce = 1;
    s.send_to(wire::encode(m), "127.0.0.1", dir_port);
    auto b = s.receive(2000ms);
    if (!b) return std::nullopt;
    auto c = wire::decode(*b);
    if (!c || !std::holds_alternative<wire::Challenge>(c.value().message)) return std::nullopt;
    m.cookie = std::get<wire::Challenge>(c.value().message).cookie;
    m.nonce = 2;
    s.send_to(wire::encode(m), "127.0.0.1", dir_port);
    b = s.receive(2000ms);
    if (!b) return std::nullopt;
    auto answer = wire::decode(*b);
    if (!answer) return std::nullopt;
    return answer.value().message;
  };
  UdpSocket a1(0, "127.0.0.3");
  UdpSocket a2(0, "127.0.0.3");
  UdpSocket a3(0, "127.0.0.3");
  UdpSocket b1(0, "127.0.0.4");
  const auto r1 = subscribe(a1, 1);
  const auto r2 = subscribe(a2, 2);
  const auto r3 = subscribe(a3, 3);
  const auto r4 = subscribe(b1, 4);
  ASSERT_TRUE(r1 && r2 && r3 && r4);
  EXPECT_TRUE(std::holds_alternative<wire::SnapshotChunk>(*r1));
  EXPECT_TRUE(std::holds_alternative<wire::SnapshotChunk>(*r2));
  EXPECT_TRUE(std::holds_alternative<wire::RetryLater>(*r3));
  EXPECT_TRUE(std::holds_alternative<wire::SnapshotChunk>(*r4));
  EXPECT_EQ(
      sample(dir_metrics, "baker_directory_rejected_datagrams_total", {{"reason", "host_limit"}}),
      1);
}

}  // namespace
