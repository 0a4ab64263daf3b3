#include "directory/settings.hpp"

#include <charconv>
#include <iostream>

#include "common/host_port.hpp"
#include "common/logging.hpp"
#include "common/options.hpp"
#include "wire/address.hpp"

namespace baker::directory {
namespace {

constexpr const char* kUsage =
    "usage: directory [--listen ADDR:PORT] [--multicast GROUP:PORT [--multicast-ttl N]\n"
    "                 [--multicast-if ADDR]] [--miss-limit N] [--key-file FILE]\n"
    "                 [--metrics ADDR:PORT|off] [--log-level LEVEL] [--config FILE] [options]\n"
    "\n"
    "Baker's directory: collects heartbeats from watsons into a route table, expires silent\n"
    "instances, and streams sequenced Deltas, Ticks and snapshots to subscribed sherlocks\n"
    "(docs/PROTOCOL.md). Keeps nothing on disk: after a start it warms up before it lets\n"
    "clients drop routes. GET /metrics (Prometheus) and /routes (JSON) on the metrics address.\n"
    "Signals: SIGTERM/SIGINT stop cleanly; SIGHUP reloads the key file and the log level.\n"
    "\n"
    "The config file takes the same settings as 'name = value' lines (e.g. 'miss-limit = 4');\n"
    "flags win over the file. DURATION is a number and a unit: 250ms, 2s, 1.5s, 1m (us, ms, s, m,\n"
    "h; a bare number is refused).";

struct Problem {
  std::string message;
};

std::string get(const po::variables_map& vm, const char* name, const std::string& fallback) {
  return vm.count(name) ? vm[name].as<std::string>() : fallback;
}

std::optional<std::uint64_t> parse_uint(const std::string& text) {
  std::uint64_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || text.empty()) return std::nullopt;
  return v;
}

// Reads an integer flag within [lo, hi]; records a problem naming the flag otherwise.
template <typename T>
void read_uint(const po::variables_map& vm, const char* name, std::uint64_t lo, std::uint64_t hi,
               T& out, std::vector<Problem>& problems) {
  if (!vm.count(name)) return;
  const auto text = vm[name].as<std::string>();
  const auto v = parse_uint(text);
  if (!v || *v < lo || *v > hi) {
    problems.push_back({"--" + std::string(name) + ": expected an integer " + std::to_string(lo) +
                        ".." + std::to_string(hi) + ", got '" + text + "'"});
    return;
  }
  out = static_cast<T>(*v);
}

void read_duration(const po::variables_map& vm, const char* name, Duration& out) {
  if (vm.count(name)) out = vm[name].as<Duration>();  // parsed and range-checked by the flag
}

std::optional<HostPort> read_host_port(const po::variables_map& vm, const char* name,
                                       bool allow_zero, std::vector<Problem>& problems) {
  if (!vm.count(name)) return std::nullopt;
  HostPortRules rules;
  rules.allow_zero = allow_zero;
  rules.numeric = true;
  std::string error;
  auto hp = parse_host_port(vm[name].as<std::string>(), rules, &error);
  if (!hp) problems.push_back({"--" + std::string(name) + ": " + error});
  return hp;
}

po::options_description describe_flags() {
  po::options_description flags("options");
  const DirectoryConfig defaults;
  auto s = [] { return po::value<std::string>(); };
  // Durations: common/duration.hpp's grammar, each within its range; defaults from DirectoryConfig.
  auto d = [](Duration min, Duration max) { return duration_value(min, max); };
  auto dflt = [](Duration v) { return " (" + format_duration(v) + ")"; };
  const std::string warmup_help =
      "upper bound of the warm-up after start, 0s..2h; 0s: none" + dflt(defaults.warmup_max);
  const std::string lease_help = "subscription lease, 1s..1h" + dflt(defaults.lease);
  const std::string tick_help = "period of Ticks, 10ms..10m" + dflt(defaults.tick_interval);
  const std::string gap_help = "Ticks after bursts of Deltas: at most one per this gap, 0s..10s" +
                               dflt(defaults.burst_tick_gap);
  const std::string cookie_help =
      "address-validation cookies stay valid this long, 10s..24h" + dflt(defaults.cookie_lifetime);
  const std::string skew_help =
      "watson clocks may be off by this much; older or newer heartbeats and goodbyes are "
      "refused as possible replays, 10ms..1h" +
      dflt(defaults.max_clock_skew);
  const std::string slice_help = "pacing slice of snapshots, 1ms..1s" + dflt(defaults.resync_slice);
  flags.add_options()                                                                         //
      ("help,h", "show this help and exit")                                                   //
      ("version", "print the version and exit")                                              //
      ("config,c", s()->value_name("FILE"), "config file (same settings, 'name = value')")    //
      ("listen", s()->value_name("ADDR:PORT"), "UDP address for all traffic (0.0.0.0:7400)")  //
      ("multicast", s()->value_name("GROUP:PORT"),
       "send Deltas and Ticks once to this group for subscribers that joined it")  //
      ("multicast-ttl", s()->value_name("N"), "multicast hop limit, 0..255 (1)")   //
      ("multicast-if", s()->value_name("ADDR"),
       "address of the interface that sends to the group (kernel's choice)")  //
      ("miss-limit", s()->value_name("N"),
       "expire an instance after N of its intervals without a heartbeat (5)")  //
      ("key-file", s()->value_name("FILE"),
       "cluster keys: authenticate everything sent and require it on everything received")  //
      ("metrics", s()->value_name("ADDR:PORT"),
       "HTTP /metrics and /routes, or 'off' (127.0.0.1:7401)")                                    //
      ("log-level", s()->value_name("LEVEL"), "trace|debug|info|warn|error|critical|off (info)")  //
      ("warmup-max", d(Duration::zero(), std::chrono::hours(2)), warmup_help.c_str())             //
      ("lease", d(std::chrono::seconds(1), milliseconds(wire::kMaxLeaseMs)), lease_help.c_str())  //
      ("tick-interval", d(milliseconds(10), std::chrono::minutes(10)), tick_help.c_str())         //
      ("burst-tick-gap", d(Duration::zero(), std::chrono::seconds(10)), gap_help.c_str())         //
      ("log-size", s()->value_name("N"), "changes kept to answer NACKs (65536)")                  //
      ("datagram-budget", s()->value_name("BYTES"), "largest datagram sent, 1200..65507 (1400)")  //
      ("nack-rate", s()->value_name("N"), "NACKs per second per subscriber (20)")                 //
      ("nack-burst", s()->value_name("N"), "NACK burst per subscriber (40)")                      //
      ("max-snapshots", s()->value_name("N"), "snapshots/large retransmits in flight (8)")        //
      ("resync-burst", s()->value_name("N"),
       "datagrams per pacing slice, shared by the snapshots in flight (64)")             //
      ("resync-slice", d(milliseconds(1), std::chrono::seconds(1)), slice_help.c_str())  //
      ("max-clock-skew", d(milliseconds(10), std::chrono::hours(1)), skew_help.c_str())  //
      ("max-tombstones", s()->value_name("N"),
       "records of routes gone (Goodbye, expiry) held against replays (262144)")  //
      ("max-routes", s()->value_name("N"), "routes held at most (4000000)")       //
      ("max-subscribers", s()->value_name("N"),
       "proven subscriptions held at most (100000)")  //
      ("max-subscribers-per-host", s()->value_name("N"),
       "proven subscriptions per source address at most (32)")  //
      ("cookie-lifetime", d(std::chrono::seconds(10), std::chrono::hours(24)),
       cookie_help.c_str())  //
      ("receive-buffer", s()->value_name("BYTES"), "UDP receive buffer to ask for (16777216)")  //
      ("send-buffer", s()->value_name("BYTES"), "UDP send buffer to ask for (4194304)");
  return flags;
}

}  // namespace

