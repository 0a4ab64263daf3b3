#include "e2e_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

#include "json_value.hpp"

#ifndef BAKER_SOURCE_DIR
#error "BAKER_SOURCE_DIR must be defined"
#endif

namespace baker::testing {

std::string greeting_service() {
  return std::string(BAKER_SOURCE_DIR) + "/tools/greeting-service.py";
}

namespace {

// Runs a shell command quietly; false if it failed.
bool sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

void must(const std::string& cmd) {
  if (!sh(cmd)) throw std::runtime_error("command failed: " + cmd);
}

std::string loopback(std::uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

// A port for one of the cluster's daemons: free on 127.0.0.1 a moment ago, never handed out before
// in this process, and below the kernel's ephemeral range (32768-60999), so no client connection
// of the test or of a daemon takes it between now and the daemon's bind (with many clusters
// started side by side, free_tcp_port()'s ephemeral ports did collide).
std::uint16_t cluster_port(int type) {
  static std::mutex mu;
  static std::set<std::uint16_t> given;
  static std::mt19937 rng(static_cast<unsigned>(getpid()) * 7919u +
                          static_cast<unsigned>(std::time(nullptr)));
  std::lock_guard lock(mu);
  for (int attempt = 0; attempt < 2000; ++attempt) {
    const auto port = static_cast<std::uint16_t>(20000 + rng() % 12000);
    if (given.count(port)) continue;
    const int fd = socket(AF_INET, type, 0);
    if (fd < 0) break;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    if (!free) continue;
    given.insert(port);
    return port;
  }
  return type == SOCK_DGRAM ? free_udp_port() : free_tcp_port();
}

std::uint16_t cluster_udp_port() {
  return cluster_port(SOCK_DGRAM);
}
std::uint16_t cluster_tcp_port() {
  return cluster_port(SOCK_STREAM);
}

}  // namespace

std::string enter_private_network() {
  if (unshare(CLONE_NEWNET) != 0) {
    return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno) +
           " (the test runs as root)";
  }
  if (!sh("ip link set lo up")) return "ip link set lo up failed";
  if (!sh("nft add table inet baker_e2e") ||
      !sh("nft 'add chain inet baker_e2e in { type filter hook input priority 0 ; }'")) {
    return "nft could not make the table";
  }
  return "";
}

Cluster::Cluster(std::size_t directories)
    : directories_(directories),
      sherlock_http_(cluster_tcp_port()),
      sherlock_udp_(cluster_udp_port()),
      frontend_(cluster_tcp_port()) {
  for (auto& d : directories_) {
    d.port = cluster_udp_port();
    d.metrics = cluster_tcp_port();
  }
}

namespace {

// pid -> command line (NULs as spaces) of every haproxy started on `master_socket`.
std::map<int, std::string> haproxies_on(const std::string& master_socket) {
  std::map<int, std::string> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    auto cmd = read_file(e.path().string() + "/cmdline");
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find("haproxy") != std::string::npos && cmd.find(" -W ") != std::string::npos &&
        cmd.find(master_socket) != std::string::npos) {
      out.emplace(std::stoi(name), cmd);
    }
  }
  return out;
}

int parent_of(int pid) {
  const auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream in(stat.substr(close + 2));
  std::string state;
  int ppid = -1;
  in >> state >> ppid;
  return ppid;
}

}  // namespace

int Cluster::managed_master_pid() const {
  const auto text = read_file(managed_run_dir() + "/haproxy.pid");
  try {
    return text.empty() ? -1 : std::stoi(text);
  } catch (const std::exception&) {
    return -1;
  }
}

int Cluster::managed_masters() const {
  const auto procs = haproxies_on(managed_run_dir() + "/master.sock");
  int masters = 0;
  for (const auto& [pid, cmd] : procs) {
    if (!procs.count(parent_of(pid))) ++masters;
  }
  return masters;
}

Cluster::~Cluster() {
  sherlock_.reset();
  // Managed mode leaves haproxy serving when sherlock exits (or is killed): the test's own.
  for (const auto& [pid, cmd] : haproxies_on(managed_run_dir() + "/master.sock")) {
    ::kill(pid, SIGKILL);
  }
  for (auto& i : instances_) {
    i->watson.reset();
    i->service.reset();
  }
  for (auto& d : directories_) d.process.reset();
}

