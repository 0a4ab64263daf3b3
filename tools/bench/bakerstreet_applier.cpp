// bakerstreet-applier: Baker Street's way of applying route changes, as the yardstick of the
// end-to-end benchmark (tools/bench/bench-e2e; docs/BENCHMARKS.md, "End to end").
//
// It follows the directory with Baker's own subscriber (sherlock's SherlockDaemon and Replica), so
// it learns of a change exactly when sherlock does, and applies every batch of changes the way
// Baker Street's sherlock did: rewrite the whole HAProxy configuration and start a new haproxy with
// `haproxy -f cfg -p pidfile -sf <old pids>` (daemon mode; no master-worker, no listener handover,
// no runtime API). With --window-ms W it first coalesces changes for W ms after the first one
// (Baker Street waited 2 s); a change that arrives during a reload goes into the next one.
//
// usage: bakerstreet-applier --directory ADDR:PORT --frontend ADDR:PORT --run-dir DIR
//                            [--window-ms W] [--http ADDR:PORT] [--haproxy-bin PATH]
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "common/host_port.hpp"
#include "common/logging.hpp"
#include "common/options.hpp"
#include "common/prometheus.hpp"
#include "sherlock/sherlock_daemon.hpp"

extern char** environ;

namespace {

namespace asio = boost::asio;
namespace sh = baker::sherlock;
using Clock = std::chrono::steady_clock;

struct Settings {
  std::string haproxy_bin = "haproxy";
  std::string frontend_host = "127.0.0.1";
  unsigned short frontend_port = 0;
  std::filesystem::path run_dir;
  std::chrono::milliseconds window{0};
};

std::string address_text(const baker::wire::Route& r) {
  const auto a = r.address.to_string();
  return (a.find(':') != std::string::npos ? "[" + a + "]" : a) + ":" + std::to_string(r.port);
}

// Baker Street's template, in HAProxy 2.6 syntax (reqrep became replace-path), with the same
// defaults as sherlock's managed configuration so that only the way of applying changes differs.
std::string render(const Settings& s, const sh::ServiceRoutes& routes) {
  std::string out;
  out += "global\n    daemon\n\n";
  out += "defaults\n    mode http\n    timeout connect 2s\n    timeout client 60s\n";
  out += "    timeout server 60s\n    timeout queue 5s\n    retries 2\n    option redispatch 1\n\n";
  out += "frontend bakerstreet\n    bind " + s.frontend_host + ":" +
         std::to_string(s.frontend_port) + "\n";
  std::string backends;
  for (const auto& [service, list] : routes) {
    std::string servers;
    for (const auto& r : list) {
      // Baker Street knew no draining: an instance is in the configuration or not.
      if (r.state != baker::wire::InstanceState::up) continue;
      servers += "    server " + r.instance + " " + address_text(r) + " weight " +
                 std::to_string(r.weight) + " maxconn 32\n";
    }
    if (servers.empty()) continue;
    out += "    acl IS_" + service + " path_beg /" + service + "\n";
    out += "    use_backend BE_" + service + " if IS_" + service + "\n";
    backends += "\nbackend BE_" + service + "\n    balance random\n";
    backends += "    http-request replace-path ^/[^/]*/?(.*) /\\1\n" + servers;
  }
  return out + backends;
}

// The daemonized haproxy must not inherit this process's sockets (the subscription, the query
// interface): asio opens them without close-on-exec.
void mark_cloexec() {
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::atoi(e.path().filename().c_str());
    if (fd > 2) fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
  }
}

class ReloadSink final : public sh::RouteSink {
 public:
  ReloadSink(asio::io_context& io, Settings s)
      : s_(std::move(s)), timer_(io), children_(io, SIGCHLD) {
    std::filesystem::create_directories(s_.run_dir);
    watch_children();
    reload();  // the frontend exists from the start, with no backend yet
  }

