// e2e_probe: a small subscriber of the directory for the end-to-end benchmark
// (tools/bench/bench-e2e; docs/BENCHMARKS.md, "End to end").
//
//   e2e_probe digest --directory A:P
//       Subscribes afresh, assembles the whole snapshot, computes its digest, then waits for a Tick
//       at that sequence or later and prints the directory's own epoch, seq, digest and route count
//       (what every replica must hold), plus whether the snapshot's digest agrees.
//   e2e_probe churn --directory A:P --rate R --duration S [--pool N]
//                   [--multicast GROUP:PORT --multicast-if ADDR]
//       Sends heartbeats that change the table at R changes/s (instances c<run>-0..N-1 of service
//       "churn", each heartbeat flipping its instance between up and draining, so each one causes
//       exactly one update), and subscribes alongside the sherlocks: unicast, filtered to "churn"
//       (the directory sends filtered subscribers their Deltas after every unfiltered one, so this
//       is the last unicast receiver of each change), or as a multicast member hearing the group.
//       Prints the latency from sending the heartbeat to receiving the Delta that carries its
//       change (both on this process's CLOCK_MONOTONIC). At the end its instances say goodbye.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/host_port.hpp"
#include "common/options.hpp"
#include "common/real_clock.hpp"
#include "wire/codec.hpp"
#include "wire/digest.hpp"

namespace {

namespace wire = baker::wire;

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "e2e_probe: %s\n", what.c_str());
  std::exit(1);
}

sockaddr_in parse_addr(const std::string& text) {
  const auto hp = baker::parse_host_port(text);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (!hp || inet_pton(AF_INET, hp->host.c_str(), &a.sin_addr) != 1) {
    die("expected IPv4ADDR:PORT, got '" + text + "'");
  }
  a.sin_port = htons(hp->port);
  return a;
}

int udp_socket(const sockaddr_in* bind_to, bool reuse) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const int buffer = 16 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
  const int one = 1;
  if (reuse) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const sockaddr_in& a = bind_to ? *bind_to : any;
  if (bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    die(std::string("bind: ") + std::strerror(errno));
  }
  return fd;
}

void send_to(int fd, const wire::Message& m, const sockaddr_in& to) {
  const auto bytes = wire::encode(m, nullptr);
  sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
}

std::optional<wire::Message> receive(int fd, int timeout_ms, std::vector<std::uint8_t>& buf) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
  const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
  if (n <= 0) return std::nullopt;
  auto d = wire::decode({buf.data(), static_cast<std::size_t>(n)}, wire::DecodeOptions{});
  if (!d) return std::nullopt;
  return std::move(d.value().message);
}

std::string get(const baker::po::variables_map& vm, const char* name) {
  if (!vm.count(name)) die(std::string("--") + name + " is required");
  return vm[name].as<std::string>();
}

// ---- digest ---------------------------------------------------------------------------------

