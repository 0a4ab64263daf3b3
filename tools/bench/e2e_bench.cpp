// e2e_bench: end-to-end convergence of a whole Baker on loopback, side by side with Baker Street's
// way of applying the same changes (tools/bench/bench-e2e runs it; docs/BENCHMARKS.md, "End to
// end").
//
// It runs the real binaries: a directory, a sherlock in managed mode (its own haproxy, admin-socket
// path) and a bakerstreet-applier (the same replica, but every batch of changes is a config rewrite
// and `haproxy -sf`), plus one watson per instance. Two HTTP instances of service "web" live in
// this process (one poll thread): the anchor, always up, and the subject, which joins and leaves
// over and over. A client thread keeps several keep-alive connections busy through each frontend,
// back to back. The instances record, on CLOCK_MONOTONIC, when they answered a health check and
// when each proxied request arrived (the path says which frontend it came through), so:
//   join  = first request through a frontend at the subject - its first passing check answer
//   leave = last request through a frontend at the subject - the leave event:
//           goodbye   = SIGTERM to its watson (which says goodbye at once),
//           unhealthy = the first failing check answer (fall 1; the onset -> that answer is the
//                       check interval's part, reported apart),
//           kill      = SIGKILL to its watson (no goodbye: the directory's expiry).
// A leave is over once no request reached the subject for --quiet-ms. Failed requests are counted
// per frontend. With --window-cycles K, a second applier with a coalescing window (--window-ms)
// joins for K more goodbye cycles at the end.
//
// With --directories N (Baker alone only: the applier follows one directory), N directories run on
// loopback, every watson heartbeats to all of them and the sherlock subscribes to all of them; the
// cycles start once every stream is synced. With --kill-directory-after-cycles K, directory 0 is
// SIGKILLed in cycle K+1 while the subject is serving (after its join, before its leave), and the
// run goes on with the others; every join and leave is then also reported by when it happened:
// before_kill., kill_window. (the --kill-window-ms after the SIGKILL) or after_kill.
// A stall meter (one thread pinned to each CPU) records stretches of > 1.5 ms in which a CPU ran
// none of its waiting threads; every join and leave is also filed under with_stall. or no_stall.
// by whether one overlapped it, and each join is printed (JOIN ...) with its wall-clock times.
// A join that does not happen within --join-timeout-ms is counted; after --max-join-timeouts of
// them the remaining cycles are skipped (and counted), so a broken merge does not take hours.
//
// usage: e2e_bench --bin DIR --dir DIR [--goodbye-cycles N] [--unhealthy-cycles N]
//                  [--kill-cycles N] [--window-cycles N] [--window-ms MS] [--interval-ms MS]
//                  [--connections C] [--port-base P] [--quiet-ms MS] [--no-bakerstreet]
//                  [--directories N] [--kill-directory-after-cycles K] [--kill-window-ms MS]
//                  [--join-timeout-ms MS] [--max-join-timeouts N]
//
// Ports: port-base + 0..5 (directory 0 UDP and metrics, sherlock HTTP, frontends, applier HTTP),
// + 10, 11 (the instances), + 20 + 2i and + 21 + 2i (directory i >= 1, UDP and metrics).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void sleep_ms(double ms) {
  std::this_thread::sleep_for(std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000)));
}

// Thrown, so that main's clean-up stops every child on the way out.
[[noreturn]] void die(const std::string& what) {
  throw std::runtime_error(what);
}

// The frontends a request can come through; the path says which (/web/<letter> -> /<letter>).
enum Kind { kAdmin = 0, kReload = 1, kWindow = 2, kKinds = 3 };
constexpr const char* kKindName[kKinds] = {"admin", "sf", "sf_window"};
constexpr char kKindLetter[kKinds] = {'s', 'b', 'w'};

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// ---- the instances --------------------------------------------------------------------------

// What one instance saw; written by the instances' thread, read by the main thread.
struct Marks {
  std::atomic<bool> healthy{true};
  std::atomic<std::int64_t> first_ok_check{0};
  std::atomic<std::int64_t> first_failed_check{0};
  std::array<std::atomic<std::int64_t>, kKinds> first_request{};
  std::array<std::atomic<std::int64_t>, kKinds> last_request{};
  std::array<std::atomic<std::uint64_t>, kKinds> requests{};
};

