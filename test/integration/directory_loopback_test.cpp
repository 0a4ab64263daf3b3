// The directory binary over real UDP on 127.0.0.1: a scripted watson and sherlock see add, expiry,
// goodbye, NACK retransmit and snapshot, multicast on loopback, authentication with SIGHUP key
// reload, and the daemon's handling of flags, config files and signals.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "metrics_check.hpp"
#include "process.hpp"
#include "wire/auth.hpp"
#include "wire/codec.hpp"

namespace {

using namespace baker::testing;
namespace wire = baker::wire;

constexpr const char* kKey1 = "1111111111111111111111111111111111111111111111111111111111111111";
constexpr const char* kKey2 = "2222222222222222222222222222222222222222222222222222222222222222";

wire::Keyring keyring(const std::string& text) {
  std::string error;
  auto ring = wire::Keyring::parse(text, &error);
  EXPECT_TRUE(ring) << error;
  return ring ? *ring : wire::Keyring{};
}

// A UDP peer that speaks the wire protocol: a scripted watson or sherlock.
class Peer {
 public:
  explicit Peer(std::uint16_t directory_port) : directory_port_(directory_port) {}
  void use_keys(const wire::Keyring* keys) { keys_ = keys; }
  void send(const wire::Message& m) {
    socket_.send_to(wire::encode(m, keys_), "127.0.0.1", directory_port_);
  }
  std::uint16_t port() const { return socket_.port(); }
  // As a sherlock does: every request with the next nonce; a Subscribe answered with a Challenge
  // is sent again at once with the cookie.
  void subscribe(std::uint64_t id, std::vector<std::string> services = {},
                 std::uint64_t last_epoch = 0, std::uint64_t last_seq = 0, std::uint8_t flags = 0) {
    wire::Subscribe s{id, ++nonce_, cookie_, std::move(services), last_epoch, last_seq, flags};
    send(s);
    if (!cookie_.empty()) return;
    const auto c = wait_for<wire::Challenge>(
        [&](const wire::Challenge& c) { return c.subscriber_id == id && c.nonce == s.nonce; },
        2000ms);
    if (!c) return;
    cookie_ = s.cookie = c->cookie;
    s.nonce = ++nonce_;
    send(s);
  }
  void nack(std::uint64_t id, std::uint64_t epoch, std::uint64_t first, std::uint64_t last) {
    send(wire::Nack{id, ++nonce_, epoch, first, last});
  }
  void unsubscribe(std::uint64_t id) { send(wire::Unsubscribe{id, ++nonce_}); }
  // Receives until pred accepts a message (every message received is also kept in seen()).
  template <typename T>
  std::optional<T> wait_for(const std::function<bool(const T&)>& pred,
                            std::chrono::milliseconds timeout = 3000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      auto bytes = socket_.receive(std::max(left, 1ms));
      if (!bytes) continue;
      auto decoded = wire::decode(*bytes, wire::DecodeOptions{keys_});
      if (!decoded) {
        ++undecodable_;
        continue;
      }
      seen_.push_back(decoded.value().message);
      if (const auto* m = std::get_if<T>(&decoded.value().message); m && pred(*m)) return *m;
    }
    return std::nullopt;
  }
  template <typename T>
  std::optional<T> wait_for(std::chrono::milliseconds timeout = 3000ms) {
    return wait_for<T>([](const T&) { return true; }, timeout);
  }
  int undecodable() const { return undecodable_; }
  const std::vector<wire::Message>& seen() const { return seen_; }

 private:
  UdpSocket socket_;
  std::uint16_t directory_port_;
  const wire::Keyring* keys_ = nullptr;
  std::vector<wire::Message> seen_;
  int undecodable_ = 0;
  std::uint64_t nonce_ = 0;
  wire::Cookie cookie_;
};

std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

wire::Heartbeat heartbeat(const std::string& instance, std::uint64_t seq,
                          std::uint32_t interval_ms = 100, std::uint16_t port = 8080) {
  wire::Heartbeat h;
  h.route.service = "greeting";
  h.route.instance = instance;
  h.route.address = wire::IpAddress::v4(127, 0, 0, 1);
  h.route.port = port;
  h.incarnation = 0xabc;
  h.seq = seq;
  h.sent_ms = wall_ms();
  h.interval_ms = interval_ms;
  return h;
}

bool has_op(const wire::Delta& d, wire::OpKind kind, const std::string& instance) {
  for (const auto& op : d.ops) {
    if (op.kind == kind && op.route.instance == instance) return true;
  }
  return false;
}

