#include "sherlock/managed_haproxy.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "sherlock/managed_state.hpp"

namespace baker::sherlock::haproxy {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace reloader;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `text` to `path` through a temporary file renamed over it; "" or the reason it failed.
std::string write_file(const std::string& path, const std::string& text) {
  const auto tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) return std::strerror(errno);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return ec ? ec.message() : "";
}

}  // namespace

ManagedHaproxy::ManagedHaproxy(asio::io_context& io, ManagedSettings settings,
                               const HaproxyDriver& driver, NewWorker on_new_worker)
    : io_(io),
      settings_(std::move(settings)),
      driver_(driver),
      on_new_worker_(std::move(on_new_worker)),
      timer_(io) {}

ManagedHaproxy::~ManagedHaproxy() {
  stop();
}

int ManagedHaproxy::master_pid() const {
  return master_ ? master_->pid() : -1;
}

void ManagedHaproxy::prepare_run_dir() {
  if (core_) return;
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
  // One sherlock per run directory: a second one would adopt (and reload) the first one's haproxy.
  // O_CLOEXEC: haproxy must not inherit the lock, or it would hold it after sherlock is gone.
  const auto lock_path = run_dir_ + "/sherlock.lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) {
    throw std::runtime_error("--run-dir " + run_dir_ + ": cannot open " + lock_path + ": " +
                             std::strerror(errno));
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const auto holder = read_file(lock_path);
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw std::runtime_error("--run-dir " + run_dir_ + " is in use by another sherlock" +
                             (holder.empty() ? "" : " (pid " + holder + ")") +
                             ": give each sherlock its own --run-dir");
  }
  const auto pid = std::to_string(getpid());
  if (::ftruncate(lock_fd_, 0) != 0 || ::write(lock_fd_, pid.data(), pid.size()) < 0) {
    spdlog::warn("haproxy: cannot write {}: {}", lock_path, std::strerror(errno));
  }
  core_.emplace(settings_, run_dir_, driver_);
  if (core_->socket_path(999999).size() >= sizeof(sockaddr_un::sun_path)) {
    throw std::runtime_error("--run-dir " + run_dir_ +
                             ": path too long for Unix sockets inside it");
  }
}

void ManagedHaproxy::run_blocking(Actions first) {
  // The core's start-up, performed synchronously: between its steps, wait for its next deadline
  // and watch the master (a failed frontend bind makes haproxy exit).
  blocking_ = true;
  feed(std::move(first));
  while (!started_ && !start_error_) {
    if (master_ && !master_->running()) {
      feed(core_->on_master_exit(master_->exit_status().value_or(-1), Clock::now()));
      if (!started_ && !start_error_) start_error_ = "haproxy exited during start-up";
      break;
    }
    const auto at = core_->next_deadline();
    if (!at) {
      start_error_ = "managed haproxy start-up stalled";  // a core that waits for nothing: a bug
      break;
    }
    std::this_thread::sleep_until(*at);
    feed(core_->on_timer(Clock::now()));
  }
  blocking_ = false;
  if (start_error_) throw std::runtime_error(*start_error_);
  arm_timer();
}

bool ManagedHaproxy::adopt() {
  prepare_run_dir();
  const auto path = core_->state_path();
  if (!std::filesystem::exists(path)) return false;
  std::string why;
  const auto state = parse_managed_state(read_file(path), &why);
  if (!state) {
    spdlog::warn("haproxy: ignoring {}: {}", path, why);
    return false;
  }
  // A live master, and haproxy: a pid reused by another program after a reboot is not adopted
  // (a pid that no longer runs has no comm).
  const auto comm = read_file("/proc/" + std::to_string(state->master_pid) + "/comm");
  if (comm.rfind("haproxy", 0) != 0) {
    spdlog::info("haproxy: the haproxy recorded in {} (master pid {}) no longer runs: starting one",
                 path, state->master_pid);
    return false;
  }
  try {
    master_ = ManagedProcess::adopt(io_, state->master_pid);
  } catch (const std::exception& e) {
    spdlog::info("haproxy: cannot adopt master pid {}: {}: starting one", state->master_pid,
                 e.what());
    return false;
  }
  watch_master();
  run_blocking(core_->adopt(*state, Clock::now()));
  return true;
}

