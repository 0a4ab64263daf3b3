// Replays against the real directory (docs/PROTOCOL.md, "Directory table (from heartbeats)"):
// heartbeats and goodbyes captured from real watson processes, or made here with the wire codec
// as a watson would, sent again later. Without keys and with them (then the replays are the
// captured bytes, MAC and all: the attacker cannot re-stamp them). Observed on /routes and
// /metrics. Small intervals and --max-clock-skew keep each test to a few seconds.
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/real_clock.hpp"
#include "metrics_check.hpp"
#include "process.hpp"
#include "wire/auth.hpp"
#include "wire/codec.hpp"

namespace {

using namespace baker::testing;
namespace wire = baker::wire;

constexpr const char* kKey = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
constexpr auto kSkew = 500ms;  // --max-clock-skew of every directory here
const std::vector<std::string> kReasons = {"stale_timestamp", "future_timestamp", "before_start",
                                           "old_incarnation", "duplicate",        "tombstoned"};

// The real directory; restart() stops it and starts a new process on the same ports.
class Directory {
 public:
  explicit Directory(std::vector<std::string> extra) : extra_(std::move(extra)) { start(); }
  void restart() {
    process_->stop();
    start();
  }
  std::uint16_t port() const { return port_; }
  std::string routes() const {
    const auto r = http_get("127.0.0.1", metrics_port_, "/routes");
    return r ? r->body : "";
  }
  bool has(const std::string& instance, std::uint16_t port) const {
    return routes().find("\"instance\":\"" + instance + "\",\"address\":\"127.0.0.1\",\"port\":" +
                         std::to_string(port) + ",") != std::string::npos;
  }
  bool has(const std::string& instance) const {
    return routes().find("\"instance\":\"" + instance + "\"") != std::string::npos;
  }
  double metric(const std::string& sample) const {
    const auto r = http_get("127.0.0.1", metrics_port_, "/metrics");
    if (!r) return -1;
    const std::string key = "\nbaker_directory_" + sample + " ";
    const auto at = r->body.find(key);
    return at == std::string::npos ? -1 : std::stod(r->body.substr(at + key.size()));
  }
  std::string metrics() const {
    const auto r = http_get("127.0.0.1", metrics_port_, "/metrics");
    return r ? r->body : "";
  }
  double rejected(const std::string& reason) const {
    return metric("rejected_datagrams_total{reason=\"" + reason + "\"}");
  }
  double rejected_total() const {
    double sum = 0;
    for (const auto& r : kReasons) sum += rejected(r);
    return sum;
  }
  std::string log() const { return process_->log(); }

 private:
  void start() {
    std::vector<std::string> argv = {bin("directory"),
                                     "--listen",
                                     "127.0.0.1:" + std::to_string(port_),
                                     "--metrics",
                                     "127.0.0.1:" + std::to_string(metrics_port_),
                                     "--warmup-max",
                                     "0s",
                                     "--miss-limit",
                                     "2",
                                     "--max-clock-skew",
                                     "500ms",
                                     "--log-level",
                                     "debug"};
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    process_ = std::make_unique<ChildProcess>(argv);
    ASSERT_TRUE(wait_until([&] { return metric("routes") == 0; }, 5000ms)) << process_->log();
  }

  std::vector<std::string> extra_;
  std::uint16_t port_ = free_udp_port();
  std::uint16_t metrics_port_ = free_tcp_port();
  std::unique_ptr<ChildProcess> process_;
};

// Heard by the directory and by the attacker alike: a watson's second --directory.
struct Capture {
  UdpSocket socket;
  const wire::Keyring* keys = nullptr;
  std::vector<std::pair<wire::Bytes, wire::Message>> seen;

  // Reads what arrived until pred holds for a datagram (returned), or timeout.
  template <typename T>
  std::optional<std::pair<wire::Bytes, T>> wait_for(std::chrono::milliseconds timeout = 3000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto bytes = socket.receive(50ms);
      if (!bytes) continue;
      auto d = wire::decode(*bytes, wire::DecodeOptions{keys});
      if (!d) continue;
      seen.emplace_back(*bytes, d.value().message);
      if (const auto* m = std::get_if<T>(&d.value().message)) return std::make_pair(*bytes, *m);
    }
    return std::nullopt;
  }
};

