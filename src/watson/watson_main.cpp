// watson: health-checks one service instance and heartbeats it to the directory. See --help.
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "common/key_file.hpp"
#include "common/logging.hpp"
#include "common/real_clock.hpp"
#include "common/startup_error.hpp"
#include "watson/watson_daemon.hpp"
#include "watson/watson_options.hpp"
#include "wire/validate.hpp"

namespace {

namespace asio = boost::asio;
using namespace baker;
using namespace baker::watson;

// An IP address as written, or a host name resolved once, now (IPv4 preferred).
asio::ip::address resolve_once(asio::io_context& io, const std::string& host,
                               const std::string& field) {
  boost::system::error_code ec;
  const auto literal = asio::ip::make_address(host, ec);
  if (!ec) return literal;
  asio::ip::tcp::resolver resolver(io);
  const auto results = resolver.resolve(host, "", ec);
  if (ec || results.empty()) {
    throw StartupError("cannot resolve host '" + host + "' of " + field + ": " +
                       (ec ? ec.message() : "no address") +
                       " (check the name and DNS, or give an IP address)");
  }
  asio::ip::address chosen = results.begin()->endpoint().address();
  for (const auto& r : results) {
    if (r.endpoint().address().is_v4()) {
      chosen = r.endpoint().address();
      break;
    }
  }
  spdlog::info("{}: resolved host '{}' to {} (once, at start)", field, host, chosen.to_string());
  return chosen;
}

std::string endpoint_name(const asio::ip::address& a, std::uint16_t port) {
  return a.is_v6() ? "[" + a.to_string() + "]:" + std::to_string(port)
                   : a.to_string() + ":" + std::to_string(port);
}

DaemonSetup make_setup(asio::io_context& io, WatsonConfig config) {
  DaemonSetup s;
  const auto address = resolve_once(io, config.service.host, "service_url");
  const auto wire_address = wire::IpAddress::parse(address.to_string());
  if (!wire_address) throw UsageError("service_url: unusable address " + address.to_string());

  auto& route = s.core.route;
  route.service = config.service_name;
  route.address = *wire_address;
  route.port = config.service.port;
  route.weight = config.weight;
  route.tags = config.tags;
  route.instance = config.instance_id.empty()
                       ? address.to_string() + ":" + std::to_string(config.service.port)
                       : config.instance_id;
  if (!wire::is_valid_instance_id(route.instance)) {
    throw UsageError("the default instance id '" + route.instance +
                     "' is not valid; set instance_id (1..64 of A-Z a-z 0-9 _ - . :)");
  }
  s.core.incarnation = unix_time_us();  // once, at start: orders this process after earlier ones
  s.core.heartbeat_interval = config.interval;
  s.core.check_interval = config.interval;
  s.core.jitter = config.jitter;
  s.core.healthy_threshold = config.rise;
  s.core.unhealthy_threshold = config.fall;
  s.core.goodbye_count = config.goodbye_count;
  s.core.goodbye_spacing = config.goodbye_spacing;
  s.core.start_draining = config.draining;
  s.jitter_seed = random_nonzero_u64();

  switch (config.check) {
    case CheckKind::http: {
      const auto& url = config.health_check_url;
      const auto a = resolve_once(io, url.host, "health_check_url");
      s.check = make_http_check(io, {a, url.port}, url.authority(), url.target,
                                config.expected_codes, config.check_timeout);
      break;
    }
    case CheckKind::tcp: {
      const auto a = resolve_once(io, config.tcp_target.host, "tcp_check");
      s.check = make_tcp_check(io, {a, config.tcp_target.port}, config.check_timeout);
      break;
    }
    case CheckKind::exec:
      s.check = make_exec_check(io, config.exec_command, config.check_timeout);
      break;
    case CheckKind::none:
      s.check = make_no_check(io);
      break;
  }
  for (const auto& d : config.directories) {
    const auto a = resolve_once(io, d.host, "directory");
    s.directories.emplace_back(asio::ip::udp::endpoint(a, d.port), endpoint_name(a, d.port));
  }
  if (!config.key_file.empty()) {
    s.keys = load_key_file(config.key_file, {wire::Role::announce}, "watson");
  }
  s.config = std::move(config);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  auto loaded = load_config(argc, argv);
  if (loaded.exit_code) return *loaded.exit_code;
  init_logging("watson", loaded.config->log_level);
  try {
    asio::io_context io;
    WatsonDaemon daemon(io, make_setup(io, std::move(*loaded.config)));
    daemon.start();
    io.run();
    return 0;
  } catch (const std::exception& e) {
    return report_startup_failure(e);  // 2 for a usage error, 1 for the rest
  }
}