void Cluster::start_directory(std::vector<std::string> extra) {
  for (std::size_t k = 0; k < directories_.size(); ++k) {
    if (!directories_[k].process) start_directory(k, extra);
  }
}

void Cluster::start_directory(std::size_t k, std::vector<std::string> extra) {
  Directory& d = directories_.at(k);
  if (!extra.empty() || d.args.empty()) {
    d.args = {bin("directory"), "--listen", loopback(d.port), "--metrics", loopback(d.metrics)};
    if (std::find(extra.begin(), extra.end(), "--warmup-max") == extra.end()) {
      d.args.insert(d.args.end(), {"--warmup-max", "1s"});
    }
    d.args.insert(d.args.end(), extra.begin(), extra.end());
  }
  d.process.reset();
  const std::string log = k == 0 ? "directory.log" : "directory-" + std::to_string(k) + ".log";
  d.process = std::make_unique<ChildProcess>(d.args, dir_.file(log));
  const auto port = d.metrics;
  if (!wait_until([&] { return http_get("127.0.0.1", port, "/metrics").has_value(); }, 5000ms)) {
    throw std::runtime_error("directory " + std::to_string(k) +
                             " did not start: " + d.process->log());
  }
}

void Cluster::kill_directory(std::size_t k) {
  Directory& d = directories_.at(k);
  d.process->signal(SIGKILL);
  d.process->wait_exit(2000ms);
  d.process.reset();
}

std::size_t Cluster::add_instance(const std::string& version, std::vector<std::string> extra) {
  auto inst = std::make_unique<Instance>();
  inst->version = version;
  inst->port = cluster_tcp_port();
  const std::size_t index = instances_.size();
  inst->unhealthy_file = dir_.file("unhealthy-" + std::to_string(index));
  inst->service = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/bin/python3", greeting_service(), "--port",
                               std::to_string(inst->port), "--version", version, "--unhealthy-file",
                               inst->unhealthy_file},
      dir_.file("service-" + std::to_string(index) + ".log"));
  const auto port = inst->port;
  if (!wait_until([&] { return http_get("127.0.0.1", port, "/health").has_value(); }, 5000ms)) {
    throw std::runtime_error("sample service did not start");
  }
  instances_.push_back(std::move(inst));
  start_watson(index, std::move(extra));
  return index;
}

std::size_t Cluster::add_checkless_instance(const std::string& version,
                                            std::vector<std::string> extra) {
  auto inst = std::make_unique<Instance>();
  inst->version = version;
  inst->port = cluster_tcp_port();
  const std::size_t index = instances_.size();
  instances_.push_back(std::move(inst));
  extra.insert(extra.begin(), {"--check", "none"});
  start_watson(index, std::move(extra));
  return index;
}

void Cluster::say_goodbye(std::size_t i) {
  instances_.at(i)->watson->signal(SIGTERM);
}

std::string Cluster::address_of(std::size_t i) const {
  return loopback(instances_.at(i)->port);
}

void Cluster::set_healthy(std::size_t i, bool healthy) {
  const std::string& path = instances_.at(i)->unhealthy_file;
  if (healthy) {
    std::remove(path.c_str());
  } else {
    std::ofstream(path) << "unhealthy\n";
  }
}

void Cluster::start_watson(std::size_t i, std::vector<std::string> extra) {
  Instance& inst = *instances_.at(i);
  const std::string url = "http://127.0.0.1:" + std::to_string(inst.port);
  std::vector<std::string> args = {bin("watson"),
                                   "--service-name",
                                   "greeting",
                                   "--service-url",
                                   url,
                                   "--interval",
                                   std::to_string(watson_interval_ms_) + "ms",
                                   "--rise",
                                   "1",
                                   "--fall",
                                   "2",
                                   "--tags",
                                   inst.version};
  if (inst.service) args.insert(args.end(), {"--health-check-url", url + "/health"});
  for (const auto& d : directories_) args.insert(args.end(), {"--directory", loopback(d.port)});
  args.insert(args.end(), extra.begin(), extra.end());
  inst.watson =
      std::make_unique<ChildProcess>(args, dir_.file("watson-" + std::to_string(i) + ".log"));
}

