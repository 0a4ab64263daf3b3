#include "directory/status_pages.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <vector>

#include "common/html.hpp"
#include "common/json.hpp"
#include "common/prometheus.hpp"

namespace baker::directory {
namespace {

// The directory's families, all named baker_directory_<name>.
class Metrics {
 public:
  using Type = MetricsWriter::Type;
  void family(std::string_view name, Type type, std::string_view help) {
    w_.family(full(name), type, help);
  }
  void sample(double value, std::initializer_list<MetricsWriter::Label> labels = {}) {
    w_.sample(value, labels);
  }
  void sample(std::uint64_t value, std::initializer_list<MetricsWriter::Label> labels = {}) {
    w_.sample(value, labels);
  }
  void counter(std::string_view name, std::string_view help, std::uint64_t value) {
    w_.counter(full(name), help, value);
  }
  void gauge(std::string_view name, std::string_view help, double value) {
    w_.gauge(full(name), help, value);
  }
  std::string take() { return w_.take(); }

 private:
  static std::string full(std::string_view name) { return "baker_directory_" + std::string(name); }
  MetricsWriter w_;
};

}  // namespace

std::string render_metrics(const DirectoryCore& core, const ShellStats& shell) {
  using Type = MetricsWriter::Type;
  const DirectoryStats& s = core.stats();
  Metrics m;
  m.gauge("routes", "Routes in the table.", static_cast<double>(core.route_count()));
  m.family("subscribers", Type::gauge, "Subscribers holding a lease, by how Deltas reach them.");
  m.sample(std::uint64_t{core.subscriber_count() - core.member_count()}, {{"delivery", "unicast"}});
  m.sample(std::uint64_t{core.member_count()}, {{"delivery", "multicast"}});
  m.gauge("warmup", "1 while warming up after start (clients are not told to drop routes).",
          core.warming_up() ? 1 : 0);
  m.gauge("sequence", "Last sequence number issued in this epoch.",
          static_cast<double>(core.seq()));
  m.gauge("heartbeats_per_second", "Heartbeats received over the last second.",
          shell.heartbeats_per_second);
  m.counter("heartbeats_total", "Heartbeats received (valid).", s.heartbeats);
  m.counter("heartbeats_stale_total",
            "Heartbeats ignored as duplicate or reordered (seq not newer in their epoch).",
            s.heartbeats_stale);
  m.counter("watson_restarts_total", "Heartbeats with a new watson epoch for a known route.",
            s.sender_restarts);
  m.counter("goodbyes_total", "Goodbyes received.", s.goodbyes);
  m.gauge("tombstones", "Records of routes gone (Goodbye or expiry) kept against replays.",
          static_cast<double>(core.tombstone_count()));
  m.counter("tombstones_purged_total", "Tombstones dropped after their lifetime.",
            s.tombstones_purged);
  m.counter("tombstones_evicted_total",
            "Tombstones dropped early, oldest first, over --max-tombstones.", s.tombstones_evicted);
  m.counter("clock_warnings_total",
            "Watson processes logged once for a clock off by more than --max-clock-skew or an "
            "older incarnation.",
            s.clock_warnings);
  m.family("route_changes_total", Type::counter, "Changes to the table, by kind.");
  m.sample(std::uint64_t{s.routes_added}, {{"kind", "add"}});
  m.sample(std::uint64_t{s.routes_updated}, {{"kind", "update"}});
  m.sample(std::uint64_t{s.routes_removed}, {{"kind", "goodbye"}});
  m.sample(std::uint64_t{s.routes_expired}, {{"kind", "expiry"}});
  m.counter("subscribes_total", "Subscribe datagrams (new and renewals).", s.subscribes);
  m.counter("subscribers_expired_total", "Subscribers dropped after their lease ran out.",
            s.subscribers_expired);
  m.counter("challenges_sent_total",
            "Challenges sent to Subscribes from addresses not proven (no state kept).",
            s.challenges_sent);
  m.counter("subscribers_moved_total", "Subscriptions moved to a new address proven with a cookie.",
            s.subscribers_moved);
  m.counter("subscribers_replaced_total",
            "Subscriptions replaced by another subscriber id proven at the same address.",
            s.subscribers_replaced);
  m.counter("deltas_sent_total", "Delta datagrams sent (each destination counts once).",
            s.deltas_sent);
  m.counter("retransmits_sent_total", "Delta datagrams sent to answer NACKs and renewals.",
            s.retransmit_deltas_sent);
  m.counter("ticks_sent_total", "Tick datagrams sent.", s.ticks_sent);
  m.counter("nacks_total", "NACKs received.", s.nacks);
  m.counter("nacks_merged_total", "NACKs merged into an answer already sent or in flight.",
            s.nacks_merged);
  m.counter("nacks_rate_limited_total",
            "NACKs and resyncing Subscribes over their subscriber's rate.", s.nacks_rate_limited);
  m.counter("snapshots_started_total", "Snapshots started.", s.snapshots_started);
  m.counter("snapshots_completed_total", "Snapshots whose last chunk was sent.",
            s.snapshots_completed);
  m.counter("snapshot_chunks_sent_total", "Snapshot chunk datagrams sent.", s.snapshot_chunks_sent);
  m.gauge("resyncs_in_flight", "Snapshots and large retransmits being paced out.",
          static_cast<double>(core.resyncs_in_flight()));
  m.counter("resyncs_refused_total", "Resyncs refused (in-flight cap): told to retry.",
            s.resyncs_refused);
  m.counter("retry_later_sent_total", "RetryLater datagrams sent.", s.retry_later_sent);

  m.family("rejected_datagrams_total", Type::counter,
           "Datagrams dropped or rejected, by reason (decode errors, then directory rules).");
  for (int e = 0; e < wire::kDecodeErrorCount; ++e) {
    m.sample(std::uint64_t{shell.decode_errors[e]},
             {{"reason", wire::to_string(static_cast<wire::DecodeError>(e))}});
  }
  for (int r = 0; r < kRejectCount; ++r) {
    m.sample(std::uint64_t{s.rejects[r]}, {{"reason", to_string(static_cast<Reject>(r))}});
  }
  for (int r = 0; r < kAnnounceRejectCount; ++r) {  // heartbeats and goodbyes: replay rules
    m.sample(std::uint64_t{s.announce_rejects[r]},
             {{"reason", to_string(static_cast<AnnounceReject>(r))}});
  }
  m.sample(std::uint64_t{shell.oversized}, {{"reason", "oversized"}});
  m.sample(std::uint64_t{shell.kernel_drops}, {{"reason", "receive_queue_overflow"}});

  m.counter("datagrams_received_total", "Datagrams read from the socket.",
            shell.datagrams_received);
  m.counter("bytes_received_total", "Bytes read from the socket.", shell.bytes_received);
  m.counter("receive_batches_total", "recvmmsg calls that returned datagrams.",
            shell.receive_batches);
  m.counter("datagrams_sent_total", "Datagrams handed to the kernel.", shell.datagrams_sent);
  m.family("send_errors_total", Type::counter, "Datagrams the kernel refused to send, by errno.");
  if (shell.send_errors.empty()) m.sample(std::uint64_t{0}, {{"errno", "none"}});
  for (const auto& [name, count] : shell.send_errors) {
    m.sample(std::uint64_t{count}, {{"errno", name}});
  }
  m.gauge("receive_buffer_bytes", "Socket receive buffer granted by the kernel.",
          static_cast<double>(shell.receive_buffer_bytes));
  m.gauge("table_bytes",
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

namespace baker::directory {
namespace {

std::string td_number(unsigned long long n) {
  return "<td class=\"n\">" + group_digits(n) + "</td>";
}

std::string state_cell(wire::InstanceState s) {
  return s == wire::InstanceState::up ? "<span class=\"up\">up</span>"
                                      : "<span class=\"draining\">draining</span>";
}

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

struct ServiceCounts {
  std::size_t instances = 0;
  std::size_t draining = 0;
};

void rejects_section(HtmlPage& page, const DirectoryCore& core, const ShellStats& shell) {
  page.heading("Rejected datagrams");
  std::vector<std::pair<std::string_view, std::uint64_t>> rows;
  for (int e = 0; e < wire::kDecodeErrorCount; ++e) {
    if (shell.decode_errors[e]) {
      rows.emplace_back(wire::to_string(static_cast<wire::DecodeError>(e)), shell.decode_errors[e]);
    }
  }
  const auto& s = core.stats();
  for (int r = 0; r < kRejectCount; ++r) {
    if (s.rejects[r]) rows.emplace_back(to_string(static_cast<Reject>(r)), s.rejects[r]);
  }
  for (int r = 0; r < kAnnounceRejectCount; ++r) {
    if (s.announce_rejects[r]) {
      rows.emplace_back(to_string(static_cast<AnnounceReject>(r)), s.announce_rejects[r]);
    }
  }
  if (shell.oversized) rows.emplace_back("oversized", shell.oversized);
  if (shell.kernel_drops) rows.emplace_back("receive_queue_overflow", shell.kernel_drops);
  auto& out = page.body();
  if (rows.empty()) {
    out += "<p class=\"note\">None since start.</p>\n";
    return;
  }
  HtmlTable t(out, {"reason", "datagrams"});
  for (const auto& [reason, count] : rows) t.raw_row({html(reason), td_number(count)});
  t.finish(rows.size(), rows.size(), "reasons");
}

}  // namespace

HttpReply render_status_page(const DirectoryCore& core, const ShellStats& shell,
                             std::string_view target, TimePoint now) {
  const auto query = parse_query(target);
  const auto page = page_number(query);
  if (!page) return {400, "text/plain", "page: expected a number 1..1000000000\n"};
  const std::string service_filter = query.count("service") ? query.at("service") : "";

  const RouteTable& t = core.table();
  const std::int64_t now_ticks = now.time_since_epoch().count();
  const std::int64_t wall_now_ms = core.wall_clock().known() ? core.wall_clock().at(now) : 0;
  HtmlPage html_page("Baker directory", 5);
  auto& out = html_page.body();
  out += "<h1>Baker directory</h1>\n<p class=\"sub\">epoch <code>" + hex(core.epoch()) +
         "</code> · sequence " + group_digits(core.seq()) + " · " +
         group_digits(core.route_count()) + " instances · " +
         group_digits(core.subscriber_count()) + " subscribers · " +
         group_digits(static_cast<unsigned long long>(shell.heartbeats_per_second)) +
         " heartbeats/s · refreshes every 5 s · <a href=\"/metrics\">metrics</a> · <a "
         "href=\"/routes\">routes (JSON)</a></p>\n";
  if (core.warming_up()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(core.warmup_end() - now);
    html_page.banner("warn",
                     "Warming up after start: the table is filling from heartbeats, so "
                     "subscribers keep routes this directory has not heard of yet (at most " +
                         short_duration_ms(left.count()) + " more).");
  }

  // One pass over the table: counts per service (for the services table) and the page of
  // instances; nothing is copied but the rows shown.
  // Counted by service id (an index, not a lookup per route: 1M routes are walked per GET /).
  std::vector<ServiceCounts> by_id(t.services().id_limit());
  const auto filter_id =
      service_filter.empty() ? std::optional<ServiceId>{} : t.services().find(service_filter);
  const std::size_t skip = (*page - 1) * kInstancesPerPage;
  std::size_t matching = 0;
  std::vector<std::vector<std::string>> instance_rows;
  const auto miss_limit = core.config().miss_limit;
  for (RouteIndex i = 0; i < t.slot_limit(); ++i) {
    const RouteRecord& r = t.at(i);
    if (!r.live) continue;
    auto& c = by_id[r.service];
    ++c.instances;
    if (r.state != wire::InstanceState::up) ++c.draining;
    if (!service_filter.empty() && (!filter_id || r.service != *filter_id)) continue;
    const std::string& name = t.services().name(r.service);
    const std::size_t n = matching++;
    if (n < skip || n >= skip + kInstancesPerPage) continue;
    std::string tags;
    for (const auto& tag : t.tag_sets().tags(r.tags)) {
      if (!tags.empty()) tags += ", ";
      append_html(tags, tag);
    }
    const long long expires_ms = (r.deadline - now_ticks) / 1'000'000;
    const long long heard_ms =
        static_cast<long long>(miss_limit) * static_cast<long long>(r.interval_ms) - expires_ms;
    // The watson's incarnation is its start (us since 1970): the instance's age, for free.
    const long long age_ms =
        wall_now_ms > 0 ? wall_now_ms - static_cast<long long>(r.sender_incarnation / 1000) : -1;
    instance_rows.push_back({html(name), html(r.instance),
                             html(wire::Endpoint{r.address, r.port}.to_string()),
                             state_cell(r.state), td_number(r.weight), tags,
                             age_ms >= 0 ? short_duration_ms(age_ms) : "?",
                             short_duration_ms(heard_ms) + " ago", short_duration_ms(expires_ms)});
  }

  std::map<std::string_view, ServiceCounts> services;  // sorted by name for the table
  for (ServiceId id = 0; id < by_id.size(); ++id) {
    if (by_id[id].instances) services.emplace(t.services().name(id), by_id[id]);
  }
  html_page.heading("Services");
  {
    HtmlTable st(out, {"service", "instances", "draining"});
    std::size_t shown = 0;
    for (const auto& [name, c] : services) {
      if (shown == kServicesShown) break;
      ++shown;
      st.raw_row({"<a href=\"/?service=" + html(name) + "\">" + html(name) + "</a>",
                  td_number(c.instances), td_number(c.draining)});
    }
    st.finish(shown, services.size(), "services");
  }

  html_page.heading(service_filter.empty() ? "Instances" : "Instances of " + service_filter);
  {
    HtmlTable it(out,
                 {"service", "instance", "address", "state", "weight", "tags", "up for",
                  "last heartbeat", "expires in"},
                 "instances");
    for (const auto& row : instance_rows) it.raw_row(row);
    out += "</table>\n";
    const std::size_t pages = (matching + kInstancesPerPage - 1) / kInstancesPerPage;
    if (matching > kInstancesPerPage || *page > 1) {
      const std::string base =
          service_filter.empty() ? "/?page=" : "/?service=" + html(service_filter) + "&amp;page=";
      out += "<p class=\"note\">Instances " +
             (instance_rows.empty()
                  ? std::string("none")
                  : group_digits(skip + 1) + "-" + group_digits(skip + instance_rows.size())) +
             " of " + group_digits(matching) + " (page " + group_digits(*page) + " of " +
             group_digits(pages) + ")";
      if (*page > 1) {
        out += " · <a href=\"" + base + std::to_string(*page - 1) + "\">previous</a>";
      }
      if (*page < pages) {
        out += " · <a href=\"" + base + std::to_string(*page + 1) + "\">next</a>";
      }
      out += "</p>\n";
    }
    if (!service_filter.empty()) out += "<p class=\"note\"><a href=\"/\">all services</a></p>\n";
  }

  html_page.heading("Subscribers");
  {
    HtmlTable sub(out,
                  {"address", "subscriber", "delivery", "services", "sequence lag", "last renewal",
                   "lease left", ""},
                  "subscribers");
    std::size_t shown = 0;
    for (const auto& [id, s] : core.subscribers()) {
      if (shown == kSubscribersShown) break;
      ++shown;
      std::string filter;
      for (const auto service : s.filter) {
        if (!filter.empty()) filter += ", ";
        append_html(filter, t.services().name(service));
      }
      const long long lease_left_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(s.lease_deadline - now).count();
      const long long renewed_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - s.renewed_at).count();
      // The lag it reported in its last Subscribe: this epoch's sequence minus what it had
      // applied ("snapshot": it followed no stream of this epoch, so it got a whole table).
      sub.raw_row({html(s.endpoint.to_string()), "<code>" + hex(id) + "</code>",
                   s.member ? "multicast" : "unicast", filter.empty() ? "all" : filter,
                   s.lag_at_renewal ? td_number(*s.lag_at_renewal)
                                    : std::string("<td class=\"n\">snapshot</td>"),
                   short_duration_ms(renewed_ms) + " ago", short_duration_ms(lease_left_ms),
                   s.resyncing ? "<span class=\"warming\">resyncing</span>" : ""});
    }
    sub.finish(shown, core.subscriber_count(), "subscribers");
  }

  rejects_section(html_page, core, shell);
  return {200, "text/html; charset=utf-8", html_page.finish()};
}

}  // namespace baker::directory
