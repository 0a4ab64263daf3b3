#pragma once
// The Asio shell around Replica: one UDP socket to and from the directory (plus the multicast
// group if asked), a timer armed at the core's next deadline, the local query interface, and the
// RouteSink told once per batch of datagrams. Everything runs on one io_context thread.
#include <boost/asio.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/http_status_server.hpp"
#include "common/real_clock.hpp"
#include "sherlock/query_interface.hpp"
#include "sherlock/replica.hpp"
#include "sherlock/route_sink.hpp"
#include "wire/auth.hpp"

namespace baker::sherlock {

struct SherlockOptions {
  boost::asio::ip::udp::endpoint directory;
  boost::asio::ip::udp::endpoint listen;
  std::optional<boost::asio::ip::udp::endpoint> multicast_group;
  std::optional<boost::asio::ip::address> multicast_interface;
  std::optional<boost::asio::ip::tcp::endpoint> http;
  // A 100k-route snapshot is ~3000 datagrams arriving at once: the socket must hold a burst.
  int receive_buffer = 8 << 20;
  std::size_t batch = 1024;  // datagrams read per wake-up before other handlers get a turn
  ReplicaConfig replica;
};

class SherlockDaemon {
 public:
  // Binds the sockets and the HTTP listener; throws boost::system::system_error if it cannot.
  // sink may be null (--no-haproxy).
  SherlockDaemon(boost::asio::io_context& io, SherlockOptions options,
                 std::optional<wire::Keyring> keys, std::unique_ptr<RouteSink> sink);

  void start();
  // Unsubscribe, stop the sink, close sockets and the timer, so io_context::run() returns.
  void stop();
  // New keys (SIGHUP): nullopt = send unauthenticated, accept anything.
  void set_keys(std::optional<wire::Keyring> keys);

  boost::asio::ip::udp::endpoint local_endpoint() const;
  std::optional<unsigned short> http_port() const;
  const Replica& replica() const { return replica_; }

 private:
  void do_receive(boost::asio::ip::udp::socket& socket, Replica::Source source);
  void drain(boost::asio::ip::udp::socket& socket, Replica::Source source);
  void handle_datagram(std::size_t size, const boost::asio::ip::udp::endpoint& from, TimePoint now,
                       Replica::Source source);
  void send(const Replica::Outgoing& out);
  void settle();  // after any event: tell the sink, re-arm the timer
  void arm_timer();
  void set_receive_buffer(boost::asio::ip::udp::socket& socket);

  SherlockOptions options_;
  RealTimeSource clock_;
  Replica replica_;
  std::optional<wire::Keyring> keys_;
  std::unique_ptr<RouteSink> sink_;
  boost::asio::ip::udp::socket socket_;
  std::optional<boost::asio::ip::udp::socket> group_socket_;
  boost::asio::steady_timer timer_;
  std::optional<TimePoint> timer_at_;
  std::unique_ptr<HttpStatusServer> http_;
  ReceiveStats stats_;
  std::vector<std::uint8_t> receive_buffer_;
  std::vector<std::uint8_t> send_buffer_;
  std::array<bool, wire::kDecodeErrorCount> reject_logged_{};
  bool stopped_ = false;
};

}  // namespace baker::sherlock
