#pragma once
// The seam between sherlock's replica and whatever consumes routes (the HAProxy driver).
#include <map>
#include <string>
#include <vector>

#include "wire/messages.hpp"

namespace baker::sherlock {

namespace haproxy {
class HaproxyDriver;
}

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
  // Called once, after the routes_changed of the same moment, when the replica first holds a
  // directory's whole table (a snapshot applied): `all` as above. A sink that must not act on a
  // partial replica (managed mode writing haproxy's first configuration) waits for this.
  virtual void replica_synced(const ServiceRoutes& all) { (void)all; }
  // Appends the sink's own Prometheus metrics to `out` (for sherlock's /metrics).
  virtual void append_metrics(std::string& out) const { (void)out; }
  // For the status page: the HAProxy driver's view of its backends, and where HAProxy is
  // ("external /run/haproxy/admin.sock", "managed, run dir ..."). A sink without one: nullptr.
  virtual const haproxy::HaproxyDriver* haproxy_driver() const { return nullptr; }
  virtual std::string haproxy_description() const { return ""; }
  // Graceful stop (managed mode stops its haproxy); the io_context keeps running until it returns.
  virtual void stop() {}
};

}  // namespace baker::sherlock
