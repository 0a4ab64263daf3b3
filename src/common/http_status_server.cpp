#include "common/http_status_server.hpp"

namespace baker {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    default:
      return "Error";
  }
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<const HttpStatusServer::Handler> handler)
      : socket_(std::move(socket)), handler_(std::move(handler)), timer_(socket_.get_executor()) {}

  void start() {
    timer_.expires_after(std::chrono::seconds(5));  // a silent client must not hold a socket
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->socket_.close();
    });
    asio::async_read_until(socket_, asio::dynamic_buffer(request_, 8192), "\r\n\r\n",
                           [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                             self->on_request(ec);
                           });
  }

 private:
  void on_request(boost::system::error_code ec) {
    if (ec) return;
    HttpReply reply;
    const auto line_end = request_.find("\r\n");
    const std::string line = request_.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos) {
      reply = {400, "text/plain", "bad request\n"};
    } else if (line.substr(0, sp1) != "GET") {
      reply = {405, "text/plain", "only GET\n"};
    } else {
      reply = (*handler_)(line.substr(sp1 + 1, sp2 - sp1 - 1));
    }
    response_ = "HTTP/1.1 " + std::to_string(reply.status) + " " + reason(reply.status) +
                "\r\nContent-Type: " + reply.content_type +
                "\r\nContent-Length: " + std::to_string(reply.body.size()) +
                "\r\nConnection: close\r\n\r\n" + reply.body;
    asio::async_write(socket_, asio::buffer(response_),
                      [self = shared_from_this()](boost::system::error_code, std::size_t) {
                        boost::system::error_code ignored;
                        self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
                        self->timer_.cancel();
                      });
  }

  tcp::socket socket_;
  std::shared_ptr<const HttpStatusServer::Handler> handler_;
  asio::steady_timer timer_;
  std::string request_;
  std::string response_;
};

}  // namespace

HttpStatusServer::HttpStatusServer(asio::io_context& io, const tcp::endpoint& at, Handler handler)
    : acceptor_(io, at), handler_(std::make_shared<const Handler>(std::move(handler))) {
  do_accept();
}

void HttpStatusServer::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void HttpStatusServer::do_accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) std::make_shared<Session>(std::move(socket), handler_)->start();
    do_accept();
  });
}

}  // namespace baker