class ReplayAnnounce : public ::testing::TestWithParam<bool> {
 protected:
  bool keyed() const { return GetParam(); }
  std::vector<std::string> key_flags() {
    if (!keyed()) return {};
    tmp_.write("keys", std::string("1 ") + kKey + "\n");  // mode 0600
    std::string error;
    ring_ = wire::Keyring::parse(std::string("1 ") + kKey + "\n", &error);
    EXPECT_TRUE(ring_) << error;
    capture_.keys = &*ring_;
    return {"--key-file", tmp_.file("keys")};
  }
  const wire::Keyring* keys() const { return ring_ ? &*ring_ : nullptr; }

  // The real watson for instance `instance` announcing `port`, heard by dir and the capture.
  std::unique_ptr<ChildProcess> watson(const Directory& dir, const std::string& instance,
                                       std::uint16_t port) {
    std::vector<std::string> argv = {bin("watson"),
                                     "--service-name",
                                     "greeting",
                                     "--service-url",
                                     "http://127.0.0.1:" + std::to_string(port),
                                     "--instance-id",
                                     instance,
                                     "--check",
                                     "none",
                                     "--interval",
                                     "100ms",
                                     "--goodbye-spacing",
                                     "20ms",
                                     "--directory",
                                     "127.0.0.1:" + std::to_string(dir.port()),
                                     "--directory",
                                     "127.0.0.1:" + std::to_string(capture_.socket.port())};
    if (keyed()) argv.insert(argv.end(), {"--key-file", tmp_.file("keys")});
    return std::make_unique<ChildProcess>(argv);
  }
  void send(const Directory& dir, const wire::Message& m) { replay(dir, wire::encode(m, keys())); }
  void replay(const Directory& dir, const wire::Bytes& bytes) {
    attacker_.send_to(bytes, "127.0.0.1", dir.port());
  }
  // Without keys an attacker can also re-stamp a capture to look fresh (and re-encode it).
  template <typename T>
  wire::Bytes restamped(const wire::Bytes& bytes) {
    auto m = std::get<T>(wire::decode(bytes, wire::DecodeOptions{}).value().message);
    m.sent_ms = baker::unix_time_ms();
    return wire::encode(m, nullptr);
  }
  // A heartbeat as a watson of incarnation inc would send it now.
  static wire::Heartbeat heartbeat(const std::string& instance, std::uint64_t inc,
                                   std::uint64_t seq, std::uint16_t port = 9000) {
    wire::Heartbeat h;
    h.route.service = "greeting";
    h.route.instance = instance;
    h.route.address = wire::IpAddress::v4(127, 0, 0, 1);
    h.route.port = port;
    h.incarnation = inc;
    h.seq = seq;
    h.interval_ms = 50;
    h.sent_ms = baker::unix_time_ms();
    return h;
  }
  static wire::Goodbye goodbye(const std::string& instance, std::uint64_t inc, std::uint64_t seq) {
    wire::Goodbye g;
    g.service = "greeting";
    g.instance = instance;
    g.incarnation = inc;
    g.seq = seq;
    g.sent_ms = baker::unix_time_ms();
    return g;
  }
  // The directory refuses every watson datagram stamped before its start + the skew.
  static void past_start() { std::this_thread::sleep_for(kSkew + 50ms); }

  TempDir tmp_;
  std::optional<wire::Keyring> ring_;
  Capture capture_;
  UdpSocket attacker_;
};

