#include "sherlock/query_interface.hpp"

#include <chrono>
#include <cstdio>

#include "common/json.hpp"
#include "common/prometheus.hpp"
#include "wire/validate.hpp"

namespace baker::sherlock {

namespace {

constexpr const char* kJson = "application/json";

void append_route(std::string& out, const wire::Route& r) {
  out += "{\"instance\":";
  append_json_string(out, r.instance);
  out += ",\"address\":";
  append_json_string(out, r.address.to_string());
  out += ",\"port\":" + std::to_string(r.port);
  out += ",\"weight\":" + std::to_string(r.weight);
  out += ",\"state\":";
  append_json_string(out, wire::to_string(r.state));
  out += ",\"tags\":[";
  for (std::size_t i = 0; i < r.tags.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, r.tags[i]);
  }
  out += "]}";
}

void append_service(std::string& out, const std::string& service,
                    const std::vector<wire::Route>& routes) {
  append_json_string(out, service);
  out += ":[";
  for (std::size_t i = 0; i < routes.size(); ++i) {
    if (i) out += ',';
    append_route(out, routes[i]);
  }
  out += ']';
}

}  // namespace

std::string routes_json(const ServiceRoutes& routes) {
  std::string out = "{";
  bool first = true;
  for (const auto& [service, list] : routes) {
    if (!first) out += ',';
    first = false;
    append_service(out, service, list);
  }
  out += "}\n";
  return out;
}

std::string digest_json(const Replica& replica) {
  // Epoch and digest as 16 hex digits in strings, as the directory shows its epoch: JSON numbers
  // above 2^53 do not survive every reader (jq, JavaScript).
  char buf[96];
  std::snprintf(buf, sizeof buf, "{\"epoch\":\"%016llx\",\"seq\":%llu,\"digest\":\"%016llx\",",
                static_cast<unsigned long long>(replica.epoch()),
                static_cast<unsigned long long>(replica.applied()),
                static_cast<unsigned long long>(replica.digest()));
  std::string out = buf;
  out += "\"routes\":" + std::to_string(replica.table().size());
  out += std::string(",\"synced\":") + (replica.synced() ? "true" : "false");
  out += std::string(",\"warmup\":") + (replica.directory_warmup() ? "true" : "false");
  out += std::string(",\"reachable\":") + (replica.reachable() ? "true" : "false");
  out += "}\n";
  return out;
}

