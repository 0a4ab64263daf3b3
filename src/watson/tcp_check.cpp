// TCP connect health check: the instance is healthy if it accepts a connection in time.
#include <boost/beast/core/tcp_stream.hpp>

#include "watson/checks.hpp"

namespace baker::watson {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

class TcpCheckRun : public std::enable_shared_from_this<TcpCheckRun> {
 public:
  TcpCheckRun(asio::io_context& io, HealthCheck::Callback done)
      : stream_(io), done_(std::move(done)) {}

  void run(const tcp::endpoint& at, std::chrono::milliseconds timeout) {
    stream_.expires_after(timeout);
    stream_.async_connect(at, [self = shared_from_this()](beast::error_code ec) {
      if (!ec) return self->finish({true, "connected"});
      if (ec == beast::error::timeout) return self->finish({false, "connect: timed out"});
      self->finish({false, "connect: " + ec.message()});
    });
  }

  void cancel() {
    done_ = nullptr;
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

 private:
  void finish(CheckResult r) {
    beast::error_code ignored;
    stream_.socket().close(ignored);
    if (auto done = std::move(done_)) {
      done_ = nullptr;
      done(std::move(r));
    }
  }

  beast::tcp_stream stream_;
  HealthCheck::Callback done_;
};

class TcpCheck final : public HealthCheck {
 public:
  TcpCheck(asio::io_context& io, tcp::endpoint at, std::chrono::milliseconds timeout)
      : io_(io), at_(std::move(at)), timeout_(timeout) {}
  ~TcpCheck() override { cancel(); }

  void start(Callback done) override {
    cancel();
    run_ = std::make_shared<TcpCheckRun>(io_, std::move(done));
    run_->run(at_, timeout_);
  }
  void cancel() override {
    if (run_) run_->cancel();
    run_.reset();
  }
  std::string describe() const override {
    const bool v6 = at_.address().is_v6();
    return "TCP connect to " + std::string(v6 ? "[" : "") + at_.address().to_string() +
           (v6 ? "]" : "") + ":" + std::to_string(at_.port());
  }

 private:
  asio::io_context& io_;
  tcp::endpoint at_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<TcpCheckRun> run_;
};

}  // namespace

std::unique_ptr<HealthCheck> make_tcp_check(asio::io_context& io, tcp::endpoint at,
                                            std::chrono::milliseconds timeout) {
  return std::make_unique<TcpCheck>(io, std::move(at), timeout);
}

}  // namespace baker::watson
