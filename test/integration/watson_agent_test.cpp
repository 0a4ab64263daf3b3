// The real watson binary against a real local HTTP server (switched healthy/unhealthy by the
// test), a TCP listener and a command, with UDP sockets in the test standing in for directories
// and decoding every datagram that arrives.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "common/real_clock.hpp"
#include "process.hpp"
#include "wire/auth.hpp"
#include "wire/codec.hpp"

namespace baker::testing {
namespace {

using namespace std::chrono_literals;

// A listening TCP socket on 127.0.0.1. With `serve`, a thread answers each HTTP request with the
// current status (200 healthy, 503 unhealthy); close() makes the port refuse connections.
class LocalServer {
 public:
  explicit LocalServer(bool serve, std::uint16_t port = 0) : serve_(serve) { open(port); }
  ~LocalServer() { close(); }
  std::uint16_t port() const { return port_; }
  std::atomic<int> status{200};
  std::atomic<int> requests{0};

  void open(std::uint16_t port) {
    // CLOEXEC: a watson started later must not inherit (and so keep open) this listener.
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw std::runtime_error("LocalServer: bind failed");
    }
    listen(fd_, 64);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    stop_ = false;
    if (serve_) thread_ = std::thread([this] { loop(); });
  }
  void close() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 10) <= 0) continue;
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string req;
      char buf[1024];
      while (req.find("\r\n\r\n") == std::string::npos) {
        pollfd q{c, POLLIN, 0};
        if (poll(&q, 1, 500) <= 0) break;
        const ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
      }
      const int s = status.load();
      const std::string body = s == 200 ? "ok" : "unavailable";
      const std::string resp = "HTTP/1.1 " + std::to_string(s) +
                               (s == 200 ? " OK" : " Service Unavailable") +
                               "\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\nConnection: close\r\n\r\n" + body;
      send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::close(c);
      ++requests;
    }
  }
  bool serve_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A fake directory: a UDP socket that decodes what arrives and keeps every message in order.
class FakeDirectory {
 public:
  explicit FakeDirectory(std::uint16_t port = 0) : socket_(port) {}
  std::uint16_t port() const { return socket_.port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  const wire::Keyring* keys = nullptr;

  // Receives until pred holds on the messages so far, or timeout. Every datagram must decode.
  bool wait_for(const std::function<bool(const std::vector<wire::Message>&)>& pred,
                std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred(messages)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return false;
      auto bytes = socket_.receive(left);
      if (!bytes) continue;
      auto decoded = wire::decode(*bytes, wire::DecodeOptions{keys});
      EXPECT_TRUE(decoded.ok()) << "undecodable datagram: " << wire::to_string(decoded.error());
      if (!decoded.ok()) continue;
      if (keys) {
        EXPECT_TRUE(decoded.value().authenticated);
      }
      key_ids.push_back(decoded.value().key_id);
      messages.push_back(std::move(decoded.value().message));
    }
    return true;
  }
  // Waits until `n` more messages of type T arrived (after those already held).
  template <typename T>
  bool wait_for_more(std::size_t n, std::chrono::milliseconds timeout) {
    const auto base = count<T>();
    return wait_for([&](const auto&) { return count<T>() >= base + n; }, timeout);
  }
  // Receives for a while, keeping everything.
  void drain_for(std::chrono::milliseconds d) {
    wait_for([](const auto&) { return false; }, d);
  }

  template <typename T>
  std::size_t count() const {
    std::size_t n = 0;
    for (const auto& m : messages) n += std::holds_alternative<T>(m) ? 1 : 0;
    return n;
  }
  template <typename T>
  std::vector<T> all() const {
    std::vector<T> out;
    for (const auto& m : messages) {
      if (std::holds_alternative<T>(m)) out.push_back(std::get<T>(m));
    }
    return out;
  }
  const wire::Heartbeat& last_heartbeat() const {
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
      if (std::holds_alternative<wire::Heartbeat>(*it)) return std::get<wire::Heartbeat>(*it);
    }
    throw std::runtime_error("no heartbeat");
  }

  std::vector<wire::Message> messages;
  std::vector<std::uint32_t> key_ids;

 private:
  UdpSocket socket_;
};

