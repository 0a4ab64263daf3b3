// sherlock: subscribes to the directories, keeps a replica of the routes, serves them on a local
// query interface and drives a local HAProxy (unless --no-haproxy).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <csignal>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <stdexcept>

#include "common/host_port.hpp"
#include "common/key_file.hpp"
#include "common/logging.hpp"
#include "common/options.hpp"
#include "common/real_clock.hpp"
#include "common/startup_error.hpp"
#include "common/systemd_link.hpp"
#include "sherlock/haproxy_shell.hpp"
#include "sherlock/sherlock_daemon.hpp"
#include "wire/auth.hpp"
#include "wire/limits.hpp"
#include "wire/validate.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
namespace po = boost::program_options;

namespace {

constexpr std::size_t kMaxDirectories = 8;

po::options_description make_flags() {
  po::options_description flags("sherlock options");
  // clang-format off
  flags.add_options()
    ("help,h", "show this help and exit")
    ("version", "print the version and exit")
    ("config", po::value<std::string>(),
     "config file: INI lines 'name = value' with the flags' names; flags win")
    ("directory",
     po::value<std::vector<std::string>>()->default_value({"127.0.0.1:7400"}, "127.0.0.1:7400"),
     "a directory's UDP ADDR:PORT (host names are resolved once at start); repeat it for several "
     "directories (at most 8): every one is subscribed to and their routes are merged")
    ("listen", po::value<std::string>()->default_value("0.0.0.0:0"),
     "local UDP ADDR:PORT to subscribe from (port 0: any free port)")
    ("service", po::value<std::vector<std::string>>()->composing(),
     "subscribe to this service only (repeatable; default: every service)")
    ("multicast", po::value<std::vector<std::string>>(),
     "also hear Deltas and Ticks on this multicast GROUP:PORT (sets the member flag): one group "
     "shared by every directory, or one per --directory in the same order")
    ("multicast-if", po::value<std::string>(),
     "local interface address to join --multicast on (default: the kernel's choice)")
    ("key-file", po::value<std::string>(),
     "cluster key file ('<id> <64 hex> [primary]' per line); reloaded on SIGHUP")
    ("http", po::value<std::string>()->default_value("127.0.0.1:7402"),
     "local query interface ADDR:PORT (/routes, /routes/<service>, /digest, /metrics)")
    ("log-level", po::value<std::string>()->default_value("info"),
     "trace, debug, info, warn, error, critical or off; reloaded on SIGHUP")
    ("receive-buffer", po::value<int>()->default_value(8 << 20),
     "UDP receive buffer in bytes (a 100k-route snapshot is ~3000 datagrams at once)")
    ("max-held-deltas", po::value<std::size_t>()->default_value(65536),
     "out-of-order Deltas held behind a gap at most (more: dropped and counted, then a resync)")
    ("max-snapshot-chunks", po::value<std::size_t>()->default_value(1u << 18),
     "snapshot chunks under assembly at most (a 4M-route table is ~85k)")
    ("max-snapshot-bytes", po::value<std::size_t>()->default_value(std::size_t{2} << 30),
     "bytes of routes under snapshot assembly at most")
    ("ready-wait", baker::duration_value(std::chrono::seconds(5), baker::Duration::zero(),
                                         std::chrono::hours(1)),
     "tell systemd READY=1 once the replica holds a directory's snapshot, or after this long "
     "without one (0s: at once)")
    ("no-haproxy", po::bool_switch(),
     "keep the replica and the query interface only; drive no HAProxy");
  // clang-format on
  baker::sherlock::add_haproxy_options(flags);
  return flags;
}

std::string get(const po::variables_map& v, const char* name) {
  return v[name].as<std::string>();
}

udp::endpoint udp_endpoint(asio::io_context& io, const std::string& flag, const std::string& text,
                           bool allow_zero, bool resolve) {
  baker::HostPortRules rules;
  rules.allow_zero = allow_zero;
  rules.numeric = !resolve;
  std::string why;
  const auto hp = baker::parse_host_port(text, rules, &why);
  if (!hp) throw baker::UsageError("--" + flag + ": " + why);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(hp->host, ec);
  if (!ec) return {address, hp->port};
  udp::resolver resolver(io);
  const auto results = resolver.resolve(hp->host, std::to_string(hp->port), ec);
  if (ec || results.empty()) {
    throw baker::StartupError("--" + flag + " '" + text + "': cannot resolve '" + hp->host + "': " +
                              ec.message() + " (check the name and DNS, or give an IP address)");
  }
  return results.begin()->endpoint();
}

std::optional<baker::wire::Keyring> load_keys(const po::variables_map& v) {
  if (!v.count("key-file")) return std::nullopt;
  return baker::load_key_file(get(v, "key-file"), {baker::wire::Role::publish}, "sherlock");
}

baker::sherlock::SherlockOptions daemon_options(asio::io_context& io, const po::variables_map& v) {
  baker::sherlock::SherlockOptions o;
  const auto& directories = v["directory"].as<std::vector<std::string>>();
  if (directories.size() > kMaxDirectories) {
    throw baker::UsageError("--directory: at most " + std::to_string(kMaxDirectories) +
                            " directories");
  }
  for (const auto& text : directories) {
    const auto d = udp_endpoint(io, "directory", text, false, true);
    if (std::find(o.directories.begin(), o.directories.end(), d) != o.directories.end()) {
      throw baker::UsageError("--directory '" + text + "': given twice");
    }
    if (!o.directories.empty() && d.protocol() != o.directories.front().protocol()) {
      throw baker::UsageError("--directory '" + text +
                              "': every directory must be IPv4, or every one IPv6");
    }
    o.directories.push_back(d);
  }
  o.listen = udp_endpoint(io, "listen", get(v, "listen"), true, false);
  if (v["listen"].defaulted() && o.directories.front().address().is_v6()) {
    o.listen = udp::endpoint(udp::v6(), 0);  // the default follows the directories' family
  }
  if (o.listen.protocol() != o.directories.front().protocol()) {
    throw baker::UsageError("--listen '" + get(v, "listen") + "' and --directory '" +
                            directories.front() + "' must both be IPv4 or both IPv6");
  }
  if (v.count("service")) {
    for (const auto& s : v["service"].as<std::vector<std::string>>()) {
      if (!baker::wire::is_valid_service_name(s)) {
        throw baker::UsageError("--service '" + s +
                                "': 1..100 chars of a-z 0-9 _ -, starting with a letter or _");
      }
      if (std::find(o.replica.services.begin(), o.replica.services.end(), s) ==
          o.replica.services.end()) {
        o.replica.services.push_back(s);
      }
    }
    if (o.replica.services.size() > baker::wire::kMaxServicesPerSubscribe) {
      throw baker::UsageError("--service: at most " +
                              std::to_string(baker::wire::kMaxServicesPerSubscribe) + " services");
    }
  }
  if (v.count("multicast")) {
    const auto& groups = v["multicast"].as<std::vector<std::string>>();
    if (groups.size() != 1 && groups.size() != o.directories.size()) {
      throw baker::UsageError(
          "--multicast: give one group (shared by every directory) or one per "
          "--directory (" +
          std::to_string(o.directories.size()) + "), not " + std::to_string(groups.size()));
    }
    for (const auto& text : groups) {
      const auto group = udp_endpoint(io, "multicast", text, false, false);
      if (!group.address().is_multicast()) {
        throw baker::UsageError("--multicast '" + text + "': not a multicast group");
      }
      if (std::find(o.multicast_groups.begin(), o.multicast_groups.end(), group) !=
          o.multicast_groups.end()) {
        throw baker::UsageError("--multicast '" + text +
                                "': given twice (a group shared by "
                                "every directory is given once)");
      }
      o.multicast_groups.push_back(group);
    }
    o.replica.multicast_member = true;
  }
  if (v.count("multicast-if")) {
    if (o.multicast_groups.empty()) throw baker::UsageError("--multicast-if needs --multicast");
    boost::system::error_code ec;
    o.multicast_interface = asio::ip::make_address(get(v, "multicast-if"), ec);
    if (ec)
      throw baker::UsageError("--multicast-if '" + get(v, "multicast-if") + "': not an address");
  }
  baker::HostPortRules any_port;
  any_port.allow_zero = true;
  any_port.numeric = true;
  std::string why;
  const auto http = baker::parse_host_port(get(v, "http"), any_port, &why);
  if (!http) throw baker::UsageError("--http: " + why);
  o.http = tcp::endpoint(asio::ip::make_address(http->host), http->port);
  o.receive_buffer = v["receive-buffer"].as<int>();
  if (o.receive_buffer < 65536) throw baker::UsageError("--receive-buffer: at least 65536 bytes");
  o.ready_wait = v["ready-wait"].as<baker::Duration>();
  o.replica.max_held_deltas = v["max-held-deltas"].as<std::size_t>();
  o.replica.max_snapshot_chunks = v["max-snapshot-chunks"].as<std::size_t>();
  o.replica.max_snapshot_bytes = v["max-snapshot-bytes"].as<std::size_t>();
  if (o.replica.max_held_deltas < 16 || o.replica.max_snapshot_chunks < 16 ||
      o.replica.max_snapshot_bytes < (1u << 20)) {
    throw baker::UsageError(
        "--max-held-deltas and --max-snapshot-chunks: at least 16; --max-snapshot-bytes: at "
        "least 1048576");
  }
  o.replica.subscriber_id = baker::random_nonzero_u64();
  o.replica.random_seed = baker::random_nonzero_u64();
  return o;
}

const char* kUsage =
    "usage: sherlock [--directory ADDR:PORT]... [--service NAME]... [--no-haproxy] [options]\n"
    "Subscribes to Baker's directories, keeps a replica of the routes (merged: per instance the\n"
    "freshest record of any directory), serves them on a local HTTP query interface and drives\n"
    "the local HAProxy through its admin socket.\n"
    "DURATION is a number and a unit: 500ms, 10s, 1.5s, 1m (a bare number is refused).";

}  // namespace

