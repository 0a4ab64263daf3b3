#include "sherlock/haproxy_shell.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "common/host_port.hpp"
#include "common/options.hpp"
#include "common/startup_error.hpp"
#include "sherlock/managed_config.hpp"
#include "wire/validate.hpp"

namespace baker::sherlock {

namespace po = boost::program_options;

void add_haproxy_options(po::options_description& flags) {
  po::options_description h("HAProxy driver");
  h.add_options()(
      "haproxy-sock", po::value<std::string>(),
      "admin socket of an HAProxy you run (Unix socket path or ADDR:PORT); without it sherlock "
      "runs haproxy itself (managed mode)")("backend-prefix",
                                            po::value<std::string>()->default_value(""),
                                            "HAProxy backend of service S is <prefix>S")(
      "slot-prefix", po::value<std::string>()->default_value("slot"),
      "name prefix of the server-template slots Baker fills (<prefix>1..N)")(
      "slots", po::value<int>()->default_value(16),
      "initial slots per backend in managed mode (grown by reload when they run out); with "
      "--haproxy-sock, the count suggested for a missing backend")(
      "drain-timeout", duration_value(std::chrono::seconds(10), Duration::zero(), kMaxDuration),
      "a removed instance drains until its sessions end or this timeout, then goes to maint")(
      "reconcile-interval",
      duration_value(std::chrono::seconds(10), std::chrono::milliseconds(100), kMaxDuration),
      "re-read HAProxy's state this often so drift from any cause heals")(
      "no-add-server", po::bool_switch(),
      "with --haproxy-sock: when a backend's slots run out, log instead of falling back to "
      "'add server' (such servers never reuse backend connections in HAProxy 2.6)")(
      "add-server-options", po::value<std::string>()->default_value(""),
      "options written on each 'add server' (default-server is not inherited), e.g. "
      "\"maxconn 100\"")("haproxy-bin", po::value<std::string>()->default_value("haproxy"),
                         "managed mode: the haproxy executable")(
      "haproxy-timeout",
      duration_value(std::chrono::seconds(30), std::chrono::milliseconds(100), kMaxDuration),
      "managed mode: how long haproxy may take to start or reload (large configurations load "
      "slowly: ~0.6 ms per server line)")(
      "run-dir", po::value<std::string>(),
      "managed mode: directory for haproxy.cfg, its sockets and the state a restarted sherlock "
      "adopts haproxy from; one sherlock per run dir (default: $RUNTIME_DIRECTORY/haproxy under "
      "systemd, else /run/baker/sherlock-<frontend port> as root, "
      "/tmp/baker-sherlock-<uid>-<frontend port> otherwise)")(
      "haproxy-on-exit", po::value<std::string>()->default_value("keep"),
      "managed mode: when sherlock exits, 'keep' haproxy serving (the next sherlock with this run "
      "dir adopts it) or 'stop' it (a soft stop: requests in flight finish); a crash always keeps "
      "it")("haproxy-wait-routes",
            duration_value(std::chrono::seconds(5), Duration::zero(), kMaxDuration),
            "managed mode, no haproxy to adopt: wait this long for the replica's first snapshot "
            "before starting haproxy, so its first configuration holds every service (0: start at "
            "once)")(
      "frontend", po::value<std::string>()->default_value("127.0.0.1:8000"),
      "managed mode: HTTP frontend ADDR:PORT; /<service>/rest goes to <service> as /rest")(
      "tcp-port", po::value<std::vector<std::string>>()->composing(),
      "managed mode: service=port, a TCP listener for the service (repeatable)")(
      // Not random: in 2.6 it builds weight x 16 tree nodes per server, so one backend of 8,192
      // slots at weight 100 took 20 s and 424 MB to load; roundrobin 0.6 s and 55 MB, weights kept.
      "balance", po::value<std::string>()->default_value("roundrobin"),
      "managed mode: balance algorithm of each backend (roundrobin, random, random(N), "
      "leastconn, first)");
  flags.add(h);
}

std::unique_ptr<RouteSink> make_haproxy_sink(boost::asio::io_context& io,
                                             const po::variables_map& values) {
  return std::make_unique<haproxy::HaproxyShell>(io, haproxy::shell_settings_from(values));
}

namespace haproxy {

namespace {

[[noreturn]] void bad(const std::string& flag, const std::string& why) {
  throw UsageError("--" + flag + ": " + why);
}

bool has_word(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  std::string w;
  while (in >> w) {
    if (w == word) return true;
  }
  return false;
}

// Dynamic algorithms only: they take runtime weights and servers (static-rr and source do not).
bool dynamic_balance(const std::string& b) {
  if (b == "roundrobin" || b == "leastconn" || b == "first" || b == "random") return true;
  if (b.size() < 9 || b.compare(0, 7, "random(") != 0 || b.back() != ')') return false;
  const auto n = b.substr(7, b.size() - 8);
  return !n.empty() && n.size() <= 2 && n[0] != '0' &&
         std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Stable across restarts (a restarted sherlock finds the haproxy it left), one per frontend port.
std::string default_run_dir(std::uint16_t frontend_port) {
  if (const char* rd = std::getenv("RUNTIME_DIRECTORY"); rd && *rd == '/') {
    std::string first(rd);
    return first.substr(0, first.find(':')) + "/haproxy";
  }
  const auto port = std::to_string(frontend_port);
  if (::geteuid() == 0) return "/run/baker/sherlock-" + port;
  return "/tmp/baker-sherlock-" + std::to_string(::geteuid()) + "-" + port;
}

}  // namespace

ShellSettings shell_settings_from(const po::variables_map& v) {
  ShellSettings s;
  const auto str = [&](const char* name) { return v[name].as<std::string>(); };
  const auto given = [&](const char* name) { return v.count(name) && !v[name].defaulted(); };

  const auto prefix = str("backend-prefix");
  if (!prefix.empty() && (!valid_haproxy_name(prefix) || prefix.find('.') != std::string::npos)) {
    bad("backend-prefix", "'" + prefix + "' must be letters, digits, '-', '_' or ':'");
  }
  const auto slot_prefix = str("slot-prefix");
  if (!valid_haproxy_name(slot_prefix) || slot_prefix.size() > 60) {
    bad("slot-prefix", "'" + slot_prefix + "' must be 1-60 letters, digits, '-', '_', '.' or ':'");
  }
  const int slots = v["slots"].as<int>();
  if (slots < 1 || slots > 100000) bad("slots", "must be 1..100000");
  const auto add_options = str("add-server-options");
  if (add_options.find_first_of(";\n\r") != std::string::npos) {
    bad("add-server-options", "must not contain ';' or line breaks");
  }
  if (has_word(add_options, "enabled")) {
    bad("add-server-options",
        "never 'enabled' (HAProxy issue #2497); Baker enables servers itself");
  }

  s.driver.backend_prefix = prefix;
  s.driver.plan.naming.prefix = slot_prefix;
  s.driver.plan.drain_timeout = v["drain-timeout"].as<Duration>();
  s.driver.plan.add_server_options = add_options;
  s.driver.reconcile_interval = v["reconcile-interval"].as<Duration>();
  s.driver.suggested_slots = slots;

  if (v.count("haproxy-sock")) {
    const auto text = str("haproxy-sock");
    s.socket = CliEndpoint::parse(text);
    if (!s.socket) {
      bad("haproxy-sock", "'" + text +
                              "' is neither a Unix socket path (starting with / or .) nor "
                              "IP:PORT");
    }
    for (const char* managed_only :
         {"haproxy-bin", "haproxy-timeout", "run-dir", "frontend", "tcp-port", "balance",
          "haproxy-on-exit", "haproxy-wait-routes"}) {
      if (given(managed_only)) {
        bad(managed_only, "applies to managed mode only (it has no effect with --haproxy-sock)");
      }
    }
    s.driver.plan.allow_add_server = !v["no-add-server"].as<bool>();
    return s;
  }

  // Managed mode.
  if (v["no-add-server"].as<bool>() || given("add-server-options")) {
    bad(v["no-add-server"].as<bool>() ? "no-add-server" : "add-server-options",
        "applies with --haproxy-sock only (managed mode grows slots by reload)");
  }
  s.driver.managed = true;
  s.driver.plan.allow_add_server = false;
  auto& m = s.managed;
  m.haproxy_bin = str("haproxy-bin");
  if (m.haproxy_bin.empty()) bad("haproxy-bin", "must not be empty");
  m.start_timeout = m.reload_timeout = v["haproxy-timeout"].as<Duration>();
  const auto on_exit = str("haproxy-on-exit");
  if (on_exit != "keep" && on_exit != "stop") {
    bad("haproxy-on-exit", "'" + on_exit + "': expected keep or stop");
  }
  m.stop_on_exit = on_exit == "stop";
  m.routes_wait = v["haproxy-wait-routes"].as<Duration>();
  HostPortRules numeric;
  numeric.numeric = true;
  std::string why;
  const auto frontend = parse_host_port(str("frontend"), numeric, &why);
  if (!frontend) bad("frontend", why);
  m.frontend_host = frontend->host;
  m.frontend_port = frontend->port;
  if (v.count("run-dir")) {
    m.run_dir = str("run-dir");
    if (m.run_dir.empty()) bad("run-dir", "must not be empty");
  } else {
    m.run_dir = default_run_dir(m.frontend_port);
  }
  m.slots = slots;
  m.backend_prefix = prefix;
  m.naming.prefix = slot_prefix;
  m.balance = str("balance");
  if (!dynamic_balance(m.balance)) {
    bad("balance", "'" + m.balance +
                       "' is not one that takes runtime changes (random, random(N), "
                       "roundrobin, leastconn, first)");
  }
  if (v.count("tcp-port")) {
    for (const auto& item : v["tcp-port"].as<std::vector<std::string>>()) {
      const auto eq = item.find('=');
      const auto service = item.substr(0, eq);
      if (eq == std::string::npos || !wire::is_valid_service_name(service)) {
        bad("tcp-port", "'" + item + "' is not service=port");
      }
      const auto port = parse_port(item.substr(eq + 1));
      if (!port) bad("tcp-port", "'" + item + "': port must be 1..65535");
      if (*port == m.frontend_port) bad("tcp-port", "'" + item + "' uses the --frontend port");
      if (!m.tcp_ports.emplace(service, *port).second) {
        bad("tcp-port", "service '" + service + "' given twice");
      }
      s.driver.extra_backends[service].push_back(tcp_listener_name(prefix + service));
    }
  }
  return s;
}

HaproxyShell::HaproxyShell(boost::asio::io_context& io, ShellSettings settings)
    : io_(io),
      settings_(std::move(settings)),
      driver_(settings_.driver),
      timer_(io),
      start_timer_(io) {
  CliEndpoint endpoint;
  if (settings_.socket) {
    endpoint = *settings_.socket;
    spdlog::info("haproxy: driving the HAProxy at {} (backend prefix '{}', slots '{}N')",
                 endpoint.to_string(), settings_.driver.backend_prefix,
                 settings_.driver.plan.naming.prefix);
  } else {
    managed_ = std::make_unique<ManagedHaproxy>(
        io_, settings_.managed, driver_,
        [this, alive = std::weak_ptr<bool>(alive_)](const std::string& socket) {
          if (!alive.lock() || stopped_) return;
          transport_->set_endpoint(CliEndpoint{socket, "", 0});
          driver_.on_haproxy_restarted(Clock::now());
          pump();
        });
    bool adopted = false;
    try {
      adopted = managed_->adopt();
    } catch (const std::runtime_error& e) {
      throw StartupError(std::string("managed haproxy: ") + e.what());
    }
    if (adopted) {
      endpoint.path = managed_->admin_socket();
    } else if (settings_.managed.routes_wait > Duration::zero()) {
      // No haproxy yet: its first configuration comes from the replica, so it never answers 503
      // for a service the replica holds.
      waiting_start_ = true;
      const auto wait_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(settings_.managed.routes_wait)
              .count();
      spdlog::info("haproxy: starting haproxy once the replica holds a snapshot (at most {} ms)",
                   wait_ms);
      start_timer_.expires_after(settings_.managed.routes_wait);
      start_timer_.async_wait([this, wait_ms, alive = std::weak_ptr<bool>(alive_)](
                                  const boost::system::error_code& ec) {
        if (ec || !alive.lock() || !waiting_start_ || stopped_) return;
        spdlog::warn(
            "haproxy: no snapshot from any directory within {} ms: starting haproxy "
            "with the routes held so far",
            wait_ms);
        start_managed(nullptr);
      });
    } else {
      start_managed(nullptr);
      endpoint.path = managed_->admin_socket();
    }
  }
  transport_ = std::make_shared<AsioCliTransport>(io_, endpoint, settings_.session_timeout);
  boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.lock()) pump();
  });
}

