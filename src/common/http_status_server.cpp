#include "common/http_status_server.hpp"

#include <spdlog/spdlog.h>

#include <unordered_set>

#include "common/prometheus.hpp"

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

constexpr std::string_view kBusyReply =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 27\r\n"
    "Connection: close\r\n\r\ntoo many open connections\r\n";

class Session;

}  // namespace

struct HttpStatusServer::Shared {
  Handler handler;
  HttpStatusSettings settings;
  HttpStatusStats stats;
  std::unordered_set<Session*> sessions;  // open now: stop() closes them
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpStatusServer::Shared> shared)
      : socket_(std::move(socket)), shared_(std::move(shared)), timer_(socket_.get_executor()) {
    shared_->sessions.insert(this);
    shared_->stats.connections = shared_->sessions.size();
  }
  ~Session() {
    shared_->sessions.erase(this);
    shared_->stats.connections = shared_->sessions.size();
  }

  void start() {
    arm(shared_->settings.request_timeout);  // the whole request, not each read
    asio::async_read_until(socket_, asio::dynamic_buffer(request_, 8192), "\r\n\r\n",
                           [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                             self->on_request(ec);
                           });
  }

  // Closes the socket: pending operations end, and with them the session.
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
  }

 private:
  void arm(Duration timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;  // re-armed or finished
      ++self->shared_->stats.deadline_closes;
      self->close();
    });
  }

  void on_request(boost::system::error_code ec) {
    if (ec) {  // the peer left, sent too much, or the deadline closed the socket
      close();
      return;
    }
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
      reply = shared_->handler(line.substr(sp1 + 1, sp2 - sp1 - 1));
    }
    response_ = "HTTP/1.1 " + std::to_string(reply.status) + " " + reason(reply.status) +
                "\r\nContent-Type: " + reply.content_type +
                "\r\nContent-Length: " + std::to_string(reply.body.size()) +
                "\r\nConnection: close\r\n\r\n" + reply.body;
    arm(shared_->settings.write_timeout);  // a client that does not read must not hold a socket
    asio::async_write(socket_, asio::buffer(response_),
                      [self = shared_from_this()](boost::system::error_code, std::size_t) {
                        boost::system::error_code ignored;
                        self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
                        self->close();
                      });
  }

  tcp::socket socket_;
  std::shared_ptr<HttpStatusServer::Shared> shared_;
  asio::steady_timer timer_;
  std::string request_;
  std::string response_;
};

}  // namespace

HttpStatusServer::HttpStatusServer(asio::io_context& io, const tcp::endpoint& at, Handler handler,
                                   HttpStatusSettings settings)
    : acceptor_(io, at),
      backoff_timer_(io),
      backoff_(settings.accept_backoff),
      shared_(std::make_shared<Shared>()) {
  shared_->handler = std::move(handler);
  shared_->settings = settings;
  do_accept();
}

HttpStatusServer::~HttpStatusServer() {
  stop();
}

const HttpStatusStats& HttpStatusServer::stats() const {
  return shared_->stats;
}

void HttpStatusServer::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  backoff_timer_.cancel();
  // Copied: closing does not erase at once (a session ends when its handlers have run), but be
  // safe against any erase while iterating.
  const std::vector<Session*> open(shared_->sessions.begin(), shared_->sessions.end());
  for (auto* s : open) s->close();
}

void HttpStatusServer::do_accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      on_accept_error(ec);
      return;
    }
    if (backoff_.failures() > 0) {
      spdlog::info("status server: accepting connections again (after {} failed accepts)",
                   backoff_.failures());
      backoff_.succeeded();
    }
    auto& stats = shared_->stats;
    if (stats.connections >= shared_->settings.max_connections) {
      // At the cap, accept and close at once rather than stop accepting. Stopping would leave
      // the flood queued in the kernel's backlog (thousands deep): once the attackers go, a
      // real GET /metrics would wait behind every dead connection in it, each for its
      // request_timeout. Closing at once keeps the backlog empty, costs one accept and close per
      // connection attempt, and answers a real client with a 503 it can retry.
      ++stats.rejected_at_capacity;
      boost::system::error_code ignored;
      socket.non_blocking(true, ignored);
      socket.send(asio::buffer(kBusyReply.data(), kBusyReply.size()), 0, ignored);
      socket.close(ignored);
    } else {
      ++stats.accepted;
      std::make_shared<Session>(std::move(socket), shared_)->start();
    }
    do_accept();
  });
}

void HttpStatusServer::on_accept_error(const boost::system::error_code& ec) {
  // EMFILE, ENFILE, ENOBUFS, ENOMEM: the pending connection stays queued, so accepting again at
  // once fails again at once (a busy loop on a core). Wait, doubling, and log once per episode.
  // Any other error waits too: an error that repeats must never spin.
  ++shared_->stats.accept_errors;
  const auto delay = backoff_.failed();
  if (backoff_.failures() == 1) {
    spdlog::warn(
        "status server: cannot accept connections: {}; retrying every {} ms at most (logged once "
        "until accepting works again)",
        ec.message(),
        std::chrono::duration_cast<std::chrono::milliseconds>(backoff_.settings().max).count());
  }
  backoff_timer_.expires_after(delay);
  backoff_timer_.async_wait([this](boost::system::error_code wait_ec) {
    if (wait_ec || !acceptor_.is_open()) return;
    do_accept();
  });
}

std::string render_http_metrics(std::string_view component, const HttpStatusStats& stats) {
  const std::string prefix = "baker_" + std::string(component) + "_http_";
  MetricsWriter w;
  w.gauge(prefix + "connections", "Open connections to the status HTTP server.",
          static_cast<double>(stats.connections));
  w.family(prefix + "rejected_total", MetricsWriter::Type::counter,
           "Status HTTP connections closed unserved: at_capacity (the connection cap was reached), "
           "deadline (the request or the reply did not finish in time).");
  w.sample(stats.rejected_at_capacity, {{"reason", "at_capacity"}});
  w.sample(stats.deadline_closes, {{"reason", "deadline"}});
  w.counter(prefix + "accept_errors_total",
            "Failed accepts on the status HTTP port (e.g. out of file descriptors); each one "
            "waits out a backoff.",
            stats.accept_errors);
  return w.take();
}

}  // namespace baker