std::uint64_t seq_of(const wire::Message& m) {
  if (const auto* h = std::get_if<wire::Heartbeat>(&m)) return h->seq;
  if (const auto* g = std::get_if<wire::Goodbye>(&m)) return g->seq;
  return 0;
}
std::uint64_t incarnation_of(const wire::Message& m) {
  if (const auto* h = std::get_if<wire::Heartbeat>(&m)) return h->incarnation;
  if (const auto* g = std::get_if<wire::Goodbye>(&m)) return g->incarnation;
  return 0;
}
std::uint64_t sent_ms_of(const wire::Message& m) {
  if (const auto* h = std::get_if<wire::Heartbeat>(&m)) return h->sent_ms;
  if (const auto* g = std::get_if<wire::Goodbye>(&m)) return g->sent_ms;
  return 0;
}

// One incarnation, seq +1 per datagram, and sent_ms from the wall clock, never going back (the
// test host's clock is not stepped while it runs): what the directory relies on.
void expect_one_incarnation_and_consecutive_seqs(const std::vector<wire::Message>& ms) {
  ASSERT_FALSE(ms.empty());
  const std::uint64_t now_ms = unix_time_ms();
  for (std::size_t i = 0; i < ms.size(); ++i) {
    EXPECT_EQ(incarnation_of(ms[i]), incarnation_of(ms[0]));
    EXPECT_EQ(seq_of(ms[i]), seq_of(ms[0]) + i) << "at message " << i;
    EXPECT_LE(sent_ms_of(ms[i]), now_ms) << "at message " << i;
    EXPECT_GE(sent_ms_of(ms[i]), incarnation_of(ms[0]) / 1000) << "sent after the process start";
    if (i > 0) {
      EXPECT_GE(sent_ms_of(ms[i]), sent_ms_of(ms[i - 1]));
    }
  }
}