LoadedSettings load_settings(int argc, char** argv) {
  LoadedSettings out;
  const auto flags = describe_flags();
  auto parsed = parse_options(argc, argv, flags, kUsage, "config");
  if (parsed.exit_code) {
    out.exit_code = parsed.exit_code;
    return out;
  }
  const po::variables_map& vm = parsed.values;
  DaemonSettings& s = out.settings;
  std::vector<Problem> problems;

  if (auto hp = read_host_port(vm, "listen", /*allow_zero=*/true, problems)) s.listen = *hp;
  s.multicast = read_host_port(vm, "multicast", false, problems);
  if (s.multicast) {
    const auto group = wire::IpAddress::parse(s.multicast->host);
    const bool multicast_address =
        group && (group->family == wire::IpAddress::Family::v4 ? (group->bytes[0] & 0xf0) == 0xe0
                                                               : group->bytes[0] == 0xff);
    if (!multicast_address) {
      problems.push_back({"--multicast: '" + s.multicast->host +
                          "' is not a multicast group address (224.0.0.0/4 or ff00::/8)"});
    }
  }
  read_uint(vm, "multicast-ttl", 0, 255, s.multicast_ttl, problems);
  s.multicast_if = get(vm, "multicast-if", "");
  if (!s.multicast_if.empty() && !wire::IpAddress::parse(s.multicast_if)) {
    problems.push_back(
        {"--multicast-if: expected a numeric address, got '" + s.multicast_if + "'"});
  }
  if ((vm.count("multicast-ttl") || vm.count("multicast-if")) && !s.multicast) {
    problems.push_back({"--multicast-ttl/--multicast-if need --multicast GROUP:PORT"});
  }
  if (vm.count("metrics") && vm["metrics"].as<std::string>() == "off") {
    s.metrics.reset();
  } else if (auto hp = read_host_port(vm, "metrics", true, problems)) {
    s.metrics = *hp;
  }
  s.key_file = get(vm, "key-file", "");
  s.log_level = get(vm, "log-level", "info");
  if (!set_log_level(s.log_level)) {
    problems.push_back(
        {"--log-level: expected trace, debug, info, warn, error, critical or off, "
         "got '" +
         s.log_level + "'"});
  }
  DirectoryConfig& c = s.core;
  c.multicast = s.multicast.has_value();
  read_uint(vm, "miss-limit", 1, 100, c.miss_limit, problems);
  read_duration(vm, "warmup-max", c.warmup_max);
  read_duration(vm, "lease", c.lease);
  read_duration(vm, "tick-interval", c.tick_interval);
  read_duration(vm, "burst-tick-gap", c.burst_tick_gap);
  read_uint(vm, "log-size", 1, 100'000'000, c.log_size, problems);
  read_uint(vm, "datagram-budget", wire::kMinDatagramBudget, wire::kMaxDatagramSize,
            c.datagram_budget, problems);
  std::uint64_t rate = 20;
  std::uint64_t burst = 40;
  read_uint(vm, "nack-rate", 1, 1'000'000, rate, problems);
  read_uint(vm, "nack-burst", 1, 1'000'000, burst, problems);
  c.nack_rate_per_s = static_cast<double>(rate);
  c.nack_burst = static_cast<double>(burst);
  read_uint(vm, "max-snapshots", 1, 10'000, c.max_snapshots_in_flight, problems);
  read_uint(vm, "resync-burst", 1, 100'000, c.resync_datagrams_per_slice, problems);
  read_duration(vm, "resync-slice", c.resync_slice);
  read_duration(vm, "max-clock-skew", c.max_clock_skew);
  read_uint(vm, "max-tombstones", 1, 100'000'000, c.max_tombstones, problems);
  read_uint(vm, "max-routes", 1, 100'000'000, c.max_routes, problems);
  read_uint(vm, "max-subscribers", 1, 10'000'000, c.max_subscribers, problems);
  read_uint(vm, "max-subscribers-per-host", 1, 10'000'000, c.max_subscribers_per_host, problems);
  read_duration(vm, "cookie-lifetime", c.cookie_lifetime);
  read_uint(vm, "receive-buffer", 4096, 1u << 30, s.receive_buffer, problems);
  read_uint(vm, "send-buffer", 4096, 1u << 30, s.send_buffer, problems);
  if (problems.empty()) {
    if (auto bad = c.validate()) problems.push_back({*bad});
  }
  if (!problems.empty()) {
    for (const auto& p : problems) std::cerr << "error: " << p.message << "\n";
    std::cerr << "(see --help)\n";
    out.exit_code = 2;
  }
  return out;
}

}  // namespace baker::directory