std::string metrics_text(const Replica& replica, const ReceiveStats& stats, TimePoint now,
                         const RouteSink* sink) {
  const auto& s = replica.stats();
  MetricsWriter w;
  w.gauge("baker_sherlock_routes", "Routes in the replica (every service it holds).",
          static_cast<double>(replica.table().size()));
  w.gauge("baker_sherlock_services", "Services shown (after the --service filter).",
          static_cast<double>(replica.table().view().size()));
  w.family("baker_sherlock_applied_seq", MetricsWriter::Type::gauge,
           "Last directory sequence number applied.");
  w.sample(std::uint64_t{replica.applied()});
  w.gauge("baker_sherlock_synced", "1 when following an epoch with a snapshot and no known gap.",
          replica.synced() ? 1 : 0);
  w.gauge("baker_sherlock_directory_warmup", "1 while the directory marks its stream as warm-up.",
          replica.directory_warmup() ? 1 : 0);
  w.gauge("baker_sherlock_directory_reachable",
          "1 when the directory answered one of our requests within the lease; routes are kept "
          "either way.",
          replica.reachable() ? 1 : 0);
  double since = -1;
  if (const auto heard = replica.last_heard()) {
    since = std::chrono::duration<double>(now - *heard).count();
  }
  w.gauge("baker_sherlock_directory_last_datagram_seconds",
          "Seconds since the last datagram from the directory (-1: never).", since);
  w.gauge("baker_sherlock_held_deltas", "Deltas held behind a gap.",
          static_cast<double>(replica.held_deltas()));
  w.gauge("baker_sherlock_lease_seconds", "Subscription lease the directory announced.",
          std::chrono::duration<double>(replica.lease()).count());
  w.counter("baker_sherlock_datagrams_received_total", "Datagrams read from the sockets.",
            stats.datagrams);
  w.counter("baker_sherlock_multicast_datagrams_received_total",
            "Datagrams read from the multicast group's socket.", stats.group_datagrams);
  w.counter("baker_sherlock_deltas_received_total", "Deltas received.", s.deltas_received);
  w.counter("baker_sherlock_deltas_applied_total", "Deltas applied in sequence.", s.deltas_applied);
  w.counter("baker_sherlock_deltas_duplicate_total", "Deltas already applied (ignored).",
            s.deltas_duplicate);
  w.counter("baker_sherlock_ops_applied_total", "Route changes applied from Deltas.",
            s.ops_applied);
  w.counter("baker_sherlock_ticks_received_total", "Ticks received.", s.ticks_received);
  w.counter("baker_sherlock_tick_advances_total",
            "Ticks ahead of the replica whose digest already matched (filtered stream).",
            s.tick_advances);
  w.counter("baker_sherlock_gaps_total", "Sequence gaps found.", s.gaps);
  w.counter("baker_sherlock_nacks_sent_total", "NACKs sent.", s.nacks_sent);
  w.counter("baker_sherlock_snapshot_chunks_received_total", "Snapshot chunks received.",
            s.snapshot_chunks);
  w.counter("baker_sherlock_snapshots_applied_total", "Snapshots assembled and applied.",
            s.snapshots_applied);
  w.counter("baker_sherlock_snapshot_requests_total", "Subscribes asking for a snapshot.",
            s.snapshot_requests);
  w.counter("baker_sherlock_resyncs_total",
            "Resyncs started (directory restart, digest mismatch, too many held deltas).",
            s.resyncs);
  w.counter("baker_sherlock_subscribes_sent_total", "Subscribes sent (start, renewals, retries).",
            s.subscribes_sent);
  w.counter("baker_sherlock_retry_later_total", "RetryLater answers received.", s.retry_later);
  w.counter("baker_sherlock_directory_silences_total",
            "Times the directory went silent and did not answer a Subscribe.", s.silences);
  w.counter("baker_sherlock_stale_epoch_total", "Datagrams of a directory process left behind.",
            s.stale_epoch);
  w.counter("baker_sherlock_unexpected_messages_total",
            "Valid datagrams of a type a subscriber does not take.", stats.unexpected_type);
  w.counter("baker_sherlock_send_errors_total", "Datagrams the socket refused to send.",
            stats.send_errors);
  w.counter("baker_sherlock_route_updates_total",
            "Calls to the route sink (one per changed batch).", stats.sink_updates);
  w.counter("baker_sherlock_challenges_total",
            "Challenges from the directory answered (cookie stored, Subscribe sent again).",
            s.challenges);
  w.counter("baker_sherlock_poisoned_resyncs_total",
            "Resyncs because the directory's Ticks stayed below the applied sequence.", s.poisoned);
  w.family("baker_sherlock_ignored_datagrams_total", MetricsWriter::Type::counter,
           "Valid datagrams ignored by the subscription rules, by reason.");
  w.sample(stats.foreign_source, {{"reason", "foreign_source"}});
  for (int i = 0; i < kIgnoredCount; ++i) {
    w.sample(s.ignored[static_cast<std::size_t>(i)],
             {{"reason", to_string(static_cast<Ignored>(i))}});
  }
  w.family("baker_sherlock_decode_rejects_total", MetricsWriter::Type::counter,
           "Datagrams rejected by the decoder, by reason.");
  for (int i = 0; i < wire::kDecodeErrorCount; ++i) {
    w.sample(stats.rejects[static_cast<std::size_t>(i)],
             {{"reason", wire::to_string(static_cast<wire::DecodeError>(i))}});
  }
  std::string out = w.take();
  if (sink) sink->append_metrics(out);
  return out;
}

HttpReply handle_query(const std::string& raw_path, const Replica& replica,
                       const ReceiveStats& stats, TimePoint now, const RouteSink* sink) {
  const std::string path = raw_path.substr(0, raw_path.find('?'));
  if (path == "/routes" || path == "/routes/") {
    return {200, kJson, routes_json(replica.table().view())};
  }
  if (path.rfind("/routes/", 0) == 0) {
    const std::string service = path.substr(8);
    const auto& view = replica.table().view();
    const auto it = view.find(service);
    if (!wire::is_valid_service_name(service) || it == view.end()) {
      std::string body = "{\"error\":\"no routes for service\",\"service\":";
      append_json_string(body, service);
      return {404, kJson, body + "}\n"};
    }
    std::string body = "{";
    append_service(body, it->first, it->second);
    return {200, kJson, body + "}\n"};
  }
  if (path == "/digest") return {200, kJson, digest_json(replica)};
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4", metrics_text(replica, stats, now, sink)};
  }
  return {404, "text/plain", "not found: try /routes, /routes/<service>, /digest, /metrics\n"};
}

}  // namespace baker::sherlock
