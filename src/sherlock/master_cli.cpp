#include "sherlock/master_cli.hpp"

#include <array>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace baker::sherlock::haproxy {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

class MasterCliOp final : public MasterCliRequest,
                          public std::enable_shared_from_this<MasterCliOp> {
 public:
  MasterCliOp(asio::io_context& io, std::string command, MasterCliDone done)
      : socket_(io), timer_(io), out_(std::move(command) + "\n"), done_(std::move(done)) {}

  void start(const std::string& path, Duration timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) self->finish(asio::error::timed_out);
    });
    socket_.async_connect(asio::local::stream_protocol::endpoint(path),
                          [self = shared_from_this()](const error_code& ec) {
                            if (ec) return self->finish(ec);
                            self->do_write();
                          });
  }

  void cancel() override {
    done_ = nullptr;
    close();
  }

 private:
  void do_write() {
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](const error_code& ec, std::size_t) {
                        if (ec) return self->finish(ec);
                        error_code ignored;
                        self->socket_.shutdown(asio::socket_base::shutdown_send, ignored);
                        self->do_read();
                      });
  }

  void do_read() {
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](const error_code& ec, std::size_t n) {
                              if (ec == asio::error::eof) return self->finish({});
                              if (ec) return self->finish(ec);
                              self->in_.append(self->chunk_.data(), n);
                              self->do_read();
                            });
  }

  void close() {
    timer_.cancel();
    error_code ignored;
    socket_.close(ignored);
  }

  void finish(const error_code& ec) {
    if (!done_) return;
    close();
    auto done = std::move(done_);
    done_ = nullptr;
    done(ec, std::move(in_));
  }

  asio::local::stream_protocol::socket socket_;
  asio::steady_timer timer_;
  std::string out_;
  std::string in_;
  std::array<char, 4096> chunk_{};
  MasterCliDone done_;
};

}  // namespace

std::shared_ptr<MasterCliRequest> async_master_command(asio::io_context& io,
                                                       const std::string& path,
                                                       const std::string& command, Duration timeout,
                                                       MasterCliDone done) {
  auto op = std::make_shared<MasterCliOp>(io, command, std::move(done));
  op->start(path, timeout);
  return op;
}

std::string master_command(const std::string& path, const std::string& command, Duration timeout,
                           error_code& error) {
  asio::io_context io;
  std::string reply;
  error = asio::error::operation_aborted;
  async_master_command(io, path, command, timeout, [&](const error_code& ec, std::string answer) {
    error = ec;
    reply = std::move(answer);
  });
  io.run();
  if (error) reply.clear();
  return reply;
}

bool unix_socket_accepts(const std::string& path) {
  asio::io_context io;
  asio::local::stream_protocol::socket socket(io);
  error_code ec;
  socket.connect(asio::local::stream_protocol::endpoint(path), ec);
  return !ec;
}

}  // namespace baker::sherlock::haproxy
