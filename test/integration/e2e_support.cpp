#include "e2e_support.hpp"

#include <signal.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <stdexcept>

#ifndef BAKER_SOURCE_DIR
#error "BAKER_SOURCE_DIR must be defined"
#endif

namespace baker::testing {

std::string greeting_service() {
  return std::string(BAKER_SOURCE_DIR) + "/tools/greeting-service.py";
}

Cluster::Cluster()
    : directory_port_(free_udp_port()),
      directory_metrics_(free_tcp_port()),
      sherlock_http_(free_tcp_port()),
      frontend_(free_tcp_port()) {}

Cluster::~Cluster() {
  sherlock_.reset();
  for (auto& i : instances_) {
    i->watson.reset();
    i->service.reset();
  }
  directory_.reset();
}

void Cluster::start_directory(std::vector<std::string> extra) {
  if (!extra.empty() || directory_args_.empty()) {
    directory_args_ = {bin("directory"),
                       "--listen",
                       "127.0.0.1:" + std::to_string(directory_port_),
                       "--metrics",
                       "127.0.0.1:" + std::to_string(directory_metrics_),
                       "--warmup-max",
                       "1s"};
    directory_args_.insert(directory_args_.end(), extra.begin(), extra.end());
  }
  directory_ = std::make_unique<ChildProcess>(directory_args_, dir_.file("directory.log"));
  if (!wait_until([&] { return http_get("127.0.0.1", directory_metrics_, "/metrics").has_value(); },
                  5000ms)) {
    throw std::runtime_error("directory did not start: " + directory_->log());
  }
}

void Cluster::kill_directory() {
  directory_->signal(SIGKILL);
  directory_->wait_exit(2000ms);
  directory_.reset();
}

std::size_t Cluster::add_instance(const std::string& version, std::vector<std::string> extra) {
  auto inst = std::make_unique<Instance>();
  inst->version = version;
  inst->port = free_tcp_port();
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
                                   "--health-check-url",
                                   url + "/health",
                                   "--interval",
                                   std::to_string(watson_interval_ms_) + "ms",
                                   "--rise",
                                   "1",
                                   "--fall",
                                   "2",
                                   "--tags",
                                   inst.version,
                                   "--directory",
                                   "127.0.0.1:" + std::to_string(directory_port_)};
  args.insert(args.end(), extra.begin(), extra.end());
  inst.watson =
      std::make_unique<ChildProcess>(args, dir_.file("watson-" + std::to_string(i) + ".log"));
}

namespace {
std::vector<std::string> sherlock_base(std::uint16_t directory_port, std::uint16_t http_port) {
  return {bin("sherlock"), "--directory", "127.0.0.1:" + std::to_string(directory_port), "--http",
          "127.0.0.1:" + std::to_string(http_port)};
}
}  // namespace

void Cluster::start_sherlock_replica_only(std::vector<std::string> extra) {
  auto args = sherlock_base(directory_port_, sherlock_http_);
  args.push_back("--no-haproxy");
  args.insert(args.end(), extra.begin(), extra.end());
  sherlock_ = std::make_unique<ChildProcess>(args, dir_.file("sherlock.log"));
}

void Cluster::start_sherlock_managed(std::vector<std::string> extra) {
  auto args = sherlock_base(directory_port_, sherlock_http_);
  args.insert(args.end(), {"--frontend", "127.0.0.1:" + std::to_string(frontend_), "--run-dir",
                           dir_.file("haproxy-run")});
  args.insert(args.end(), extra.begin(), extra.end());
  sherlock_ = std::make_unique<ChildProcess>(args, dir_.file("sherlock.log"));
}

void Cluster::start_sherlock_external(const std::string& admin_socket,
                                      std::vector<std::string> extra) {
  auto args = sherlock_base(directory_port_, sherlock_http_);
  args.insert(args.end(), {"--haproxy-sock", admin_socket});
  args.insert(args.end(), extra.begin(), extra.end());
  sherlock_ = std::make_unique<ChildProcess>(args, dir_.file("sherlock.log"));
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

std::set<std::string> Cluster::directory_routes(const std::string& service) {
  auto r =
      http_get("127.0.0.1", directory_metrics_, service.empty() ? "/routes" : "/routes/" + service);
  return r && r->status == 200 ? route_set(r->body) : std::set<std::string>{};
}

std::set<std::string> Cluster::sherlock_routes(const std::string& service) {
  auto r =
      http_get("127.0.0.1", sherlock_http_, service.empty() ? "/routes" : "/routes/" + service);
  return r && r->status == 200 ? route_set(r->body) : std::set<std::string>{};
}

std::string Cluster::directory_metrics() {
  auto r = http_get("127.0.0.1", directory_metrics_, "/metrics");
  return r ? r->body : "";
}

double Cluster::directory_metric(const std::string& prefix) {
  const std::string text = directory_metrics();
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

}  // namespace baker::testing