std::vector<std::string> watson_args(const FakeDirectory& dir, std::uint16_t service_port,
                                     std::vector<std::string> extra) {
  std::vector<std::string> a = {bin("watson"),
                                "--service-name",
                                "greeting",
                                "--service-url",
                                "http://127.0.0.1:" + std::to_string(service_port) + "/api",
                                "--directory",
                                dir.address(),
                                "--interval",
                                "100ms",
                                "--check-timeout",
                                "200ms",
                                "--rise",
                                "2",
                                "--fall",
                                "2",
                                "--goodbye-spacing",
                                "50ms",
                                "--log-level",
                                "debug"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// The same arguments without `flag` and its value (to give it another value).
std::vector<std::string> without(std::vector<std::string> args, const std::string& flag) {
  for (auto it = args.begin(); it != args.end(); ++it) {
    if (*it == flag) {
      args.erase(it, it + 2);
      break;
    }
  }
  return args;
}

std::vector<std::string> http_watson(const FakeDirectory& dir, const LocalServer& http,
                                     std::vector<std::string> extra = {}) {
  extra.insert(extra.begin(), {"--health-check-url",
                               "http://localhost:" + std::to_string(http.port()) + "/health"});
  return watson_args(dir, http.port(), extra);
}

TEST(WatsonAgent, HttpCheckedInstanceHeartbeatsItsRoute) {
  LocalServer http(true);
  FakeDirectory dir;
  const std::uint64_t launched_us = unix_time_us();
  ChildProcess watson(
      http_watson(dir, http, {"--weight", "42", "--tags", "v2,zone-a", "--jitter", "0.2"}));
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(6, 3s)) << watson.log();
  const auto hbs = dir.all<wire::Heartbeat>();
  const auto& hb = hbs.front();
  EXPECT_EQ(hb.route.service, "greeting");
  EXPECT_EQ(hb.route.instance, "127.0.0.1:" + std::to_string(http.port()));
  EXPECT_EQ(hb.route.address, wire::IpAddress::v4(127, 0, 0, 1));
  EXPECT_EQ(hb.route.port, http.port());
  EXPECT_EQ(hb.route.weight, 42);
  EXPECT_EQ(hb.route.tags, (std::vector<std::string>{"v2", "zone-a"}));
  EXPECT_EQ(hb.route.state, wire::InstanceState::up);
  EXPECT_EQ(hb.interval_ms, 100u);
  // The incarnation is the process start on the wall clock, in microseconds.
  EXPECT_GE(hb.incarnation, launched_us);
  EXPECT_LE(hb.incarnation, unix_time_us());
  EXPECT_EQ(hb.seq, 1u);
  expect_one_incarnation_and_consecutive_seqs(dir.messages);
  EXPECT_EQ(dir.key_ids.front(), 0u) << "no key file: no MAC";
  EXPECT_GT(http.requests.load(), 0);
  EXPECT_NE(watson.log().find("instance healthy"), std::string::npos) << watson.log();
}

TEST(WatsonAgent, HeartbeatGapsStayWithinTheJitterBand) {
  LocalServer http(true);
  FakeDirectory dir;
  ChildProcess watson(http_watson(dir, http, {"--jitter", "0.5"}));
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(1, 3s)) << watson.log();
  const auto first = std::chrono::steady_clock::now();
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(10, 3s)) << watson.log();
  const auto took = std::chrono::steady_clock::now() - first;
  // Ten gaps of 50..100 ms each (jitter 0.5 of 100 ms). Measured at the receiver, so only the
  // two ends carry scheduling noise; the upper bound leaves room for a busy 2-core machine.
  EXPECT_GT(took, 450ms);
  EXPECT_LT(took, 1500ms);
  expect_one_incarnation_and_consecutive_seqs(dir.messages);
}

TEST(WatsonAgent, UnhealthySaysGoodbyeStopsAndRecoveryResumesInTheSameIncarnation) {
  LocalServer http(true);
  FakeDirectory dir;
  ChildProcess watson(http_watson(dir, http));
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(3, 3s)) << watson.log();

  http.status = 503;
  ASSERT_TRUE(dir.wait_for_more<wire::Goodbye>(3, 3s)) << watson.log();
  const auto byes = dir.all<wire::Goodbye>();
  EXPECT_EQ(byes[0].service, "greeting");
  EXPECT_EQ(byes[0].instance, "127.0.0.1:" + std::to_string(http.port()));
  dir.drain_for(400ms);  // four intervals: nothing more while unhealthy
  EXPECT_TRUE(std::holds_alternative<wire::Goodbye>(dir.messages.back()))
      << "no heartbeat after the goodbyes";
  EXPECT_EQ(dir.count<wire::Goodbye>(), 3u);
  const auto log = watson.log();
  EXPECT_NE(log.find("check failed"), std::string::npos) << log;
  EXPECT_NE(log.find("HTTP 503"), std::string::npos) << log;
  EXPECT_NE(log.find("unhealthy"), std::string::npos) << log;

  http.status = 200;
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(3, 3s)) << watson.log();
  expect_one_incarnation_and_consecutive_seqs(dir.messages);
  EXPECT_EQ(dir.last_heartbeat().route.state, wire::InstanceState::up);
}

TEST(WatsonAgent, SigtermSaysGoodbyeAndExitsCleanly) {
  LocalServer http(true);
  FakeDirectory dir;
  ChildProcess watson(http_watson(dir, http));
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(2, 3s)) << watson.log();
  watson.signal(SIGTERM);
  const auto status = watson.wait_exit(3s);
  ASSERT_TRUE(status.has_value()) << "watson must exit after its goodbyes";
  EXPECT_EQ(*status, 0);
  dir.drain_for(100ms);
  EXPECT_EQ(dir.count<wire::Goodbye>(), 3u);
  EXPECT_TRUE(std::holds_alternative<wire::Goodbye>(dir.messages.back()));
  expect_one_incarnation_and_consecutive_seqs(dir.messages);
}

