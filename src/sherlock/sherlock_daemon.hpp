#pragma once
// The Asio shell around DirectoryStreams: one UDP socket to and from every directory (a datagram
// belongs to the stream of the directory endpoint it came from), the multicast groups if asked, a
// timer armed at the core's next deadline, the local query interface, and the RouteSink told once
// per batch of datagrams. Everything runs on one io_context thread.
#include <boost/asio.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "common/http_status_server.hpp"
#include "common/real_clock.hpp"
#include "sherlock/directory_streams.hpp"
#include "sherlock/query_interface.hpp"
#include "sherlock/route_sink.hpp"
#include "wire/auth.hpp"

namespace baker::sherlock {

struct SherlockOptions {
  std::vector<boost::asio::ip::udp::endpoint> directories;  // one stream each, in this order
  boost::asio::ip::udp::endpoint listen;
  // None; one (shared by every directory: its datagrams go to the stream of their source); or
  // one per directory, in the same order.
  std::vector<boost::asio::ip::udp::endpoint> multicast_groups;
  std::optional<boost::asio::ip::address> multicast_interface;
  std::optional<boost::asio::ip::tcp::endpoint> http;
  // A 100k-route snapshot is ~3000 datagrams arriving at once: the socket must hold a burst.
  int receive_buffer = 8 << 20;
  std::size_t batch = 1024;  // datagrams read per wake-up before other handlers get a turn
  ReplicaConfig replica;     // for every stream (each gets its directory's address as name)
  // Readiness (systemd's READY=1): once the replica holds a snapshot worth starting from, or
  // after this long without one (zero: ready at start).
  Duration ready_wait = std::chrono::seconds(5);
};

// "ADDR:PORT" ("[v6]:PORT"), as streams are named in logs, /digest and metric labels.
std::string endpoint_name(const boost::asio::ip::udp::endpoint& e);

class SherlockDaemon {
 public:
  // Binds the sockets and the HTTP listener; throws boost::system::system_error if it cannot.
  // sink may be null (--no-haproxy).
  SherlockDaemon(boost::asio::io_context& io, SherlockOptions options,
                 std::optional<wire::Keyring> keys, std::unique_ptr<RouteSink> sink);

  // Told once, with a line for `systemctl status`: the replica holds a snapshot, or ready_wait
  // ran out. Set it before start().
  void on_ready(std::function<void(const std::string& status)> ready) { ready_ = std::move(ready); }
  void start();
  // Unsubscribe, stop the sink, close sockets and the timer, so io_context::run() returns.
  void stop();
  // New keys (SIGHUP): nullopt = send unauthenticated, accept anything.
  void set_keys(std::optional<wire::Keyring> keys);

  boost::asio::ip::udp::endpoint local_endpoint() const;
  std::optional<unsigned short> http_port() const;
  const DirectoryStreams& streams() const { return streams_; }

 private:
  struct GroupSocket {
    boost::asio::ip::udp::socket socket;
    std::optional<std::size_t> stream;  // paired with one directory; nullopt: shared by all
  };
  // A datagram's stream: the directory it came from.
  static constexpr std::size_t kNoStream = static_cast<std::size_t>(-1);
  std::size_t stream_of(const boost::asio::ip::udp::endpoint& from) const;

  void do_receive(boost::asio::ip::udp::socket& socket, Replica::Source source,
                  std::optional<std::size_t> paired);
  void drain(boost::asio::ip::udp::socket& socket, Replica::Source source,
             std::optional<std::size_t> paired);
  void handle_datagram(std::size_t size, const boost::asio::ip::udp::endpoint& from, TimePoint now,
                       Replica::Source source, std::optional<std::size_t> paired);
  void send(std::size_t stream, const Replica::Outgoing& out);
  void join(GroupSocket& g, const boost::asio::ip::udp::endpoint& group);
  void settle();  // after any event: tell the sink, re-arm the timer
  void tell_ready(const std::string& status);
  void arm_timer();
  void set_receive_buffer(boost::asio::ip::udp::socket& socket);

  SherlockOptions options_;
  RealTimeSource clock_;
  DirectoryStreams streams_;
  std::optional<wire::Keyring> keys_;
  std::unique_ptr<RouteSink> sink_;
  boost::asio::ip::udp::socket socket_;
  std::vector<std::unique_ptr<GroupSocket>> group_sockets_;
  boost::asio::steady_timer timer_;
  std::optional<TimePoint> timer_at_;
  std::unique_ptr<HttpStatusServer> http_;
  ReceiveStats stats_;
  std::vector<std::uint8_t> receive_buffer_;
  std::vector<std::uint8_t> send_buffer_;
  std::array<bool, wire::kDecodeErrorCount> reject_logged_{};
  bool stopped_ = false;
  bool synced_told_ = false;  // RouteSink::replica_synced was called
  std::function<void(const std::string&)> ready_;
  bool ready_told_ = false;
  boost::asio::steady_timer ready_timer_;
};

}  // namespace baker::sherlock