// Keep-alive HTTP servers, all on one thread polling every socket (a new connection costs no
// thread start). GET /health answers 200 or 503 (Marks::healthy); anything else 200 with the
// instance's letter.
class Instances {
 public:
  explicit Instances(const std::vector<std::uint16_t>& ports) : marks_(ports.size()) {
    for (std::size_t i = 0; i < ports.size(); ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      const int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      const auto a = loopback(ports[i]);
      if (bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 || listen(fd, 512) != 0) {
        die("cannot listen on 127.0.0.1:" + std::to_string(ports[i]));
      }
      conns_.push_back({fd, i, true, {}});
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~Instances() {
    stop_ = true;
    thread_.join();
    for (auto& c : conns_) close(c.fd);
  }
  Marks& marks(std::size_t i) { return marks_[i]; }

 private:
  struct Conn {
    int fd;
    std::size_t instance;
    bool listener;
    std::string buf;
  };

  void loop() {
    std::vector<pollfd> fds;
    while (!stop_) {
      fds.resize(conns_.size());
      for (std::size_t i = 0; i < conns_.size(); ++i) fds[i] = {conns_[i].fd, POLLIN, 0};
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      std::vector<std::size_t> dead;
      const std::size_t n = fds.size();
      for (std::size_t i = 0; i < n; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (!conns_[i].listener) {
          if (!pump(conns_[i])) dead.push_back(i);
          continue;
        }
        while (true) {
          const int c = accept4(conns_[i].fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
          if (c < 0) break;
          const int one = 1;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conns_.push_back({c, conns_[i].instance, false, {}});
          // A proxy sends its request right behind the connect: answer it now, not after
          // another poll.
          if (!pump(conns_.back())) {
            close(c);
            conns_.pop_back();
          }
        }
      }
      for (auto it = dead.rbegin(); it != dead.rend(); ++it) {
        close(conns_[*it].fd);
        conns_.erase(conns_.begin() + static_cast<std::ptrdiff_t>(*it));
      }
    }
  }

  // Reads what has arrived (its receive time taken right after the read) and answers it;
  // false: close the connection.
  bool pump(Conn& c) {
    char chunk[8192];
    const ssize_t got = recv(c.fd, chunk, sizeof chunk, MSG_DONTWAIT);
    const std::int64_t t = now_ns();
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
    if (got <= 0) return false;
    return serve(c, chunk, static_cast<std::size_t>(got), t);
  }

  // Answers every complete request in the buffer; false: close the connection.
  bool serve(Conn& c, const char* data, std::size_t size, std::int64_t t) {
    c.buf.append(data, size);
    Marks& m = marks_[c.instance];
    bool keep = true;
    for (auto end = c.buf.find("\r\n\r\n"); end != std::string::npos;
         end = c.buf.find("\r\n\r\n")) {
      std::string head = c.buf.substr(0, end);
      c.buf.erase(0, end + 4);
      const auto sp = head.find(' ');
      const std::string path = sp == std::string::npos ? "" : head.substr(sp + 1, 8);
      std::transform(head.begin(), head.end(), head.begin(), ::tolower);
      if (head.find("connection: close") != std::string::npos) keep = false;
      std::string response;
      if (path.rfind("/health", 0) == 0) {
        const bool ok = m.healthy.load();
        std::int64_t zero = 0;
        (ok ? m.first_ok_check : m.first_failed_check).compare_exchange_strong(zero, t);
        response = ok ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                      : "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nsick";
      } else {
        for (int k = 0; k < kKinds; ++k) {
          if (path.size() >= 2 && path[1] == kKindLetter[k]) {
            std::int64_t zero = 0;
            m.first_request[k].compare_exchange_strong(zero, t);
            m.last_request[k] = t;
            ++m.requests[k];
          }
        }
        response = std::string("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n") +
                   static_cast<char>('A' + c.instance);
      }
      if (send(c.fd, response.data(), response.size(), MSG_NOSIGNAL) < 0) return false;
    }
    return keep;
  }

  std::vector<Marks> marks_;
  std::vector<Conn> conns_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// ---- the load client ------------------------------------------------------------------------

struct ClientCounts {
  std::atomic<std::uint64_t> ok{0};
  std::atomic<std::uint64_t> closed_reused{0};  // a reused connection closed before any answer
  std::atomic<std::uint64_t> closed_other{0};   // a fresh connection closed / reset
  std::atomic<std::uint64_t> bad_status{0};     // an answer other than 200
  std::atomic<std::uint64_t> refused{0};        // connect() failed
  std::uint64_t failed() const { return closed_reused + closed_other + bad_status + refused; }
};

// Keep-alive connections through each enabled frontend, each sending its next request as soon as
// the previous answer is in (back to back), all on one thread.
class LoadClient {
 public:
  // `ports` may change for a kind until it is enabled.
  LoadClient(const std::array<std::uint16_t, kKinds>* ports, int per_kind) : ports_(ports) {
    for (int k = 0; k < kKinds; ++k) {
      for (int i = 0; i < per_kind; ++i) conns_.push_back({-1, k, {}, 0, false, 0});
    }
  }
  ~LoadClient() { stop(); }
  void enable(Kind k) { enabled_[k] = true; }
  void start() {
    thread_ = std::thread([this] { loop(); });
  }
  void stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    for (auto& c : conns_) {
      if (c.fd >= 0) close(c.fd);
    }
  }
  const ClientCounts& counts(int k) const { return counts_[k]; }

 private:
  struct Conn {
    int fd;
    int kind;
    std::string buf;
    std::uint64_t answered;  // answers on this connection so far
    bool outstanding;
    std::int64_t retry_at;
  };

  void open(Conn& c, std::int64_t t) {
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const auto a = loopback((*ports_)[c.kind]);
    c.buf.clear();
    c.answered = 0;
    c.outstanding = false;
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
      ++counts_[c.kind].refused;
      close(c.fd);
      c.fd = -1;
      c.retry_at = t + 1'000'000;
      return;
    }
    fcntl(c.fd, F_SETFL, O_NONBLOCK);
    ask(c);
  }

  void ask(Conn& c) {
    const std::string req =
        std::string("GET /web/") + kKindLetter[c.kind] + " HTTP/1.1\r\nHost: bench\r\n\r\n";
    if (send(c.fd, req.data(), req.size(), MSG_NOSIGNAL) < 0) {
      fail(c, false);
      return;
    }
    c.outstanding = true;
  }

  void drop(Conn& c) {
    close(c.fd);
    c.fd = -1;
    c.retry_at = 0;
  }

  void fail(Conn& c, bool bad_status) {
    auto& n = counts_[c.kind];
    if (bad_status) {
      ++n.bad_status;
    } else if (c.answered > 0 && c.buf.empty()) {
      ++n.closed_reused;
    } else {
      ++n.closed_other;
    }
    drop(c);
  }

  // Parses every complete answer in the buffer.
  void read_answers(Conn& c) {
    while (true) {
      const auto end = c.buf.find("\r\n\r\n");
      if (end == std::string::npos) return;
      std::string head = c.buf.substr(0, end);
      std::transform(head.begin(), head.end(), head.begin(), ::tolower);
      std::size_t length = 0;
      const auto cl = head.find("content-length:");
      if (cl != std::string::npos) length = std::strtoul(head.c_str() + cl + 15, nullptr, 10);
      if (c.buf.size() < end + 4 + length) return;
      const bool ok = head.compare(0, 12, "http/1.1 200") == 0;
      const bool closing = head.find("connection: close") != std::string::npos;
      c.buf.erase(0, end + 4 + length);
      c.outstanding = false;
      if (!ok) {
        // Which answer, and when (wall clock, to read beside the daemons' logs): the first few.
        if (bad_answers_logged_ < 10) {
          ++bad_answers_logged_;
          timespec ts{};
          clock_gettime(CLOCK_REALTIME, &ts);
          tm utc{};
          gmtime_r(&ts.tv_sec, &utc);
          char when[32];
          strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &utc);
          std::fprintf(stderr, "e2e_bench: %s.%03ld UTC: answer through the %s frontend: %s\n",
                       when, ts.tv_nsec / 1'000'000, kKindName[c.kind],
                       head.substr(0, head.find('\r')).c_str());
        }
        fail(c, true);
        return;
      }
      ++counts_[c.kind].ok;
      ++c.answered;
      if (closing) {
        drop(c);
        return;
      }
      ask(c);
      if (c.fd < 0) return;
    }
  }

  void loop() {
    std::vector<pollfd> fds;
    std::vector<Conn*> polled;
    char chunk[16384];
    while (!stop_) {
      const std::int64_t t = now_ns();
      fds.clear();
      polled.clear();
      for (auto& c : conns_) {
        if (!enabled_[c.kind]) continue;
        if (c.fd < 0 && t >= c.retry_at) open(c, t);
        if (c.fd < 0) continue;
        fds.push_back({c.fd, POLLIN, 0});
        polled.push_back(&c);
      }
      if (fds.empty()) {
        sleep_ms(1);
        continue;
      }
      if (poll(fds.data(), fds.size(), 1) <= 0) continue;
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        Conn& c = *polled[i];
        const ssize_t n = recv(c.fd, chunk, sizeof chunk, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) {
          if (c.outstanding) {
            fail(c, false);
          } else {
            drop(c);
          }
          continue;
        }
        c.buf.append(chunk, static_cast<std::size_t>(n));
        read_answers(c);
      }
    }
  }