// The running daemon with its ports.
struct Directory {
  std::uint16_t port = free_udp_port();
  std::uint16_t metrics_port = free_tcp_port();
  std::unique_ptr<ChildProcess> process;

  explicit Directory(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {bin("directory"), "--listen",
                                     "127.0.0.1:" + std::to_string(port), "--metrics",
                                     "127.0.0.1:" + std::to_string(metrics_port)};
    if (std::find(extra.begin(), extra.end(), "--warmup-max") == extra.end()) {
      extra.insert(extra.end(), {"--warmup-max", "0s"});  // most tests want expiry at once
    }
    // Heartbeats count only if sent after start + --max-clock-skew (the restart rule): a short
    // skew, waited out below, keeps the tests quick.
    extra.insert(extra.end(), {"--max-clock-skew", "100ms"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<ChildProcess>(argv);
    const bool up = wait_until(
        [&] { return http_get("127.0.0.1", metrics_port, "/metrics").has_value(); }, 5000ms);
    EXPECT_TRUE(up) << process->log();
    std::this_thread::sleep_for(150ms);
  }
  std::string metrics() const {
    auto r = http_get("127.0.0.1", metrics_port, "/metrics");
    return r ? r->body : "";
  }
  // The value of one sample line, e.g. metric("heartbeats_total").
  double metric(const std::string& sample) const {
    const std::string body = metrics();
    const std::string key = "baker_directory_" + sample + " ";
    const auto at = body.find("\n" + key);
    if (at == std::string::npos) return -1;
    return std::stod(body.substr(at + 1 + key.size()));
  }
};

TEST(DirectoryLoopback, AddExpiryAndGoodbyeReachASubscriber) {
  Directory dir({"--miss-limit", "2"});
  Peer sherlock(dir.port);
  Peer watson(dir.port);
  sherlock.subscribe(42, {}, 0, 0, 0);
  auto snap = sherlock.wait_for<wire::SnapshotChunk>();
  ASSERT_TRUE(snap) << dir.process->log();
  EXPECT_EQ(snap->seq, 0u);
  EXPECT_EQ(snap->count, 1u);
  EXPECT_TRUE(snap->routes.empty());
  const std::uint64_t epoch = snap->epoch;

  // Add: the first heartbeat becomes a Delta.
  watson.send(heartbeat("a", 1, 100));
  auto add = sherlock.wait_for<wire::Delta>(
      [](const wire::Delta& d) { return has_op(d, wire::OpKind::add, "a"); });
  ASSERT_TRUE(add);
  EXPECT_EQ(add->epoch, epoch);
  EXPECT_EQ(add->from_seq, 0u);
  EXPECT_EQ(add->to_seq, 1u);
  auto tick = sherlock.wait_for<wire::Tick>([](const wire::Tick& t) { return t.seq == 1; });
  ASSERT_TRUE(tick);
  EXPECT_EQ(tick->route_count, 1u);

  // Expiry: silent for miss-limit (2) x 100 ms.
  const auto silent_since = std::chrono::steady_clock::now();
  auto expired = sherlock.wait_for<wire::Delta>(
      [](const wire::Delta& d) { return has_op(d, wire::OpKind::remove, "a"); });
  ASSERT_TRUE(expired);
  EXPECT_GE(std::chrono::steady_clock::now() - silent_since, 150ms);
  EXPECT_EQ(expired->from_seq, 1u);
  EXPECT_EQ(expired->to_seq, 2u);

  // Goodbye: removed at once, long before its 10 s expiry.
  watson.send(heartbeat("b", 2, 5000));
  ASSERT_TRUE(sherlock.wait_for<wire::Delta>(
      [](const wire::Delta& d) { return has_op(d, wire::OpKind::add, "b"); }));
  auto routes = http_get("127.0.0.1", dir.metrics_port, "/routes");
  ASSERT_TRUE(routes);
  EXPECT_NE(routes->body.find("\"instance\":\"b\""), std::string::npos) << routes->body;
  const auto bye_at = std::chrono::steady_clock::now();
  watson.send(wire::Goodbye{"greeting", "b", 0xabc, 3, wall_ms()});
  ASSERT_TRUE(sherlock.wait_for<wire::Delta>(
      [](const wire::Delta& d) { return has_op(d, wire::OpKind::remove, "b"); }));
  EXPECT_LT(std::chrono::steady_clock::now() - bye_at, 1000ms);
  EXPECT_EQ(dir.metric("routes"), 0);
  EXPECT_EQ(dir.metric("heartbeats_total"), 2);
  EXPECT_EQ(dir.metric("route_changes_total{kind=\"expiry\"}"), 1);
  EXPECT_EQ(dir.metric("route_changes_total{kind=\"goodbye\"}"), 1);
  EXPECT_EQ(sherlock.undecodable(), 0);
  const auto page = dir.metrics();
  EXPECT_EQ(check_metrics(page), std::vector<std::string>{}) << page;
}

TEST(DirectoryLoopback, NackIsAnsweredFromTheLogOrWithASnapshot) {
  Directory dir({"--log-size", "4"});
  Peer sherlock(dir.port);
  Peer watson(dir.port);
  sherlock.subscribe(7, {}, 0, 0, 0);
  auto snap = sherlock.wait_for<wire::SnapshotChunk>();
  ASSERT_TRUE(snap) << dir.process->log();
  const std::uint64_t epoch = snap->epoch;
  for (int i = 1; i <= 3; ++i) watson.send(heartbeat("i" + std::to_string(i), 1, 10000));
  ASSERT_TRUE(wait_until([&] { return dir.metric("sequence") == 3; }, 3000ms));

  // Pretend 2..3 were lost: the answer is the log from 2 up to the present.
  sherlock.nack(7, epoch, 2, 3);
  auto re = sherlock.wait_for<wire::Delta>([](const wire::Delta& d) { return d.from_seq == 1; });
  ASSERT_TRUE(re);
  EXPECT_EQ(re->to_seq, 3u);
  EXPECT_EQ(re->ops.size(), 2u);

  // Six more changes: 1..3 fall out of the 4-entry log, so a NACK for 2.. gets a snapshot.
  for (int i = 4; i <= 9; ++i) watson.send(heartbeat("i" + std::to_string(i), 1, 10000));
  ASSERT_TRUE(wait_until([&] { return dir.metric("sequence") == 9; }, 3000ms));
  std::this_thread::sleep_for(60ms);  // past the 50 ms merge window of the first answer
  sherlock.nack(7, epoch, 2, 9);
  std::vector<wire::SnapshotChunk> chunks;
  auto chunk = sherlock.wait_for<wire::SnapshotChunk>([&](const wire::SnapshotChunk& c) {
    chunks.push_back(c);
    return chunks.size() == c.count;
  });
  ASSERT_TRUE(chunk);
  std::size_t routes = 0;
  for (const auto& c : chunks) {
    EXPECT_EQ(c.seq, 9u);
    routes += c.routes.size();
  }
  EXPECT_EQ(routes, 9u);
  EXPECT_EQ(dir.metric("snapshots_started_total"), 2);
  EXPECT_GE(dir.metric("retransmits_sent_total"), 1);
}

TEST(DirectoryLoopback, StormOfNacksIsToldToRetryLater) {
  Directory dir({"--nack-burst", "5", "--nack-rate", "1"});
  Peer sherlock(dir.port);
  Peer watson(dir.port);
  sherlock.subscribe(9, {}, 0, 0, 0);
  auto snap = sherlock.wait_for<wire::SnapshotChunk>();
  ASSERT_TRUE(snap);
  for (int i = 1; i <= 20; ++i) {
    watson.send(heartbeat("s" + std::to_string(i), 1, 10000));
    ASSERT_TRUE(wait_until([&] { return dir.metric("sequence") == i; }, 3000ms));
    sherlock.nack(9, snap->epoch, 1, static_cast<std::uint64_t>(i));
  }
  auto retry = sherlock.wait_for<wire::RetryLater>();
  ASSERT_TRUE(retry);
  EXPECT_GE(retry->delay_ms, 200u);
  EXPECT_TRUE(wait_until([&] { return dir.metric("nacks_rate_limited_total") >= 10; }, 3000ms));
  EXPECT_TRUE(dir.process->running());
}

// Multicast on loopback: the sender uses IP_MULTICAST_IF 127.0.0.1, the member joins on
// 127.0.0.1. Skips (with the reason) only if the kernel refuses the membership.
TEST(DirectoryLoopback, MulticastMembersHearDeltasOnTheGroup) {
  const std::uint16_t group_port = free_udp_port();
  const std::string group = "239.255.74." + std::to_string(10 + getpid() % 200);
  const int member = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(member, 0);
  const int one = 1;
  setsockopt(member, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_port = htons(group_port);
  inet_pton(AF_INET, group.c_str(), &any.sin_addr);
  ASSERT_EQ(bind(member, reinterpret_cast<sockaddr*>(&any), sizeof any), 0) << strerror(errno);
  ip_mreq join{};
  inet_pton(AF_INET, group.c_str(), &join.imr_multiaddr);
  inet_pton(AF_INET, "127.0.0.1", &join.imr_interface);
  if (setsockopt(member, IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof join) != 0) {
    const std::string why = strerror(errno);
    close(member);
    GTEST_SKIP() << "kernel refuses IP_ADD_MEMBERSHIP on 127.0.0.1: " << why;
  }
  Directory dir({"--multicast", group + ":" + std::to_string(group_port), "--multicast-if",
                 "127.0.0.1", "--multicast-ttl", "0"});
  Peer sherlock(dir.port);
  Peer watson(dir.port);
  sherlock.subscribe(5, {"greeting"}, 0, 0, wire::kFlagMulticastMember);
  ASSERT_TRUE(sherlock.wait_for<wire::SnapshotChunk>()) << dir.process->log();
  watson.send(heartbeat("m", 1, 10000));

  std::optional<wire::Delta> on_group;
  bool group_tick = false;
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while ((!on_group || !group_tick) && std::chrono::steady_clock::now() < deadline) {
    pollfd p{member, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    std::vector<std::uint8_t> buf(65536);
    const ssize_t n = recv(member, buf.data(), buf.size(), 0);
    if (n <= 0) continue;
    buf.resize(static_cast<std::size_t>(n));
    auto decoded = wire::decode(buf);
    ASSERT_TRUE(decoded);
    if (const auto* d = std::get_if<wire::Delta>(&decoded.value().message)) on_group = *d;
    if (std::get_if<wire::Tick>(&decoded.value().message)) group_tick = true;
  }
  close(member);
  ASSERT_TRUE(on_group) << "no Delta on " << group << ":" << group_port << "\n"
                        << dir.process->log();
  EXPECT_TRUE(has_op(*on_group, wire::OpKind::add, "m"));
  EXPECT_TRUE(group_tick);
  // The member is not sent the Delta by unicast as well.
  EXPECT_FALSE(sherlock.wait_for<wire::Delta>(300ms));
  EXPECT_EQ(dir.metric("subscribers{delivery=\"multicast\"}"), 1);
}

TEST(DirectoryLoopback, KeysAreRequiredAndReloadedOnSighup) {
  TempDir tmp;
  tmp.write("keys", std::string("1 ") + kKey1 + "\n");
  Directory dir({"--key-file", tmp.file("keys")});
  const auto ring1 = keyring(std::string("1 ") + kKey1 + "\n");
  const auto ring2 = keyring(std::string("2 ") + kKey2 + "\n");
  Peer sherlock(dir.port);
  sherlock.use_keys(&ring1);
  Peer watson(dir.port);

  watson.send(heartbeat("plain", 1));  // no MAC
  ASSERT_TRUE(wait_until(
      [&] { return dir.metric("rejected_datagrams_total{reason=\"missing_mac\"}") == 1; }, 3000ms));
  watson.use_keys(&ring1);
  watson.send(heartbeat("signed", 1, 10000));
  ASSERT_TRUE(wait_until([&] { return dir.metric("routes") == 1; }, 3000ms));
  sherlock.subscribe(3, {}, 0, 0, 0);
  auto snap = sherlock.wait_for<wire::SnapshotChunk>();  // decodes only with a valid MAC
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->routes.size(), 1u);

  // Rotate: the file now holds only key 2; SIGHUP, and key 1 is refused while 2 works.
  tmp.write("keys", std::string("2 ") + kKey2 + "\n");
  dir.process->signal(SIGHUP);
  ASSERT_TRUE(wait_until(
      [&] { return dir.process->log().find("SIGHUP: reloaded") != std::string::npos; }, 3000ms));
  watson.send(heartbeat("signed", 2, 10000));
  ASSERT_TRUE(wait_until(
      [&] { return dir.metric("rejected_datagrams_total{reason=\"unknown_key\"}") == 1; }, 3000ms));
  watson.use_keys(&ring2);
  watson.send(heartbeat("second", 1, 10000));
  ASSERT_TRUE(wait_until([&] { return dir.metric("routes") == 2; }, 3000ms));
  EXPECT_EQ(dir.metric("routes"), 2);  // state kept across the reload
  // A broken key file on SIGHUP keeps the current keys.
  tmp.write("keys", "not a key\n");
  dir.process->signal(SIGHUP);
  ASSERT_TRUE(wait_until(
      [&] { return dir.process->log().find("keeping the current keys") != std::string::npos; },
      3000ms));
  watson.send(heartbeat("second", 2, 10000));
  watson.send(heartbeat("third", 1, 10000));
  ASSERT_TRUE(wait_until([&] { return dir.metric("routes") == 3; }, 3000ms));
  EXPECT_TRUE(dir.process->running());
}

TEST(DirectoryLoopback, WarmupFlagIsSetAfterStartAndClearedLater) {
  Directory dir({"--warmup-max", "600ms"});
  Peer sherlock(dir.port);
  sherlock.subscribe(11, {}, 0, 0, 0);
  auto snap = sherlock.wait_for<wire::SnapshotChunk>();
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->flags, wire::kFlagWarmup);
  auto clear = sherlock.wait_for<wire::Tick>([](const wire::Tick& t) { return t.flags == 0; });
  ASSERT_TRUE(clear);
  EXPECT_EQ(dir.metric("warmup"), 0);
}

TEST(DirectoryLoopback, SigtermStopsCleanly) {
  Directory dir;
  dir.process->signal(SIGTERM);
  const auto status = dir.process->wait_exit(3000ms);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << dir.process->log();
}

TEST(DirectoryLoopback, BadFlagsAndConfigExitWithAClearMessage) {
  TempDir tmp;
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), bin("directory"));
    ChildProcess p(args, tmp.file("out.log"));
    const auto status = p.wait_exit(5000ms);
    std::string log = p.log();
    std::remove(tmp.file("out.log").c_str());
    return std::make_pair(status.value_or(-1), log);
  };
  auto [code, log] = run({"--miss-limit", "0"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(log.find("--miss-limit"), std::string::npos) << log;
  std::tie(code, log) = run({"--listen", "nowhere"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(log.find("--listen"), std::string::npos) << log;
  std::tie(code, log) = run({"--warmup-max", "soon"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(log.find("--warmup-max"), std::string::npos) << log;
  tmp.write("bad.conf", "miss-limit = many\n");
  std::tie(code, log) = run({"--config", tmp.file("bad.conf")});
  EXPECT_EQ(code, 2);
  EXPECT_NE(log.find("--miss-limit"), std::string::npos) << log;
  tmp.write("unknown.conf", "colour = blue\n");
  std::tie(code, log) = run({"--config", tmp.file("unknown.conf")});
  EXPECT_EQ(code, 2);
  EXPECT_NE(log.find("colour"), std::string::npos) << log;
  std::tie(code, log) = run({"--help"});
  EXPECT_EQ(code, 0);
  EXPECT_NE(log.find("--multicast"), std::string::npos);
  // A port already taken: a message naming it, not a crash.
  UdpSocket taken;
  std::tie(code, log) =
      run({"--listen", "127.0.0.1:" + std::to_string(taken.port()), "--metrics", "off"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(log.find("cannot listen"), std::string::npos) << log;
}

TEST(DirectoryLoopback, ConfigFileIsReadAndFlagsWin) {
  TempDir tmp;
  const std::uint16_t port = free_udp_port();
  const std::uint16_t metrics_port = free_tcp_port();
  tmp.write("directory.conf", "listen = 127.0.0.1:" + std::to_string(port) +
                                  "\nmetrics = 127.0.0.1:" + std::to_string(metrics_port) +
                                  "\nmiss-limit = 7\nwarmup-max = 0s\nlog-level = debug\n");
  ChildProcess p({bin("directory"), "--config", tmp.file("directory.conf"), "--miss-limit", "2",
                  "--max-clock-skew", "100ms"});
  ASSERT_TRUE(wait_until(
      [&] { return http_get("127.0.0.1", metrics_port, "/metrics").has_value(); }, 5000ms))
      << p.log();
  std::this_thread::sleep_for(150ms);  // the restart rule: start + max-clock-skew
  EXPECT_NE(p.log().find("miss-limit 2"), std::string::npos) << p.log();
  Peer watson(port);
  watson.send(heartbeat("cfg", 1, 100));
  // Miss-limit 2 (the flag), not 7 (the file): gone within about 200 ms.
  ASSERT_TRUE(wait_until(
      [&] {
        auto r = http_get("127.0.0.1", metrics_port, "/metrics");
        return r && r->body.find("baker_directory_route_changes_total{kind=\"expiry\"} 1") !=
                        std::string::npos;
      },
      3000ms));
  EXPECT_NE(p.log().find("cfg: added"), std::string::npos) << "log-level debug from the file";
}

TEST(DirectoryLoopback, MetricsPassPromtool) {
  Directory dir;
  Peer watson(dir.port);
  watson.send(heartbeat("a", 1, 5000));
  ASSERT_TRUE(wait_until([&] { return dir.metric("routes") == 1; }, 3000ms));
  EXPECT_EQ(promtool_check(dir.metrics()), "") << dir.metrics();
}

}  // namespace