int main(int argc, char** argv) {
#if defined(__GLIBC__)
  // A snapshot allocates and frees tens of MB at once; keep that memory for the next one instead
  // of returning it and taking page faults again (measured: view rebuild of 100k routes 18 -> 10
  // ms).
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
#endif
  const auto flags = make_flags();
  auto parsed = baker::parse_options(argc, argv, flags, kUsage);
  if (parsed.exit_code) return *parsed.exit_code;
  const auto& values = parsed.values;

  baker::init_logging("sherlock");
  asio::io_context io;
  // Before anything starts a child (a managed haproxy): it takes NOTIFY_SOCKET out of the
  // environment.
  baker::SystemdLink systemd(io);
  bool ready = false;  // READY=1 told: only then does a SIGHUP say READY=1 again
  std::unique_ptr<baker::sherlock::SherlockDaemon> daemon;
  bool have_keys = false;  // whether the daemon authenticates: a SIGHUP must not turn that off
  try {
    if (!baker::set_log_level(get(values, "log-level"))) {
      throw baker::UsageError("--log-level '" + get(values, "log-level") +
                              "': expected trace, debug, info, warn, error, critical or off");
    }
    auto options = daemon_options(io, values);
    auto keys = load_keys(values);
    have_keys = keys.has_value();
    std::unique_ptr<baker::sherlock::RouteSink> sink;
    if (!values["no-haproxy"].as<bool>()) {
      // Throws UsageError for a bad flag, StartupError when haproxy does not start.
      sink = baker::sherlock::make_haproxy_sink(io, values);
    } else {
      spdlog::info("--no-haproxy: replica and query interface only");
    }
    daemon = std::make_unique<baker::sherlock::SherlockDaemon>(io, std::move(options),
                                                               std::move(keys), std::move(sink));
  } catch (const boost::system::system_error& e) {
    // Binding the UDP socket or the query interface failed.
    return baker::report_startup_failure(baker::StartupError(
        std::string("cannot start: ") + e.what() + " (check --listen and --http)"));
  } catch (const std::exception& e) {
    return baker::report_startup_failure(e);  // 2 for a usage error, 1 for the rest
  }

  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          if (ready) systemd.reloading();
          // Re-read flags and the config file: new log level and keys, nothing else changes.
          auto again = baker::parse_options(argc, argv, flags, kUsage);
          if (again.exit_code) {
            spdlog::error("SIGHUP: configuration invalid, keeping the current one");
          } else if (!baker::set_log_level(get(again.values, "log-level"))) {
            spdlog::error("SIGHUP: --log-level '{}' invalid, keeping the current one",
                          get(again.values, "log-level"));
          } else {
            // Fail closed (common/key_file.hpp): a refused key change keeps the keys; the log
            // level is applied all the same.
            auto keys = baker::reload_key_file(
                again.values.count("key-file") ? get(again.values, "key-file") : "", have_keys,
                {baker::wire::Role::publish}, "sherlock");
            if (keys.refused()) {
              spdlog::error("SIGHUP: {} (the log level is applied)", keys.message);
            } else {
              spdlog::info(
                  "SIGHUP: reloaded log level ({}) and keys ({})", get(again.values, "log-level"),
                  keys.keys ? std::to_string(keys.keys->size()) + " key(s)" : std::string("none"));
              have_keys = keys.keys.has_value();
              daemon->set_keys(std::move(keys.keys));
            }
          }
          if (ready) systemd.reloaded();
          signals.async_wait(on_signal);
          return;
        }
        spdlog::info("signal {}: shutting down", sig);
        systemd.stopping();
        daemon->stop();
        signals.cancel();  // nothing left to wait for: run() returns
      };
  signals.async_wait(on_signal);

  daemon->on_ready([&](const std::string& status) {
    ready = true;
    systemd.ready(status);
  });
  daemon->start();
  try {
    io.run();
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return 1;
  }
  return 0;
}
