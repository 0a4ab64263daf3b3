#pragma once
// A daemon's link to systemd (sd_notify(3)'s protocol, written out rather than linking libsystemd:
// one datagram per state to $NOTIFY_SOCKET). Tells READY=1, RELOADING=1, STOPPING=1 and STATUS=,
// and sends WATCHDOG=1 from the daemon's own io_context at half of $WATCHDOG_USEC, so a stuck
// event loop stops the pings and systemd restarts the daemon. Without $NOTIFY_SOCKET every call
// does nothing.
#include <sys/socket.h>
#include <sys/un.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace baker {

struct NotifyAddress {
  sockaddr_un address{};
  socklen_t length = 0;
};

// $NOTIFY_SOCKET as systemd sets it: an absolute path, or "@name" for the abstract namespace.
// nullopt for anything else (empty, relative, too long for sun_path).
std::optional<NotifyAddress> parse_notify_socket(std::string_view value);

// How often to ping: half of $WATCHDOG_USEC, when the watchdog is meant for this process
// ($WATCHDOG_PID unset or equal to `pid`). nullopt when there is no (valid) watchdog.
std::optional<Duration> watchdog_ping_interval(const char* watchdog_usec, const char* watchdog_pid,
                                               long pid);

class SystemdLink {
 public:
  // Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID, then unsets them so that children
  // (health-check commands, a managed haproxy) do not talk to systemd in this daemon's name.
  // Starts the watchdog pings at once: they belong to the event loop, not to readiness.
  explicit SystemdLink(boost::asio::io_context& io);
  ~SystemdLink();
  SystemdLink(const SystemdLink&) = delete;
  SystemdLink& operator=(const SystemdLink&) = delete;

  bool active() const { return fd_ >= 0; }
  std::optional<Duration> watchdog_interval() const { return watchdog_; }

  // READY=1 with a STATUS= line for `systemctl status`. The first call also logs it.
  void ready(std::string_view status);
  // Around a SIGHUP reload: RELOADING=1, then READY=1 again (with a new status line, or with
  // the last one).
  void reloading();
  void reloaded();
  // STOPPING=1 (once); the watchdog stops too, so io_context::run() can return.
  void stopping(std::string_view status = "stopping");
  void status(std::string_view status);

 private:
  void send(const std::string& message);
  void arm_watchdog();

  boost::asio::steady_timer timer_;
  int fd_ = -1;
  NotifyAddress address_;
  std::optional<Duration> watchdog_;
  std::string ready_status_;
  bool told_ready_ = false;
  bool told_stopping_ = false;
  bool send_failure_logged_ = false;
};

}  // namespace baker
