#pragma once
// HaproxyShell: sherlock's RouteSink for HAProxy. The thin Asio shell around HaproxyDriver: it runs
// the sessions the driver asks for on an AsioCliTransport, arms one timer for the driver's next
// deadline, and in managed mode owns the ManagedHaproxy that runs haproxy.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/program_options.hpp>
#include <memory>
#include <optional>

#include "sherlock/haproxy_driver.hpp"
#include "sherlock/haproxy_transport.hpp"
#include "sherlock/managed_haproxy.hpp"
#include "sherlock/route_sink.hpp"

namespace baker::sherlock {

// Registers the driver's flags (--haproxy-sock, --backend-prefix, managed-mode flags...) on
// sherlock's option set; make_haproxy_sink builds the sink from the parsed values, or throws
// UsageError naming the bad flag, or StartupError when managed mode cannot start haproxy
// (common/startup_error.hpp).
void add_haproxy_options(boost::program_options::options_description& flags);
std::unique_ptr<RouteSink> make_haproxy_sink(boost::asio::io_context& io,
                                             const boost::program_options::variables_map& values);

}  // namespace baker::sherlock

namespace baker::sherlock::haproxy {

struct ShellSettings {
  std::optional<CliEndpoint> socket;  // external HAProxy's admin socket; nullopt = managed mode
  DriverSettings driver;
  ManagedSettings managed;
  Duration session_timeout = std::chrono::seconds(5);
};

// Reads the flags add_haproxy_options registered; throws UsageError naming a bad flag.
ShellSettings shell_settings_from(const boost::program_options::variables_map& values);

class HaproxyShell final : public RouteSink {
 public:
  // Managed mode starts haproxy here (blocking, before the io_context runs); throws StartupError
  // (haproxy's own words when it has some) if it cannot.
  HaproxyShell(boost::asio::io_context& io, ShellSettings settings);
  ~HaproxyShell() override;

  void routes_changed(const ServiceRoutes& all, const std::vector<std::string>& changed) override;
  void replica_synced(const ServiceRoutes& all) override;
  void append_metrics(std::string& out) const override;
  const HaproxyDriver* haproxy_driver() const override { return &driver_; }
  std::string haproxy_description() const override;
  void stop() override;

  const HaproxyDriver& driver() const { return driver_; }
  ManagedHaproxy* managed() { return managed_.get(); }
  // The admin socket the driver talks to now (managed mode: this generation's).
  std::string admin_socket() const { return transport_->endpoint().to_string(); }

 private:
  void pump();
  // Managed mode's fresh start, once the replica holds a snapshot or routes_wait ran out (all:
  // null). Blocking; throws StartupError if haproxy does not start.
  void start_managed(const ServiceRoutes* all);

  boost::asio::io_context& io_;
  ShellSettings settings_;
  HaproxyDriver driver_;
  std::unique_ptr<ManagedHaproxy> managed_;
  std::shared_ptr<AsioCliTransport> transport_;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer start_timer_;  // managed mode: routes_wait
  bool waiting_start_ = false;             // managed haproxy not started yet
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace baker::sherlock::haproxy
