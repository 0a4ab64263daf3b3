// baker-loadgen: load for the directory, and the yardstick to judge it by.
//
//   baker-loadgen --mode ceiling                     raw loopback UDP: one recvmmsg receiver
//   baker-loadgen --mode heartbeats --target A:P     N simulated instances at a given rate
//   baker-loadgen --mode load --target A:P           every instance once (fill the table)
//   baker-loadgen --mode snapshot --target A:P       time full snapshots as a subscriber
//
// With --find-max, ceiling and heartbeats search for the highest rate with no loss: every
// datagram sent must be received (by the ceiling's own receiver, or counted by the directory's
// /metrics, which also reports kernel receive-queue drops). docs/BENCHMARKS.md has the commands.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/host_port.hpp"
#include "common/key_file.hpp"
#include "common/options.hpp"
#include "common/real_clock.hpp"
#include "wire/auth.hpp"
#include "wire/codec.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace wire = baker::wire;

constexpr const char* kUsage =
    "usage: baker-loadgen --mode ceiling [--rate N | --find-max] [--duration S] [--size BYTES]\n"
    "       baker-loadgen --mode heartbeats --target ADDR:PORT --instances N\n"
    "                     [--rate N | --find-max --metrics ADDR:PORT] [--duration S]\n"
    "       baker-loadgen --mode load --target ADDR:PORT --instances N [--metrics ADDR:PORT]\n"
    "       baker-loadgen --mode snapshot --target ADDR:PORT [--repeat K] [--services a,b]\n"
    "\n"
    "Load generator for Baker's directory. 'ceiling' measures raw loopback UDP into one recvmmsg\n"
    "receiver (a thread of this process); 'heartbeats' sends heartbeats for N simulated\n"
    "instances (service svc-<i mod services>, instance i-<i>) at a total rate; 'load' sends each\n"
    "instance once and waits until the directory's /metrics shows them all; 'snapshot'\n"
    "subscribes afresh K times and times each full snapshot. --find-max searches for the highest\n"
    "rate at which nothing is lost.";

[[noreturn]] void die(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  std::exit(2);
}

void pin_to_cpu(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) die("cannot pin to cpu " + std::to_string(cpu));
}

sockaddr_in parse_target(const std::string& text) {
  const auto hp = baker::parse_host_port(text);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (!hp || inet_pton(AF_INET, hp->host.c_str(), &a.sin_addr) != 1) {
    die("expected IPv4ADDR:PORT, got '" + text + "'");
  }
  a.sin_port = htons(hp->port);
  return a;
}

int udp_socket(int buffer_bytes) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket: " + std::string(strerror(errno)));
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer_bytes, sizeof buffer_bytes);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer_bytes, sizeof buffer_bytes);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    die("bind: " + std::string(strerror(errno)));
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// ---- paced sending ----

struct SendResult {
  std::uint64_t sent = 0;
  std::uint64_t failed = 0;
  double seconds = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(sent) / seconds : 0; }
};

