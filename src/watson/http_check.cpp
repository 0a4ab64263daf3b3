// HTTP GET health check: connect, send one request, read the status line and headers; the body is
// not read. One connection per check (Connection: close) so a wedged keep-alive cannot mislead.
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "watson/checks.hpp"

namespace baker::watson {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class HttpCheckRun : public std::enable_shared_from_this<HttpCheckRun> {
 public:
  HttpCheckRun(asio::io_context& io, const StatusRanges& expected, HealthCheck::Callback done)
      : stream_(io), expected_(expected), done_(std::move(done)) {}

  void run(const tcp::endpoint& at, const std::string& host, const std::string& target,
           std::chrono::milliseconds timeout) {
    req_.method(http::verb::get);
    req_.target(target);
    req_.version(11);
    req_.set(http::field::host, host);
    req_.set(http::field::user_agent, "baker-watson");
    req_.set(http::field::connection, "close");
    parser_.header_limit(16 * 1024);
    // One deadline for the whole exchange: Beast applies it to every pending operation.
    stream_.expires_after(timeout);
    stream_.async_connect(at, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->fail("connect", ec);
      self->do_write();
    });
  }

  void cancel() {
    done_ = nullptr;
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

 private:
  void do_write() {
    http::async_write(stream_, req_, [self = shared_from_this()](beast::error_code ec, auto) {
      if (ec) return self->fail("send", ec);
      self->do_read();
    });
  }

  void do_read() {
    http::async_read_header(
        stream_, buffer_, parser_, [self = shared_from_this()](beast::error_code ec, auto) {
          if (ec) return self->fail("receive", ec);
          const int status = self->parser_.get().result_int();
          self->finish({status_matches(self->expected_, status), "HTTP " + std::to_string(status)});
        });
  }

  void fail(const char* step, const beast::error_code& ec) {
    if (ec == beast::error::timeout) return finish({false, std::string(step) + ": timed out"});
    finish({false, std::string(step) + ": " + ec.message()});
  }

  void finish(CheckResult r) {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    if (auto done = std::move(done_)) {
      done_ = nullptr;
      done(std::move(r));
    }
  }

  beast::tcp_stream stream_;
  http::request<http::empty_body> req_;
  beast::flat_buffer buffer_;
  http::response_parser<http::empty_body> parser_;
  StatusRanges expected_;
  HealthCheck::Callback done_;
};

class HttpCheck final : public HealthCheck {
 public:
  HttpCheck(asio::io_context& io, tcp::endpoint at, std::string host, std::string target,
            StatusRanges expected, std::chrono::milliseconds timeout)
      : io_(io),
        at_(std::move(at)),
        host_(std::move(host)),
        target_(std::move(target)),
        expected_(std::move(expected)),
        timeout_(timeout) {}
  ~HttpCheck() override { cancel(); }

  void start(Callback done) override {
    cancel();
    run_ = std::make_shared<HttpCheckRun>(io_, expected_, std::move(done));
    run_->run(at_, host_, target_, timeout_);
  }
  void cancel() override {
    if (run_) run_->cancel();
    run_.reset();
  }
  std::string describe() const override {
    const bool v6 = at_.address().is_v6();
    return "HTTP GET http://" + host_ + target_ + " (" + (v6 ? "[" : "") +
           at_.address().to_string() + (v6 ? "]" : "") + ":" + std::to_string(at_.port()) + ")";
  }

 private:
  asio::io_context& io_;
  tcp::endpoint at_;
  std::string host_;
  std::string target_;
  StatusRanges expected_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<HttpCheckRun> run_;
};

}  // namespace

std::unique_ptr<HealthCheck> make_http_check(asio::io_context& io, tcp::endpoint at,
                                             std::string host, std::string target,
                                             StatusRanges expected,
                                             std::chrono::milliseconds timeout) {
  return std::make_unique<HttpCheck>(io, std::move(at), std::move(host), std::move(target),
                                     std::move(expected), timeout);
}

}  // namespace baker::watson
