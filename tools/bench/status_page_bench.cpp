// What a GET / costs the directory's event loop (docs/BENCHMARKS.md, "Status pages"): the page
// walks the whole table once (counts per service) and renders one page of instances, so its cost
// grows with the table, not with the page.
#include <benchmark/benchmark.h>

#include "directory/status_pages.hpp"

namespace {

using namespace baker;

directory::DirectoryCore& table_of(std::size_t routes) {
  static std::map<std::size_t, std::unique_ptr<directory::DirectoryCore>> cores;
  auto& core = cores[routes];
  if (!core) {
    directory::DirectoryConfig c;
    c.max_routes = 4'000'000;
    core = std::make_unique<directory::DirectoryCore>(c, 1, TimePoint{});
    for (std::size_t i = 0; i < routes; ++i) {
      wire::Heartbeat h;
      h.route.service = "svc" + std::to_string(i % 1000);
      h.route.instance = "i" + std::to_string(i);
      h.route.address =
          wire::IpAddress::v4(10, static_cast<std::uint8_t>(i >> 16),
                              static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i));
      h.route.port = 8080;
      h.incarnation = 7;
      h.seq = 1;
      h.interval_ms = 1000;
      core->on_datagram(h, wire::Endpoint{wire::IpAddress::v4(10, 0, 0, 9), 9}, TimePoint{});
    }
  }
  return *core;
}

void BM_DirectoryStatusPage(benchmark::State& state) {
  auto& core = table_of(static_cast<std::size_t>(state.range(0)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    const auto page =
        directory::render_status_page(core, directory::ShellStats{}, "/?page=3", TimePoint{});
    bytes = page.body.size();
    benchmark::DoNotOptimize(page);
  }
  state.counters["page_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_DirectoryStatusPage)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
