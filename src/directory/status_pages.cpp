#include "directory/status_pages.hpp"

#include <cstdio>

#include "common/json.hpp"

namespace baker::directory {
namespace {

class Metrics {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP baker_directory_";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE baker_directory_";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(std::string_view name, double value, std::string_view labels = {}) {
    out_ += "baker_directory_";
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    char buf[64];
    if (value == static_cast<double>(static_cast<std::uint64_t>(value))) {
      std::snprintf(buf, sizeof buf, " %llu\n",
                    static_cast<unsigned long long>(static_cast<std::uint64_t>(value)));
    } else {
      std::snprintf(buf, sizeof buf, " %.3f\n", value);
    }
    out_ += buf;
  }
  void one(std::string_view name, std::string_view type, std::string_view help, double value) {
    family(name, type, help);
    sample(name, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string label(std::string_view key, std::string_view value) {
  return std::string(key) + "=\"" + std::string(value) + "\"";
}

}  // namespace

std::string render_metrics(const DirectoryCore& core, const ShellStats& shell) {
  const DirectoryStats& s = core.stats();
  Metrics m;
  m.one("routes", "gauge", "Routes in the table.", static_cast<double>(core.route_count()));
  m.family("subscribers", "gauge", "Subscribers holding a lease, by how Deltas reach them.");
  m.sample("subscribers", static_cast<double>(core.subscriber_count() - core.member_count()),
           label("delivery", "unicast"));
  m.sample("subscribers", static_cast<double>(core.member_count()), label("delivery", "multicast"));
  m.one("warmup", "gauge", "1 while warming up after start (clients are not told to drop routes).",
        core.warming_up() ? 1 : 0);
  m.one("sequence", "gauge", "Last sequence number issued in this epoch.",
        static_cast<double>(core.seq()));
  m.one("heartbeats_per_second", "gauge", "Heartbeats received over the last second.",
        shell.heartbeats_per_second);
  m.one("heartbeats_total", "counter", "Heartbeats received (valid).",
        static_cast<double>(s.heartbeats));
  m.one("heartbeats_stale_total", "counter",
        "Heartbeats ignored as duplicate or reordered (seq not newer in their epoch).",
        static_cast<double>(s.heartbeats_stale));
  m.one("watson_restarts_total", "counter", "Heartbeats with a new watson epoch for a known route.",
        static_cast<double>(s.sender_restarts));
  m.one("goodbyes_total", "counter", "Goodbyes received.", static_cast<double>(s.goodbyes));
  m.family("route_changes_total", "counter", "Changes to the table, by kind.");
  m.sample("route_changes_total", static_cast<double>(s.routes_added), label("kind", "add"));
  m.sample("route_changes_total", static_cast<double>(s.routes_updated), label("kind", "update"));
  m.sample("route_changes_total", static_cast<double>(s.routes_removed), label("kind", "goodbye"));
  m.sample("route_changes_total", static_cast<double>(s.routes_expired), label("kind", "expiry"));
  m.one("subscribes_total", "counter", "Subscribe datagrams (new and renewals).",
        static_cast<double>(s.subscribes));
  m.one("subscribers_expired_total", "counter", "Subscribers dropped after their lease ran out.",
        static_cast<double>(s.subscribers_expired));
  m.one("deltas_sent_total", "counter", "Delta datagrams sent (each destination counts once).",
        static_cast<double>(s.deltas_sent));
  m.one("retransmits_sent_total", "counter", "Delta datagrams sent to answer NACKs and renewals.",
        static_cast<double>(s.retransmit_deltas_sent));
  m.one("ticks_sent_total", "counter", "Tick datagrams sent.", static_cast<double>(s.ticks_sent));
  m.one("nacks_total", "counter", "NACKs received.", static_cast<double>(s.nacks));
  m.one("nacks_merged_total", "counter", "NACKs merged into an answer already sent or in flight.",
        static_cast<double>(s.nacks_merged));
  m.one("nacks_rate_limited_total", "counter",
        "NACKs and resyncing Subscribes over their subscriber's rate.",
        static_cast<double>(s.nacks_rate_limited));
  m.one("snapshots_started_total", "counter", "Snapshots started.",
        static_cast<double>(s.snapshots_started));
  m.one("snapshots_completed_total", "counter", "Snapshots whose last chunk was sent.",
        static_cast<double>(s.snapshots_completed));
  m.one("snapshot_chunks_sent_total", "counter", "Snapshot chunk datagrams sent.",
        static_cast<double>(s.snapshot_chunks_sent));
  m.one("resyncs_in_flight", "gauge", "Snapshots and large retransmits being paced out.",
        static_cast<double>(core.resyncs_in_flight()));
  m.one("resyncs_refused_total", "counter", "Resyncs refused (in-flight cap): told to retry.",
        static_cast<double>(s.resyncs_refused));
  m.one("retry_later_sent_total", "counter", "RetryLater datagrams sent.",
        static_cast<double>(s.retry_later_sent));

  m.family("rejected_datagrams_total", "counter",
           "Datagrams dropped or rejected, by reason (decode errors, then directory rules).");
  for (int e = 0; e < wire::kDecodeErrorCount; ++e) {
    m.sample("rejected_datagrams_total", static_cast<double>(shell.decode_errors[e]),
             label("reason", wire::to_string(static_cast<wire::DecodeError>(e))));
  }
  for (int r = 0; r < kRejectCount; ++r) {
    m.sample("rejected_datagrams_total", static_cast<double>(s.rejects[r]),
             label("reason", to_string(static_cast<Reject>(r))));
  }
  m.sample("rejected_datagrams_total", static_cast<double>(shell.oversized),
           label("reason", "oversized"));
  m.sample("rejected_datagrams_total", static_cast<double>(shell.kernel_drops),
           label("reason", "receive_queue_overflow"));

  m.one("datagrams_received_total", "counter", "Datagrams read from the socket.",
        static_cast<double>(shell.datagrams_received));
  m.one("bytes_received_total", "counter", "Bytes read from the socket.",
        static_cast<double>(shell.bytes_received));
  m.one("receive_batches_total", "counter", "recvmmsg calls that returned datagrams.",
        static_cast<double>(shell.receive_batches));
  m.one("datagrams_sent_total", "counter", "Datagrams handed to the kernel.",
        static_cast<double>(shell.datagrams_sent));
  m.family("send_errors_total", "counter", "Datagrams the kernel refused to send, by errno.");
  if (shell.send_errors.empty()) m.sample("send_errors_total", 0, label("errno", "none"));
  for (const auto& [name, count] : shell.send_errors) {
    m.sample("send_errors_total", static_cast<double>(count), label("errno", name));
  }
  m.one("receive_buffer_bytes", "gauge", "Socket receive buffer granted by the kernel.",
        static_cast<double>(shell.receive_buffer_bytes));
  m.one("table_bytes", "gauge",
        "Bytes held by the route table's records, index, expiry heap and log (approximate).",
        static_cast<double>(core.structure_bytes()));
  return m.take();
}

std::string render_routes_json(const DirectoryCore& core, std::string_view service, TimePoint now,
                               std::size_t limit) {
  const RouteTable& t = core.table();
  std::string out;
  char buf[64];
  std::snprintf(buf, sizeof buf, "{\"epoch\":\"%016llx\",\"seq\":%llu,",
                static_cast<unsigned long long>(core.epoch()),
                static_cast<unsigned long long>(core.seq()));
  out += buf;
  out += "\"warmup\":";
  out += core.warming_up() ? "true" : "false";
  out += ",\"routes\":[";
  bool first = true;
  bool truncated = false;
  std::size_t shown = 0;
  const std::int64_t now_ticks = now.time_since_epoch().count();
  for (RouteIndex i = 0; i < t.slot_limit(); ++i) {
    const RouteRecord& r = t.at(i);
    if (!r.live) continue;
    const std::string& name = t.services().name(r.service);
    if (!service.empty() && name != service) continue;
    if (shown++ == limit) {
      truncated = true;
      break;
    }
    if (!first) out += ',';
    first = false;
    out += "{\"service\":";
    append_json_string(out, name);
    out += ",\"instance\":";
    append_json_string(out, r.instance);
    out += ",\"address\":";
    append_json_string(out, r.address.to_string());
    const long long expires_ms = (r.deadline - now_ticks) / 1'000'000;
    std::snprintf(buf, sizeof buf, ",\"port\":%u,\"weight\":%u,\"state\":\"%s\",",
                  static_cast<unsigned>(r.port), static_cast<unsigned>(r.weight),
                  r.state == wire::InstanceState::up ? "up" : "draining");
    out += buf;
    out += "\"tags\":[";
    bool first_tag = true;
    for (const auto& tag : t.tag_sets().tags(r.tags)) {
      if (!first_tag) out += ',';
      first_tag = false;
      append_json_string(out, tag);
    }
    std::snprintf(buf, sizeof buf, "],\"interval_ms\":%u,\"expires_in_ms\":%lld}",
                  static_cast<unsigned>(r.interval_ms), expires_ms);
    out += buf;
  }
  out += "],\"truncated\":";
  out += truncated ? "true" : "false";
  out += "}\n";
  return out;
}

}  // namespace baker::directory
