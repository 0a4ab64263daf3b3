#include "sherlock/haproxy_transport.hpp"

#include <sys/un.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "common/host_port.hpp"
#include "sherlock/haproxy_replies.hpp"

namespace baker::sherlock::haproxy {

namespace asio = boost::asio;
using boost::system::error_code;

std::optional<CliEndpoint> CliEndpoint::parse(const std::string& text) {
  if (text.empty()) return std::nullopt;
  CliEndpoint e;
  if (text.front() == '/' || text.front() == '.') {
    if (text.size() >= sizeof(sockaddr_un::sun_path)) return std::nullopt;
    e.path = text;
    return e;
  }
  HostPortRules rules;
  rules.numeric = true;
  const auto hp = parse_host_port(text, rules);
  if (!hp) return std::nullopt;
  e.host = hp->host;
  e.port = hp->port;
  return e;
}

std::string CliEndpoint::to_string() const {
  if (!path.empty()) return path;
  return HostPort{host, port}.to_string();
}

AsioCliTransport::AsioCliTransport(asio::io_context& io, CliEndpoint endpoint, Duration timeout)
    : io_(io), endpoint_(std::move(endpoint)), timeout_(timeout), socket_(io), timer_(io) {}

void AsioCliTransport::set_endpoint(CliEndpoint endpoint) {
  endpoint_ = std::move(endpoint);
  close();
}

void AsioCliTransport::close() {
  error_code ignored;
  socket_.close(ignored);
  if (done_) finish(asio::error::operation_aborted);
}

void AsioCliTransport::run(std::vector<std::string> lines, bool fresh_connection, Done done) {
  ++run_id_;
  lines_ = std::move(lines);
  done_ = std::move(done);
  if (fresh_connection) {
    error_code ignored;
    socket_.close(ignored);
  }
  timer_.expires_after(timeout_);
  timer_.async_wait([self = shared_from_this(), id = run_id_](const error_code& ec) {
    if (ec || id != self->run_id_ || !self->done_) return;
    error_code ignored;
    self->socket_.close(ignored);
    self->finish(asio::error::timed_out);
  });
  connect_and_start();
}

void AsioCliTransport::connect_and_start() {
  replies_.clear();
  in_.clear();
  in_consumed_ = 0;
  write_done_ = false;
  prompt_pending_ = !socket_.is_open();
  expected_ = lines_.size() + (prompt_pending_ ? 1 : 0);
  out_.clear();
  if (prompt_pending_) out_ = "prompt\n";
  for (const auto& l : lines_) {
    out_ += l;
    out_ += '\n';
  }
  if (socket_.is_open()) {
    start_io();
    return;
  }
  asio::generic::stream_protocol::endpoint ep;
  if (!endpoint_.path.empty()) {
    ep = asio::local::stream_protocol::endpoint(endpoint_.path);
  } else {
    ep = asio::ip::tcp::endpoint(asio::ip::make_address(endpoint_.host), endpoint_.port);
  }
  error_code ec;
  socket_.open(ep.protocol(), ec);
  if (ec) {
    finish(ec);
    return;
  }
  socket_.async_connect(ep, [self = shared_from_this(), id = run_id_](const error_code& ec) {
    if (id != self->run_id_ || !self->done_) return;
    if (ec) {
      self->finish(ec);
      return;
    }
    if (self->endpoint_.path.empty()) {
      error_code ignored;
      self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    }
    self->start_io();
  });
}

void AsioCliTransport::start_io() {
  asio::async_write(socket_, asio::buffer(out_),
                    [self = shared_from_this(), id = run_id_](const error_code& ec, std::size_t) {
                      if (id != self->run_id_ || !self->done_) return;
                      if (ec) {
                        self->fail_or_retry(ec);
                        return;
                      }
                      self->write_done_ = true;
                      if (self->replies_.size() == self->expected_) self->finish({});
                    });
  do_read();
}

void AsioCliTransport::do_read() {
  socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this(), id = run_id_](
                                                    const error_code& ec, std::size_t n) {
    if (id != self->run_id_ || !self->done_) return;
    if (ec) {
      self->fail_or_retry(ec);
      return;
    }
    self->in_.append(self->chunk_.data(), n);
    std::size_t consumed = 0;
    split_prompt_replies(std::string_view(self->in_).substr(self->in_consumed_), self->replies_,
                         consumed);
    self->in_consumed_ += consumed;
    if (self->replies_.size() >= self->expected_) {
      if (self->write_done_) self->finish({});
      return;  // the write's completion finishes the run
    }
    self->do_read();
  });
}

void AsioCliTransport::fail_or_retry(const error_code& error) {
  // No silent retry on a new connection: it may reach another HAProxy process (restart, reload)
  // whose state differs; the driver reconnects and reads the state first.
  error_code ignored;
  socket_.close(ignored);
  finish(error);
}

void AsioCliTransport::finish(const error_code& error) {
  if (!done_) return;
  ++run_id_;
  timer_.cancel();
  auto done = std::move(done_);
  done_ = nullptr;
  std::vector<std::string> replies;
  if (!error) {
    const std::size_t skip = prompt_pending_ ? 1 : 0;  // the reply to `prompt` itself
    replies.assign(
        std::make_move_iterator(replies_.begin() + static_cast<std::ptrdiff_t>(skip)),
        std::make_move_iterator(replies_.begin() + static_cast<std::ptrdiff_t>(expected_)));
  }
  // Called from the io_context; the receiver may start the next run from inside `done`.
  asio::post(io_, [done = std::move(done), error, replies = std::move(replies)]() mutable {
    done(error, std::move(replies));
  });
}

}  // namespace baker::sherlock::haproxy
