#include "sherlock/managed_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace baker::sherlock::haproxy {

namespace {

int pidfd_open(int pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

int decode_status(int st) {
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// argv as exec wants it, built before fork (the child of a threaded process must not allocate).
std::vector<char*> exec_args(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  return args;
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(char* const* argv, int out_fd, pid_t parent, bool detached) {
  if (detached) {
    setsid();  // no terminal's or process group's signals (a Ctrl-C meant for sherlock)
  } else {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
  }
  if (out_fd >= 0) {
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    close(out_fd);
  }
  // Nothing of sherlock's (its UDP and HTTP sockets, the run dir lock) may live on in haproxy,
  // which outlives it: a restarted sherlock could not bind them again.
  if (syscall(SYS_close_range, 3U, ~0U, 0) != 0) {
    for (int fd = 3; fd < 65536; ++fd) close(fd);
  }
  // Unblock every signal and restore default handlers the parent may have changed.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execvp(argv[0], argv);
  _exit(127);
}

}  // namespace

std::shared_ptr<ManagedProcess> ManagedProcess::spawn(boost::asio::io_context& io,
                                                      const std::vector<std::string>& argv,
                                                      const std::string& log_path, Tie tie) {
  int out_fd = -1;
  if (!log_path.empty()) {
    out_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0) {
      throw std::runtime_error("cannot open " + log_path + ": " + std::strerror(errno));
    }
  }
  const auto args = exec_args(argv);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    if (out_fd >= 0) close(out_fd);
    throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    if (out_fd >= 0) fcntl(out_fd, F_SETFD, 0);
    exec_child(args.data(), out_fd, parent, tie == Tie::detached);
  }
  if (out_fd >= 0) close(out_fd);
  const int pidfd = pidfd_open(pid);
  if (pidfd < 0) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    throw std::runtime_error(std::string("pidfd_open failed: ") + std::strerror(errno));
  }
  return std::shared_ptr<ManagedProcess>(new ManagedProcess(io, pid, pidfd, tie, true));
}

std::shared_ptr<ManagedProcess> ManagedProcess::adopt(boost::asio::io_context& io, int pid) {
  const int pidfd = pid > 0 ? pidfd_open(pid) : -1;
  if (pidfd < 0) {
    throw std::runtime_error("process " + std::to_string(pid) + ": " + std::strerror(errno));
  }
  return std::shared_ptr<ManagedProcess>(new ManagedProcess(io, pid, pidfd, Tie::detached, false));
}

ManagedProcess::ManagedProcess(boost::asio::io_context& io, int pid, int pidfd, Tie tie, bool child)
    : pid_(pid), tie_(tie), child_(child), pidfd_(io, pidfd) {}

ManagedProcess::~ManagedProcess() {
  if (tie_ == Tie::bound && running()) {
    ::kill(pid_, SIGKILL);
    reap(true);
  }
}

bool ManagedProcess::reap(bool block) {
  if (status_) return true;
  if (!child_) {
    // Not ours to wait for: its pidfd turns readable when it exits.
    pollfd p{pidfd_.native_handle(), POLLIN, 0};
    while (::poll(&p, 1, block ? -1 : 0) < 0 && errno == EINTR) {
    }
    if ((p.revents & (POLLIN | POLLHUP)) == 0) return false;
    status_ = -1;
    return true;
  }
  int st = 0;
  const int r = waitpid(pid_, &st, block ? 0 : WNOHANG);
  if (r == pid_) {
    status_ = decode_status(st);
    return true;
  }
  if (r < 0 && errno == ECHILD) {
    status_ = -1;  // reaped elsewhere
    return true;
  }
  return false;
}

bool ManagedProcess::running() {
  return !reap(false);
}

void ManagedProcess::watch(std::function<void(int status)> on_exit) {
  pidfd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                    [self = shared_from_this(),
                     on_exit = std::move(on_exit)](const boost::system::error_code& ec) {
                      if (ec) return;  // cancelled: sherlock is stopping
                      self->reap(true);
                      on_exit(self->status_.value_or(-1));
                    });
}

void ManagedProcess::unwatch() {
  boost::system::error_code ignored;
  pidfd_.cancel(ignored);
}

void ManagedProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> ManagedProcess::wait_for(Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!reap(false)) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

int run_to_completion(const std::vector<std::string>& argv, std::string& output) {
  char path[] = "/tmp/baker-haproxy-check-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) {
    output = std::string("mkstemp failed: ") + std::strerror(errno);
    return 127;
  }
  const auto args = exec_args(argv);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) exec_child(args.data(), fd, parent, false);
  close(fd);
  int st = 0;
  if (pid > 0) {
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  output = ss.str();
  unlink(path);
  if (pid < 0) return 127;
  return decode_status(st);
}

}  // namespace baker::sherlock::haproxy