TEST(WatsonAgent, SigintAlsoSaysGoodbye) {
  LocalServer http(true);
  FakeDirectory dir;
  ChildProcess watson(http_watson(dir, http, {"--goodbye-count", "2"}));
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(1, 3s)) << watson.log();
  watson.signal(SIGINT);
  ASSERT_EQ(watson.wait_exit(3s), 0);
  dir.drain_for(100ms);
  EXPECT_EQ(dir.count<wire::Goodbye>(), 2u);
}

TEST(WatsonAgent, SigtermBeforeEverHealthyExitsWithoutGoodbye) {
  LocalServer http(true);
  http.status = 500;
  FakeDirectory dir;
  ChildProcess watson(http_watson(dir, http));
  ASSERT_TRUE(wait_until([&] { return http.requests.load() >= 2; }, 3s));
  watson.signal(SIGTERM);
  ASSERT_EQ(watson.wait_exit(3s), 0);
  dir.drain_for(100ms);
  EXPECT_TRUE(dir.messages.empty());
}

TEST(WatsonAgent, DrainingBySignalsKeepsHeartbeatingWithStateDraining) {
  LocalServer http(true);
  FakeDirectory dir;
  ChildProcess watson(http_watson(dir, http));
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(2, 3s)) << watson.log();
  watson.signal(SIGUSR1);
  ASSERT_TRUE(dir.wait_for(
      [](const auto& ms) {
        return std::get<wire::Heartbeat>(ms.back()).route.state == wire::InstanceState::draining;
      },
      2s))
      << watson.log();
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(3, 2s));
  EXPECT_EQ(dir.last_heartbeat().route.state, wire::InstanceState::draining);
  EXPECT_EQ(dir.count<wire::Goodbye>(), 0u) << "draining is not leaving";

  watson.signal(SIGUSR2);
  ASSERT_TRUE(dir.wait_for(
      [](const auto& ms) {
        return std::get<wire::Heartbeat>(ms.back()).route.state == wire::InstanceState::up;
      },
      2s))
      << watson.log();
  expect_one_incarnation_and_consecutive_seqs(dir.messages);
  EXPECT_NE(watson.log().find("SIGUSR1"), std::string::npos);
}

TEST(WatsonAgent, DrainFileAndStartFlag) {
  LocalServer http(true);
  TempDir tmp;
  const auto drain_file = tmp.file("drain");
  FakeDirectory dir;
  ChildProcess watson(http_watson(dir, http, {"--drain-file", drain_file, "--draining"}));
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(2, 3s)) << watson.log();
  for (const auto& hb : dir.all<wire::Heartbeat>()) {
    EXPECT_EQ(hb.route.state, wire::InstanceState::draining) << "--draining from the start";
  }
  watson.signal(SIGUSR2);
  ASSERT_TRUE(dir.wait_for(
      [](const auto& ms) {
        return std::get<wire::Heartbeat>(ms.back()).route.state == wire::InstanceState::up;
      },
      2s));

  tmp.write("drain", "");
  ASSERT_TRUE(dir.wait_for(
      [](const auto& ms) {
        return std::get<wire::Heartbeat>(ms.back()).route.state == wire::InstanceState::draining;
      },
      2s))
      << watson.log();
  watson.signal(SIGUSR2);  // the file still exists: still draining
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(3, 2s));
  EXPECT_EQ(dir.last_heartbeat().route.state, wire::InstanceState::draining);

  std::filesystem::remove(drain_file);
  ASSERT_TRUE(dir.wait_for(
      [](const auto& ms) {
        return std::get<wire::Heartbeat>(ms.back()).route.state == wire::InstanceState::up;
      },
      2s))
      << watson.log();
  expect_one_incarnation_and_consecutive_seqs(dir.messages);
}

