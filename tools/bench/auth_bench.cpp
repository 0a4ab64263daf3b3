// What authentication costs per datagram and per resync (docs/BENCHMARKS.md, "Protocol v2: what
// authentication costs"): Baker's keyed BLAKE2b-128 MAC against libsodium's Ed25519 signatures,
// on a full 1400-byte Delta and on every chunk of a 100,000-route snapshot.
// Run: build/bin/auth_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <array>
#include <vector>

#include "wire/auth.hpp"
#include "wire/codec.hpp"
#include "wire/packing.hpp"
#include "wire/sample_messages.hpp"

namespace {
using namespace baker::wire;

constexpr std::size_t kSnapshotRoutes = 100'000;

// The bytes a sender authenticates: the datagram up to its tag, as encoded unauthenticated.
Bytes full_delta_bytes() {
  std::vector<SequencedOp> ops;
  for (int i = 0; i < 200; ++i) {
    ops.push_back({static_cast<std::uint64_t>(i + 1),
                   {OpKind::update, samples::sample_route(i), samples::sample_version(i)}});
  }
  return encode(split_delta(0xabcdef, {}, 0, 200, 0, ops, kDefaultDatagramBudget).front());
}

std::vector<Bytes> snapshot_chunks() {
  std::vector<Route> table;
  std::vector<Version> versions;
  table.reserve(kSnapshotRoutes);
  versions.reserve(kSnapshotRoutes);
  for (std::size_t i = 0; i < kSnapshotRoutes; ++i) {
    Route r = samples::sample_route(static_cast<int>(i % 65536));
    r.instance = "host-" + std::to_string(i) + ":8080";
    table.push_back(std::move(r));
    versions.push_back(samples::sample_version(static_cast<int>(i)));
  }
  std::vector<Bytes> out;
  for (const auto& c : split_snapshot(0xabcdef, {0x5eed, 9}, 1, 0, table, versions)) {
    out.push_back(encode(c));
  }
  return out;
}

const std::vector<Bytes>& chunks() {
  static const std::vector<Bytes> c = snapshot_chunks();
  return c;
}

struct Ed25519 {
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sk{};
  Ed25519() {
    if (sodium_init() < 0) std::abort();
    crypto_sign_keypair(pk.data(), sk.data());
  }
};
const Ed25519& ed() {
  static const Ed25519 k;
  return k;
}
Key mac_key() {
  Key k;
  k.fill(0x42);
  return k;
}

void report(benchmark::State& state, std::size_t datagrams, std::size_t bytes) {
  state.counters["datagrams"] = static_cast<double>(datagrams);
  state.counters["bytes"] = static_cast<double>(bytes);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

// ---- one full Delta ----

void BM_Delta_Blake2bMac(benchmark::State& state) {
  const Bytes b = full_delta_bytes();
  const Key k = mac_key();
  for (auto _ : state) {
    const Mac m = compute_mac(k, b);
    benchmark::DoNotOptimize(m);
  }
  report(state, 1, b.size());
}
BENCHMARK(BM_Delta_Blake2bMac);

void BM_Delta_Blake2bVerify(benchmark::State& state) {
  const Bytes b = full_delta_bytes();
  const Key k = mac_key();
  const Mac m = compute_mac(k, b);
  for (auto _ : state) benchmark::DoNotOptimize(verify_mac(k, b, m));
  report(state, 1, b.size());
}
BENCHMARK(BM_Delta_Blake2bVerify);

void BM_Delta_Ed25519Sign(benchmark::State& state) {
  const Bytes b = full_delta_bytes();
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  for (auto _ : state) {
    crypto_sign_detached(sig.data(), nullptr, b.data(), b.size(), ed().sk.data());
    benchmark::DoNotOptimize(sig);
  }
  report(state, 1, b.size());
}
BENCHMARK(BM_Delta_Ed25519Sign);

void BM_Delta_Ed25519Verify(benchmark::State& state) {
  const Bytes b = full_delta_bytes();
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, b.data(), b.size(), ed().sk.data());
  for (auto _ : state) {
    const int ok = crypto_sign_verify_detached(sig.data(), b.data(), b.size(), ed().pk.data());
    if (ok != 0) state.SkipWithError("bad signature");
    benchmark::DoNotOptimize(ok);
  }
  report(state, 1, b.size());
}
BENCHMARK(BM_Delta_Ed25519Verify);

// ---- every chunk of a 100k-route snapshot ----

std::size_t total_bytes(const std::vector<Bytes>& c) {
  std::size_t n = 0;
  for (const auto& b : c) n += b.size();
  return n;
}

void BM_Snapshot100k_Blake2bMac(benchmark::State& state) {
  const auto& c = chunks();
  const Key k = mac_key();
  for (auto _ : state) {
    for (const auto& b : c) benchmark::DoNotOptimize(compute_mac(k, b));
  }
  report(state, c.size(), total_bytes(c));
}
BENCHMARK(BM_Snapshot100k_Blake2bMac)->Unit(benchmark::kMillisecond);

void BM_Snapshot100k_Blake2bVerify(benchmark::State& state) {
  const auto& c = chunks();
  const Key k = mac_key();
  std::vector<Mac> macs;
  for (const auto& b : c) macs.push_back(compute_mac(k, b));
  for (auto _ : state) {
    for (std::size_t i = 0; i < c.size(); ++i)
      benchmark::DoNotOptimize(verify_mac(k, c[i], macs[i]));
  }
  report(state, c.size(), total_bytes(c));
}
BENCHMARK(BM_Snapshot100k_Blake2bVerify)->Unit(benchmark::kMillisecond);

void BM_Snapshot100k_Ed25519Sign(benchmark::State& state) {
  const auto& c = chunks();
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  for (auto _ : state) {
    for (const auto& b : c) {
      crypto_sign_detached(sig.data(), nullptr, b.data(), b.size(), ed().sk.data());
      benchmark::DoNotOptimize(sig);
    }
  }
  report(state, c.size(), total_bytes(c));
}
BENCHMARK(BM_Snapshot100k_Ed25519Sign)->Unit(benchmark::kMillisecond);

void BM_Snapshot100k_Ed25519Verify(benchmark::State& state) {
  const auto& c = chunks();
  std::vector<std::array<unsigned char, crypto_sign_BYTES>> sigs(c.size());
  for (std::size_t i = 0; i < c.size(); ++i) {
    crypto_sign_detached(sigs[i].data(), nullptr, c[i].data(), c[i].size(), ed().sk.data());
  }
  for (auto _ : state) {
    for (std::size_t i = 0; i < c.size(); ++i) {
      const int ok =
          crypto_sign_verify_detached(sigs[i].data(), c[i].data(), c[i].size(), ed().pk.data());
      benchmark::DoNotOptimize(ok);
    }
  }
  report(state, c.size(), total_bytes(c));
}
BENCHMARK(BM_Snapshot100k_Ed25519Verify)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
