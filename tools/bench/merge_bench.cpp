// What merging several directories' streams costs a sherlock (docs/BENCHMARKS.md, "Several
// directories"): a 100k-route snapshot applied to a stream's ReplicaTable alone (as before there
// was a merge, and as it still is with one directory: the merge is not built), with a MergedTable
// over 1 stream (the first snapshot copied whole), 2 and 3 streams (the others already holding the
// same routes: merged per instance), and one Delta-sized batch of updates. Run:
// build/bin/merge_bench
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "sherlock/merged_table.hpp"
#include "wire/sample_messages.hpp"

namespace {
using namespace baker;
using sherlock::MergedTable;
using sherlock::ReplicaTable;

std::vector<wire::Route> routes(int n) {
  std::vector<wire::Route> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto r = wire::samples::sample_route(i);
    r.service = "svc-" + std::to_string(i / 100);  // 100 instances per service
    r.instance = "i-" + std::to_string(i);
    out.push_back(std::move(r));
  }
  return out;
}

ReplicaTable::Staged staged(const std::vector<wire::Route>& rs, std::uint64_t seq) {
  ReplicaTable::Staged s;
  s.add(rs, std::vector<wire::Version>(rs.size(), wire::Version{1, seq}));
  return s;
}

// streams = 0: no merge (one directory).
void BM_FreshSnapshot(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto streams = static_cast<std::size_t>(state.range(1));
  const auto rs = routes(n);
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::unique_ptr<ReplicaTable>> tables;
    auto merged = std::make_unique<MergedTable>();
    for (std::size_t i = 0; i < std::max<std::size_t>(streams, 1); ++i) {
      tables.push_back(std::make_unique<ReplicaTable>());
      if (streams > 0) {
        merged->add_stream(*tables.back());
        merged->set_live(i, true);
      }
    }
    for (std::size_t i = 1; i < tables.size(); ++i) tables[i]->replace(staged(rs, 5));
    if (streams > 0) merged->take_changes();
    auto s = staged(rs, 5);
    state.ResumeTiming();
    tables[0]->replace(std::move(s));
    if (streams > 0) {
      benchmark::DoNotOptimize(merged->take_changes());
    } else {
      benchmark::DoNotOptimize(tables[0]->take_changes());
    }
    state.PauseTiming();
    tables.clear();
    merged.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_FreshSnapshot)
    ->Args({100000, 0})
    ->Args({100000, 1})
    ->Args({100000, 2})
    ->Args({100000, 3})
    ->Unit(benchmark::kMillisecond);

// 200 updates (a full Delta) on one of `streams` streams that all hold 100k routes.
void BM_DeltaUpdates(benchmark::State& state) {
  const auto streams = static_cast<std::size_t>(state.range(0));
  const auto rs = routes(100000);
  std::vector<std::unique_ptr<ReplicaTable>> tables;
  MergedTable merged;
  for (std::size_t i = 0; i < std::max<std::size_t>(streams, 1); ++i) {
    tables.push_back(std::make_unique<ReplicaTable>());
    if (streams > 0) {
      merged.add_stream(*tables.back());
      merged.set_live(i, true);
    }
    tables.back()->replace(staged(rs, 5));
  }
  std::uint64_t seq = 10;
  for (auto _ : state) {
    ++seq;
    for (int i = 0; i < 200; ++i) {
      wire::DeltaOp op;
      op.kind = wire::OpKind::update;
      op.route = rs[static_cast<std::size_t>(i * 400)];
      op.route.weight = static_cast<std::uint16_t>(seq % 200);
      op.version = {1, seq};
      tables[0]->apply(op);
    }
    if (streams > 0) {
      benchmark::DoNotOptimize(merged.take_changes());
    } else {
      benchmark::DoNotOptimize(tables[0]->take_changes());
    }
  }
  state.SetItemsProcessed(state.iterations() * 200);
}
BENCHMARK(BM_DeltaUpdates)->Arg(0)->Arg(1)->Arg(2)->Arg(3)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
