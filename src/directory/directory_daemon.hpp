#pragma once
// The thin Asio shell around DirectoryCore: one UDP socket (recvmmsg batches, big receive buffer,
// sendmmsg), one timer armed at the core's next deadline, the HTTP status server, and signals.
// Everything runs on one io_context thread, so the core needs no locks.
#include <boost/asio.hpp>
#include <memory>
#include <optional>
#include <string>

#include "common/http_status_server.hpp"
#include "common/real_clock.hpp"
#include "common/systemd_link.hpp"
#include "directory/batch_udp.hpp"
#include "directory/directory_core.hpp"
#include "directory/settings.hpp"
#include "directory/status_pages.hpp"
#include "wire/auth.hpp"
#include "wire/codec.hpp"

namespace baker::directory {

class DirectoryDaemon {
 public:
  // Binds everything. Throws StartupError (a port in use, an unreadable key file: exit 1) or
  // UsageError (flags that do not fit together: exit 2) with a clear message.
  // argc/argv are kept to re-read the settings on SIGHUP.
  DirectoryDaemon(boost::asio::io_context& io, const DaemonSettings& settings, int argc,
                  char** argv);
  void start();
  std::uint16_t udp_port() const { return socket_.local_endpoint().port(); }

 private:
  void do_receive();
  void on_readable();
  void handle(const BatchReceiver::Datagram& d, TimePoint now);
  void send_actions();
  void arm_timer();
  void on_timer();
  void do_rate_timer();
  void do_await_signal();
  void reload();
  void stop();
  std::string systemd_status() const;
  HttpReply status(const std::string& path);
  const wire::Keyring* keys() const { return keys_ ? &*keys_ : nullptr; }

  boost::asio::io_context& io_;
  SystemdLink systemd_;  // first: it takes NOTIFY_SOCKET out of the environment
  DaemonSettings settings_;
  int argc_;
  char** argv_;
  std::optional<wire::Keyring> keys_;
  RealTimeSource clock_;
  DirectoryCore core_;
  boost::asio::ip::udp::socket socket_;
  int family_ = 0;
  std::optional<SocketAddress> group_;
  boost::asio::steady_timer timer_;
  TimePoint armed_ = TimePoint::max();
  boost::asio::steady_timer rate_timer_;
  std::uint64_t heartbeats_at_last_second_ = 0;
  boost::asio::signal_set signals_;
  std::unique_ptr<HttpStatusServer> http_;
  BatchReceiver receiver_;
  BatchSender sender_;
  Actions actions_;
  std::vector<wire::Bytes> encoded_;
  ShellStats stats_;
  bool stopping_ = false;
};

}  // namespace baker::directory