  const std::array<std::uint16_t, kKinds>* ports_;
  std::vector<Conn> conns_;
  std::array<std::atomic<bool>, kKinds> enabled_{};
  std::array<ClientCounts, kKinds> counts_;
  int bad_answers_logged_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// ---- child processes ------------------------------------------------------------------------

struct Child {
  std::string name;
  pid_t pid = -1;
  bool running() const { return pid > 0; }
};

// fork + exec from the main thread: the child gets SIGTERM if this process dies (so a watson says
// goodbye, sherlock stops its haproxy, an applier stops its haproxy), and none of our sockets.
Child spawn(const std::string& name, const std::vector<std::string>& args, const std::string& log) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    dup2(out, 1);
    dup2(out, 2);
    close_range(3, ~0U, 0);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out);
  if (pid < 0) die("fork failed");
  return {name, pid};
}

bool reap(Child& c, int timeout_ms) {
  for (int i = 0; i <= timeout_ms; ++i) {
    int status = 0;
    if (waitpid(c.pid, &status, WNOHANG) == c.pid) {
      c.pid = -1;
      return true;
    }
    sleep_ms(1);
  }
  return false;
}

void stop(Child& c) {
  if (!c.running()) return;
  kill(c.pid, SIGTERM);
  if (!reap(c, 5000)) {
    kill(c.pid, SIGKILL);
    reap(c, 2000);
  }
}