int run_digest(const baker::po::variables_map& vm) {
  const sockaddr_in directory = parse_addr(get(vm, "directory"));
  const int fd = udp_socket(nullptr, false);
  std::vector<std::uint8_t> buf(65536);
  const std::uint64_t id = baker::random_nonzero_u64();
  const std::int64_t deadline = now_ns() + 60'000'000'000LL;
  std::map<std::uint32_t, std::vector<wire::Route>> chunks;
  std::uint32_t count = 0;
  std::uint64_t snapshot_seq = 0;
  std::uint64_t epoch = 0;
  std::int64_t asked = 0;
  std::uint64_t nonce = 0;
  wire::Cookie cookie;
  const auto subscribe = [&] {
    wire::Subscribe s;
    s.subscriber_id = id;
    s.nonce = ++nonce;
    s.cookie = cookie;
    send_to(fd, s, directory);
  };
  while (now_ns() < deadline) {
    if (now_ns() - asked > 3'000'000'000LL && (count == 0 || chunks.size() < count)) {
      subscribe();  // (again, if lost or refused)
      asked = now_ns();
      chunks.clear();
      count = 0;
    }
    const auto m = receive(fd, 100, buf);
    if (!m) continue;
    if (const auto* ch = std::get_if<wire::Challenge>(&*m)) {
      if (ch->subscriber_id == id && ch->nonce == nonce) {
        cookie = ch->cookie;
        subscribe();  // address validation: the same Subscribe with the cookie
      }
    } else if (const auto* c = std::get_if<wire::SnapshotChunk>(&*m)) {
      if (count != 0 && (c->seq != snapshot_seq || c->epoch != epoch)) chunks.clear();
      count = c->count;
      snapshot_seq = c->seq;
      epoch = c->epoch;
      chunks.emplace(c->index, c->routes);
    } else if (const auto* r = std::get_if<wire::RetryLater>(&*m)) {
      asked = now_ns() - 3'000'000'000LL + static_cast<std::int64_t>(r->delay_ms) * 1'000'000;
    } else if (const auto* t = std::get_if<wire::Tick>(&*m)) {
      if (count == 0 || chunks.size() < count || t->epoch != epoch || t->seq < snapshot_seq) {
        continue;
      }
      std::vector<wire::Route> all;
      for (auto& [i, routes] : chunks) all.insert(all.end(), routes.begin(), routes.end());
      const std::uint64_t mine = wire::table_digest(all);
      std::printf(
          "DIGEST epoch=%016llx seq=%llu digest=%016llx routes=%u snapshot_seq=%llu "
          "snapshot_routes=%zu snapshot_digest=%016llx agrees=%s\n",
          static_cast<unsigned long long>(t->epoch), static_cast<unsigned long long>(t->seq),
          static_cast<unsigned long long>(t->digest), t->route_count,
          static_cast<unsigned long long>(snapshot_seq), all.size(),
          static_cast<unsigned long long>(mine),
          t->seq == snapshot_seq ? (mine == t->digest ? "yes" : "NO") : "seq-moved");
      send_to(fd, wire::Unsubscribe{id, ++nonce}, directory);
      return 0;
    }
  }
  die("no complete snapshot and Tick within 60 s");
}

// ---- churn ----------------------------------------------------------------------------------

