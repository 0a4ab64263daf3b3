#pragma once
// The one client of HAProxy's master CLI (`-S <run-dir>/master.sock`), for start-up and run time:
// connect to the Unix socket, send one command, half-close (the 2.6 master CLI answers only once
// the request has ended), read the answer to EOF, all within a timeout. The blocking form runs the
// same asynchronous operation on a private io_context, so both behave alike.
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.hpp"

namespace baker::sherlock::haproxy {

class MasterCliRequest;

// Completion of one command: the whole answer, or an error (timed_out if `timeout` passed first).
using MasterCliDone = std::function<void(const boost::system::error_code& error, std::string)>;

// Starts `command` on the socket at `path`; `done` is called once on `io`, unless the returned
// request is cancelled first.
std::shared_ptr<MasterCliRequest> async_master_command(boost::asio::io_context& io,
                                                       const std::string& path,
                                                       const std::string& command, Duration timeout,
                                                       MasterCliDone done);

// Blocking (start-up only; never on a running io_context): the answer, or "" with `error` set.
std::string master_command(const std::string& path, const std::string& command, Duration timeout,
                           boost::system::error_code& error);

// Blocking (start-up only): whether something accepts connections on the Unix socket at `path`.
bool unix_socket_accepts(const std::string& path);

// One command in flight. cancel() closes its socket and drops its completion.
class MasterCliRequest {
 public:
  virtual ~MasterCliRequest() = default;
  virtual void cancel() = 0;
};

}  // namespace baker::sherlock::haproxy