// (a) A Goodbye captured from an earlier watson process of an instance, replayed while a later
// process runs, never removes the live instance, and is counted.
TEST_P(ReplayAnnounce, AnEarlierProcesssGoodbyeNeverRemovesTheLiveInstance) {
  Directory dir(key_flags());
  past_start();
  auto first = watson(dir, "i-1", 8081);
  ASSERT_TRUE(wait_until([&] { return dir.has("i-1", 8081); }, 3000ms))
      << dir.routes() << dir.log() << first->log();
  ASSERT_EQ(first->stop(), 0);
  const auto bye = capture_.wait_for<wire::Goodbye>();
  ASSERT_TRUE(bye) << first->log();
  ASSERT_TRUE(wait_until([&] { return !dir.has("i-1"); }, 2000ms)) << dir.routes();

  auto second = watson(dir, "i-1", 8082);
  ASSERT_TRUE(wait_until([&] { return dir.has("i-1", 8082); }, 3000ms)) << dir.routes();
  const double before = dir.rejected_total();
  int sent = 0;
  for (int k = 0; k < 3; ++k, ++sent) replay(dir, bye->first);
  if (!keyed()) {  // re-stamped to look fresh: then only the incarnation order stops it
    replay(dir, restamped<wire::Goodbye>(bye->first));
    ++sent;
    ASSERT_TRUE(wait_until([&] { return dir.rejected("old_incarnation") >= 1; }, 2000ms))
        << dir.log();
  }
  ASSERT_TRUE(wait_until([&] { return dir.rejected_total() >= before + sent; }, 2000ms))
      << dir.metric("goodbyes_total") << dir.log();
  EXPECT_TRUE(dir.has("i-1", 8082)) << dir.routes();
  EXPECT_EQ(dir.metric("route_changes_total{kind=\"goodbye\"}"), 1);  // the first process's own
}

// (b) A heartbeat of an old process never brings back its old port.
TEST_P(ReplayAnnounce, AnOldProcesssHeartbeatNeverBringsBackItsOldPort) {
  Directory dir(key_flags());
  past_start();
  auto first = watson(dir, "i-2", 8081);
  ASSERT_TRUE(wait_until([&] { return dir.has("i-2", 8081); }, 3000ms)) << dir.routes();
  const auto hb = capture_.wait_for<wire::Heartbeat>();
  ASSERT_TRUE(hb);
  first->signal(SIGKILL);  // a crash: no goodbye
  first->wait_exit(2000ms);
  auto second = watson(dir, "i-2", 8082);
  ASSERT_TRUE(wait_until([&] { return dir.has("i-2", 8082); }, 3000ms)) << dir.routes();
  const double before = dir.rejected_total();
  int sent = 0;
  for (int k = 0; k < 3; ++k, ++sent) replay(dir, hb->first);
  if (!keyed()) {
    replay(dir, restamped<wire::Heartbeat>(hb->first));
    ++sent;
  }
  ASSERT_TRUE(wait_until([&] { return dir.rejected_total() >= before + sent; }, 2000ms))
      << dir.log();
  if (!keyed()) {
    EXPECT_GE(dir.rejected("old_incarnation"), 1);
  }
  EXPECT_TRUE(dir.has("i-2", 8082)) << dir.routes();
  EXPECT_FALSE(dir.has("i-2", 8081)) << dir.routes();
}

