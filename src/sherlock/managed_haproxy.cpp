#include "sherlock/managed_haproxy.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "sherlock/haproxy_replies.hpp"

namespace baker::sherlock::haproxy {

namespace asio = boost::asio;
using boost::system::error_code;
using std::chrono::milliseconds;

namespace {

// One command on the master CLI: connect, send, half-close, read the answer to EOF.
void master_command(asio::io_context& io, const std::string& path, const std::string& command,
                    std::function<void(const error_code&, std::string)> done) {
  struct Op {
    explicit Op(asio::io_context& io) : socket(io), timer(io) {}
    asio::local::stream_protocol::socket socket;
    asio::steady_timer timer;
    std::string out;
    std::string in;
    std::array<char, 4096> chunk{};
    std::function<void(const error_code&, std::string)> done;
    void finish(const error_code& ec) {
      if (!done) return;
      timer.cancel();
      error_code ignored;
      socket.close(ignored);
      auto d = std::move(done);
      done = nullptr;
      d(ec, std::move(in));
    }
  };
  auto op = std::make_shared<Op>(io);
  op->out = command + "\n";
  op->done = std::move(done);
  op->timer.expires_after(std::chrono::seconds(2));
  op->timer.async_wait([op](const error_code& ec) {
    if (!ec) op->finish(asio::error::timed_out);
  });
  const auto read_all = [](const std::shared_ptr<Op>& o) {
    struct Reader {
      std::shared_ptr<Op> o;
      void operator()(const error_code& ec, std::size_t n) {
        if (ec == asio::error::eof) return o->finish({});
        if (ec) return o->finish(ec);
        o->in.append(o->chunk.data(), n);
        o->socket.async_read_some(asio::buffer(o->chunk), Reader{o});
      }
    };
    o->socket.async_read_some(asio::buffer(o->chunk), Reader{o});
  };
  op->socket.async_connect(
      asio::local::stream_protocol::endpoint(path), [op, read_all](const error_code& ec) {
        if (ec) return op->finish(ec);
        asio::async_write(op->socket, asio::buffer(op->out),
                          [op, read_all](const error_code& ec, std::size_t) {
                            if (ec) return op->finish(ec);
                            error_code ignored;
                            op->socket.shutdown(asio::socket_base::shutdown_send, ignored);
                            read_all(op);
                          });
      });
}

// A blocking connection to a Unix socket (start-up only); -1 if it cannot be made.
int connect_unix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool unix_socket_answers(const std::string& path) {
  const int fd = connect_unix(path);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

// One non-interactive command on a Unix CLI socket, blocking (start-up only): the whole reply, ""
// if nothing answers within `timeout` (HAProxy closes the connection after the reply).
std::string unix_socket_query(const std::string& path, const std::string& command,
                              milliseconds timeout) {
  const int fd = connect_unix(path);
  if (fd < 0) return {};
  std::string reply;
  const std::string line = command + "\n";
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size())) {
    ::shutdown(fd, SHUT_WR);  // the master CLI answers and closes only once the request ended
    const auto deadline = Clock::now() + timeout;
    char buf[4096];
    for (;;) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      pollfd p{fd, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        reply.clear();  // no complete answer
        break;
      }
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      reply.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return reply;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  const auto tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

ManagedHaproxy::ManagedHaproxy(asio::io_context& io, ManagedSettings settings,
                               NewWorker on_new_worker)
    : io_(io),
      settings_(std::move(settings)),
      on_new_worker_(std::move(on_new_worker)),
      timer_(io) {}

ManagedHaproxy::~ManagedHaproxy() {
  stop();
}

std::string ManagedHaproxy::socket_path(std::uint64_t generation) const {
  return run_dir_ + "/sherlock-" + std::to_string(generation) + ".sock";
}

std::string ManagedHaproxy::admin_socket() const {
  return socket_path(generation_);
}

int ManagedHaproxy::master_pid() const {
  return master_ ? master_->pid() : -1;
}

ManagedHaproxy::Plan ManagedHaproxy::build(const HaproxyDriver& driver,
                                           const std::set<std::string>& add,
                                           const std::set<std::string>& grow) const {
  Plan p;
  p.generation = generation_ + 1;
  p.http = http_;
  p.tcp = tcp_;
  for (const auto& s : add) p.http.emplace(s, 0);
  ManagedConfig config;
  config.stable_socket = stable_socket();
  config.admin_socket = socket_path(p.generation);
  config.frontend_host = settings_.frontend_host;
  config.frontend_port = settings_.frontend_port;
  config.balance = settings_.balance;
  config.slot_prefix = settings_.naming.prefix;
  const auto add_backend = [&](const std::string& service, const std::string& name, int& count,
                               std::optional<std::uint16_t> tcp_port) {
    const auto& desired = driver.desired_of(name);
    int slots = slots_needed(desired, std::max(count, settings_.slots));
    if (grow.count(name) && count > 0) slots = std::max(slots, count * 2);
    count = slots;
    const auto* rows = driver.rows_of(name);
    config.backends.push_back({service, name, tcp_port,
                               assign_slots(rows ? *rows : std::vector<ServerStateRow>{}, desired,
                                            slots, settings_.naming)});
  };
  for (auto& [service, count] : p.http) {
    add_backend(service, settings_.backend_prefix + service, count, std::nullopt);
  }
  for (auto& [service, count] : p.tcp) {
    add_backend(service, tcp_listener_name(settings_.backend_prefix + service), count,
                settings_.tcp_ports.at(service));
  }
  p.text = write_haproxy_config(config);
  return p;
}

void ManagedHaproxy::start() {
  if (settings_.run_dir.empty()) {
    char tmpl[] = "/tmp/baker-sherlock-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("cannot create a run directory under /tmp");
    run_dir_ = tmpl;
    own_run_dir_ = true;
  } else {
    run_dir_ = settings_.run_dir;
    std::error_code ec;
    std::filesystem::create_directories(run_dir_, ec);
    if (ec) throw std::runtime_error("--run-dir " + run_dir_ + ": " + ec.message());
  }
  if (socket_path(999999).size() >= sizeof(sockaddr_un::sun_path)) {
    throw std::runtime_error("--run-dir " + run_dir_ +
                             ": path too long for Unix sockets inside it");
  }
  for (const auto& [service, port] : settings_.tcp_ports) tcp_.emplace(service, settings_.slots);
  static const HaproxyDriver kEmpty{DriverSettings{}};
  auto plan = build(kEmpty, {}, {});
  write_file(config_path(), plan.text);
  std::string output;
  const int status =
      run_to_completion({settings_.haproxy_bin, "-c", "-q", "-f", config_path()}, output);
  if (status == 127) {
    throw std::runtime_error("--haproxy-bin: cannot run '" + settings_.haproxy_bin + "'");
  }
  if (status != 0) {
    throw std::runtime_error("haproxy -c rejected the managed configuration " + config_path() +
                             ": " + output);
  }
  generation_ = plan.generation;
  http_ = plan.http;
  tcp_ = plan.tcp;
  start_master();
  const auto deadline = Clock::now() + settings_.start_timeout;
  // Ready when the worker's admin socket answers and the master CLI lists a current worker. A
  // socket that merely accepts a connection is not enough: haproxy binds its sockets before the
  // frontend, and when the frontend's bind then fails it exits, so they accept for a moment.
  const auto master_has_worker = [this] {
    const auto procs =
        parse_show_proc(unix_socket_query(master_socket(), "show proc", milliseconds(500)));
    return procs && procs->current_worker().has_value();
  };
  while (!unix_socket_answers(admin_socket()) || !master_has_worker()) {
    if (!master_->running()) {
      throw std::runtime_error(
          "haproxy exited during start-up with status " +
          std::to_string(master_->exit_status().value_or(-1)) +
          " (its messages are above; is --frontend " + settings_.frontend_host + ":" +
          std::to_string(settings_.frontend_port) + " or a --tcp-port in use?)");
    }
    if (Clock::now() >= deadline) {
      throw std::runtime_error("haproxy did not open its admin socket " + admin_socket() +
                               " within the start-up timeout (--haproxy-timeout)");
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  spdlog::info("haproxy: managed haproxy running (master pid {}), frontend {}:{}, run dir {}",
               master_->pid(), settings_.frontend_host, settings_.frontend_port, run_dir_);
}

void ManagedHaproxy::start_master() {
  master_ = ManagedProcess::spawn(
      io_, {settings_.haproxy_bin, "-W", "-S", master_socket() + ",mode,600", "-f", config_path()});
  master_started_ = Clock::now();
  master_->watch([this, alive = std::weak_ptr<bool>(alive_)](int status) {
    if (alive.lock()) on_master_exit(status);
  });
}

void ManagedHaproxy::update(const HaproxyDriver& driver,
                            const std::map<std::string, std::vector<wire::Route>>* all) {
  driver_ = &driver;
  if (stopping_) return;
  if (all) {
    for (const auto& [service, routes] : *all) {
      if (!routes.empty() && !http_.count(service) && !pending_.http.count(service)) {
        want_add_.insert(service);
      }
    }
  }
  for (const auto& [backend, instances] : driver.unplaced()) want_grow_.insert(backend);
  if ((want_add_.empty() && want_grow_.empty()) || phase_ != Phase::idle) return;
  if (Clock::now() < retry_at_) return;  // the retry timer will start it
  start_reload(driver);
}

void ManagedHaproxy::start_reload(const HaproxyDriver& driver) {
  pending_ = build(driver, want_add_, want_grow_);
  std::string added;
  for (const auto& s : want_add_) added += (added.empty() ? "" : ", ") + s;
  std::string grown;
  for (const auto& b : want_grow_) grown += (grown.empty() ? "" : ", ") + b;
  spdlog::info("haproxy: reloading for {}{}{}", added.empty() ? "" : "new services " + added,
               added.empty() || grown.empty() ? "" : "; ",
               grown.empty() ? "" : "more slots in " + grown);
  want_add_.clear();
  want_grow_.clear();
  phase_ = Phase::checking;
  reload_started_ = Clock::now();
  const auto candidate = config_path() + ".new";
  try {
    write_file(candidate, pending_.text);
    check_ = ManagedProcess::spawn(io_, {settings_.haproxy_bin, "-c", "-q", "-f", candidate},
                                   run_dir_ + "/check.log");
  } catch (const std::exception& e) {
    reload_done(false, e.what());
    return;
  }
  check_->watch([this, alive = std::weak_ptr<bool>(alive_)](int status) {
    if (alive.lock()) on_checked(status);
  });
}

void ManagedHaproxy::on_checked(int status) {
  check_.reset();
  if (phase_ != Phase::checking || stopping_) return;
  if (status != 0) {
    reload_done(false, "haproxy -c rejected the new configuration (the running one stays): " +
                           read_file(run_dir_ + "/check.log"));
    return;
  }
  std::error_code ec;
  std::filesystem::rename(config_path() + ".new", config_path(), ec);
  if (ec) {
    reload_done(false, "cannot install the new configuration: " + ec.message());
    return;
  }
  phase_ = Phase::reloading;
  master_command(io_, master_socket(), "show proc",
                 [this, alive = std::weak_ptr<bool>(alive_)](const error_code& ec, std::string r) {
                   if (!alive.lock() || phase_ != Phase::reloading) return;
                   const auto procs = ec ? std::nullopt : parse_show_proc(r);
                   if (!procs) {
                     reload_done(false, "master socket 'show proc': " +
                                            (ec ? ec.message() : "unparsable reply"));
                     return;
                   }
                   reloads_before_ = procs->reloads;
                   failed_before_ = procs->failed_reloads;
                   send_reload();
                 });
}

void ManagedHaproxy::send_reload() {
  // 2.6 answers nothing to `reload` (and re-executes the master): success shows in `show proc`.
  master_command(io_, master_socket(), "reload",
                 [this, alive = std::weak_ptr<bool>(alive_)](const error_code& ec, std::string) {
                   if (!alive.lock() || phase_ != Phase::reloading) return;
                   if (ec && ec != asio::error::connection_reset) {
                     reload_done(false, "master socket 'reload': " + ec.message());
                     return;
                   }
                   poll_reload();
                 });
}

void ManagedHaproxy::poll_reload() {
  timer_.expires_after(milliseconds(10));
  timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const error_code& ec) {
    if (ec || !alive.lock() || phase_ != Phase::reloading) return;
    master_command(
        io_, master_socket(), "show proc", [this, alive](const error_code& ec, std::string r) {
          if (!alive.lock() || phase_ != Phase::reloading) return;
          const auto procs = ec ? std::nullopt : parse_show_proc(r);
          if (procs && procs->reloads > reloads_before_) {
            if (procs->failed_reloads > failed_before_) {
              reload_done(false, "the master reports the reload failed (old workers kept)");
            } else {
              reload_done(true, "");
            }
            return;
          }
          if (Clock::now() - reload_started_ > settings_.reload_timeout) {
            reload_done(false, "no new worker within the reload timeout (--haproxy-timeout)");
            return;
          }
          poll_reload();  // the master is re-executing (its socket refuses meanwhile)
        });
  });
}

void ManagedHaproxy::reload_done(bool ok, const std::string& why) {
  phase_ = Phase::idle;
  if (ok) {
    const auto old_socket = admin_socket();
    generation_ = pending_.generation;
    http_ = pending_.http;
    tcp_ = pending_.tcp;
    pending_ = Plan{};
    ++reloads_;
    last_reload_ = Clock::now() - reload_started_;
    backoff_ = std::chrono::seconds(1);
    spdlog::info("haproxy: reloaded (configuration generation {}, {} HTTP backends) in {:.1f} ms",
                 generation_, http_.size(),
                 std::chrono::duration<double, std::milli>(*last_reload_).count());
    std::error_code ignored;
    std::filesystem::remove(old_socket, ignored);
    on_new_worker_(admin_socket());
  } else {
    ++reload_failures_;
    spdlog::error("haproxy: reload failed: {}; retrying in {} s", why,
                  std::chrono::duration_cast<std::chrono::seconds>(backoff_).count());
    for (const auto& [service, count] : pending_.http) {
      if (!http_.count(service)) want_add_.insert(service);
    }
    pending_ = Plan{};
    retry_later(backoff_);
    backoff_ = std::min<Duration>(backoff_ * 2, std::chrono::seconds(30));
    return;
  }
  if ((!want_add_.empty() || !want_grow_.empty()) && driver_) start_reload(*driver_);
}

void ManagedHaproxy::retry_later(Duration delay) {
  retry_at_ = Clock::now() + delay;
  timer_.expires_after(delay);
  timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const error_code& ec) {
    if (ec || !alive.lock() || stopping_) return;
    if (phase_ == Phase::restarting) {
      restart_master();
      return;
    }
    if (phase_ == Phase::idle && driver_ && (!want_add_.empty() || !want_grow_.empty())) {
      start_reload(*driver_);
    }
  });
}

void ManagedHaproxy::on_master_exit(int status) {
  if (stopping_) return;
  ++restarts_;
  if (Clock::now() - master_started_ > std::chrono::seconds(60)) backoff_ = std::chrono::seconds(1);
  spdlog::error("haproxy: the haproxy master (pid {}) exited with status {}; restarting it in {} s",
                master_ ? master_->pid() : -1, status,
                std::chrono::duration_cast<std::chrono::seconds>(backoff_).count());
  if (check_) check_->signal(SIGKILL);
  for (const auto& [service, count] : pending_.http) {
    if (!http_.count(service)) want_add_.insert(service);
  }
  pending_ = Plan{};
  phase_ = Phase::restarting;
  timer_.cancel();
  retry_later(backoff_);
  backoff_ = std::min<Duration>(backoff_ * 2, std::chrono::seconds(30));
}

void ManagedHaproxy::restart_master() {
  // Runtime state died with the old process: the new configuration lists every current server.
  static const HaproxyDriver kEmpty{DriverSettings{}};
  const auto& driver = driver_ ? *driver_ : kEmpty;
  auto plan = build(driver, want_add_, want_grow_);
  want_add_.clear();
  want_grow_.clear();
  try {
    write_file(config_path(), plan.text);
    generation_ = plan.generation;
    http_ = plan.http;
    tcp_ = plan.tcp;
    start_master();
  } catch (const std::exception& e) {
    spdlog::error("haproxy: cannot restart haproxy: {}", e.what());
    retry_later(backoff_);
    return;
  }
  phase_ = Phase::idle;
  spdlog::info("haproxy: restarted haproxy (master pid {})", master_->pid());
  on_new_worker_(admin_socket());
}

void ManagedHaproxy::stop() {
  if (stopping_) return;
  stopping_ = true;
  *alive_ = false;
  timer_.cancel();
  if (check_) {
    check_->signal(SIGKILL);
    check_->wait_for(std::chrono::seconds(1));
    check_.reset();
  }
  if (master_ && master_->running()) {
    spdlog::info("haproxy: stopping haproxy (master pid {})", master_->pid());
    master_->signal(SIGTERM);
    if (!master_->wait_for(std::chrono::seconds(3))) {
      master_->signal(SIGKILL);
      master_->wait_for(std::chrono::seconds(1));
    }
  }
  if (own_run_dir_ && !run_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(run_dir_, ignored);
  }
}

void ManagedHaproxy::append_metrics(std::string& out) const {
  const auto metric = [&](const char* name, const char* type, const char* help,
                          const std::string& value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + value + "\n";
  };
  metric("baker_haproxy_reloads_total", "counter", "Hitless reloads of the managed haproxy.",
         std::to_string(reloads_));
  metric("baker_haproxy_reload_failures_total", "counter",
         "Reloads that failed (config check, master) and were retried.",
         std::to_string(reload_failures_));
  metric("baker_haproxy_restarts_total", "counter",
         "Times the managed haproxy had to be restarted.", std::to_string(restarts_));
  metric(
      "baker_haproxy_last_reload_seconds", "gauge",
      "Duration of the last reload: config check, reload, new worker seen.",
      last_reload_ ? std::to_string(std::chrono::duration<double>(*last_reload_).count()) : "NaN");
  metric("baker_haproxy_config_generation", "gauge",
         "Generation of the managed configuration running.", std::to_string(generation_));
}

}  // namespace baker::sherlock::haproxy