std::vector<std::string> Cluster::sherlock_base() const {
  std::vector<std::string> args = {bin("sherlock"), "--listen", loopback(sherlock_udp_), "--http",
                                   loopback(sherlock_http_)};
  for (const auto& d : directories_) args.insert(args.end(), {"--directory", loopback(d.port)});
  return args;
}

void Cluster::start_sherlock_replica_only(std::vector<std::string> extra) {
  auto args = sherlock_base();
  args.push_back("--no-haproxy");
  args.insert(args.end(), extra.begin(), extra.end());
  sherlock_ = std::make_unique<ChildProcess>(args, dir_.file("sherlock.log"));
}

void Cluster::start_sherlock_managed(std::vector<std::string> extra) {
  auto args = sherlock_base();
  args.insert(args.end(),
              {"--frontend", loopback(frontend_), "--run-dir", dir_.file("haproxy-run")});
  args.insert(args.end(), extra.begin(), extra.end());
  sherlock_ = std::make_unique<ChildProcess>(args, dir_.file("sherlock.log"));
}

void Cluster::start_sherlock_external(const std::string& admin_socket,
                                      std::vector<std::string> extra) {
  auto args = sherlock_base();
  args.insert(args.end(), {"--haproxy-sock", admin_socket});
  args.insert(args.end(), extra.begin(), extra.end());
  sherlock_ = std::make_unique<ChildProcess>(args, dir_.file("sherlock.log"));
}

void Cluster::filter_directory(std::size_t k, const std::vector<std::string>& rules) {
  const std::string chain = "d" + std::to_string(k);
  // The chain and its jump are made once; sh() tells whether the chain is there already.
  if (!sh("nft list chain inet baker_e2e " + chain)) {
    must("nft add chain inet baker_e2e " + chain);
    must("nft add rule inet baker_e2e in jump " + chain);
  }
  must("nft flush chain inet baker_e2e " + chain);
  for (const auto& r : rules) must("nft add rule inet baker_e2e " + chain + " " + r);
}

void Cluster::cut_directory_from_watsons(std::size_t k) {
  const std::string p = std::to_string(directories_.at(k).port);
  const std::string s = std::to_string(sherlock_udp_);
  filter_directory(k, {"udp dport " + p + " udp sport != " + s + " counter drop",
                       "udp sport " + p + " udp dport != " + s + " counter drop"});
}

void Cluster::cut_directory_from_sherlock(std::size_t k) {
  const std::string p = std::to_string(directories_.at(k).port);
  const std::string s = std::to_string(sherlock_udp_);
  filter_directory(k, {"udp dport " + p + " udp sport " + s + " counter drop",
                       "udp sport " + p + " udp dport " + s + " counter drop"});
}

void Cluster::set_directory_loss(std::size_t k, int percent) {
  const std::string p = std::to_string(directories_.at(k).port);
  const std::string drop =
      " numgen random mod 100 \"<\" " + std::to_string(percent) + " counter drop";
  filter_directory(k, {"udp dport " + p + drop, "udp sport " + p + drop});
}

void Cluster::heal_directory(std::size_t k) {
  filter_directory(k, {});
}

std::uint64_t Cluster::directory_drops(std::size_t k) {
  std::uint64_t total = 0;
  const std::string cmd = "nft list chain inet baker_e2e d" + std::to_string(k) + " 2>/dev/null";
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char line[512];
    while (fgets(line, sizeof line, p)) {
      if (const char* at = std::strstr(line, "packets "))
        total += std::strtoull(at + 8, nullptr, 10);
    }
    pclose(p);
  }
  return total;
}