std::uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto a = loopback(0);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    die("no free port");
  }
  close(fd);
  return ntohs(a.sin_port);
}

std::optional<std::string> http_get(std::uint16_t port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto a = loopback(port);
  std::optional<std::string> out;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) > 0) {
      std::string resp;
      char buf[8192];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof buf, 0)) > 0) resp.append(buf, static_cast<std::size_t>(n));
      if (!resp.empty()) out = resp;
    }
  }
  close(fd);
  return out;
}

template <typename F>
bool wait_until(F done, int timeout_ms, double step_ms = 1) {
  const std::int64_t end = now_ns() + static_cast<std::int64_t>(timeout_ms) * 1'000'000;
  while (now_ns() < end) {
    if (done()) return true;
    sleep_ms(step_ms);
  }
  return done();
}

// ---- platform stalls ------------------------------------------------------------------------

// One thread pinned to each CPU sleeps 200 us at a time; waking more than kStallNs late means that
// CPU ran none of its runnable threads for that long (on the KVM guest we measure on, mostly the
// host: the idle machine shows as many). A join or leave whose interval overlaps a stall is
// counted apart, so the platform's share of a tail is measured rather than guessed.
class StallMeter {
 public:
  static constexpr std::int64_t kSleepNs = 200'000;
  static constexpr std::int64_t kStallNs = 1'500'000;

  void start() {
    const int cpus = static_cast<int>(std::thread::hardware_concurrency());
    for (int cpu = 0; cpu < std::max(cpus, 1); ++cpu) {
      threads_.emplace_back([this, cpu] { loop(cpu); });
    }
  }
  ~StallMeter() { stop(); }
  void stop() {
    running_ = false;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  // The longest stall that overlaps [from, to], in ms; 0 if none.
  double overlapping_ms(std::int64_t from, std::int64_t to) const {
    std::lock_guard lock(mutex_);
    double longest = 0;
    for (const auto& [begin, end] : stalls_) {
      if (begin <= to && end >= from) {
        longest = std::max(longest, static_cast<double>(end - begin) / 1e6);
      }
    }
    return longest;
  }
  std::vector<std::pair<std::int64_t, std::int64_t>> stalls() const {
    std::lock_guard lock(mutex_);
    return stalls_;
  }

 private:
  void loop(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
    while (running_) {
      const std::int64_t before = now_ns();
      const timespec pause{0, kSleepNs};
      nanosleep(&pause, nullptr);
      const std::int64_t after = now_ns();
      if (after - before - kSleepNs > kStallNs) {
        std::lock_guard lock(mutex_);
        stalls_.emplace_back(before + kSleepNs, after);
      }
    }
  }

  std::atomic<bool> running_{true};
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::vector<std::pair<std::int64_t, std::int64_t>> stalls_;  // [begin, end] on CLOCK_MONOTONIC
};

// ---- figures --------------------------------------------------------------------------------

std::map<std::string, std::vector<double>> samples;  // name -> milliseconds
std::map<std::string, double> counters;

void sample(const std::string& name, double ms) {
  samples[name].push_back(ms);
}

// CLOCK_MONOTONIC nanoseconds as CLOCK_REALTIME seconds (the offset read once).
double wall_seconds(std::int64_t monotonic_ns) {
  static const std::int64_t offset = [] {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec - now_ns();
  }();
  return static_cast<double>(monotonic_ns + offset) / 1e9;
}

double ms_between(std::int64_t from, std::int64_t to) {
  return static_cast<double>(to - from) / 1e6;
}

StallMeter stall_meter;

// A join or leave from `from` to `to`: also filed under with_stall. or no_stall. by whether a
// platform stall overlapped it.
void sample_interval(const std::string& name, std::int64_t from, std::int64_t to) {
  const double ms = std::max(0.0, ms_between(from, to));
  sample(name, ms);
  sample((stall_meter.overlapping_ms(from, to) > 0 ? "with_stall." : "no_stall.") + name, ms);
}

void report() {
  for (auto& [name, v] : samples) {
    std::sort(v.begin(), v.end());
    const auto at = [&](double q) { return v[static_cast<std::size_t>(q * (v.size() - 1) + 0.5)]; };
    std::printf("RESULT %s n=%zu p50=%.3f p90=%.3f p99=%.3f max=%.3f\n", name.c_str(), v.size(),
                at(0.5), at(0.9), at(0.99), v.back());
  }
  for (const auto& [name, value] : counters) std::printf("COUNT %s %.0f\n", name.c_str(), value);
  std::fflush(stdout);
}

struct Options {
  std::string bin;
  std::string dir;
  int goodbye_cycles = 20;  // each cycle: a join, then a leave of this kind
  int unhealthy_cycles = 10;
  int kill_cycles = 5;
  int interval_ms = 100;
  int connections = 4;
  int window_cycles = 0;
  int window_ms = 2000;
  int quiet_ms = 200;
  int port_base = 47600;
  bool bakerstreet = true;
  int directories = 1;
  int kill_directory_after_cycles = -1;  // < 0: no directory is killed
  int kill_window_ms = 5000;
  int join_timeout_ms = 15000;
  int max_join_timeouts = 3;  // then the remaining cycles are skipped (and counted)
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--goodbye-cycles") {
      o.goodbye_cycles = std::stoi(value());
    } else if (a == "--unhealthy-cycles") {
      o.unhealthy_cycles = std::stoi(value());
    } else if (a == "--bin") {
      o.bin = value();
    } else if (a == "--dir") {
      o.dir = value();
    } else if (a == "--kill-cycles") {
      o.kill_cycles = std::stoi(value());
    } else if (a == "--interval-ms") {
      o.interval_ms = std::stoi(value());
    } else if (a == "--connections") {
      o.connections = std::stoi(value());
    } else if (a == "--window-cycles") {
      o.window_cycles = std::stoi(value());
    } else if (a == "--window-ms") {
      o.window_ms = std::stoi(value());
    } else if (a == "--quiet-ms") {
      o.quiet_ms = std::stoi(value());
    } else if (a == "--port-base") {
      o.port_base = std::stoi(value());
    } else if (a == "--no-bakerstreet") {
      o.bakerstreet = false;
    } else if (a == "--directories") {
      o.directories = std::stoi(value());
    } else if (a == "--kill-directory-after-cycles") {
      o.kill_directory_after_cycles = std::stoi(value());
    } else if (a == "--kill-window-ms") {
      o.kill_window_ms = std::stoi(value());
    } else if (a == "--join-timeout-ms") {
      o.join_timeout_ms = std::stoi(value());
    } else if (a == "--max-join-timeouts") {
      o.max_join_timeouts = std::stoi(value());
    } else {
      die("unknown argument " + a + " (see the comment at the top of e2e_bench.cpp)");
    }
  }
  if (o.bin.empty() || o.dir.empty()) die("--bin DIR and --dir DIR are required");
  if (o.directories < 1 || o.directories > 8) die("--directories: 1 to 8 (sherlock's limit)");
  if (o.directories > 1 && o.bakerstreet) {
    die("--directories above 1 needs --no-bakerstreet (bakerstreet-applier follows one directory)");
  }
  if (o.kill_directory_after_cycles >= 0 && o.directories < 2) {
    die("--kill-directory-after-cycles needs --directories 2 or more");
  }
  return o;
}

}  // namespace