int run_churn(const baker::po::variables_map& vm) {
  const sockaddr_in directory = parse_addr(get(vm, "directory"));
  const double rate = vm["rate"].as<double>();
  const double duration = vm["duration"].as<double>();
  const int pool = vm["pool"].as<int>();
  const auto interval_ms = vm["interval-ms"].as<std::uint32_t>();
  const bool multicast = vm.count("multicast") > 0;

  const int sub = udp_socket(nullptr, false);
  int group = -1;
  if (multicast) {
    const sockaddr_in g = parse_addr(get(vm, "multicast"));
    group = udp_socket(&g, true);
    ip_mreq mreq{};
    mreq.imr_multiaddr = g.sin_addr;
    inet_pton(AF_INET, vm.count("multicast-if") ? get(vm, "multicast-if").c_str() : "0.0.0.0",
              &mreq.imr_interface);
    if (setsockopt(group, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
      die(std::string("cannot join the group: ") + std::strerror(errno));
    }
  }
  const std::uint64_t id = baker::random_nonzero_u64();
  wire::Subscribe subscribe;
  subscribe.subscriber_id = id;
  std::atomic<std::uint64_t> nonce{0};
  std::mutex cookie_mu;
  wire::Cookie cookie;  // from the directory's Challenge
  if (multicast) {
    subscribe.flags = wire::kFlagMulticastMember;
  } else {
    subscribe.services = {"churn"};
  }

  std::mutex mu;
  std::map<std::string, std::int64_t> pending;  // "instance/state" -> when its heartbeat left
  std::vector<double> latencies;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> deltas{0};
  std::atomic<std::uint64_t> stale_ops{0};
  // Where the stream is: renewals say so, so that they never ask for another snapshot (a member
  // would get the whole table each time).
  std::atomic<std::uint64_t> heard_epoch{0};
  std::atomic<std::uint64_t> heard_seq{0};
  const auto heard = [&](std::uint64_t epoch, std::uint64_t seq) {
    if (epoch != heard_epoch) {
      heard_epoch = epoch;
      heard_seq = seq;
    } else if (seq > heard_seq) {
      heard_seq = seq;
    }
  };
  const auto renew = [&] {
    wire::Subscribe s = subscribe;
    s.nonce = ++nonce;
    {
      std::lock_guard<std::mutex> lock(cookie_mu);
      s.cookie = cookie;
    }
    s.last_epoch = heard_epoch;
    s.last_seq = s.last_epoch ? heard_seq.load() : 0;
    send_to(sub, s, directory);
  };
  std::thread receiver([&] {
    std::vector<std::uint8_t> buf(65536);
    std::vector<pollfd> fds{{sub, POLLIN, 0}};
    if (group >= 0) fds.push_back({group, POLLIN, 0});
    while (!stop) {
      if (poll(fds.data(), fds.size(), 50) <= 0) continue;
      for (auto& p : fds) {
        if (!(p.revents & POLLIN)) continue;
        const ssize_t n = recv(p.fd, buf.data(), buf.size(), MSG_DONTWAIT);
        const std::int64_t t = now_ns();
        if (n <= 0) continue;
        auto d = wire::decode({buf.data(), static_cast<std::size_t>(n)}, wire::DecodeOptions{});
        if (!d) continue;
        const auto& m = d.value().message;
        if (const auto* ch = std::get_if<wire::Challenge>(&m)) {
          if (ch->subscriber_id == id && ch->nonce == nonce) {
            {
              std::lock_guard<std::mutex> lock(cookie_mu);
              cookie = ch->cookie;
            }
            renew();
          }
          continue;
        }
        if (const auto* tick = std::get_if<wire::Tick>(&m)) heard(tick->epoch, tick->seq);
        if (const auto* c = std::get_if<wire::SnapshotChunk>(&m)) heard(c->epoch, c->seq);
        const auto* delta = std::get_if<wire::Delta>(&m);
        if (!delta) continue;
        heard(delta->epoch, delta->to_seq);
        ++deltas;
        std::lock_guard<std::mutex> lock(mu);
        for (const auto& op : delta->ops) {
          if (op.kind == wire::OpKind::remove || op.route.service != "churn") continue;
          const auto key = op.route.instance + "/" + std::string(wire::to_string(op.route.state));
          const auto it = pending.find(key);
          if (it == pending.end()) {
            ++stale_ops;  // a retransmit, or an op whose heartbeat was sent before we counted
            continue;
          }
          latencies.push_back(static_cast<double>(t - it->second) / 1e6);
          pending.erase(it);
        }
      }
    }
  });

  // Subscribe and let the first answer (a snapshot) arrive before changing anything.
  renew();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  renew();

  const int out = udp_socket(nullptr, false);
  // As a watson process: its start on the wall clock (us) orders it after earlier runs.
  const std::uint64_t incarnation = baker::unix_time_us();
  const std::uint64_t epoch = baker::random_nonzero_u64();  // names this run's instances
  std::vector<wire::InstanceState> state(static_cast<std::size_t>(pool),
                                         wire::InstanceState::draining);
  // Instance names new to this run (a pool left by an earlier run may still be in the table).
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "c%06llx-",
                static_cast<unsigned long long>(epoch & 0xffffff));
  std::uint64_t seq = 0;
  std::uint64_t sent = 0;
  const std::int64_t start = now_ns();
  std::int64_t renewed = start;
  const auto total = static_cast<std::uint64_t>(rate * duration);
  while (sent < total) {
    const std::int64_t due =
        start + static_cast<std::int64_t>(static_cast<double>(sent) / rate * 1e9);
    const std::int64_t wait = due - now_ns();
    if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
    if (now_ns() - renewed > 4'000'000'000LL) {  // lease 15 s: renew every few seconds
      renew();
      renewed = now_ns();
    }
    const std::size_t i = sent % static_cast<std::size_t>(pool);
    state[i] = state[i] == wire::InstanceState::up ? wire::InstanceState::draining
                                                   : wire::InstanceState::up;
    wire::Heartbeat hb;
    hb.route.service = "churn";
    hb.route.instance = prefix + std::to_string(i);
    hb.route.address = wire::IpAddress::v4(10, 250, static_cast<std::uint8_t>(i >> 8),
                                           static_cast<std::uint8_t>(i));
    hb.route.port = 9000;
    hb.route.state = state[i];
    hb.incarnation = incarnation;
    hb.seq = ++seq;
    hb.interval_ms = interval_ms;
    hb.sent_ms = baker::unix_time_ms();
    const auto bytes = wire::encode(hb, nullptr);
    {
      std::lock_guard<std::mutex> lock(mu);
      pending[hb.route.instance + "/" + std::string(wire::to_string(state[i]))] = now_ns();
    }
    sendto(out, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&directory),
           sizeof directory);
    ++sent;
  }
  const double sending_s = static_cast<double>(now_ns() - start) / 1e9;
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  stop = true;
  receiver.join();
  send_to(sub, wire::Unsubscribe{id, ++nonce}, directory);
  // Leave no instance behind to expire later (in someone else's measurement): goodbye now.
  for (std::uint64_t i = 0; i < std::min<std::uint64_t>(sent, state.size()); ++i) {
    wire::Goodbye bye;
    bye.service = "churn";
    bye.instance = prefix + std::to_string(i);
    bye.incarnation = incarnation;
    bye.seq = ++seq;
    bye.sent_ms = baker::unix_time_ms();
    send_to(out, bye, directory);
  }
  std::sort(latencies.begin(), latencies.end());
  if (latencies.empty()) die("no Delta carried any of the changes");
  const auto at = [&](double q) {
    return latencies[static_cast<std::size_t>(q * (latencies.size() - 1) + 0.5)];
  };
  std::printf("RESULT delta_latency n=%zu p50=%.3f p90=%.3f p99=%.3f max=%.3f\n", latencies.size(),
              at(0.5), at(0.9), at(0.99), latencies.back());
  std::printf("COUNT churn_sent %llu\nCOUNT churn_missing %zu\nCOUNT deltas_received %llu\n",
              static_cast<unsigned long long>(sent), pending.size(),
              static_cast<unsigned long long>(deltas.load()));
  std::printf("COUNT churn_rate_per_s %.1f\n", static_cast<double>(sent) / sending_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = baker::po;
  po::options_description flags("options");
  // clang-format off
  flags.add_options()
    ("help,h", "show this help and exit")
    ("mode", po::value<std::string>(), "digest | churn")
    ("directory", po::value<std::string>(), "directory UDP ADDR:PORT")
    ("rate", po::value<double>()->default_value(100), "churn: changes per second")
    ("duration", po::value<double>()->default_value(10), "churn: seconds")
    ("pool", po::value<int>()->default_value(200), "churn: instances the changes cycle through")
    ("interval-ms", po::value<std::uint32_t>()->default_value(5000),
     "churn: announced heartbeat interval")
    ("multicast", po::value<std::string>(), "churn: hear the Deltas on this GROUP:PORT")
    ("multicast-if", po::value<std::string>(), "churn: interface address to join the group on");
  // clang-format on
  po::positional_options_description positional;
  positional.add("mode", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(flags).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    die(e.what());
  }
  if (vm.count("help") || !vm.count("mode")) {
    std::printf("usage: e2e_probe digest|churn --directory ADDR:PORT [options]\n");
    std::cout << flags;
    return vm.count("help") ? 0 : 2;
  }
  const auto mode = vm["mode"].as<std::string>();
  if (mode == "digest") return run_digest(vm);
  if (mode == "churn") return run_churn(vm);
  die("mode: expected digest or churn");
}