// The core hears of the master's exit (not of an earlier master's, replaced since).
void ManagedHaproxy::watch_master() {
  master_->watch(
      [this, alive = std::weak_ptr<bool>(alive_), proc = std::weak_ptr(master_)](int status) {
        const auto self = proc.lock();
        if (!alive.lock() || !self || self != master_) return;
        feed(core_->on_master_exit(status, Clock::now()));
      });
}

void ManagedHaproxy::start(const Routes* all) {
  prepare_run_dir();
  run_blocking(core_->start(Clock::now(), all));
}

void ManagedHaproxy::update(const Routes* all) {
  if (!core_ || stopped_) return;
  feed(core_->on_routes(all, Clock::now()));
}

void ManagedHaproxy::feed(Actions actions) {
  for (auto& a : actions) queue_.push_back(std::move(a));
  if (performing_) return;  // an outcome reported while performing: the loop below takes it
  performing_ = true;
  while (!queue_.empty()) {
    auto action = std::move(queue_.front());
    queue_.pop_front();
    perform(action);
  }
  performing_ = false;
  if (!blocking_) arm_timer();
}

void ManagedHaproxy::perform(Action& action) {
  const auto now = [] { return Clock::now(); };
  if (const auto* w = std::get_if<WriteConfig>(&action)) {
    feed(core_->on_config_written(write_file(w->path, w->text), now()));
  } else if (const auto* ss = std::get_if<WriteServerState>(&action)) {
    feed(core_->on_server_state_written(write_file(ss->path, ss->text), now()));
  } else if (const auto* c = std::get_if<RunCheck>(&action)) {
    perform_check(*c);
  } else if (const auto* i = std::get_if<InstallConfig>(&action)) {
    std::error_code ec;
    std::filesystem::rename(i->from, i->to, ec);
    feed(core_->on_config_installed(ec ? ec.message() : "", now()));
  } else if (const auto* s = std::get_if<StartMaster>(&action)) {
    perform_start_master(*s);
  } else if (const auto* p = std::get_if<ProbeSocket>(&action)) {
    feed(core_->on_socket_probed(unix_socket_accepts(p->path), now()));
  } else if (const auto* q = std::get_if<QueryMaster>(&action)) {
    perform_query(*q);
  } else if (std::holds_alternative<CancelPending>(action)) {
    cancel_pending();
  } else if (const auto* m = std::get_if<StopMaster>(&action)) {
    perform_stop_master(*m);
  } else if (const auto* st = std::get_if<SaveState>(&action)) {
    if (const auto err = write_file(st->path, st->text); !err.empty()) {
      spdlog::warn("haproxy: cannot write {}: {} (a restarted sherlock will not adopt haproxy)",
                   st->path, err);
    }
  } else if (const auto* n = std::get_if<reloader::NewWorker>(&action)) {
    on_new_worker_(n->admin_socket);
  } else if (const auto* r = std::get_if<RemoveFile>(&action)) {
    std::error_code ignored;
    std::filesystem::remove(r->path, ignored);
  } else if (std::holds_alternative<Started>(action)) {
    started_ = true;
    blocking_ = false;  // what follows runs on the io_context
  } else if (const auto* f = std::get_if<StartFailed>(&action)) {
    start_error_ = f->why;
  } else if (const auto* l = std::get_if<Log>(&action)) {
    if (l->level == LogLevel::error) {
      spdlog::error("haproxy: {}", l->text);
    } else if (l->level == LogLevel::warn) {
      spdlog::warn("haproxy: {}", l->text);
    } else {
      spdlog::info("haproxy: {}", l->text);
    }
  }
}

void ManagedHaproxy::perform_check(const RunCheck& check) {
  if (blocking_) {
    std::string output;
    const int status = run_to_completion(check.argv, output);
    feed(core_->on_check_done(status, output, Clock::now()));
    return;
  }
  try {
    check_ = ManagedProcess::spawn(io_, check.argv, check.log_path);
  } catch (const std::exception& e) {
    feed(core_->on_check_done(127, e.what(), Clock::now()));
    return;
  }
  check_->watch([this, alive = std::weak_ptr<bool>(alive_), proc = std::weak_ptr(check_),
                 log = check.log_path](int status) {
    const auto self = proc.lock();
    if (!alive.lock() || !self || self != check_) return;  // cancelled
    check_.reset();
    feed(core_->on_check_done(status, read_file(log), Clock::now()));
  });
}

