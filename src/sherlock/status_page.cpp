#include "sherlock/status_page.hpp"

#include <cstdio>
#include <map>
#include <vector>

#include "common/html.hpp"
#include "sherlock/haproxy_driver.hpp"

namespace baker::sherlock {
namespace {

std::string td_number(unsigned long long n) {
  return "<td class=\"n\">" + group_digits(n) + "</td>";
}

std::string span(std::string_view css, std::string_view text) {
  return "<span class=\"" + std::string(css) + "\">" + html(text) + "</span>";
}

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// A stream's health in one word, the worst first.
std::string stream_health(const DirectoryStreams& streams, std::size_t i) {
  const Replica& r = streams.stream(i);
  if (!r.reachable()) return span("bad", "unreachable");
  if (!r.synced()) return span("warming", r.epoch() ? "resyncing" : "no snapshot yet");
  if (r.directory_warmup()) return span("warming", "directory warming up");
  return span("synced", "synced");
}

// HAProxy's view of one server, as a person names it. (Not op_state: Baker's servers have no
// health checks, and the driver's model updates admin state and weight from its own commands.)
std::string server_state(const haproxy::ServerStateRow& row) {
  if (row.in_maint()) return span("free", "free");
  if (row.draining()) return span("draining", "draining");
  if (row.user_weight == 0) return span("free", "weight 0");
  return span("serving", "serving");
}

std::string address_of(const wire::IpAddress& a, std::uint16_t port) {
  return wire::Endpoint{a, port}.to_string();
}

void streams_section(HtmlPage& page, const DirectoryStreams& streams, TimePoint now) {
  page.heading("Directory streams");
  auto& out = page.body();
  HtmlTable t(out, {"directory", "health", "in the merge", "epoch", "sequence", "routes",
                    "last heard", "gaps", "NACKs", "snapshots", "resyncs"});
  for (std::size_t i = 0; i < streams.size(); ++i) {
    const Replica& r = streams.stream(i);
    const auto heard = r.last_heard();
    const auto& s = r.stats();
    t.raw_row(
        {html(r.name()), stream_health(streams, i),
         streams.live(i) ? span("ok", "live") : span("down", "not live"),
         r.epoch() ? "<code>" + hex(r.epoch()) + "</code>" : "-", td_number(r.applied()),
         td_number(r.table().size()),
         heard ? short_duration_ms(
                     std::chrono::duration_cast<std::chrono::milliseconds>(now - *heard).count()) +
                     " ago"
               : "never",
         td_number(s.gaps), td_number(s.nacks_sent), td_number(s.snapshots_applied),
         td_number(s.resyncs)});
  }
  t.finish(streams.size(), streams.size(), "directories");
}

void service_section(std::string& out, const std::string& service,
                     const std::vector<wire::Route>& routes, const haproxy::HaproxyDriver* driver,
                     const std::vector<std::string>& missing) {
  std::size_t draining = 0;
  for (const auto& r : routes) draining += r.state != wire::InstanceState::up;
  out += "<h3 id=\"s-" + html(service) + "\">" + html(service) + " <span class=\"note\">" +
         group_digits(routes.size()) + " instances" +
         (draining ? ", " + group_digits(draining) + " draining" : std::string()) +
         "</span></h3>\n";
  const std::vector<haproxy::ServerStateRow>* rows = nullptr;
  std::string backend;
  if (driver) {
    backend = driver->backend_for(service);
    rows = driver->rows_of(backend);
    if (std::find(missing.begin(), missing.end(), backend) != missing.end()) {
      out += "<div class=\"banner warn\">HAProxy has no backend <code>" + html(backend) +
             "</code>: sherlock logs the lines to add.</div>\n";
    }
  }
  // The servers by address: each instance's row sits next to the server pointing at it.
  std::map<std::pair<wire::IpAddress, std::uint16_t>, const haproxy::ServerStateRow*> by_address;
  if (rows) {
    for (const auto& row : *rows) {
      if (row.address && !row.in_maint()) by_address[{*row.address, row.port}] = &row;
    }
  }
  HtmlTable t(out, {"instance", "address", "state", "weight", "tags", "HAProxy server",
                    "server state", "server weight"});
  std::size_t shown = 0;
  for (const auto& r : routes) {
    if (shown == kInstancesPerService) break;
    ++shown;
    std::string tags;
    for (const auto& tag : r.tags) {
      if (!tags.empty()) tags += ", ";
      append_html(tags, tag);
    }
    std::vector<std::string> cells{
        html(r.instance), html(address_of(r.address, r.port)),
        r.state == wire::InstanceState::up ? span("up", "up") : span("draining", "draining"),
        td_number(r.weight), tags};
    const auto it = by_address.find({r.address, r.port});
    if (!driver) {
      cells.insert(cells.end(), {"-", "--no-haproxy", "-"});
    } else if (it == by_address.end()) {
      cells.insert(cells.end(), {"-", rows ? span("bad", "not placed yet") : "not read yet", "-"});
    } else {
      cells.insert(
          cells.end(),
          {html(backend + "/" + it->second->server), server_state(*it->second),
           td_number(static_cast<unsigned long long>(std::max(0, it->second->user_weight)))});
      by_address.erase(it);
    }
    t.raw_row(cells);
  }
  // Servers pointing at no instance of the replica: the ones draining away.
  for (const auto& [key, row] : by_address) {
    t.raw_row({"-", html(address_of(key.first, key.second)), span("down", "gone"), "-", "",
               html(backend + "/" + row->server), server_state(*row),
               td_number(static_cast<unsigned long long>(std::max(0, row->user_weight)))});
  }
  t.finish(shown, routes.size(), "instances of " + service);
  if (rows) {
    std::size_t free = 0;
    for (const auto& row : *rows) free += row.in_maint();
    out += "<p class=\"note\">Backend <code>" + html(backend) +
           "</code>: " + group_digits(rows->size()) + " servers, " + group_digits(free) +
           " free.</p>\n";
  }
}

}  // namespace

HttpReply render_status_page(const DirectoryStreams& streams, const RouteSink* sink,
                             std::string_view target, TimePoint now) {
  const auto query = parse_query(target);
  const auto page = page_number(query);
  if (!page) return {400, "text/plain", "page: expected a number 1..1000000000\n"};
  const std::string only = query.count("service") ? query.at("service") : "";
  const ServiceRoutes& all = streams.table().view();
  const haproxy::HaproxyDriver* driver = sink ? sink->haproxy_driver() : nullptr;

  HtmlPage html_page("Baker sherlock", 5);
  auto& out = html_page.body();
  const std::string haproxy = sink ? sink->haproxy_description() : "none (--no-haproxy)";
  out += "<h1>Baker sherlock</h1>\n<p class=\"sub\">" + group_digits(streams.table().size()) +
         " routes in " + group_digits(all.size()) + " services · " + group_digits(streams.size()) +
         (streams.size() == 1 ? " directory" : " directories") + " · HAProxy: " + html(haproxy) +
         (driver ? (driver->connected() ? " (connected)"
                                        : " (<span class=\"bad\">not connected</span>)")
                 : "") +
         " · refreshes every 5 s · <a href=\"/metrics\">metrics</a> · <a href=\"/routes\">routes "
         "(JSON)</a> · <a href=\"/digest\">digest</a></p>\n";
  if (!streams.any_synced()) {
    html_page.banner("warn", "No directory's snapshot yet: the replica is incomplete.");
  }
  for (std::size_t i = 0; i < streams.size(); ++i) {
    if (!streams.stream(i).reachable()) {
      html_page.banner("warn", "Directory " + streams.stream(i).name() +
                                   " does not answer: its routes are kept (availability over "
                                   "consistency) until it is back.");
    }
  }
  streams_section(html_page, streams, now);

  const std::vector<std::string> missing =
      driver ? driver->missing_backends() : std::vector<std::string>{};
  html_page.heading(only.empty() ? "Services" : "Service " + only);
  if (!only.empty()) {
    const auto it = all.find(only);
    if (it == all.end()) {
      out += "<p class=\"note\">The replica holds no instance of this service.</p>\n";
    } else {
      service_section(out, it->first, it->second, driver, missing);
    }
    out += "<p class=\"note\"><a href=\"/\">all services</a></p>\n";
    return {200, "text/html; charset=utf-8", html_page.finish()};
  }
  const std::size_t skip = (*page - 1) * kServicesPerPage;
  std::size_t index = 0;
  for (const auto& [service, routes] : all) {
    const std::size_t n = index++;
    if (n < skip) continue;
    if (n >= skip + kServicesPerPage) break;
    service_section(out, service, routes, driver, missing);
  }
  const std::size_t pages = (all.size() + kServicesPerPage - 1) / kServicesPerPage;
  if (all.empty()) out += "<p class=\"note\">No routes yet.</p>\n";
  if (all.size() > kServicesPerPage || *page > 1) {
    const std::size_t last = std::min(all.size(), skip + kServicesPerPage);
    out += "<p class=\"note\">Services " +
           (skip < all.size() ? group_digits(skip + 1) + "-" + group_digits(last)
                              : std::string("none")) +
           " of " + group_digits(all.size()) + " (page " + group_digits(*page) + " of " +
           group_digits(pages) + ")";
    if (*page > 1) out += " · <a href=\"/?page=" + std::to_string(*page - 1) + "\">previous</a>";
    if (*page < pages) out += " · <a href=\"/?page=" + std::to_string(*page + 1) + "\">next</a>";
    out += "</p>\n";
  }
  return {200, "text/html; charset=utf-8", html_page.finish()};
}

}  // namespace baker::sherlock
