#pragma once
// sherlock's local query interface: GET /routes, /routes/<service>, /digest and /metrics, rendered
// from the replica's state. Pure: the shell serves it with common/http_status_server.
#include <array>
#include <cstdint>
#include <string>

#include "common/clock.hpp"
#include "common/http_reply.hpp"
#include "sherlock/directory_streams.hpp"
#include "sherlock/route_sink.hpp"
#include "wire/decode_error.hpp"

namespace baker::sherlock {

// What the shell counts about datagrams (the core never sees the ones it rejects).
struct ReceiveStats {
  std::uint64_t datagrams = 0;
  std::uint64_t group_datagrams = 0;  // of which on the multicast group's socket
  std::array<std::uint64_t, wire::kDecodeErrorCount> rejects{};  // by wire::DecodeError
  std::uint64_t unexpected_type = 0;  // valid datagrams a subscriber has no use for (a Heartbeat)
  std::uint64_t foreign_source = 0;   // datagrams from no --directory endpoint
  std::uint64_t send_errors = 0;
  std::uint64_t batches = 0;  // wake-ups that processed datagrams
  std::uint64_t sink_updates = 0;
};

// {"<service>": [{"instance": .., "address": .., "port": .., "weight": .., "state": "up",
//   "tags": [..]}, ..], ..}
std::string routes_json(const ServiceRoutes& routes);
// {"routes": N (merged), "disputed": N, "directories": [{"directory": "ADDR:PORT", "epoch":
//  "<16 hex>", "seq": N, "digest": "<16 hex>", "routes": N, "synced": bool, "warmup": bool,
//  "reachable": bool, "live": bool}, ..]}; with one directory its fields are also at the top
//  (epoch, seq, digest, routes, synced, warmup, reachable), as before several directories.
std::string digest_json(const DirectoryStreams& streams);
// Prometheus text format (per-directory series labelled directory="ADDR:PORT"), then the sink's.
std::string metrics_text(const DirectoryStreams& streams, const ReceiveStats& stats, TimePoint now,
                         const RouteSink* sink);

// The whole interface: 200 with JSON or metrics, 404 for unknown paths and services.
HttpReply handle_query(const std::string& path, const DirectoryStreams& streams,
                       const ReceiveStats& stats, TimePoint now, const RouteSink* sink);

}  // namespace baker::sherlock