void ManagedHaproxy::perform_query(const QueryMaster& query) {
  if (blocking_) {
    error_code ec;
    const auto reply = master_command(query.socket, query.command, query.timeout, ec);
    deliver_reply(query.command, ec, reply);
    return;
  }
  cli_ = async_master_command(io_, query.socket, query.command, query.timeout,
                              [this, alive = std::weak_ptr<bool>(alive_), command = query.command](
                                  const error_code& ec, std::string reply) {
                                if (!alive.lock()) return;
                                cli_.reset();
                                deliver_reply(command, ec, reply);
                              });
}

void ManagedHaproxy::deliver_reply(const std::string& command, const error_code& ec,
                                   const std::string& reply) {
  const auto now = Clock::now();
  if (command == "reload") {
    // The master re-executes on `reload`: a reset connection is its normal answer.
    const bool failed = ec && ec != asio::error::connection_reset;
    feed(core_->on_reload_sent(failed ? ec.message() : "", now));
    return;
  }
  const auto procs = ec ? std::nullopt : parse_show_proc(reply);
  feed(core_->on_show_proc(procs, ec ? ec.message() : "", now));
}

void ManagedHaproxy::perform_start_master(const StartMaster& start) {
  try {
    // Detached: haproxy outlives a sherlock crash or restart, and the next sherlock adopts it.
    master_ = ManagedProcess::spawn(io_, start.argv, "", ManagedProcess::Tie::detached);
  } catch (const std::exception& e) {
    master_.reset();
    feed(core_->on_master_started(-1, e.what(), Clock::now()));
    return;
  }
  watch_master();
  feed(core_->on_master_started(master_->pid(), "", Clock::now()));
}

void ManagedHaproxy::perform_stop_master(const StopMaster& stop) {
  if (!master_ || !master_->running()) return;
  // SIGUSR1: a soft stop. The workers stop listening and finish the requests in flight; the master
  // exits after them. SIGTERM only after the grace.
  spdlog::info("haproxy: soft-stopping haproxy (master pid {})", master_->pid());
  // Sent again every 250 ms: a master still loading its configuration (just started or restarted)
  // loses a signal that arrives before it installs its handlers (seen: it then served on).
  const auto deadline = Clock::now() + stop.grace;
  bool exited = false;
  while (!exited && Clock::now() < deadline) {
    master_->signal(SIGUSR1);
    exited =
        master_
            ->wait_for(std::min<Duration>(std::chrono::milliseconds(250), deadline - Clock::now()))
            .has_value();
  }
  if (!exited) {
    // Requests longer than the grace are cut; so is 2.6.12's worker that missed a soft stop sent
    // while its master re-executed itself right after start-up (it stops listening, never exits).
    spdlog::warn(
        "haproxy: master pid {} still running {} ms after the soft stop: stopping it now "
        "(SIGTERM)",
        master_->pid(), std::chrono::duration_cast<std::chrono::milliseconds>(stop.grace).count());
    master_->signal(SIGTERM);
    if (!master_->wait_for(std::chrono::seconds(2))) {
      spdlog::error("haproxy: master pid {} did not exit on SIGTERM", master_->pid());
    }
  }
}

void ManagedHaproxy::cancel_pending() {
  if (cli_) {
    cli_->cancel();
    cli_.reset();
  }
  if (check_) {
    check_->signal(SIGKILL);
    if (stopped_) check_->wait_for(std::chrono::seconds(1));
    check_.reset();
  }
}

void ManagedHaproxy::arm_timer() {
  if (!core_ || stopped_) return;
  const auto at = core_->next_deadline();
  if (at == armed_) return;
  armed_ = at;
  if (!at) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(*at);
  timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const error_code& ec) {
    if (ec || !alive.lock() || stopped_) return;
    armed_.reset();
    feed(core_->on_timer(Clock::now()));
  });
}

void ManagedHaproxy::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (core_) feed(core_->stop(Clock::now()));
  *alive_ = false;
  timer_.cancel();
  if (master_) {
    master_->unwatch();  // stopped, or left serving: either way the io_context may end
    master_.reset();
  }
  if (own_run_dir_ && !run_dir_.empty() && settings_.stop_on_exit) {
    std::error_code ignored;
    std::filesystem::remove_all(run_dir_, ignored);
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
}

void ManagedHaproxy::append_metrics(std::string& out) const {
  if (core_) core_->append_metrics(out);
}

}  // namespace baker::sherlock::haproxy