// (c) A heartbeat captured before a Goodbye, replayed inside the post-Goodbye window, after it,
// after an expiry, and after a directory restart, adds nothing and is counted.
TEST_P(ReplayAnnounce, AHeartbeatCapturedBeforeAGoodbyeAddsNothingLater) {
  Directory dir(key_flags());
  past_start();
  const std::uint64_t inc = baker::unix_time_us();
  send(dir, heartbeat("g", inc, 1));
  const wire::Bytes captured = wire::encode(heartbeat("g", inc, 2), keys());
  replay(dir, captured);  // the watson's own send, heard by the attacker
  ASSERT_TRUE(wait_until([&] { return dir.has("g", 9000); }, 2000ms)) << dir.log();
  send(dir, goodbye("g", inc, 3));
  ASSERT_TRUE(wait_until([&] { return !dir.has("g"); }, 2000ms));

  replay(dir, captured);  // inside the window: still fresh, the tombstone stops it
  ASSERT_TRUE(wait_until([&] { return dir.rejected("tombstoned") == 1; }, 2000ms)) << dir.log();
  EXPECT_FALSE(dir.has("g"));

  // After the window (the tombstone is purged: 2 x skew + 2 x 50 ms later).
  ASSERT_TRUE(wait_until([&] { return dir.metric("tombstones") == 0; }, 3000ms));
  replay(dir, captured);
  ASSERT_TRUE(wait_until([&] { return dir.rejected("stale_timestamp") == 1; }, 2000ms));
  EXPECT_FALSE(dir.has("g"));

  // After an expiry (2 x 50 ms without a heartbeat).
  const std::uint64_t inc2 = baker::unix_time_us();
  const wire::Bytes before_expiry = wire::encode(heartbeat("e", inc2, 1), keys());
  replay(dir, before_expiry);
  ASSERT_TRUE(
      wait_until([&] { return dir.metric("route_changes_total{kind=\"expiry\"}") == 1; }, 2000ms));
  const double after_expiry = dir.rejected_total();
  replay(dir, before_expiry);  // tombstoned if still fresh, stale otherwise: never added
  ASSERT_TRUE(wait_until([&] { return dir.rejected_total() == after_expiry + 1; }, 2000ms));
  EXPECT_FALSE(dir.has("e"));

  // After a restart of the directory: it remembers nothing, yet neither a capture from just
  // before the restart (fresh) nor the old one counts.
  const wire::Bytes just_before = wire::encode(heartbeat("r", inc2, 2), keys());
  replay(dir, just_before);
  ASSERT_TRUE(wait_until([&] { return dir.has("r"); }, 2000ms));
  dir.restart();
  replay(dir, just_before);
  replay(dir, captured);
  ASSERT_TRUE(wait_until([&] { return dir.rejected_total() == 2; }, 2000ms)) << dir.log();
  EXPECT_EQ(dir.rejected("before_start") + dir.rejected("stale_timestamp"), 2);
  EXPECT_EQ(dir.metric("routes"), 0) << dir.routes();
  // The page with the new families and reasons is valid Prometheus text, as promtool reads it.
  const std::string page = dir.metrics();
  EXPECT_EQ(check_metrics(page), std::vector<std::string>{}) << page;
  EXPECT_EQ(promtool_check(page), "") << page;
}

INSTANTIATE_TEST_SUITE_P(KeysOrNot, ReplayAnnounce, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "WithKeys" : "WithoutKeys"; });

// (e) A watson whose clock is off is logged once, with a clear message; its datagrams counted.
TEST(ReplayAnnounceClock, AWatsonWithItsClockOffIsLoggedOnce) {
  Directory dir({});
  std::this_thread::sleep_for(kSkew + 50ms);
  UdpSocket watson;
  const std::uint64_t inc = baker::unix_time_us();
  for (std::uint64_t seq = 1; seq <= 5; ++seq) {
    wire::Heartbeat h;
    h.route.service = "greeting";
    h.route.instance = "skewed";
    h.route.address = wire::IpAddress::v4(127, 0, 0, 1);
    h.route.port = 9000;
    h.incarnation = inc;
    h.seq = seq;
    h.sent_ms = baker::unix_time_ms() + 5000;  // its clock runs 5 s ahead
    watson.send_to(wire::encode(h), "127.0.0.1", dir.port());
  }
  ASSERT_TRUE(wait_until([&] { return dir.rejected("future_timestamp") == 5; }, 2000ms))
      << dir.log();
  const std::string log = dir.log();
  const std::string line = "watson greeting/skewed (incarnation " + std::to_string(inc) + ")";
  const auto first = log.find(line);
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find(line, first + 1), std::string::npos) << "logged once:\n" << log;
  const std::string message = log.substr(first, log.find('\n', first) - first);
  EXPECT_NE(message.find("ahead of this directory's clock"), std::string::npos) << message;
  EXPECT_NE(message.find("--max-clock-skew 500 ms"), std::string::npos) << message;
  EXPECT_EQ(dir.metric("clock_warnings_total"), 1);
  EXPECT_FALSE(dir.has("skewed"));
}

}  // namespace
