// Encode/decode cost of the hot messages: a Heartbeat (directory ingest) and a full Delta datagram
// (directory fan-out, sherlock apply). Run: build/bin/wire_bench
#include <benchmark/benchmark.h>

#include "wire/codec.hpp"
#include "wire/packing.hpp"
#include "wire/sample_messages.hpp"

namespace {
using namespace baker::wire;

Heartbeat bench_heartbeat() {
  Heartbeat h = samples::sample_heartbeat();  // "greeting" (8 chars), IPv4, no tags
  h.route.instance = "web-0001";
  return h;
}

const Keyring& keys() {
  static const Keyring k = [] {
    Keyring r;
    r.add(1, Key{}, true);
    return r;
  }();
  return k;
}

Delta full_delta() {
  std::vector<SequencedOp> ops;
  for (int i = 0; i < 200; ++i)
    ops.push_back({static_cast<std::uint64_t>(i + 1),
                   {OpKind::update, samples::sample_route(i), samples::sample_version(i)}});
  return split_delta(0xabcdef, {}, 0, 200, 0, ops, kDefaultDatagramBudget)
      .front();  // a full 1400 B one
}

void BM_EncodeHeartbeat(benchmark::State& state) {
  const Heartbeat h = bench_heartbeat();
  const Keyring* k = state.range(0) ? &keys() : nullptr;
  Bytes buf;
  for (auto _ : state) {
    encode_into(h, k, buf);
    benchmark::DoNotOptimize(buf.data());
  }
  state.counters["bytes"] = static_cast<double>(buf.size());
}
BENCHMARK(BM_EncodeHeartbeat)->ArgName("mac")->Arg(0)->Arg(1);

void BM_DecodeHeartbeat(benchmark::State& state) {
  const Keyring* k = state.range(0) ? &keys() : nullptr;
  const Bytes b = encode(bench_heartbeat(), k);
  for (auto _ : state) {
    auto d = decode(b, {k});
    benchmark::DoNotOptimize(d);
  }
  state.counters["bytes"] = static_cast<double>(b.size());
}
BENCHMARK(BM_DecodeHeartbeat)->ArgName("mac")->Arg(0)->Arg(1);

void BM_EncodeFullDelta(benchmark::State& state) {
  const Delta d = full_delta();
  const Keyring* k = state.range(0) ? &keys() : nullptr;
  Bytes buf;
  for (auto _ : state) {
    encode_into(d, k, buf);
    benchmark::DoNotOptimize(buf.data());
  }
  state.counters["bytes"] = static_cast<double>(buf.size());
  state.counters["ops"] = static_cast<double>(d.ops.size());
}
BENCHMARK(BM_EncodeFullDelta)->ArgName("mac")->Arg(0)->Arg(1);

void BM_DecodeFullDelta(benchmark::State& state) {
  const Delta d = full_delta();
  const Keyring* k = state.range(0) ? &keys() : nullptr;
  const Bytes b = encode(d, k);
  for (auto _ : state) {
    auto r = decode(b, {k});
    benchmark::DoNotOptimize(r);
  }
  state.counters["bytes"] = static_cast<double>(b.size());
  state.counters["ops"] = static_cast<double>(d.ops.size());
}
BENCHMARK(BM_DecodeFullDelta)->ArgName("mac")->Arg(0)->Arg(1);

void BM_SplitDelta1000Ops(benchmark::State& state) {
  std::vector<SequencedOp> ops;
  for (int i = 0; i < 1000; ++i)
    ops.push_back({static_cast<std::uint64_t>(i + 1),
                   {OpKind::update, samples::sample_route(i), samples::sample_version(i)}});
  for (auto _ : state) {
    auto v = split_delta(1, {}, 0, 1000, 0, ops);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_SplitDelta1000Ops);

}  // namespace

BENCHMARK_MAIN();