std::set<std::string> route_set(const std::string& json) {
  // A scan, not std::regex: GCC 12's <regex> trips -Wmaybe-uninitialized under the sanitizers.
  // Each route object has these fields in this order; a string field is "name":"value", a number
  // field "name":digits.
  std::set<std::string> out;
  std::size_t at = 0;
  const auto field = [&](const std::string& name, bool quoted) -> std::optional<std::string> {
    const std::string key = "\"" + name + "\":" + (quoted ? "\"" : "");
    const auto k = json.find(key, at);
    if (k == std::string::npos) return std::nullopt;
    const auto begin = k + key.size();
    const auto end = quoted ? json.find('"', begin) : json.find_first_not_of("0123456789", begin);
    if (end == std::string::npos) return std::nullopt;
    at = end;
    return json.substr(begin, end - begin);
  };
  for (;;) {
    const auto instance = field("instance", true);
    const auto address = field("address", true);
    const auto port = field("port", false);
    const auto weight = field("weight", false);
    const auto state = field("state", true);
    if (!instance || !address || !port || !weight || !state) break;
    out.insert(*instance + "@" + *address + ":" + *port + "/" + *weight + "/" + *state);
  }
  return out;
}

std::set<std::string> Cluster::directory_routes(const std::string& service, std::size_t k) {
  auto r = http_get("127.0.0.1", directories_.at(k).metrics,
                    service.empty() ? "/routes" : "/routes/" + service);
  return r && r->status == 200 ? route_set(r->body) : std::set<std::string>{};
}

std::set<std::string> Cluster::sherlock_routes(const std::string& service) {
  auto r =
      http_get("127.0.0.1", sherlock_http_, service.empty() ? "/routes" : "/routes/" + service);
  return r && r->status == 200 ? route_set(r->body) : std::set<std::string>{};
}

std::string Cluster::directory_metrics(std::size_t k) {
  auto r = http_get("127.0.0.1", directories_.at(k).metrics, "/metrics");
  return r ? r->body : "";
}

double Cluster::directory_metric(const std::string& prefix, std::size_t k) {
  const std::string text = directory_metrics(k);
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t nl = text.find('\n', pos);
    const std::string line =
        text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (line.rfind(prefix, 0) == 0 && line.size() > prefix.size() && line[prefix.size()] == ' ') {
      return std::stod(line.substr(prefix.size() + 1));
    }
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return -1;
}

std::string Cluster::sherlock_metrics() {
  auto r = http_get("127.0.0.1", sherlock_http_, "/metrics");
  return r ? r->body : "";
}

std::string Cluster::sherlock_digest() {
  auto r = http_get("127.0.0.1", sherlock_http_, "/digest");
  return r && r->status == 200 ? r->body : "";
}