TEST(WatsonAgent, TcpCheckFollowsTheListener) {
  LocalServer service(false);  // accepts connections (backlog), no HTTP
  const auto port = service.port();
  FakeDirectory dir;
  ChildProcess watson(watson_args(dir, port, {"--check", "tcp"}));
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(3, 3s)) << watson.log();
  EXPECT_EQ(dir.last_heartbeat().route.port, port);

  service.close();
  ASSERT_TRUE(dir.wait_for_more<wire::Goodbye>(3, 3s)) << watson.log();
  EXPECT_NE(watson.log().find("refused"), std::string::npos) << watson.log();

  service.open(port);
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(2, 3s)) << watson.log();
  expect_one_incarnation_and_consecutive_seqs(dir.messages);
}

TEST(WatsonAgent, CommandCheckFollowsExitStatus) {
  TempDir tmp;
  const auto flag = tmp.file("healthy");
  tmp.write("healthy", "");
  FakeDirectory dir;
  ChildProcess watson(watson_args(dir, 8080, {"--exec-check", "test -e " + flag}));
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(3, 3s)) << watson.log();
  std::filesystem::remove(flag);
  ASSERT_TRUE(dir.wait_for_more<wire::Goodbye>(3, 3s)) << watson.log();
  EXPECT_NE(watson.log().find("exit status 1"), std::string::npos) << watson.log();
  tmp.write("healthy", "");
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(2, 3s)) << watson.log();
  expect_one_incarnation_and_consecutive_seqs(dir.messages);
}

TEST(WatsonAgent, CommandCheckTimeoutCountsAsFailure) {
  FakeDirectory dir;
  auto args = without(watson_args(dir, 8080, {"--exec-check", "sleep 5"}), "--check-timeout");
  args.insert(args.end(), {"--check-timeout", "100ms"});
  ChildProcess watson(args);
  ASSERT_TRUE(wait_until([&] { return watson.log().find("timed out") != std::string::npos; }, 3s))
      << watson.log();
  dir.drain_for(300ms);
  EXPECT_TRUE(dir.messages.empty());
  EXPECT_EQ(watson.stop(), 0) << "SIGTERM with a check running still exits cleanly";
}

TEST(WatsonAgent, NoCheckHeartbeatsToEveryDirectory) {
  FakeDirectory a;
  FakeDirectory b;
  ChildProcess watson(watson_args(a, 8080, {"--check", "none", "--directory", b.address()}));
  ASSERT_TRUE(a.wait_for_more<wire::Heartbeat>(3, 3s)) << watson.log();
  ASSERT_TRUE(b.wait_for_more<wire::Heartbeat>(3, 3s)) << watson.log();
  EXPECT_EQ(a.all<wire::Heartbeat>()[0], b.all<wire::Heartbeat>()[0]);
  expect_one_incarnation_and_consecutive_seqs(a.messages);
  expect_one_incarnation_and_consecutive_seqs(b.messages);
}

