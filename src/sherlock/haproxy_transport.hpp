#pragma once
// The admin-socket transport: runs one session (a list of command lines) on HAProxy's CLI in
// interactive mode (`prompt`), pipelined, reading each reply up to the next prompt. An interface,
// so the driver can be exercised with an in-memory fake; AsioCliTransport is the real one (Unix
// socket or TCP), fully asynchronous so sherlock's event loop never waits on HAProxy.
#include <array>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"

namespace baker::sherlock::haproxy {

class HaproxyTransport {
 public:
  using Done =
      std::function<void(const boost::system::error_code& error, std::vector<std::string> replies)>;
  virtual ~HaproxyTransport() = default;
  // Sends `lines` (one command each) and calls `done` once with one reply per line, or an error.
  // Opens a connection (and enters prompt mode) when none is open or `fresh_connection` is set.
  // One run at a time.
  virtual void run(std::vector<std::string> lines, bool fresh_connection, Done done) = 0;
  // Closes the connection; a run in flight completes with operation_aborted.
  virtual void close() = 0;
};

// "/path/to/socket" or "ADDR:PORT" (an IP address, no host names).
struct CliEndpoint {
  std::string path;  // Unix socket, or empty for TCP
  std::string host;
  unsigned short port = 0;
  static std::optional<CliEndpoint> parse(const std::string& text);
  std::string to_string() const;
};

class AsioCliTransport final : public HaproxyTransport,
                               public std::enable_shared_from_this<AsioCliTransport> {
 public:
  AsioCliTransport(boost::asio::io_context& io, CliEndpoint endpoint,
                   Duration timeout = std::chrono::seconds(5));
  void run(std::vector<std::string> lines, bool fresh_connection, Done done) override;
  void close() override;
  // Managed mode: the next connection goes to the new worker's socket.
  void set_endpoint(CliEndpoint endpoint);
  const CliEndpoint& endpoint() const { return endpoint_; }

 private:
  void connect_and_start();
  void start_io();
  void do_read();
  void finish(const boost::system::error_code& error);
  void fail_or_retry(const boost::system::error_code& error);

  boost::asio::io_context& io_;
  CliEndpoint endpoint_;
  Duration timeout_;
  boost::asio::generic::stream_protocol::socket socket_;
  boost::asio::steady_timer timer_;
  std::uint64_t run_id_ = 0;  // handlers of an earlier run ignore themselves
  std::vector<std::string> lines_;
  std::string out_;
  std::string in_;
  std::size_t in_consumed_ = 0;
  std::array<char, 16384> chunk_{};
  std::vector<std::string> replies_;
  std::size_t expected_ = 0;  // replies to read, including the one to `prompt`
  bool prompt_pending_ = false;
  bool write_done_ = false;
  Done done_;
};

}  // namespace baker::sherlock::haproxy
