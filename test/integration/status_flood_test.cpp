// The status HTTP server of the real directory and sherlock under a flood: 5,000 idle TCP
// connections to the status port of a daemon limited to 1,024 descriptors. The daemon must not
// spin (its CPU time stays low), its UDP path keeps working, and once the connections close,
// GET /metrics answers within a second.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"
#include "wire/codec.hpp"

namespace baker::testing {
namespace {

constexpr int kConnections = 5000;

// The process's user+system CPU time so far, from /proc/<pid>/stat.
std::chrono::milliseconds cpu_time(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));  // after "pid (comm) "
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt
  long utime = 0;
  long stime = 0;
  fields >> utime >> stime;
  return std::chrono::milliseconds((utime + stime) * 1000 / ::sysconf(_SC_CLK_TCK));
}

// Non-blocking connects to 127.0.0.1:port (a full backlog must not block the test); the
// descriptors are closed by the destructor.
class IdleConnections {
 public:
  IdleConnections(std::uint16_t port, int n) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);  // EINPROGRESS or done
      fds_.push_back(fd);
    }
  }
  ~IdleConnections() { close(); }
  std::size_t size() const { return fds_.size(); }
  void close() {
    for (int fd : fds_) ::close(fd);
    fds_.clear();
  }

 private:
  std::vector<int> fds_;
};

// Room for the flood in this process; false if the hard limit does not allow it.
bool raise_own_descriptor_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return false;
  const rlim_t want = kConnections + 1000;
  if (r.rlim_cur >= want) return true;
  if (r.rlim_max != RLIM_INFINITY && r.rlim_max < want) return false;
  r.rlim_cur = want;
  return ::setrlimit(RLIMIT_NOFILE, &r) == 0;
}

double sample(std::uint16_t port, const std::string& name) {
  const auto r = http_get("127.0.0.1", port, "/metrics", 1000ms);
  if (!r || r->status != 200) return -1;
  const auto at = r->body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(r->body.substr(at + 1 + name.size() + 1));
}

// Floods `http_port` of the running daemon `pid`; `during` runs while the connections are open.
void flood(int pid, std::uint16_t http_port, const std::string& component,
           const std::function<void()>& during) {
  IdleConnections idle(http_port, kConnections);
  ASSERT_EQ(idle.size(), static_cast<std::size_t>(kConnections));
  const auto cpu_before = cpu_time(pid);
  const auto begin = std::chrono::steady_clock::now();
  during();
  std::this_thread::sleep_until(begin + 2s);
  const auto cpu = cpu_time(pid) - cpu_before;
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - begin);
  EXPECT_LT(cpu.count(), wall.count() / 5)
      << "CPU " << cpu.count() << " ms in " << wall.count() << " ms: the daemon spins on the flood";

  idle.close();
  const auto closed = std::chrono::steady_clock::now();
  EXPECT_TRUE(wait_until(
      [&] {
        const auto r = http_get("127.0.0.1", http_port, "/metrics", 1000ms);
        return r && r->status == 200;
      },
      1000ms))
      << "GET /metrics within 1 s of the flood ending";
  EXPECT_LT(std::chrono::steady_clock::now() - closed, 1500ms);
  const std::string prefix = "baker_" + component + "_http_";
  EXPECT_GT(sample(http_port, prefix + "rejected_total{reason=\"at_capacity\"}"), 0);
  EXPECT_EQ(sample(http_port, prefix + "accept_errors_total"), 0)
      << "the cap keeps the daemon away from EMFILE";
}

std::vector<std::string> limited(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"prlimit", "--nofile=1024:1024"});
  return argv;
}

