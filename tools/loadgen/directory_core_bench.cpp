// directory-core-bench: the directory core alone, no sockets (docs/BENCHMARKS.md, "Directory").
//   memory per route: malloc'd bytes (mallinfo2: heap + mmapped) before and after N routes
//   snapshot build: CPU time to build and encode (with a MAC) every chunk of a full snapshot,
//                   without the daemon's pacing
//   ingest: core cost of a refresh heartbeat and of an add, per message
// Usage: directory-core-bench [ROUTES...]   (default: 10000 100000 1000000)
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "directory/directory_core.hpp"
#include "directory/snapshot_job.hpp"
#include "wire/auth.hpp"
#include "wire/codec.hpp"

namespace {

using namespace baker;
using namespace baker::directory;
using Ms = std::chrono::duration<double, std::milli>;

std::size_t malloc_bytes() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// The wall clock the bench gives the core; every heartbeat is stamped with it (fresh, after start).
constexpr std::uint64_t kBenchWallMs = 1'796'000'100'000ULL;

wire::Heartbeat heartbeat(std::size_t i, std::uint64_t seq) {
  // The same fleet as baker-loadgen: 100 services, short instance ids, IPv4, no tags.
  wire::Heartbeat h;
  h.route.service = "svc-" + std::to_string(i % 100);
  h.route.instance = "i-" + std::to_string(i);
  h.route.address =
      wire::IpAddress::v4(10, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
                          static_cast<std::uint8_t>(i));
  h.route.port = 8080;
  h.incarnation = 1'796'000'000'000'000ULL;
  h.sent_ms = kBenchWallMs;  // the core's wall clock is set to match (the rules are measured)
  h.seq = seq;
  h.interval_ms = 60000;
  return h;
}

std::unique_ptr<DirectoryCore> filled(std::size_t n, TimePoint now, double* add_ns) {
  DirectoryConfig c;
  c.warmup_max = std::chrono::seconds(0);
  auto core = std::make_unique<DirectoryCore>(c, 1, now - std::chrono::minutes(1));
  core->set_wall_clock(kBenchWallMs, now);
  Actions out;
  std::vector<wire::Heartbeat> hbs;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    core->on_datagram(heartbeat(i, 1), Endpoint{}, now, out);
    if (out.size() > 64) out.clear();
  }
  core->flush(now, out);
  if (add_ns) *add_ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count() / n;
  return core;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::strtoull(argv[i], nullptr, 10));
  if (sizes.empty()) sizes = {10'000, 100'000, 1'000'000};
  wire::Keyring keys;
  keys.add(1, wire::Key{}, true);
  const TimePoint now = Clock::now();

  for (const std::size_t n : sizes) {
    malloc_trim(0);
    const std::size_t before = malloc_bytes();
    double add_ns = 0;
    auto core = filled(n, now, &add_ns);
    const std::size_t after = malloc_bytes();
    const double per_route = static_cast<double>(after - before) / static_cast<double>(n);
    const std::size_t log_bytes = core->log().size() * sizeof(wire::SequencedOp);
    std::printf(
        "routes %zu: %.1f B/route malloc'd (%.1f MB; of which the %zu-change retransmit "
        "log ~%.1f MB), table+index+heap %.1f B/route; add %.0f ns/heartbeat\n",
        n, per_route, static_cast<double>(after - before) / 1e6, core->log().size(),
        static_cast<double>(log_bytes) / 1e6,
        static_cast<double>(core->structure_bytes() - log_bytes) / static_cast<double>(n), add_ns);

    // Refresh cost: every instance heartbeats again (no change, no delta).
    Actions out;
    auto start = Clock::now();
    for (std::size_t i = 0; i < n; ++i) core->on_datagram(heartbeat(i, 2), Endpoint{}, now, out);
    const double refresh_ns =
        std::chrono::duration<double, std::nano>(Clock::now() - start).count() / n;

    // Snapshot build + encode, unpaced.
    std::vector<double> times;
    std::size_t chunks = 0;
    std::size_t bytes = 0;
    for (int rep = 0; rep < 5; ++rep) {
      start = Clock::now();
      SnapshotJob job(core->epoch(), {1, 1}, core->seq(), 0, core->table(), {}, 1400);
      wire::Bytes buf;
      chunks = 0;
      bytes = 0;
      while (!job.done()) {
        wire::encode_into(job.next_chunk(core->table()), &keys, buf);
        bytes += buf.size();
        ++chunks;
      }
      times.push_back(Ms(Clock::now() - start).count());
    }
    std::printf(
        "routes %zu: refresh %.0f ns/heartbeat; snapshot build+encode %.1f ms median of 5 "
        "(%zu chunks, %.1f MB, largest allowed 1400 B)\n",
        n, refresh_ns, median(times), chunks, static_cast<double>(bytes) / 1e6);
  }
  return 0;
}
