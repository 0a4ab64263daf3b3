#pragma once
// The seam between sherlock's replica and whatever consumes routes (the HAProxy driver).
#include <boost/asio/io_context.hpp>
#include <boost/program_options.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "wire/messages.hpp"

namespace baker::sherlock {

// service -> its routes, sorted by instance id.
using ServiceRoutes = std::map<std::string, std::vector<wire::Route>>;

class RouteSink {
 public:
  virtual ~RouteSink() = default;
  // Called on the io_context thread after the replica changed. `all` is the whole replica (it stays
  // valid only during the call); `changed` names the services whose routes changed (a service that
  // lost its last route is named too, and is absent from `all`). Must not block: a sink that does
  // I/O queues the work and returns.
  virtual void routes_changed(const ServiceRoutes& all,
                              const std::vector<std::string>& changed) = 0;
  // Appends the sink's own Prometheus metrics to `out` (for sherlock's /metrics).
  virtual void append_metrics(std::string& out) const { (void)out; }
  // Graceful stop (managed mode stops its haproxy); the io_context keeps running until it returns.
  virtual void stop() {}
};

// Implemented by the HAProxy driver (haproxy_sink.cpp). add_haproxy_options registers the driver's
// flags (--haproxy-sock, --backend-prefix, managed-mode flags...) on sherlock's option set;
// make_haproxy_sink builds the sink from the parsed values, or throws UsageError naming the bad
// flag, or StartupError when managed mode cannot start haproxy (common/startup_error.hpp).
void add_haproxy_options(boost::program_options::options_description& flags);
std::unique_ptr<RouteSink> make_haproxy_sink(boost::asio::io_context& io,
                                             const boost::program_options::variables_map& values);

}  // namespace baker::sherlock
