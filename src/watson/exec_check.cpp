// Command health check: /bin/sh -c COMMAND in a process group of its own, reaped on SIGCHLD; on
// timeout the whole group (the shell and anything it started) is killed.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>

#include "watson/checks.hpp"

namespace baker::watson {
namespace {

namespace asio = boost::asio;

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "ended with wait status " + std::to_string(status);
}

// Only async-signal-safe calls between fork and exec. Signals are blocked across fork, so no
// handler inherited from the parent (Asio's, which writes to a pipe the parent reads) can run
// here; they are reset to the default before being unblocked.
[[noreturn]] void exec_child(char* const argv[], int max_fd) {
  setpgid(0, 0);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  const int null_fd = open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
  }
  if (close_range(3, ~0U, 0) != 0) {
    for (int fd = 3; fd < max_fd; ++fd) close(fd);
  }
  execv(argv[0], argv);
  _exit(127);
}

class ExecCheck final : public HealthCheck {
 public:
  ExecCheck(asio::io_context& io, std::string command, std::chrono::milliseconds timeout)
      : io_(io), command_(std::move(command)), timeout_(timeout), sigchld_(io), timer_(io) {
    // Registered for the life of the check so no child's SIGCHLD can slip by unseen.
    sigchld_.add(SIGCHLD);
  }
  ~ExecCheck() override { cancel(); }

  void start(Callback done) override {
    cancel();
    done_ = std::move(done);
    timed_out_ = false;
    std::string sh = "/bin/sh";
    std::string dash_c = "-c";
    char* argv[] = {sh.data(), dash_c.data(), command_.data(), nullptr};
    rlimit lim{};
    int max_fd = 4096;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
      max_fd = static_cast<int>(std::min<rlim_t>(lim.rlim_cur, 65536));
    }
    sigset_t all;
    sigset_t saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    const pid_t pid = fork();
    if (pid == 0) exec_child(argv, max_fd);
    const int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    if (pid < 0) {
      const std::string why = std::string("fork: ") + std::strerror(fork_errno);
      asio::post(io_, [this, alive = std::weak_ptr<int>(alive_), why, gen = generation_] {
        if (alive.lock()) finish(gen, {false, why});
      });
      return;
    }
    setpgid(pid, pid);  // also from the parent, so a timeout kill never misses the group
    pid_ = pid;
    const auto gen = generation_;
    timer_.expires_after(timeout_);
    timer_.async_wait([this, gen](boost::system::error_code ec) {
      if (ec || gen != generation_ || pid_ <= 0) return;
      timed_out_ = true;
      kill(-pid_, SIGKILL);  // reaped by on_sigchld
    });
    do_await_child(gen);
  }

  void cancel() override {
    ++generation_;
    done_ = nullptr;
    timer_.cancel();
    if (pid_ > 0) {
      kill(-pid_, SIGKILL);
      int status = 0;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      pid_ = -1;
    }
  }

  std::string describe() const override { return "command '/bin/sh -c " + command_ + "'"; }

 private:
  void do_await_child(std::uint64_t gen) {
    sigchld_.async_wait([this, gen](boost::system::error_code ec, int) {
      if (ec || gen != generation_ || pid_ <= 0) return;
      int status = 0;
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == 0 || (r < 0 && errno == EINTR)) return do_await_child(gen);  // someone else's
      pid_ = -1;
      timer_.cancel();
      if (r < 0) return finish(gen, {false, std::string("waitpid: ") + std::strerror(errno)});
      if (timed_out_) return finish(gen, {false, "timed out (process group killed)"});
      finish(gen, {WIFEXITED(status) && WEXITSTATUS(status) == 0, describe_status(status)});
    });
  }

  void finish(std::uint64_t gen, CheckResult r) {
    if (gen != generation_) return;
    if (auto done = std::move(done_)) {
      done_ = nullptr;
      done(std::move(r));
    }
  }

  asio::io_context& io_;
  std::string command_;
  std::chrono::milliseconds timeout_;
  asio::signal_set sigchld_;
  asio::steady_timer timer_;
  pid_t pid_ = -1;
  bool timed_out_ = false;
  std::uint64_t generation_ = 0;  // handlers of an abandoned check see a newer generation
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // posted handlers outliving us skip
  Callback done_;
};

class NoCheck final : public HealthCheck {
 public:
  explicit NoCheck(asio::io_context& io) : io_(io) {}
  void start(Callback done) override {
    const auto gen = ++*generation_;
    asio::post(io_,
               [gen, weak = std::weak_ptr<std::uint64_t>(generation_), done = std::move(done)] {
                 const auto current = weak.lock();
                 if (current && *current == gen) done({true, "no check configured"});
               });
  }
  void cancel() override { ++*generation_; }
  std::string describe() const override { return "no check (always healthy)"; }

 private:
  asio::io_context& io_;
  std::shared_ptr<std::uint64_t> generation_ = std::make_shared<std::uint64_t>(0);
};

}  // namespace

std::unique_ptr<HealthCheck> make_exec_check(asio::io_context& io, std::string command,
                                             std::chrono::milliseconds timeout) {
  return std::make_unique<ExecCheck>(io, std::move(command), timeout);
}

std::unique_ptr<HealthCheck> make_no_check(asio::io_context& io) {
  return std::make_unique<NoCheck>(io);
}

}  // namespace baker::watson