int run(const Options& o);

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "e2e_bench: %s\n", e.what());
    return 1;
  }
}

int run(const Options& o) {
  signal(SIGPIPE, SIG_IGN);
  stall_meter.start();
  const auto port = [&](int offset) { return static_cast<std::uint16_t>(o.port_base + offset); };
  // Directory i: UDP and metrics ports.
  const auto dir_udp = [&](int i) { return port(i == 0 ? 0 : 20 + 2 * i); };
  const auto dir_metrics = [&](int i) { return port(i == 0 ? 1 : 21 + 2 * i); };
  const std::string dir_addr = "127.0.0.1:" + std::to_string(port(0));
  std::vector<std::string> dir_flags;  // --directory A --directory B ...
  for (int i = 0; i < o.directories; ++i) {
    dir_flags.insert(dir_flags.end(), {"--directory", "127.0.0.1:" + std::to_string(dir_udp(i))});
  }
  const auto with_directories = [&](std::vector<std::string> args) {
    args.insert(args.end(), dir_flags.begin(), dir_flags.end());
    return args;
  };
  std::array<std::uint16_t, kKinds> frontends = {port(3), port(4), 0};
  const std::vector<std::uint16_t> instance_ports = {port(10), port(11)};
  Instances instances(instance_ports);
  std::vector<Child*> all;
  std::vector<Child> directories(static_cast<std::size_t>(o.directories));  // never resized
  Child sherlock, applier, window_applier, anchor_watson, watson;
  for (Child& d : directories) all.push_back(&d);
  for (Child* c : {&sherlock, &applier, &window_applier, &anchor_watson, &watson}) {
    all.push_back(c);
  }
  // On any exit path: stop every child we started (watsons first, so they say goodbye).
  struct Cleanup {
    std::vector<Child*>& all;
    ~Cleanup() {
      for (auto it = all.rbegin(); it != all.rend(); ++it) stop(**it);
    }
  } cleanup{all};

  const std::string log = o.dir + "/";
  for (int i = 0; i < o.directories; ++i) {
    // directory.log for a single directory, as before; directory-<i>.log for several.
    const std::string dlog = log + (o.directories == 1 ? std::string("directory.log")
                                                       : "directory-" + std::to_string(i) + ".log");
    directories[static_cast<std::size_t>(i)] =
        spawn("directory-" + std::to_string(i),
              {o.bin + "/directory", "--listen", "127.0.0.1:" + std::to_string(dir_udp(i)),
               "--metrics", "127.0.0.1:" + std::to_string(dir_metrics(i)), "--warmup-max", "0s"},
              dlog);
    if (!wait_until([&] { return http_get(dir_metrics(i), "/metrics").has_value(); }, 5000, 5)) {
      die("a directory did not start (see " + dlog + ")");
    }
  }
  sherlock = spawn("sherlock",
                   with_directories({o.bin + "/sherlock", "--listen", "127.0.0.1:0", "--http",
                                     "127.0.0.1:" + std::to_string(port(2)), "--frontend",
                                     "127.0.0.1:" + std::to_string(frontends[kAdmin]), "--run-dir",
                                     o.dir + "/sherlock-run", "--haproxy-on-exit", "stop"}),
                   log + "sherlock.log");
  const auto start_applier = [&](Kind k, int window_ms, std::uint16_t http_port) {
    return spawn(kKindName[k],
                 {o.bin + "/bakerstreet-applier", "--directory", dir_addr, "--http",
                  "127.0.0.1:" + std::to_string(http_port), "--frontend",
                  "127.0.0.1:" + std::to_string(frontends[k]), "--run-dir",
                  o.dir + "/" + kKindName[k] + "-run", "--window-ms", std::to_string(window_ms)},
                 log + kKindName[k] + ".log");
  };
  if (o.bakerstreet) applier = start_applier(kReload, 0, port(5));

  const auto start_watson = [&](std::size_t i) {
    const std::string url = "http://127.0.0.1:" + std::to_string(instance_ports[i]);
    return spawn(
        i == 0 ? "anchor-watson" : "watson",
        with_directories({o.bin + "/watson", "--service-name", "web", "--service-url", url,
                          "--health-check-url", url + "/health", "--interval",
                          std::to_string(o.interval_ms) + "ms", "--rise", "1", "--fall", "1"}),
        log + (i == 0 ? "anchor-watson.log" : "watson.log"));
  };
  anchor_watson = start_watson(0);

  // The anchor reachable through every frontend in use: the service exists everywhere.
  std::vector<Kind> kinds = {kAdmin};
  if (o.bakerstreet) kinds.push_back(kReload);
  const auto reachable = [&](Kind k) {
    const auto r = http_get(frontends[k], std::string("/web/") + kKindLetter[k]);
    return r && r->compare(0, 12, "HTTP/1.1 200") == 0;
  };
  for (const Kind k : kinds) {
    if (!wait_until([&] { return reachable(k); }, 15000, 10)) {
      die(std::string("nothing answers through the ") + kKindName[k] + " frontend");
    }
  }
  // Every directory's stream synced (one directory: the anchor answering says enough).
  const auto streams_with = [&](const std::string& field) {
    const auto r = http_get(port(2), "/digest");
    if (!r) return 0;
    int n = 0;
    const std::string needle = "\"" + field + "\":true";
    for (auto at = r->find("\"directories\":["); at != std::string::npos;
         at = r->find(needle, at + 1)) {
      if (r->compare(at, needle.size(), needle) == 0) ++n;
    }
    return n;
  };
  if (o.directories > 1 &&
      !wait_until([&] { return streams_with("synced") == o.directories; }, 15000, 10)) {
    die("sherlock's streams did not all sync within 15 s (see its /digest and sherlock.log)");
  }
  LoadClient client(&frontends, o.connections);
  for (const Kind k : kinds) client.enable(k);
  client.start();
  sleep_ms(1000);  // the first reloads for the new service are over; connections are warm

  Marks& m = instances.marks(1);
  std::array<std::uint64_t, kKinds> count_at_leave{};
  // Directory 0's SIGKILL (--kill-directory-after-cycles): when, and the failed requests then.
  int cycles_run = 0;
  std::int64_t killed_at = 0;
  bool window_closed = false;
  std::uint64_t failed_at_kill = 0;
  const auto kill_window_ns = static_cast<std::int64_t>(o.kill_window_ms) * 1'000'000;
  // Which part of the run an event at t belongs to ("" when nothing is killed).
  const auto phase = [&](std::int64_t t) -> std::string {
    if (o.kill_directory_after_cycles < 0) return "";
    if (killed_at == 0 || t < killed_at) return "before_kill.";
    return t < killed_at + kill_window_ns ? "kill_window." : "after_kill.";
  };
  const auto kill_directory = [&] {
    Child& d = directories[0];
    killed_at = now_ns();
    kill(d.pid, SIGKILL);
    if (!reap(d, 5000)) die("directory 0 did not die of SIGKILL");
    failed_at_kill = client.counts(kAdmin).failed();
    counters["kill.at_cycle"] = cycles_run + 1;
  };
  const auto run_cycle = [&](const std::string& mode, const std::vector<Kind>& measured,
                             const std::string& prefix) {
    if (killed_at != 0 && !window_closed && now_ns() >= killed_at + kill_window_ns) {
      window_closed = true;  // failed requests from the SIGKILL to the first cycle after the window
      counters["kill.window_failed_requests.admin"] =
          static_cast<double>(client.counts(kAdmin).failed() - failed_at_kill);
      counters["kill.window_cycles"] = cycles_run + 1 - counters["kill.at_cycle"];
    }
    // Requests that reached the subject while it was out of rotation.
    for (const Kind k : measured) {
      counters[prefix + "late_requests." + kKindName[k]] +=
          static_cast<double>(m.requests[k] - count_at_leave[k]);
    }
    // Join.
    m.first_ok_check = 0;
    for (const Kind k : measured) m.first_request[k] = 0;
    const std::int64_t asked = now_ns();
    const bool rejoin = watson.running();
    if (rejoin) {
      m.healthy = true;  // the watson that saw it unhealthy sees it healthy at its next check
    } else {
      watson = start_watson(1);
    }
    const int join_timeout = o.join_timeout_ms + (measured.size() > 2 ? o.window_ms : 0);
    const bool joined = wait_until(
        [&] {
          if (m.first_ok_check == 0) return false;
          for (const Kind k : measured) {
            if (m.first_request[k] == 0) return false;
          }
          return true;
        },
        join_timeout, 0.5);
    if (!joined) {
      counters[prefix + "join_timeouts"] += 1;
      if (const auto p = phase(asked); !p.empty()) counters[prefix + p + "join_timeouts"] += 1;
    } else {
      const std::int64_t healthy_at = m.first_ok_check;
      sample(prefix + (rejoin ? "check_wait.rejoin" : "watson_start_to_first_check"),
             ms_between(asked, healthy_at));
      for (const Kind k : measured) {
        const std::int64_t first = m.first_request[k];
        if (first < healthy_at) {
          counters[prefix + "join_before_check." + kKindName[k]] += 1;
        } else {
          sample_interval(prefix + "join." + kKindName[k], healthy_at, first);
          // Each join on the wall clock, to line it up with daemon logs and captures.
          std::printf("JOIN %s%s healthy_at=%.6f first_request=%.6f ms=%.3f stall_ms=%.3f\n",
                      prefix.c_str(), kKindName[k], wall_seconds(healthy_at), wall_seconds(first),
                      ms_between(healthy_at, first), stall_meter.overlapping_ms(healthy_at, first));
          if (const auto p = phase(healthy_at); !p.empty()) {
            sample_interval(prefix + p + "join." + kKindName[k], healthy_at, first);
          }
          // The same, split: a watson just started, or one that has run for a while.
          sample(prefix + (rejoin ? "join_running_watson." : "join_new_watson.") + kKindName[k],
                 ms_between(healthy_at, first));
        }
      }
    }
    sleep_ms(30);  // serving for a while
    if (killed_at == 0 && cycles_run == o.kill_directory_after_cycles) kill_directory();
    // Leave.
    std::int64_t t0 = 0;
    if (mode == "goodbye") {
      t0 = now_ns();
      kill(watson.pid, SIGTERM);
    } else if (mode == "kill") {
      t0 = now_ns();
      kill(watson.pid, SIGKILL);
    } else {
      m.first_failed_check = 0;
      const std::int64_t onset = now_ns();
      m.healthy = false;
      if (!wait_until([&] { return m.first_failed_check != 0; }, 5000, 0.5)) {
        die("no failing health check within 5 s");
      }
      t0 = m.first_failed_check;
      sample(prefix + "check_wait.unhealthy", ms_between(onset, t0));
    }
    const auto quiet = [&] {
      const std::int64_t now = now_ns();
      for (const Kind k : measured) {
        if (ms_between(std::max<std::int64_t>(m.last_request[k], t0), now) < o.quiet_ms) {
          return false;
        }
      }
      return true;
    };
    if (!wait_until(quiet, 30000, 1)) {
      counters[prefix + "leave_timeouts." + mode] += 1;
    }
    for (const Kind k : measured) {
      const std::int64_t last = m.last_request[k];
      if (m.first_request[k] == 0) {  // it never joined through this frontend: nothing to leave
        counters[prefix + "leave_not_measured_no_join." + kKindName[k]] += 1;
        count_at_leave[k] = m.requests[k];
        continue;
      }
      sample_interval(prefix + "leave_" + mode + "." + kKindName[k], t0, last);
      if (const auto p = phase(t0); !p.empty()) {
        sample_interval(prefix + p + "leave_" + mode + "." + kKindName[k], t0, last);
      }
      if (mode == "unhealthy") {
        sample(
            prefix + "leave_unhealthy_from_onset." + kKindName[k],
            std::max(0.0, ms_between(t0, last)) + samples[prefix + "check_wait.unhealthy"].back());
      }
      count_at_leave[k] = m.requests[k];
    }
    if (mode != "unhealthy" && !reap(watson, 5000)) die("watson did not exit");
    ++cycles_run;
  };

  // Each kind of leave spread evenly over the run: (position in the run, mode), sorted.
  std::vector<std::pair<double, std::string>> order;
  for (const auto& [mode, n] : {std::pair<std::string, int>{"goodbye", o.goodbye_cycles},
                                {"unhealthy", o.unhealthy_cycles},
                                {"kill", o.kill_cycles}}) {
    for (int i = 0; i < n; ++i) order.emplace_back((i + 0.5) / n, mode);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> modes;
  for (const auto& [at, mode] : order) modes.push_back(mode);
  for (std::size_t i = 0; i < modes.size(); ++i) {
    // A subject that no longer joins (e.g. the merge losing it after a kill) ends the cycles.
    if (const auto t = counters.find("join_timeouts");
        t != counters.end() && t->second >= o.max_join_timeouts) {
      counters["cycles_skipped_after_join_timeouts"] = static_cast<double>(modes.size() - i);
      break;
    }
    run_cycle(modes[i], kinds, "");
  }
  // Put the subject out of rotation for the window phase: a plain goodbye leaves it so.
  if (watson.running()) {
    m.healthy = true;
    stop(watson);
    sleep_ms(o.quiet_ms);
  }
  std::array<std::uint64_t, kKinds> failed_main{}, ok_main{};
  for (const Kind k : kinds) {
    failed_main[k] = client.counts(k).failed();
    ok_main[k] = client.counts(k).ok;
  }

  if (o.bakerstreet && o.window_cycles > 0) {
    // Started late, when the load client's connections hold ephemeral ports that may be in our
    // range: ports the kernel says are free now.
    frontends[kWindow] = free_port();
    window_applier = start_applier(kWindow, o.window_ms, free_port());
    if (!wait_until([&] { return reachable(kWindow); }, 15000 + o.window_ms, 10)) {
      die("nothing answers through the windowed applier's frontend");
    }
    client.enable(kWindow);
    sleep_ms(1000);
    for (const Kind k : {kAdmin, kReload, kWindow}) count_at_leave[k] = m.requests[k];
    for (int c = 0; c < o.window_cycles; ++c) {
      run_cycle("goodbye", {kAdmin, kReload, kWindow}, "window_phase.");
    }
  }
  client.stop();

  for (const Kind k : kinds) {
    const auto& n = client.counts(k);
    const std::string p = std::string("requests.") + kKindName[k] + ".";
    counters[p + "ok"] = static_cast<double>(ok_main[k]);
    counters[p + "failed"] = static_cast<double>(failed_main[k]);
    counters[p + "failed_total_incl_window_phase"] = static_cast<double>(n.failed());
    counters[p + "closed_reused"] = static_cast<double>(n.closed_reused);
    counters[p + "closed_other"] = static_cast<double>(n.closed_other);
    counters[p + "bad_status"] = static_cast<double>(n.bad_status);
    counters[p + "refused"] = static_cast<double>(n.refused);
  }
  if (o.window_cycles > 0 && o.bakerstreet) {
    const auto& n = client.counts(kWindow);
    counters["requests.sf_window.ok"] = static_cast<double>(n.ok);
    counters["requests.sf_window.failed"] = static_cast<double>(n.failed());
  }
  if (const auto r = http_get(port(5), "/metrics"); r && o.bakerstreet) {
    const std::string sample = "\nbakerstreet_reloads_total ";  // the sample, not its # HELP
    const auto at = r->find(sample);
    if (at != std::string::npos) {
      counters["sf_reloads"] = std::atof(r->c_str() + at + sample.size());
    }
  }
  counters["cycles"] = static_cast<double>(modes.size());
  counters["directories"] = o.directories;
  // The sherlock's streams at the end, and its /digest kept beside the logs.
  counters["streams_live_at_end"] = streams_with("live");
  counters["streams_synced_at_end"] = streams_with("synced");
  if (const auto r = http_get(port(2), "/digest")) {
    if (FILE* f = std::fopen((log + "sherlock-digest.json").c_str(), "w")) {
      const auto body = r->find("\r\n\r\n");
      std::fputs(r->c_str() + (body == std::string::npos ? 0 : body + 4), f);
      std::fclose(f);
    }
  }
  if (killed_at != 0) {
    counters["kill.window_ms"] = o.kill_window_ms;
    if (!window_closed) {  // the run ended inside the window
      counters["kill.window_failed_requests.admin"] =
          static_cast<double>(client.counts(kAdmin).failed() - failed_at_kill);
      counters["kill.window_cycles"] = cycles_run - counters["kill.at_cycle"] + 1;
    }
  }
  counters["interval_ms"] = o.interval_ms;
  counters["connections_per_frontend"] = o.connections;
  stall_meter.stop();
  const auto stalls = stall_meter.stalls();
  counters["stalls"] = static_cast<double>(stalls.size());
  for (const auto& [begin, end] : stalls) sample("stall", ms_between(begin, end));
  report();
  return 0;
}
