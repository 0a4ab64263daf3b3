#pragma once
// Health checks as Asio asynchronous operations: HTTP GET (Boost.Beast), TCP connect, running a
// command, or none. Each completes within its timeout; the daemon feeds the result to WatsonCore.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "watson/config.hpp"

namespace baker::watson {

struct CheckResult {
  bool passed = false;
  std::string detail;  // "HTTP 200", "connect: Connection refused", "exit status 1", "timed out"
};

class HealthCheck {
 public:
  using Callback = std::function<void(CheckResult)>;
  virtual ~HealthCheck() = default;
  // Starts one check. `done` runs once, on the io_context, at most about the timeout later;
  // unless cancel() comes first, in which case it never runs. One check at a time.
  virtual void start(Callback done) = 0;
  // Abandons the check in flight, releasing its socket or killing its process group.
  virtual void cancel() = 0;
  virtual std::string describe() const = 0;
};

// GET `target` from `at` with a Host header of `host`; passes if the status is in `expected`.
std::unique_ptr<HealthCheck> make_http_check(boost::asio::io_context& io,
                                             boost::asio::ip::tcp::endpoint at, std::string host,
                                             std::string target, StatusRanges expected,
                                             std::chrono::milliseconds timeout);
// Passes if a TCP connection to `at` opens within the timeout.
std::unique_ptr<HealthCheck> make_tcp_check(boost::asio::io_context& io,
                                            boost::asio::ip::tcp::endpoint at,
                                            std::chrono::milliseconds timeout);
// Runs `/bin/sh -c command` in its own process group (stdin/stdout/stderr on /dev/null); passes
// if it exits 0 within the timeout, after which the whole group is killed.
std::unique_ptr<HealthCheck> make_exec_check(boost::asio::io_context& io, std::string command,
                                             std::chrono::milliseconds timeout);
// Always passes (tests, or instances whose liveness is the watson process itself).
std::unique_ptr<HealthCheck> make_no_check(boost::asio::io_context& io);

}  // namespace baker::watson
