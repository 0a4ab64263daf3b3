#pragma once
// A tiny HTTP/1.0-style server for GET-only status endpoints (/metrics, /routes) on localhost.
// One request per connection; the handler runs on the io_context thread, so it may read core state
// without locks. Bounded against a flood of idle connections: a cap on open connections, a
// deadline per connection, and a backoff when accept fails for lack of descriptors or memory.
#include <boost/asio.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/backoff.hpp"
#include "common/http_reply.hpp"

namespace baker {

struct HttpStatusSettings {
  // Connections open at once; one more is accepted and closed at once (why: the .cpp).
  std::size_t max_connections = 64;
  // The whole request must arrive within request_timeout (an idle client is closed), and the
  // reply must be written within write_timeout.
  Duration request_timeout = std::chrono::seconds(5);
  Duration write_timeout = std::chrono::seconds(5);
  // After a failed accept (EMFILE, ENFILE, ENOBUFS, ENOMEM...): wait, doubling, then accept again.
  BackoffSettings accept_backoff{std::chrono::milliseconds(50), std::chrono::seconds(1)};
};

struct HttpStatusStats {
  std::size_t connections = 0;             // open now
  std::uint64_t accepted = 0;              // served or being served
  std::uint64_t rejected_at_capacity = 0;  // closed at once: max_connections were open
  std::uint64_t deadline_closes = 0;       // closed at request_timeout or write_timeout
  std::uint64_t accept_errors = 0;         // accepts that failed (each waits out a backoff)
};

class HttpStatusServer {
 public:
  using Handler = std::function<HttpReply(const std::string& path)>;

  // Throws boost::system::system_error if the address cannot be bound (a start-up error).
  HttpStatusServer(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& at,
                   Handler handler, HttpStatusSettings settings = {});
  ~HttpStatusServer();
  HttpStatusServer(const HttpStatusServer&) = delete;
  HttpStatusServer& operator=(const HttpStatusServer&) = delete;

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  const HttpStatusStats& stats() const;
  // Stops accepting and closes every open connection, so io_context::run() can return.
  void stop();

  struct Shared;  // what sessions share with the server (they may outlive it)

 private:
  void do_accept();
  void on_accept_error(const boost::system::error_code& ec);

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_timer_;
  Backoff backoff_;
  std::shared_ptr<Shared> shared_;
};

// The server's families for a /metrics page: baker_<component>_http_connections (gauge),
// baker_<component>_http_rejected_total{reason="at_capacity"|"deadline"} and
// baker_<component>_http_accept_errors_total.
std::string render_http_metrics(std::string_view component, const HttpStatusStats& stats);

}  // namespace baker