// Sends `make(k)` for k = first, first+1, ... at `rate` datagrams/s (0 = as fast as possible)
// for `duration` or until `count` datagrams, in sendmmsg batches of 32.
SendResult send_paced(int fd, const sockaddr_in& to, double rate, Clock::duration duration,
                      std::uint64_t count,
                      const std::function<void(std::uint64_t, wire::Bytes&)>& make,
                      std::uint64_t first = 0) {
  constexpr std::size_t kBatch = 32;
  std::vector<wire::Bytes> bufs(kBatch);
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> msgs(kBatch);
  SendResult r;
  const auto start = Clock::now();
  const auto end = start + duration;
  std::uint64_t k = first;
  while (r.sent + r.failed < count) {
    const auto now = Clock::now();
    if (now >= end) break;
    if (rate > 0) {
      // Where the schedule says we should be; sleep if ahead of it.
      const double due = std::chrono::duration<double>(now - start).count() * rate;
      const double ahead = static_cast<double>(r.sent + r.failed) - due;
      if (ahead >= static_cast<double>(kBatch)) {
        const double wait = (ahead - static_cast<double>(kBatch) + 1) / rate;
        if (wait > 200e-6) {
          std::this_thread::sleep_for(std::chrono::duration<double>(wait * 0.8));
        }
        continue;
      }
    }
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(kBatch, count - r.sent - r.failed));
    for (std::size_t i = 0; i < n; ++i) {
      make(k + i, bufs[i]);
      iov[i] = iovec{bufs[i].data(), bufs[i].size()};
      msgs[i] = mmsghdr{};
      msgs[i].msg_hdr.msg_name = const_cast<sockaddr_in*>(&to);
      msgs[i].msg_hdr.msg_namelen = sizeof to;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    std::size_t done = 0;
    while (done < n) {
      const int s = sendmmsg(fd, msgs.data() + done, static_cast<unsigned>(n - done), 0);
      if (s > 0) {
        done += static_cast<std::size_t>(s);
        r.sent += static_cast<std::uint64_t>(s);
      } else if (errno != EINTR) {
        ++done;
        ++r.failed;
      }
    }
    k += n;
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

// ---- the ceiling's receiver ----

class CountingReceiver {
 public:
  CountingReceiver(int buffer_bytes, int cpu) : fd_(udp_socket(buffer_bytes)) {
    thread_ = std::thread([this, cpu] { run(cpu); });
  }
  ~CountingReceiver() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::uint16_t port() const { return local_port(fd_); }
  std::uint64_t received() const { return received_.load(); }

 private:
  void run(int cpu) {
    pin_to_cpu(cpu);
    constexpr int kBatch = 64;
    std::vector<std::uint8_t> buf(kBatch * 2048);
    std::vector<iovec> iov(kBatch);
    std::vector<mmsghdr> msgs(kBatch);
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      while (true) {
        for (int i = 0; i < kBatch; ++i) {
          iov[i] = iovec{buf.data() + i * 2048, 2048};
          msgs[i] = mmsghdr{};
          msgs[i].msg_hdr.msg_iov = &iov[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
        }
        const int n = recvmmsg(fd_, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) break;
        // Touch each datagram as a real receiver would.
        std::uint64_t sum = 0;
        for (int i = 0; i < n; ++i) sum += buf[static_cast<std::size_t>(i) * 2048];
        sink_ += sum;
        received_ += static_cast<std::uint64_t>(n);
      }
    }
  }
  int fd_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> received_{0};
  std::uint64_t sink_ = 0;
};

// ---- the directory's /metrics ----

std::optional<std::string> http_get(const sockaddr_in& at, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0) {
    close(fd);
    return std::nullopt;
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) < 0) {
    close(fd);
    return std::nullopt;
  }
  std::string resp;
  char buf[65536];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) resp.append(buf, static_cast<std::size_t>(n));
  close(fd);
  const auto body = resp.find("\r\n\r\n");
  if (body == std::string::npos) return std::nullopt;
  return resp.substr(body + 4);
}

double metric(const std::string& body, const std::string& sample) {
  const std::string key = "\nbaker_directory_" + sample + " ";
  const auto at = body.find(key);
  if (at == std::string::npos) die("the directory's /metrics has no " + sample);
  return std::stod(body.substr(at + key.size()));
}

struct DirectoryCounters {
  double received = 0;
  double overflow = 0;
  double routes = 0;
};

DirectoryCounters read_counters(const sockaddr_in& metrics) {
  const auto body = http_get(metrics, "/metrics");
  if (!body) die("cannot GET /metrics from the directory (--metrics)");
  const std::string text = "\n" + *body;
  return {metric(text, "datagrams_received_total"),
          metric(text, "rejected_datagrams_total{reason=\"receive_queue_overflow\"}"),
          metric(text, "routes")};
}

// ---- heartbeats ----