  void routes_changed(const sh::ServiceRoutes& all, const std::vector<std::string>&) override {
    routes_ = all;
    dirty_ = true;
    if (!first_change_) first_change_ = Clock::now();
    schedule();
  }

  void append_metrics(std::string& out) const override {
    // Not a Baker component (Baker Street's way, for the benchmark): its own prefix.
    baker::MetricsWriter w;
    w.counter("bakerstreet_reloads_total", "Config rewrites + haproxy -sf reloads.", reloads_);
    w.counter("bakerstreet_reload_failures_total", "Reloads that failed.", failures_);
    w.gauge("bakerstreet_last_reload_seconds", "Duration of the last reload command.",
            last_command_s_);
    w.gauge("bakerstreet_last_change_to_reload_seconds",
            "First change of the last batch -> its reload done.", last_change_s_);
    out += w.take();
  }

  void stop() override {
    stopping_ = true;
    timer_.cancel();
    children_.cancel();
    // A reload in flight: let its command finish (it exits once the new haproxy runs), so that
    // the new process is known and stopped too.
    for (int i = 0; running_ && i < 500; ++i) {
      int status = 0;
      if (waitpid(child_, &status, WNOHANG) == child_) running_ = false;
      if (running_) usleep(10'000);
    }
    for (const pid_t p : read_pids()) pids_.insert(p);
    // Every haproxy this applier started (daemonized, so not our children): stop the ones alive.
    for (const pid_t pid : pids_) {
      std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
      std::string name;
      if (comm >> name && name.rfind("haproxy", 0) == 0) kill(pid, SIGTERM);
    }
  }

 private:
  void schedule() {
    if (stopping_ || running_ || !dirty_) return;  // a running reload looks again when it ends
    if (s_.window.count() == 0) {
      reload();
      return;
    }
    if (timer_armed_) return;
    timer_armed_ = true;
    timer_.expires_at(*first_change_ + s_.window);
    timer_.async_wait([this](boost::system::error_code ec) {
      timer_armed_ = false;
      if (!ec) reload();
    });
  }

  void reload() {
    if (stopping_) return;
    dirty_ = false;
    batch_first_change_ = first_change_;
    first_change_.reset();
    const auto cfg = s_.run_dir / "haproxy.cfg";
    const auto pidfile = s_.run_dir / "haproxy.pid";
    {
      std::ofstream f(cfg, std::ios::trunc);
      f << render(s_, routes_);
    }
    std::vector<std::string> args = {s_.haproxy_bin, "-f", cfg.string(), "-p", pidfile.string()};
    const auto old = read_pids();
    if (!old.empty()) {
      args.push_back("-sf");
      for (const pid_t p : old) args.push_back(std::to_string(p));
    }
    mark_cloexec();
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    started_ = Clock::now();
    if (posix_spawnp(&child_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
      spdlog::error("cannot run {}", s_.haproxy_bin);
      ++failures_;
      return;
    }
    running_ = true;
  }

  std::vector<pid_t> read_pids() const {
    std::vector<pid_t> out;
    std::ifstream f(s_.run_dir / "haproxy.pid");
    for (pid_t p; f >> p;) out.push_back(p);
    return out;
  }

  void watch_children() {
    children_.async_wait([this](boost::system::error_code ec, int) {
      if (ec) return;
      int status = 0;
      if (running_ && waitpid(child_, &status, WNOHANG) == child_) finished(status);
      watch_children();
    });
  }

  void finished(int status) {
    running_ = false;
    const auto now = Clock::now();
    last_command_s_ = std::chrono::duration<double>(now - started_).count();
    if (batch_first_change_) {
      last_change_s_ = std::chrono::duration<double>(now - *batch_first_change_).count();
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      ++reloads_;
      for (const pid_t p : read_pids()) pids_.insert(p);
      spdlog::info("reload {}: haproxy -sf took {:.1f} ms; first change -> done {:.1f} ms",
                   reloads_, last_command_s_ * 1e3, batch_first_change_ ? last_change_s_ * 1e3 : 0);
    } else {
      ++failures_;
      spdlog::error("reload failed (haproxy status {})", status);
    }
    schedule();
  }

  Settings s_;
  asio::steady_timer timer_;
  asio::signal_set children_;
  sh::ServiceRoutes routes_;
  bool dirty_ = false;
  bool running_ = false;
  bool stopping_ = false;
  bool timer_armed_ = false;
  pid_t child_ = -1;
  std::optional<Clock::time_point> first_change_;
  std::optional<Clock::time_point> batch_first_change_;
  Clock::time_point started_{};
  std::set<pid_t> pids_;
  unsigned reloads_ = 0;
  unsigned failures_ = 0;
  double last_command_s_ = 0;
  double last_change_s_ = 0;
};

asio::ip::udp::endpoint udp_endpoint(const std::string& text, bool allow_zero) {
  baker::HostPortRules rules;
  rules.allow_zero = allow_zero;
  rules.numeric = true;
  std::string why;
  const auto hp = baker::parse_host_port(text, rules, &why);
  if (!hp) throw std::runtime_error(why);
  return {asio::ip::make_address(hp->host), hp->port};
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = baker::po;
  po::options_description flags("options");
  // clang-format off
  flags.add_options()
    ("help,h", "show this help and exit")
    ("directory", po::value<std::string>()->default_value("127.0.0.1:7400"), "directory ADDR:PORT")
    ("listen", po::value<std::string>()->default_value("127.0.0.1:0"), "local UDP ADDR:PORT")
    ("http", po::value<std::string>(), "query interface ADDR:PORT (/routes, /digest, /metrics)")
    ("frontend", po::value<std::string>()->default_value("127.0.0.1:8100"), "HTTP frontend")
    ("run-dir", po::value<std::string>(), "directory for haproxy.cfg and haproxy.pid (required)")
    ("window-ms", po::value<int>()->default_value(0), "coalesce changes this long first")
    ("haproxy-bin", po::value<std::string>()->default_value("haproxy"), "haproxy executable")
    ("log-level", po::value<std::string>()->default_value("info"), "log level");
  // clang-format on
  auto parsed = baker::parse_options(argc, argv, flags,
                                     "usage: bakerstreet-applier --directory ADDR:PORT --frontend "
                                     "ADDR:PORT --run-dir DIR [--window-ms W]",
                                     "");
  if (parsed.exit_code) return *parsed.exit_code;
  const auto& v = parsed.values;
  baker::init_logging("bakerstreet");
  baker::set_log_level(v["log-level"].as<std::string>());
  asio::io_context io;
  std::unique_ptr<sh::SherlockDaemon> subscriber;
  try {
    if (!v.count("run-dir")) throw std::runtime_error("--run-dir is required");
    Settings s;
    const auto fe = baker::parse_host_port(v["frontend"].as<std::string>());
    if (!fe) throw std::runtime_error("--frontend: expected ADDR:PORT");
    s.frontend_host = fe->host;
    s.frontend_port = fe->port;
    s.run_dir = v["run-dir"].as<std::string>();
    s.window = std::chrono::milliseconds(v["window-ms"].as<int>());
    s.haproxy_bin = v["haproxy-bin"].as<std::string>();
    sh::SherlockOptions o;
    o.directories = {udp_endpoint(v["directory"].as<std::string>(), false)};
    o.listen = udp_endpoint(v["listen"].as<std::string>(), true);
    if (v.count("http")) {
      const auto h = udp_endpoint(v["http"].as<std::string>(), true);
      o.http = asio::ip::tcp::endpoint(h.address(), h.port());
    }
    o.replica.subscriber_id = baker::random_nonzero_u64();
    o.replica.random_seed = baker::random_nonzero_u64();
    subscriber = std::make_unique<sh::SherlockDaemon>(io, std::move(o), std::nullopt,
                                                      std::make_unique<ReloadSink>(io, s));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    subscriber->stop();
  });
  subscriber->start();
  io.run();
  return 0;
}
