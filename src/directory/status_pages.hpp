#pragma once
// What GET /metrics and GET /routes show: rendered from the core and the shell's counters, so the
// pages are plain functions (tested without sockets).
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/http_reply.hpp"
#include "directory/directory_core.hpp"
#include "wire/decode_error.hpp"

namespace baker::directory {

// Counted by the shell: what happens before the core (receiving, decoding) and after it (sending).
struct ShellStats {
  std::uint64_t datagrams_received = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t receive_batches = 0;
  std::array<std::uint64_t, wire::kDecodeErrorCount> decode_errors{};
  std::uint64_t oversized = 0;     // longer than the receive buffer (cut by the kernel)
  std::uint64_t kernel_drops = 0;  // socket receive queue overflowed (SO_RXQ_OVFL)
  std::uint64_t datagrams_sent = 0;
  std::map<std::string, std::uint64_t> send_errors;  // by errno name
  double heartbeats_per_second = 0;                  // over the last full second
  std::size_t receive_buffer_bytes = 0;
};

std::string render_metrics(const DirectoryCore& core, const ShellStats& shell);
// Every route, or those of one service (empty = all), as JSON.
// At most `limit` routes (rendering a huge table would hold up the daemon), with
// "truncated": true when cut.
std::string render_routes_json(const DirectoryCore& core, std::string_view service, TimePoint now,
                               std::size_t limit = 100'000);

// The page a person reads at GET / (target: "/", "/?page=N", "/?service=NAME&page=N"): services
// with instance counts, instances (kInstancesPerPage a page), subscribers, a warm-up banner and
// rejected datagrams by reason. 400 for a page number that is not 1..1e9.
HttpReply render_status_page(const DirectoryCore& core, const ShellStats& shell,
                             std::string_view target, TimePoint now);
inline constexpr std::size_t kInstancesPerPage = 200;
inline constexpr std::size_t kServicesShown = 500;
inline constexpr std::size_t kSubscribersShown = 500;

}  // namespace baker::directory