HaproxyShell::~HaproxyShell() {
  *alive_ = false;
  stop();
}

void HaproxyShell::start_managed(const ServiceRoutes* all) {
  waiting_start_ = false;
  start_timer_.cancel();
  try {
    managed_->start(all);
  } catch (const std::runtime_error& e) {
    // Every failure to start haproxy (its bind, its binary, the run directory) is a start-up
    // failure, not a usage error: exit 1.
    throw StartupError(std::string("managed haproxy: ") + e.what());
  }
  if (transport_) {
    transport_->set_endpoint(CliEndpoint{managed_->admin_socket(), "", 0});
    pump();
  }
}

void HaproxyShell::routes_changed(const ServiceRoutes& all,
                                  const std::vector<std::string>& changed) {
  if (stopped_) return;
  driver_.set_routes(all, changed, Clock::now());
  if (waiting_start_) return;  // the first configuration will hold them
  if (managed_) managed_->update(&all);
  pump();
}

void HaproxyShell::replica_synced(const ServiceRoutes& all) {
  if (stopped_ || !waiting_start_) return;
  start_managed(&all);
}

void HaproxyShell::pump() {
  if (stopped_ || waiting_start_) return;
  if (auto session = driver_.on_timer(Clock::now())) {
    std::vector<std::string> lines;
    lines.reserve(session->commands.size());
    for (const auto& c : session->commands) lines.push_back(c.text);
    transport_->run(std::move(lines), session->fresh_connection,
                    [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec,
                                                                std::vector<std::string> replies) {
                      if (!alive.lock() || stopped_) return;
                      const auto now = Clock::now();
                      if (ec) {
                        driver_.on_failure(transport_->endpoint().to_string() + ": " + ec.message(),
                                           now);
                      } else {
                        driver_.on_replies(replies, now);
                      }
                      if (managed_) managed_->update(nullptr);
                      pump();
                    });
    return;
  }
  if (const auto at = driver_.next_deadline()) {
    timer_.expires_at(*at);
    timer_.async_wait(
        [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
          if (!ec && alive.lock()) pump();
        });
  }
}

std::string HaproxyShell::haproxy_description() const {
  if (!managed_) return "external, admin socket " + settings_.socket->to_string();
  if (waiting_start_) return "managed, waiting for the first snapshot to start haproxy";
  return "managed, admin socket " + managed_->admin_socket();
}

void HaproxyShell::append_metrics(std::string& out) const {
  driver_.append_metrics(out);
  if (managed_) managed_->append_metrics(out);
}

void HaproxyShell::stop() {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
  start_timer_.cancel();
  if (transport_) transport_->close();
  if (managed_) managed_->stop();
}

}  // namespace haproxy
}  // namespace baker::sherlock