TEST(StatusFlood, DirectoryStaysIdleRoutesAndAnswersOnceTheFloodEnds) {
  if (!raise_own_descriptor_limit()) GTEST_SKIP() << "RLIMIT_NOFILE too low for the flood";
  const std::uint16_t port = free_udp_port();
  const std::uint16_t metrics = free_tcp_port();
  ChildProcess dir(limited({bin("directory"), "--listen", "127.0.0.1:" + std::to_string(port),
                            "--metrics", "127.0.0.1:" + std::to_string(metrics), "--warmup-max",
                            "0s", "--max-clock-skew", "100ms"}));
  ASSERT_TRUE(wait_until([&] { return sample(metrics, "baker_directory_routes") == 0; }, 5000ms))
      << dir.log();
  std::this_thread::sleep_for(150ms);  // the restart rule: start + max-clock-skew

  flood(dir.pid(), metrics, "directory", [&] {
    // The UDP path works meanwhile: a heartbeat is routed, a subscriber gets it in its snapshot.
    UdpSocket peer;
    wire::Heartbeat h;
    h.route.service = "greeting";
    h.route.instance = "a";
    h.route.address = wire::IpAddress::v4(127, 0, 0, 1);
    h.route.port = 8080;
    h.incarnation = 1;
    h.seq = 1;
    h.interval_ms = 10000;
    h.sent_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
    peer.send_to(wire::encode(h), "127.0.0.1", port);
    bool routed = false;
    std::uint64_t nonce = 0;
    wire::Cookie cookie;
    const auto deadline = std::chrono::steady_clock::now() + 1500ms;
    while (!routed && std::chrono::steady_clock::now() < deadline) {
      wire::Subscribe s;
      s.subscriber_id = 77;
      s.nonce = ++nonce;
      s.cookie = cookie;
      peer.send_to(wire::encode(s), "127.0.0.1", port);
      const auto bytes = peer.receive(200ms);
      if (!bytes) continue;
      const auto m = wire::decode(*bytes);
      if (!m.ok()) continue;
      if (const auto* c = std::get_if<wire::Challenge>(&m.value().message)) {
        cookie = c->cookie;  // address validation: Subscribe again with it
        continue;
      }
      const auto* chunk = std::get_if<wire::SnapshotChunk>(&m.value().message);
      routed = chunk && chunk->routes.size() == 1 && chunk->routes[0].instance == "a";
    }
    EXPECT_TRUE(routed) << "a heartbeat routed during the flood\n" << dir.log();
  });
  EXPECT_EQ(sample(metrics, "baker_directory_routes"), 1);
  EXPECT_TRUE(dir.running());
}

TEST(StatusFlood, SherlockStaysIdleAndAnswersOnceTheFloodEnds) {
  if (!raise_own_descriptor_limit()) GTEST_SKIP() << "RLIMIT_NOFILE too low for the flood";
  UdpSocket directory;
  const std::uint16_t http = free_tcp_port();
  ChildProcess sherlock(limited({bin("sherlock"), "--no-haproxy", "--directory",
                                 "127.0.0.1:" + std::to_string(directory.port()), "--listen",
                                 "127.0.0.1:0", "--http", "127.0.0.1:" + std::to_string(http)}));
  ASSERT_TRUE(
      wait_until([&] { return http_get("127.0.0.1", http, "/metrics").has_value(); }, 5000ms))
      << sherlock.log();
  std::uint16_t sherlock_port = 0;
  wire::Subscribe latest;  // a RetryLater counts only as the answer to the latest request
  const auto note = [&](const std::optional<std::vector<std::uint8_t>>& bytes) {
    if (!bytes) return false;
    const auto m = wire::decode(*bytes);
    if (m.ok() && std::holds_alternative<wire::Subscribe>(m.value().message)) {
      latest = std::get<wire::Subscribe>(m.value().message);
    }
    return true;
  };
  ASSERT_TRUE(note(directory.receive(3000ms, &sherlock_port))) << "a Subscribe\n" << sherlock.log();
  while (note(directory.receive(100ms))) {
  }
  flood(sherlock.pid(), http, "sherlock", [&] {
    // Its UDP path works meanwhile: told to retry soon, it subscribes again.
    directory.send_to(
        wire::encode(wire::RetryLater{0x5eed, latest.subscriber_id, latest.nonce, 10}), "127.0.0.1",
        sherlock_port);
    const auto bytes = directory.receive(1500ms);
    ASSERT_TRUE(bytes) << sherlock.log();
    const auto m = wire::decode(*bytes);
    ASSERT_TRUE(m.ok());
    EXPECT_TRUE(std::holds_alternative<wire::Subscribe>(m.value().message));
  });
  EXPECT_TRUE(sherlock.running());
}

}  // namespace
}  // namespace baker::testing