// The simulated instances. Each one's heartbeat is encoded once; sending only patches the seq (kept
// in msgpack's fixed-width uint64 form by starting above 2^32) and sent_ms (the last field, always
// a uint64 past 2^32: the wall clock now, so the directory's freshness rule passes) and, with
// keys, recomputes the MAC, so the sender costs about what the ceiling's sender costs per datagram.
struct Fleet {
  static constexpr std::uint64_t kSeqBase = 1ull << 32;
  std::uint64_t instances = 1000;
  std::uint64_t services = 100;
  std::uint32_t interval_ms = 60000;
  // As a watson: one incarnation per process, its start on the wall clock (us since 1970).
  std::uint64_t incarnation = baker::unix_time_us();
  std::uint64_t template_sent_ms = baker::unix_time_ms();
  const wire::Keyring* keys = nullptr;
  std::vector<std::uint8_t> templates;  // every instance's datagram, back to back
  std::vector<std::uint32_t> offsets;   // instance i: templates[offsets[i] .. offsets[i+1])
  std::size_t seq_at = 0;               // offset of the seq's 8 bytes within a datagram's end
  const wire::Key* key = nullptr;

  wire::Heartbeat heartbeat(std::uint64_t i, std::uint64_t seq) const {
    wire::Heartbeat h;
    h.route.service = "svc-" + std::to_string(i % services);
    h.route.instance = "i-" + std::to_string(i);
    h.route.address =
        wire::IpAddress::v4(10, static_cast<std::uint8_t>(i >> 16),
                            static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i));
    h.route.port = 8080;
    h.incarnation = incarnation;
    h.seq = seq;
    h.interval_ms = interval_ms;
    h.sent_ms = template_sent_ms;  // patched per datagram
    return h;
  }

  void prepare() {
    if (keys && keys->primary_id()) key = keys->find(*keys->primary_id());
    offsets.reserve(instances + 1);
    wire::Bytes a;
    wire::Bytes b;
    for (std::uint64_t i = 0; i < instances; ++i) {
      offsets.push_back(static_cast<std::uint32_t>(templates.size()));
      wire::encode_into(heartbeat(i, kSeqBase), keys, a);
      templates.insert(templates.end(), a.begin(), a.end());
    }
    offsets.push_back(static_cast<std::uint32_t>(templates.size()));
    // Where the seq sits, counted from the end (the fields after it have the same size for every
    // instance): the one byte that differs between seq = base and seq = base + 1.
    wire::encode_into(heartbeat(0, kSeqBase), nullptr, a);
    wire::encode_into(heartbeat(0, kSeqBase + 1), nullptr, b);
    std::size_t diff = 0;
    while (a[diff] == b[diff]) ++diff;
    seq_at = a.size() - (diff - 7);  // 8 bytes, big-endian, last one at `diff`
    if (a.size() < 9 || a[a.size() - 9] != 0xcf) die("heartbeat does not end in a uint64 sent_ms");
  }

  // Datagram k: instance k mod N, its (seq_base + k / N + 1)-th heartbeat.
  void datagram(std::uint64_t k, std::uint64_t seq_base, wire::Bytes& out) const {
    const std::uint64_t i = k % instances;
    out.assign(templates.begin() + offsets[i], templates.begin() + offsets[i + 1]);
    const std::size_t mac_field = key ? 2 + wire::kMacSize : 0;
    std::uint64_t seq = kSeqBase + seq_base + k / instances + 1;
    for (int b = 7; b >= 0; --b) {
      out[out.size() - mac_field - seq_at + static_cast<std::size_t>(b)] =
          static_cast<std::uint8_t>(seq);
      seq >>= 8;
    }
    std::uint64_t sent_ms = baker::unix_time_ms();
    for (int b = 7; b >= 0; --b) {
      out[out.size() - mac_field - 8 + static_cast<std::size_t>(b)] =
          static_cast<std::uint8_t>(sent_ms);
      sent_ms >>= 8;
    }
    if (key) {
      const auto mac = wire::compute_mac(*key, {out.data(), out.size() - wire::kMacSize});
      std::copy(mac.begin(), mac.end(), out.end() - wire::kMacSize);
    }
  }
};