std::optional<Cluster::Stream> Cluster::stream(std::size_t k) {
  const std::string body = sherlock_digest();
  if (body.empty()) return std::nullopt;
  try {
    const JsonValue digest = JsonParser(body).parse();
    if (!digest.has("directories")) return std::nullopt;
    const std::string name = loopback(directories_.at(k).port);
    for (const auto& d : digest["directories"].items) {
      if (!d.has("directory") || d["directory"].str() != name) continue;
      Stream s;
      s.epoch = d["epoch"].kind == JsonValue::Kind::string ? d["epoch"].str() : d["epoch"].text;
      s.seq = d["seq"].u64();
      s.routes = d["routes"].u64();
      s.synced = d["synced"].boolean();
      s.reachable = d["reachable"].boolean();
      s.warmup = d["warmup"].boolean();
      s.live = d["live"].boolean();
      return s;
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::string Cluster::logs() {
  std::string out;
  const auto add = [&](const std::string& name, const ChildProcess* p) {
    if (p) out += "--- " + name + "\n" + p->log();
  };
  for (std::size_t k = 0; k < directories_.size(); ++k) {
    add("directory " + std::to_string(k), directories_[k].process.get());
  }
  add("sherlock", sherlock_.get());
  for (std::size_t i = 0; i < instances_.size(); ++i) {
    add("watson " + std::to_string(i), instances_[i]->watson.get());
  }
  return out;
}

RouteWatch::RouteWatch(std::uint16_t sherlock_http_port, std::string service,
                       std::string admin_socket)
    : port_(sherlock_http_port),
      service_(std::move(service)),
      admin_socket_(std::move(admin_socket)),
      thread_([this] { run(); }) {
  // Changes are counted from the first sets seen: have them before the test goes on.
  wait_until(
      [&] {
        std::lock_guard lock(mu_);
        return !routes_.empty() && (admin_socket_.empty() || !ready_.empty());
      },
      5000ms);
}

RouteWatch::~RouteWatch() {
  stop();
}

void RouteWatch::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void RouteWatch::note(std::vector<Seen>& history, std::set<std::string> items) {
  if (!history.empty() && history.back().items == items) return;
  history.push_back({Clock::now(), std::move(items)});
}

void RouteWatch::run() {
  while (!stop_) {
    // 404 is sherlock's answer for a service with no route (an empty set, not a failure).
    if (auto r = http_get("127.0.0.1", port_, "/routes/" + service_, 500ms);
        r && (r->status == 200 || r->status == 404)) {
      auto items = r->status == 200 ? route_set(r->body) : std::set<std::string>{};
      std::lock_guard lock(mu_);
      note(routes_, std::move(items));
    }
    if (!admin_socket_.empty()) {
      const auto rows = servers_state(admin_socket_, service_);
      if (!rows.empty()) {  // a failed read has no rows; a backend always has its slots
        std::set<std::string> items;
        for (const auto& row : rows) {
          if (row.ready() && row.address) {
            items.insert(row.address->to_string() + ":" + std::to_string(row.port));
          }
        }
        std::lock_guard lock(mu_);
        note(ready_, std::move(items));
      }
    }
    std::this_thread::sleep_for(10ms);
  }
}

std::vector<RouteWatch::Seen> RouteWatch::routes() const {
  std::lock_guard lock(mu_);
  return routes_;
}

std::vector<RouteWatch::Seen> RouteWatch::ready() const {
  std::lock_guard lock(mu_);
  return ready_;
}

namespace {
std::optional<RouteWatch::Clock::time_point> first_seen(
    const std::vector<RouteWatch::Seen>& history, RouteWatch::Clock::time_point from,
    const std::function<bool(const std::set<std::string>&)>& pred) {
  for (std::size_t i = 0; i < history.size(); ++i) {
    // A set seen before `from` and still current counts as seen at `from`.
    const bool current_at_from = i + 1 == history.size() || history[i + 1].at > from;
    if (history[i].at < from && !current_at_from) continue;
    if (pred(history[i].items)) return std::max(history[i].at, from);
  }
  return std::nullopt;
}

std::size_t changes_since(const std::vector<RouteWatch::Seen>& history,
                          RouteWatch::Clock::time_point from) {
  std::size_t n = 0;
  for (std::size_t i = 1; i < history.size(); ++i) n += history[i].at >= from ? 1 : 0;
  return n;
}

std::string describe_history(const std::vector<RouteWatch::Seen>& history) {
  std::string out;
  const auto t0 = history.empty() ? RouteWatch::Clock::now() : history.front().at;
  for (const auto& s : history) {
    out +=
        "  +" +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(s.at - t0).count()) +
        " ms:";
    for (const auto& i : s.items) out += " " + i;
    out += "\n";
  }
  return out;
}
}  // namespace

std::optional<RouteWatch::Clock::time_point> RouteWatch::first_ready(
    Clock::time_point from, const std::function<bool(const std::set<std::string>&)>& pred) const {
  std::lock_guard lock(mu_);
  return first_seen(ready_, from, pred);
}

std::optional<RouteWatch::Clock::time_point> RouteWatch::first_route(
    Clock::time_point from, const std::function<bool(const std::set<std::string>&)>& pred) const {
  std::lock_guard lock(mu_);
  return first_seen(routes_, from, pred);
}

std::size_t RouteWatch::route_changes_since(Clock::time_point from) const {
  std::lock_guard lock(mu_);
  return changes_since(routes_, from);
}

std::size_t RouteWatch::ready_changes_since(Clock::time_point from) const {
  std::lock_guard lock(mu_);
  return changes_since(ready_, from);
}

std::string RouteWatch::describe() const {
  std::lock_guard lock(mu_);
  return "sherlock /routes/" + service_ + ":\n" + describe_history(routes_) +
         (admin_socket_.empty() ? "" : "haproxy ready:\n" + describe_history(ready_));
}

}  // namespace baker::testing
