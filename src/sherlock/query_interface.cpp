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

namespace {

std::string hex16(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

const char* boolean(bool b) {
  return b ? "true" : "false";
}

// One stream's fields: epoch and digest as 16 hex digits in strings, as the directory shows its
// epoch (JSON numbers above 2^53 do not survive every reader: jq, JavaScript).
void append_stream_fields(std::string& out, const Replica& r) {
  out += "\"epoch\":\"" + hex16(r.epoch()) + "\",\"seq\":" + std::to_string(r.applied()) +
         ",\"digest\":\"" + hex16(r.digest()) + "\",\"routes\":" + std::to_string(r.table().size());
  out += std::string(",\"synced\":") + boolean(r.synced());
  out += std::string(",\"warmup\":") + boolean(r.directory_warmup());
  out += std::string(",\"reachable\":") + boolean(r.reachable());
}

}  // namespace

std::string digest_json(const DirectoryStreams& streams) {
  std::string out = "{";
  if (streams.size() == 1) {  // the single-directory shape, kept for the scripts that read it
    append_stream_fields(out, streams.stream(0));
  } else {
    out += "\"routes\":" + std::to_string(streams.table().size());
  }
  out += ",\"disputed\":" + std::to_string(streams.merged().disputed());
  out += ",\"directories\":[";
  for (std::size_t i = 0; i < streams.size(); ++i) {
    if (i) out += ',';
    const Replica& r = streams.stream(i);
    out += "{\"directory\":";
    append_json_string(out, r.name());
    out += ',';
    append_stream_fields(out, r);
    out += std::string(",\"live\":") + boolean(streams.live(i)) + "}";
  }
  out += "]}\n";
  return out;
}

namespace {

// A family with one sample per directory stream, labelled directory="<address>".
template <typename F>
void per_stream(MetricsWriter& w, const DirectoryStreams& streams, std::string_view name,
                MetricsWriter::Type type, std::string_view help, F&& value) {
  w.family(name, type, help);
  for (std::size_t i = 0; i < streams.size(); ++i) {
    const Replica& r = streams.stream(i);
    w.sample(value(r, i), {{"directory", r.name()}});
  }
}

}  // namespace

std::string metrics_text(const DirectoryStreams& streams, const ReceiveStats& stats, TimePoint now,
                         const RouteSink* sink) {
  using Type = MetricsWriter::Type;
  MetricsWriter w;
  w.gauge("baker_sherlock_routes", "Routes in the merged set (every service held).",
          static_cast<double>(streams.table().size()));
  w.gauge("baker_sherlock_services", "Services shown (after the --service filter).",
          static_cast<double>(streams.table().view().size()));
  w.gauge("baker_sherlock_directories", "Directory streams followed (--directory).",
          static_cast<double>(streams.size()));
  const auto& m = streams.merged().stats();
  w.gauge("baker_sherlock_merge_disputed_routes",
          "Routes one live directory dropped while another live one still holds them.",
          static_cast<double>(streams.merged().disputed()));
  w.gauge("baker_sherlock_merge_shadows",
          "Instances whose older records are hidden after a Goodbye or a drop.",
          static_cast<double>(streams.merged().shadows()));
  w.family("baker_sherlock_merge_events_total", Type::counter,
           "Merge decisions across the directory streams, by kind.");
  w.sample(m.goodbyes, {{"kind", "goodbye"}});
  w.sample(m.dropped, {{"kind", "dropped"}});
  w.sample(m.kept_by_other, {{"kind", "kept_by_other"}});
  w.sample(m.shadowed, {{"kind", "shadowed"}});
  w.sample(m.released_on_down, {{"kind", "released_on_down"}});

  const auto gauge = [&](std::string_view name, std::string_view help, auto f) {
    per_stream(w, streams, name, Type::gauge, help,
               [&](const Replica& r, std::size_t i) { return static_cast<double>(f(r, i)); });
  };
  const auto counter = [&](std::string_view name, std::string_view help, auto field) {
    per_stream(w, streams, name, Type::counter, help,
               [&](const Replica& r, std::size_t) { return std::uint64_t{r.stats().*field}; });
  };
  gauge("baker_sherlock_directory_routes", "Routes in this directory's stream.",
        [](const Replica& r, std::size_t) { return r.table().size(); });
  gauge("baker_sherlock_applied_seq", "Last directory sequence number applied.",
        [](const Replica& r, std::size_t) { return r.applied(); });
  gauge("baker_sherlock_synced", "1 when following an epoch with a snapshot and no known gap.",
        [](const Replica& r, std::size_t) { return r.synced() ? 1 : 0; });
  gauge("baker_sherlock_directory_warmup", "1 while the directory marks its stream as warm-up.",
        [](const Replica& r, std::size_t) { return r.directory_warmup() ? 1 : 0; });
  gauge("baker_sherlock_directory_reachable",
        "1 when the directory answered one of our requests within the lease; routes are kept "
        "either way.",
        [](const Replica& r, std::size_t) { return r.reachable() ? 1 : 0; });
  gauge("baker_sherlock_directory_live",
        "1 when the stream counts for the merge: reachable, following an epoch, not warming up.",
        [&](const Replica&, std::size_t i) { return streams.live(i) ? 1 : 0; });
  gauge("baker_sherlock_directory_last_datagram_seconds",
        "Seconds since the last datagram from the directory (-1: never).",
        [&](const Replica& r, std::size_t) {
          const auto heard = r.last_heard();
          return heard ? std::chrono::duration<double>(now - *heard).count() : -1.0;
        });
  gauge("baker_sherlock_held_deltas", "Deltas held behind a gap.",
        [](const Replica& r, std::size_t) { return r.held_deltas(); });
  gauge("baker_sherlock_lease_seconds", "Subscription lease the directory announced.",
        [](const Replica& r, std::size_t) {
          return std::chrono::duration<double>(r.lease()).count();
        });
  w.counter("baker_sherlock_datagrams_received_total", "Datagrams read from the sockets.",
            stats.datagrams);
  w.counter("baker_sherlock_multicast_datagrams_received_total",
            "Datagrams read from the multicast groups' sockets.", stats.group_datagrams);
  counter("baker_sherlock_deltas_received_total", "Deltas received.",
          &ReplicaStats::deltas_received);
  counter("baker_sherlock_deltas_applied_total", "Deltas applied in sequence.",
          &ReplicaStats::deltas_applied);
  counter("baker_sherlock_deltas_duplicate_total", "Deltas already applied (ignored).",
          &ReplicaStats::deltas_duplicate);
  counter("baker_sherlock_ops_applied_total", "Route changes applied from Deltas.",
          &ReplicaStats::ops_applied);
  counter("baker_sherlock_ticks_received_total", "Ticks received.", &ReplicaStats::ticks_received);
  counter("baker_sherlock_tick_advances_total",
          "Ticks ahead of the replica whose digest already matched (filtered stream).",
          &ReplicaStats::tick_advances);
  counter("baker_sherlock_gaps_total", "Sequence gaps found.", &ReplicaStats::gaps);
  counter("baker_sherlock_nacks_sent_total", "NACKs sent.", &ReplicaStats::nacks_sent);
  counter("baker_sherlock_snapshot_chunks_received_total", "Snapshot chunks received.",
          &ReplicaStats::snapshot_chunks);
  counter("baker_sherlock_snapshots_applied_total", "Snapshots assembled and applied.",
          &ReplicaStats::snapshots_applied);
  counter("baker_sherlock_snapshot_requests_total", "Subscribes asking for a snapshot.",
          &ReplicaStats::snapshot_requests);
  counter("baker_sherlock_resyncs_total",
          "Resyncs started (directory restart, digest mismatch, too many held deltas).",
          &ReplicaStats::resyncs);
  counter("baker_sherlock_subscribes_sent_total", "Subscribes sent (start, renewals, retries).",
          &ReplicaStats::subscribes_sent);
  counter("baker_sherlock_retry_later_total", "RetryLater answers received.",
          &ReplicaStats::retry_later);
  counter("baker_sherlock_directory_silences_total",
          "Times the directory went silent and did not answer a Subscribe.",
          &ReplicaStats::silences);
  counter("baker_sherlock_stale_epoch_total", "Datagrams of a directory process left behind.",
          &ReplicaStats::stale_epoch);
  w.counter("baker_sherlock_unexpected_messages_total",
            "Valid datagrams of a type a subscriber does not take.", stats.unexpected_type);
  w.counter("baker_sherlock_send_errors_total", "Datagrams the socket refused to send.",
            stats.send_errors);
  w.counter("baker_sherlock_route_updates_total",
            "Calls to the route sink (one per changed batch).", stats.sink_updates);
  counter("baker_sherlock_challenges_total",
          "Challenges from the directory answered (cookie stored, Subscribe sent again).",
          &ReplicaStats::challenges);
  counter("baker_sherlock_poisoned_resyncs_total",
          "Resyncs because the directory's Ticks stayed below the applied sequence.",
          &ReplicaStats::poisoned);
  w.family("baker_sherlock_ignored_datagrams_total", Type::counter,
           "Valid datagrams ignored by the subscription rules, by reason (foreign_source: from "
           "no --directory endpoint).");
  w.sample(stats.foreign_source, {{"reason", "foreign_source"}});
  for (std::size_t d = 0; d < streams.size(); ++d) {
    const Replica& r = streams.stream(d);
    for (int i = 0; i < kIgnoredCount; ++i) {
      w.sample(r.stats().ignored[static_cast<std::size_t>(i)],
               {{"directory", r.name()}, {"reason", to_string(static_cast<Ignored>(i))}});
    }
  }
  w.family("baker_sherlock_decode_rejects_total", Type::counter,
           "Datagrams rejected by the decoder, by reason.");
  for (int i = 0; i < wire::kDecodeErrorCount; ++i) {
    w.sample(stats.rejects[static_cast<std::size_t>(i)],
             {{"reason", wire::to_string(static_cast<wire::DecodeError>(i))}});
  }
  std::string out = w.take();
  if (sink) sink->append_metrics(out);
  return out;
}

HttpReply handle_query(const std::string& raw_path, const DirectoryStreams& streams,
                       const ReceiveStats& stats, TimePoint now, const RouteSink* sink) {
  const std::string path = raw_path.substr(0, raw_path.find('?'));
  if (path == "/routes" || path == "/routes/") {
    return {200, kJson, routes_json(streams.table().view())};
  }
  if (path.rfind("/routes/", 0) == 0) {
    const std::string service = path.substr(8);
    const auto& view = streams.table().view();
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
  if (path == "/digest") return {200, kJson, digest_json(streams)};
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4", metrics_text(streams, stats, now, sink)};
  }
  return {404, "text/plain", "not found: try /routes, /routes/<service>, /digest, /metrics\n"};
}

}  // namespace baker::sherlock
