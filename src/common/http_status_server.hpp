#pragma once
// A tiny HTTP/1.0-style server for GET-only status endpoints (/metrics, /routes) on localhost.
// One request per connection; the handler runs on the io_context thread, so it may read core state
// without locks.
#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common/http_reply.hpp"

namespace baker {

class HttpStatusServer {
 public:
  using Handler = std::function<HttpReply(const std::string& path)>;

  // Throws boost::system::system_error if the address cannot be bound (a start-up error).
  HttpStatusServer(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& at,
                   Handler handler);
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  void stop();

 private:
  void do_accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  // Shared with each session: a session still writing its reply may outlive the server.
  std::shared_ptr<const Handler> handler_;
};

}  // namespace baker