// Highest rate in [lo, hi] for which pass(rate) holds, assuming monotonic: grow, then bisect.
double find_max(double start, double cap, const std::function<bool(double)>& pass) {
  double lo = 0;
  double hi = cap;
  double r = start;
  while (r < cap) {
    if (!pass(r)) {
      hi = r;
      break;
    }
    lo = r;
    r *= 1.5;
  }
  if (r >= cap && pass(cap)) return cap;
  for (int i = 0; i < 6 && hi - lo > lo * 0.03; ++i) {
    const double mid = (lo + hi) / 2;
    if (pass(mid)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

std::string fmt(double v) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(0);
  s << v;
  return s.str();
}

// ---- modes ----

int run_ceiling(const baker::po::variables_map& vm) {
  const int size = vm["size"].as<int>();
  const auto duration = std::chrono::duration<double>(vm["duration"].as<double>());
  const int buffer = vm["buffer"].as<int>();
  CountingReceiver receiver(buffer, vm["receiver-cpu"].as<int>());
  pin_to_cpu(vm["sender-cpu"].as<int>());
  const int fd = udp_socket(buffer);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(receiver.port());
  auto make = [size](std::uint64_t k, wire::Bytes& out) {
    out.assign(static_cast<std::size_t>(size), static_cast<std::uint8_t>(k));
  };
  auto trial = [&](double rate, bool print) {
    const std::uint64_t before = receiver.received();
    const auto r = send_paced(fd, to, rate, std::chrono::duration_cast<Clock::duration>(duration),
                              UINT64_MAX, make);
    std::this_thread::sleep_for(300ms);  // let the receiver drain what is queued
    const std::uint64_t got = receiver.received() - before;
    const bool ok = got == r.sent && r.rate() >= rate * 0.97;
    if (print) {
      std::cout << "ceiling trial: offered " << fmt(rate) << "/s, sent " << r.sent << " at "
                << fmt(r.rate()) << "/s, received " << got << " (lost " << (r.sent - got) << ") -> "
                << (ok ? "no loss" : "LOSS or sender short") << std::endl;
    }
    return std::make_pair(ok, static_cast<double>(got) / r.seconds);
  };
  if (vm.count("find-max")) {
    const double best = find_max(vm["rate"].as<double>(), vm["cap"].as<double>(),
                                 [&](double rate) { return trial(rate, true).first; });
    // Blast: as fast as the sender goes; what the receiver takes in is its raw throughput.
    const auto blast = trial(0, false);
    std::cout << "RESULT ceiling_no_loss_per_s " << fmt(best) << "\n"
              << "RESULT ceiling_blast_received_per_s " << fmt(blast.second) << "\n";
  } else {
    const auto t = trial(vm["rate"].as<double>(), true);
    std::cout << "RESULT ceiling_received_per_s " << fmt(t.second) << "\n";
  }
  close(fd);
  return 0;
}

std::optional<wire::Keyring> read_keys(const baker::po::variables_map& vm) {
  if (!vm.count("key-file")) return std::nullopt;
  try {
    // It plays watsons (announce) and sherlocks (publish).
    return baker::load_key_file(vm["key-file"].as<std::string>(),
                                {wire::Role::announce, wire::Role::publish}, "baker-loadgen");
  } catch (const baker::KeyFileError& e) {
    die(e.what());
  }
}

int run_heartbeats(const baker::po::variables_map& vm, bool fill_only) {
  if (!vm.count("target")) die("--target ADDR:PORT is required");
  const sockaddr_in target = parse_target(vm["target"].as<std::string>());
  std::optional<sockaddr_in> metrics;
  if (vm.count("metrics")) metrics = parse_target(vm["metrics"].as<std::string>());
  const auto keys = read_keys(vm);
  Fleet fleet;
  fleet.instances = vm["instances"].as<std::uint64_t>();
  fleet.services = std::max<std::uint64_t>(1, vm["services"].as<std::uint64_t>());
  fleet.interval_ms = vm["interval-ms"].as<std::uint32_t>();
  fleet.keys = keys ? &*keys : nullptr;
  fleet.prepare();
  pin_to_cpu(vm["sender-cpu"].as<int>());
  const int fd = udp_socket(vm["buffer"].as<int>());
  std::uint64_t seq_base = 0;
  std::uint64_t next_k = 0;

  if (fill_only) {  // every instance once, until the directory holds them all
    if (!metrics) die("--mode load needs --metrics ADDR:PORT to see the table fill");
    const double rate = vm["rate"].as<double>();
    for (int round = 0; round < 10; ++round) {
      const auto r =
          send_paced(fd, target, rate, std::chrono::hours(1), fleet.instances,
                     [&](std::uint64_t k, wire::Bytes& out) { fleet.datagram(k, seq_base, out); });
      seq_base += 1;
      double routes = 0;
      for (int i = 0; i < 50; ++i) {
        routes = read_counters(*metrics).routes;
        if (routes >= static_cast<double>(fleet.instances)) break;
        std::this_thread::sleep_for(100ms);
      }
      std::cout << "load round " << round << ": sent " << r.sent << " at " << fmt(r.rate())
                << "/s; directory holds " << fmt(routes) << " routes" << std::endl;
      if (routes >= static_cast<double>(fleet.instances)) {
        std::cout << "RESULT routes " << fmt(routes) << "\n";
        return 0;
      }
    }
    die("the directory did not reach " + std::to_string(fleet.instances) + " routes");
  }

  const auto duration = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(vm["duration"].as<double>()));
  auto trial = [&](double rate) {
    std::optional<DirectoryCounters> before;
    if (metrics) before = read_counters(*metrics);
    const auto r = send_paced(
        fd, target, rate, duration, UINT64_MAX,
        [&](std::uint64_t k, wire::Bytes& out) { fleet.datagram(k, seq_base, out); }, next_k);
    next_k += r.sent + r.failed;
    std::cout << "heartbeats: offered " << fmt(rate) << "/s, sent " << r.sent << " at "
              << fmt(r.rate()) << "/s";
    if (!metrics) {
      std::cout << std::endl;
      return r.rate() >= rate * 0.97;
    }
    // Wait for the directory to catch up (it may still be reading its queue).
    DirectoryCounters after;
    for (int i = 0; i < 20; ++i) {
      std::this_thread::sleep_for(100ms);
      after = read_counters(*metrics);
      if (after.received - before->received >= static_cast<double>(r.sent)) break;
    }
    const double got = after.received - before->received;
    const double dropped = after.overflow - before->overflow;
    const bool ok = got >= static_cast<double>(r.sent) && dropped == 0 && r.rate() >= rate * 0.97;
    std::cout << ", directory received " << fmt(got) << ", queue drops " << fmt(dropped) << " -> "
              << (ok ? "no loss" : "LOSS or sender short") << std::endl;
    return ok;
  };
  if (vm.count("find-max")) {
    if (!metrics) die("--find-max needs --metrics ADDR:PORT");
    const double best = find_max(vm["rate"].as<double>(), vm["cap"].as<double>(), trial);
    std::cout << "RESULT directory_no_loss_per_s " << fmt(best) << "\n";
  } else {
    trial(vm["rate"].as<double>());
  }
  close(fd);
  return 0;
}

int run_snapshot(const baker::po::variables_map& vm) {
  if (!vm.count("target")) die("--target ADDR:PORT is required");
  const sockaddr_in target = parse_target(vm["target"].as<std::string>());
  const auto keys = read_keys(vm);
  const wire::Keyring* k = keys ? &*keys : nullptr;
  std::vector<std::string> services;
  if (vm.count("services-filter")) {
    std::stringstream list(vm["services-filter"].as<std::string>());
    for (std::string s; std::getline(list, s, ',');) services.push_back(s);
  }
  const int fd = udp_socket(vm["buffer"].as<int>());
  std::vector<double> times;
  std::vector<std::uint8_t> buf(65536);
  for (int rep = 0; rep < vm["repeat"].as<int>(); ++rep) {
    const std::uint64_t id = baker::random_nonzero_u64();
    std::uint64_t nonce = 0;
    wire::Subscribe subscribe;
    subscribe.subscriber_id = id;
    subscribe.services = services;
    // The first answer is a Challenge (address validation); the timing includes that round trip.
    const auto send_subscribe = [&](wire::Cookie cookie) {
      subscribe.nonce = ++nonce;
      subscribe.cookie = std::move(cookie);
      const auto bytes = wire::encode(subscribe, k);
      sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&target),
             sizeof target);
    };
    const auto start = Clock::now();
    send_subscribe({});
    std::set<std::uint32_t> have;
    std::uint32_t count = 0;
    std::size_t routes = 0;
    std::uint64_t seq = 0;
    auto last = start;
    while (count == 0 || have.size() < count) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 3000) <= 0) break;
      const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
      if (n <= 0) continue;
      auto d = wire::decode({buf.data(), static_cast<std::size_t>(n)}, wire::DecodeOptions{k});
      if (!d) continue;
      if (const auto* c = std::get_if<wire::SnapshotChunk>(&d.value().message)) {
        count = c->count;
        seq = c->seq;
        if (have.insert(c->index).second) routes += c->routes.size();
        last = Clock::now();
      } else if (const auto* r = std::get_if<wire::RetryLater>(&d.value().message)) {
        std::cout << "told to retry in " << r->delay_ms << " ms" << std::endl;
        break;
      } else if (const auto* ch = std::get_if<wire::Challenge>(&d.value().message)) {
        if (ch->subscriber_id == id && ch->nonce == nonce) send_subscribe(ch->cookie);
      }
    }
    const double ms = std::chrono::duration<double, std::milli>(last - start).count();
    const auto bye = wire::encode(wire::Unsubscribe{id, ++nonce}, k);
    sendto(fd, bye.data(), bye.size(), 0, reinterpret_cast<const sockaddr*>(&target),
           sizeof target);
    std::cout << "snapshot " << rep << ": seq " << seq << ", " << routes << " routes in "
              << have.size() << "/" << count << " chunks, " << ms << " ms"
              << (have.size() == count && count > 0 ? "" : " INCOMPLETE") << std::endl;
    if (have.size() == count && count > 0) times.push_back(ms);
    // Drain anything left (Ticks) before the next round.
    while (true) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) break;
      recv(fd, buf.data(), buf.size(), 0);
    }
  }
  if (times.empty()) die("no complete snapshot");
  std::sort(times.begin(), times.end());
  std::cout << "RESULT snapshot_median_ms " << times[times.size() / 2] << "\n";
  close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = baker::po;
  po::options_description flags("options");
  flags.add_options()("help,h", "show this help and exit")(
      "mode", po::value<std::string>()->default_value("heartbeats"),
      "ceiling | heartbeats | load | snapshot")("target", po::value<std::string>(),
                                                "directory UDP address ADDR:PORT")(
      "metrics", po::value<std::string>(), "directory metrics address ADDR:PORT")(
      "instances", po::value<std::uint64_t>()->default_value(10000), "simulated instances")(
      "services", po::value<std::uint64_t>()->default_value(100), "services they belong to")(
      "interval-ms", po::value<std::uint32_t>()->default_value(60000),
      "announced heartbeat interval (long, so nothing expires during a measurement)")(
      "rate", po::value<double>()->default_value(100000),
      "datagrams per second (start of the search with --find-max; 0 = unpaced)")(
      "cap", po::value<double>()->default_value(2e6), "highest rate --find-max tries")(
      "duration", po::value<double>()->default_value(3.0), "seconds per trial")(
      "find-max", "search for the highest rate without loss")(
      "size", po::value<int>()->default_value(64), "ceiling: datagram payload bytes")(
      "buffer", po::value<int>()->default_value(16 << 20), "socket buffers, bytes")(
      "sender-cpu", po::value<int>()->default_value(-1), "pin the sender to this CPU")(
      "receiver-cpu", po::value<int>()->default_value(-1), "ceiling: pin the receiver thread")(
      "key-file", po::value<std::string>(), "cluster keys (MAC every datagram)")(
      "repeat", po::value<int>()->default_value(5), "snapshot: how many snapshots")(
      "services-filter", po::value<std::string>(), "snapshot: subscribe to these services only");
  auto parsed = baker::parse_options(argc, argv, flags, kUsage, "");
  if (parsed.exit_code) return *parsed.exit_code;
  const auto& vm = parsed.values;
  const auto mode = vm["mode"].as<std::string>();
  if (mode == "ceiling") return run_ceiling(vm);
  if (mode == "heartbeats") return run_heartbeats(vm, false);
  if (mode == "load") return run_heartbeats(vm, true);
  if (mode == "snapshot") return run_snapshot(vm);
  die("--mode: expected ceiling, heartbeats, load or snapshot, got '" + mode + "'");
}