TEST(WatsonAgent, AbsentDirectoryIsLoggedAndRetriedUntilItAppears) {
  const auto port = free_udp_port();
  std::vector<std::string> args = {bin("watson"),
                                   "--service-name",
                                   "greeting",
                                   "--service-url",
                                   "http://127.0.0.1:8080",
                                   "--check",
                                   "none",
                                   "--directory",
                                   "127.0.0.1:" + std::to_string(port),
                                   "--interval",
                                   "50ms"};
  ChildProcess watson(args);
  ASSERT_TRUE(
      wait_until([&] { return watson.log().find("port unreachable") != std::string::npos; }, 3s))
      << watson.log();
  std::this_thread::sleep_for(300ms);  // several more refusals: still one log line (rate limit)
  const auto log = watson.log();
  std::size_t lines = 0;
  for (auto at = log.find("port unreachable"); at != std::string::npos;
       at = log.find("port unreachable", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << log;
  EXPECT_TRUE(watson.running());

  FakeDirectory late(port);
  ASSERT_TRUE(late.wait_for_more<wire::Heartbeat>(3, 3s)) << watson.log();
  expect_one_incarnation_and_consecutive_seqs(late.messages);
}

TEST(WatsonAgent, KeyFileAuthenticatesHeartbeats) {
  TempDir tmp;
  tmp.write("keys", "# cluster key\n7 " + std::string(64, 'a') + " primary\n");
  std::string error;
  auto ring = wire::Keyring::parse("7 " + std::string(64, 'a') + "\n", &error);
  ASSERT_TRUE(ring) << error;
  FakeDirectory dir;
  dir.keys = &*ring;
  ChildProcess watson(watson_args(dir, 8080, {"--check", "none", "--key-file", tmp.file("keys")}));
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(2, 3s)) << watson.log();
  EXPECT_EQ(dir.key_ids.front(), 7u);
  watson.stop();
  dir.drain_for(100ms);
  EXPECT_EQ(dir.count<wire::Goodbye>(), 3u) << "goodbyes are authenticated too";
}

TEST(WatsonAgent, BakerStreetConfigFileWorksAndFlagsWin) {
  LocalServer http(true);
  FakeDirectory dir;
  TempDir tmp;
  tmp.write("watson.conf",
            "[Datawire]\n"
            "directory_host = 127.0.0.1:" +
                std::to_string(dir.port()) +
                "\n\n[Watson]\n"
                "; The name of the service.\n"
                "service_name: greeting\n"
                "health_check_url: http://127.0.0.1:" +
                std::to_string(http.port()) +
                "/health\n"
                "period: 1\n"
                "logging: DEBUG\n"
                "service_url: http://127.0.0.1:" +
                std::to_string(http.port()) + "/foobar\n");
  ChildProcess watson({bin("watson"), "--config", tmp.file("watson.conf"), "--weight", "7"});
  ASSERT_TRUE(dir.wait_for_more<wire::Heartbeat>(2, 4s)) << watson.log();
  const auto hb = dir.all<wire::Heartbeat>()[0];
  EXPECT_EQ(hb.route.service, "greeting");
  EXPECT_EQ(hb.interval_ms, 1000u) << "period: 1 (seconds)";
  EXPECT_EQ(hb.route.weight, 7) << "a flag wins over the file";
}

// The real directory, fed by the real watson: what a client would see in its route table.
class RealDirectory {
 public:
  explicit RealDirectory(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {bin("directory"),
                                     "--listen",
                                     address(),
                                     "--metrics",
                                     "127.0.0.1:" + std::to_string(metrics_port_),
                                     "--warmup-max",
                                     "0s"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<ChildProcess>(argv);
    up_ = wait_until([&] { return http_get("127.0.0.1", metrics_port_, "/metrics").has_value(); },
                     5s);
  }
  bool up() const { return up_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string routes() const {
    const auto r = http_get("127.0.0.1", metrics_port_, "/routes");
    return r ? r->body : "";
  }
  // The value of a sample such as route_changes_total{kind="goodbye"}; -1 if absent.
  double metric(const std::string& sample) const {
    const auto r = http_get("127.0.0.1", metrics_port_, "/metrics");
    if (!r) return -1;
    const std::string key = "\nbaker_directory_" + sample + " ";
    const auto at = r->body.find(key);
    return at == std::string::npos ? -1 : std::stod(r->body.substr(at + key.size()));
  }
  std::string log() const { return process_->log(); }

 private:
  std::uint16_t port_ = free_udp_port();
  std::uint16_t metrics_port_ = free_tcp_port();
  std::unique_ptr<ChildProcess> process_;
  bool up_ = false;
};

bool have_directory() {
  return std::filesystem::exists(bin("directory"));
}

TEST(WatsonWithDirectory, RouteFollowsHealthDrainingAndShutdown) {
  if (!have_directory()) GTEST_SKIP() << "directory binary not built";
  RealDirectory directory;
  ASSERT_TRUE(directory.up()) << directory.log();
  LocalServer http(true);
  const std::string instance = "\"instance\":\"127.0.0.1:" + std::to_string(http.port()) + "\"";
  std::vector<std::string> args = {bin("watson"),
                                   "--service-name",
                                   "greeting",
                                   "--service-url",
                                   "http://127.0.0.1:" + std::to_string(http.port()),
                                   "--health-check-url",
                                   "http://127.0.0.1:" + std::to_string(http.port()) + "/health",
                                   "--directory",
                                   directory.address(),
                                   "--interval",
                                   "100ms",
                                   "--fall",
                                   "2",
                                   "--weight",
                                   "30",
                                   "--tags",
                                   "v2"};
  ChildProcess watson(args);
  auto has = [&](const std::string& what) {
    return [&directory, what] { return directory.routes().find(what) != std::string::npos; };
  };
  ASSERT_TRUE(wait_until(has(instance), 3s)) << directory.routes() << watson.log();
  const auto routes = directory.routes();
  EXPECT_NE(routes.find("\"service\":\"greeting\""), std::string::npos) << routes;
  EXPECT_NE(routes.find("\"weight\":30"), std::string::npos) << routes;
  EXPECT_NE(routes.find("\"tags\":[\"v2\"]"), std::string::npos) << routes;
  EXPECT_NE(routes.find("\"state\":\"up\""), std::string::npos) << routes;
  EXPECT_NE(routes.find("\"interval_ms\":100"), std::string::npos) << routes;

  watson.signal(SIGUSR1);
  ASSERT_TRUE(wait_until(has("\"state\":\"draining\""), 2s)) << directory.routes();
  watson.signal(SIGUSR2);
  ASSERT_TRUE(wait_until(has("\"state\":\"up\""), 2s)) << directory.routes();

  // Unhealthy: the Goodbye removes the route at once (not an expiry).
  http.status = 503;
  ASSERT_TRUE(wait_until([&] { return !has(instance)(); }, 3s)) << directory.routes();
  EXPECT_EQ(directory.metric("route_changes_total{kind=\"goodbye\"}"), 1) << directory.log();
  EXPECT_EQ(directory.metric("route_changes_total{kind=\"expiry\"}"), 0);

  http.status = 200;
  ASSERT_TRUE(wait_until(has(instance), 3s)) << directory.routes() << watson.log();

  ASSERT_EQ(watson.stop(), 0);
  ASSERT_TRUE(wait_until([&] { return !has(instance)(); }, 2s)) << directory.routes();
  EXPECT_EQ(directory.metric("route_changes_total{kind=\"goodbye\"}"), 2);
  EXPECT_EQ(directory.metric("route_changes_total{kind=\"expiry\"}"), 0);
}

TEST(WatsonWithDirectory, SharedKeyIsAcceptedAndAWrongKeyRejected) {
  if (!have_directory()) GTEST_SKIP() << "directory binary not built";
  TempDir tmp;
  tmp.write("cluster.keys", "3 " + std::string(64, 'c') + "\n");
  tmp.write("other.keys", "3 " + std::string(64, 'd') + "\n");
  RealDirectory directory({"--key-file", tmp.file("cluster.keys")});
  ASSERT_TRUE(directory.up()) << directory.log();
  auto start = [&](const std::string& instance, const std::string& keys) {
    return std::make_unique<ChildProcess>(std::vector<std::string>{
        bin("watson"), "--service-name", "greeting", "--service-url", "http://127.0.0.1:8080",
        "--instance-id", instance, "--check", "none", "--directory", directory.address(),
        "--interval", "100ms", "--key-file", tmp.file(keys)});
  };
  auto good = start("good", "cluster.keys");
  auto bad = start("bad", "other.keys");
  ASSERT_TRUE(wait_until(
      [&] { return directory.routes().find("\"instance\":\"good\"") != std::string::npos; }, 3s))
      << directory.routes() << good->log();
  std::this_thread::sleep_for(300ms);  // three of the wrong watson's heartbeats
  EXPECT_EQ(directory.routes().find("\"instance\":\"bad\""), std::string::npos)
      << directory.routes();
}

struct BadConfig {
  std::vector<std::string> args;
  std::string config_file;  // written to watson.conf and passed with --config if not empty
  std::string expected;     // in the error message
  int status = 2;           // a usage error; 1 for a start-up failure
};

TEST(WatsonAgent, InvalidConfigurationExitsNonZeroNamingTheField) {
  const std::vector<std::string> ok_url = {"--service-url", "http://127.0.0.1:8080"};
  const std::vector<BadConfig> cases = {
      {{"--service-name", "Bad!", "--service-url", "http://127.0.0.1:8080", "--check", "none"},
       "",
       "invalid service_name (--service-name) 'Bad!'"},
      {{"--service-name", "ok", "--service-url", "127.0.0.1:8080", "--check", "none"},
       "",
       "invalid service_url"},
      {{"--service-name", "ok", "--check", "none"}, "", "missing service_url"},
      {{"--service-name", "ok", "--service-url", "http://127.0.0.1:8080"},
       "",
       "missing health check"},
      {{"--service-name", "ok", "--service-url", "http://127.0.0.1:8080", "--check", "none",
        "--period", "0.5"},
       "",
       "invalid period (--period) '0.5': must be at least 1 second"},
      {{"--service-name", "ok", "--service-url", "http://127.0.0.1:8080", "--check", "none",
        "--interval", "100"},
       "",
       "invalid interval (--interval) '100': a duration needs a unit: 250ms, 2s, 1m"},
      {{"--service-name", "ok", "--service-url", "http://127.0.0.1:8080", "--check", "none",
        "--directory", "127.0.0.1:0"},
       "",
       "invalid directory"},
      {{"--service-name", "ok", "--service-url", "http://127.0.0.1:8080", "--check", "none",
        "--key-file", "/nonexistent/keys"},
       "",
       "cannot read key file /nonexistent/keys: No such file or directory",
       1},
      {{},
       "service_name: ok\nservice_url: http://127.0.0.1:8080\nperiod: 0\ncheck: none\n",
       "line 3) '0': must be at least 1 second"},
      {{}, "service_name: ok\nthis line is wrong\n", "line 2: expected 'name: value'"},
      {{}, "service_name: ok\nflavour: mint\n", "line 2: unknown setting 'flavour'"},
      {{"--bogus-flag"}, "", "bogus-flag"},
  };
  TempDir tmp;
  for (const auto& c : cases) {
    std::vector<std::string> args = {bin("watson")};
    args.insert(args.end(), c.args.begin(), c.args.end());
    if (!c.config_file.empty()) {
      tmp.write("watson.conf", c.config_file);
      args.push_back("--config");
      args.push_back(tmp.file("watson.conf"));
    }
    ChildProcess watson(args);
    const auto status = watson.wait_exit(3s);
    ASSERT_TRUE(status.has_value()) << c.expected;
    EXPECT_EQ(*status, c.status) << c.expected << "\n" << watson.log();
    EXPECT_EQ(watson.log().find("(see --help)") != std::string::npos, c.status == 2)
        << watson.log();
    EXPECT_NE(watson.log().find(c.expected), std::string::npos)
        << "expected '" << c.expected << "' in:\n"
        << watson.log();
    EXPECT_EQ(watson.log().find("Assertion"), std::string::npos);
  }
}

TEST(WatsonAgent, HelpExitsZero) {
  ChildProcess watson({bin("watson"), "--help"});
  ASSERT_EQ(watson.wait_exit(3s), 0);
  EXPECT_NE(watson.log().find("--health-check-url"), std::string::npos);
  EXPECT_NE(watson.log().find("--interval DURATION"), std::string::npos) << watson.log();
}

}  // namespace
}  // namespace baker::testing
