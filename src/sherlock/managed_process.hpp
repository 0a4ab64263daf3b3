#pragma once
// Child processes for managed mode (the haproxy master, `haproxy -c` checks), watched through a
// pidfd so the io_context learns of their exit without signal handlers or polling.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"

namespace baker::sherlock::haproxy {

class ManagedProcess : public std::enable_shared_from_this<ManagedProcess> {
 public:
  enum class Tie {
    // The child gets SIGTERM if sherlock dies (PR_SET_PDEATHSIG) and SIGKILL when this object
    // goes: `haproxy -c` checks.
    bound,
    // The child runs in its own session and outlives sherlock (a crash, a restart): the haproxy
    // master, which the next sherlock adopts.
    detached,
  };
  // fork + exec `argv`. Output goes to `log_path` (truncated) or, if empty, to sherlock's own
  // stdout/stderr. Throws std::runtime_error if the process cannot be started.
  static std::shared_ptr<ManagedProcess> spawn(boost::asio::io_context& io,
                                               const std::vector<std::string>& argv,
                                               const std::string& log_path = "",
                                               Tie tie = Tie::bound);
  // A running process that is not our child (a haproxy master an earlier sherlock started):
  // watched through a pidfd; its exit status is unknown (-1). Throws std::runtime_error if `pid`
  // does not run.
  static std::shared_ptr<ManagedProcess> adopt(boost::asio::io_context& io, int pid);
  // Bound processes are killed when this object goes; detached and adopted ones are left running.
  ~ManagedProcess();

  int pid() const { return pid_; }
  bool running();
  std::optional<int> exit_status() const { return status_; }  // 128+signal if killed
  // Calls on_exit(status) once, on the io_context, when the process exits.
  void watch(std::function<void(int status)> on_exit);
  // Stops watching (on_exit is not called): sherlock leaves the process running and stops.
  void unwatch();
  void signal(int sig);
  // Blocking: start-up and shutdown only. nullopt if still running after `timeout`.
  std::optional<int> wait_for(Duration timeout);

 private:
  ManagedProcess(boost::asio::io_context& io, int pid, int pidfd, Tie tie, bool child);
  bool reap(bool block);

  int pid_ = -1;
  Tie tie_ = Tie::bound;
  bool child_ = true;  // ours to reap (waitpid); an adopted process is watched by its pidfd only
  std::optional<int> status_;
  boost::asio::posix::stream_descriptor pidfd_;
};

// Runs `argv` to completion (blocking; start-up only) and returns its exit status (127 if it could
// not be executed) with its output in `output`.
int run_to_completion(const std::vector<std::string>& argv, std::string& output);

}  // namespace baker::sherlock::haproxy
