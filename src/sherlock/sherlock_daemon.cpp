#include "sherlock/sherlock_daemon.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "wire/codec.hpp"

namespace baker::sherlock {

namespace asio = boost::asio;
using asio::ip::udp;

SherlockDaemon::SherlockDaemon(asio::io_context& io, SherlockOptions options,
                               std::optional<wire::Keyring> keys, std::unique_ptr<RouteSink> sink)
    : options_(std::move(options)),
      replica_(options_.replica),
      keys_(std::move(keys)),
      sink_(std::move(sink)),
      socket_(io, options_.listen.protocol()),
      timer_(io),
      receive_buffer_(wire::kMaxDatagramSize + 1) {
  set_receive_buffer(socket_);
  socket_.bind(options_.listen);
  socket_.non_blocking(true);
  if (options_.multicast_group) {
    const auto& group = *options_.multicast_group;
    group_socket_.emplace(io, group.protocol());
    group_socket_->set_option(udp::socket::reuse_address(true));
    set_receive_buffer(*group_socket_);
    // Bound to the group address, the socket hears only that group's datagrams on the port.
    group_socket_->bind(udp::endpoint(group.address(), group.port()));
    if (group.address().is_v4() && options_.multicast_interface &&
        options_.multicast_interface->is_v4()) {
      group_socket_->set_option(asio::ip::multicast::join_group(
          group.address().to_v4(), options_.multicast_interface->to_v4()));
    } else {
      group_socket_->set_option(asio::ip::multicast::join_group(group.address()));
    }
    group_socket_->non_blocking(true);
  }
  if (options_.http) {
    http_ = std::make_unique<HttpStatusServer>(io, *options_.http, [this](const std::string& p) {
      auto reply = handle_query(p, replica_, stats_, clock_.now(), sink_.get());
      if (p == "/metrics") reply.body += render_http_metrics("sherlock", http_->stats());
      return reply;
    });
  }
}

void SherlockDaemon::set_receive_buffer(udp::socket& socket) {
  const int want = options_.receive_buffer;
  // SO_RCVBUFFORCE passes net.core.rmem_max when privileged; otherwise the capped SO_RCVBUF.
  if (setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) != 0) {
    boost::system::error_code ignored;
    socket.set_option(udp::socket::receive_buffer_size(want), ignored);
  }
  udp::socket::receive_buffer_size got;
  socket.get_option(got);
  // Linux reports twice what was granted (the doubling covers its bookkeeping).
  if (got.value() / 2 < want) {
    spdlog::warn(
        "UDP receive buffer is {} bytes, asked for {} (raise net.core.rmem_max): a large "
        "snapshot may lose datagrams and take retries",
        got.value() / 2, want);
  }
}

void SherlockDaemon::start() {
  spdlog::info(
      "sherlock {} subscribing to {} from udp {}{}; query interface on {}",
      options_.replica.services.empty()
          ? std::string("(all services)")
          : fmt::format("(services: {})", fmt::join(options_.replica.services, ",")),
      options_.directory.address().to_string() + ":" + std::to_string(options_.directory.port()),
      local_endpoint().address().to_string() + ":" + std::to_string(local_endpoint().port()),
      options_.multicast_group
          ? ", multicast group " + options_.multicast_group->address().to_string() + ":" +
                std::to_string(options_.multicast_group->port())
          : std::string(),
      http_port() ? options_.http->address().to_string() + ":" + std::to_string(*http_port())
                  : std::string("(off)"));
  send(replica_.start(clock_.now()));
  do_receive(socket_, Replica::Source::unicast);
  if (group_socket_) do_receive(*group_socket_, Replica::Source::multicast);
  settle();
}

void SherlockDaemon::stop() {
  if (stopped_) return;
  stopped_ = true;
  spdlog::info("sherlock stopping: unsubscribing, keeping nothing");
  send(replica_.stop());
  if (sink_) sink_->stop();
  boost::system::error_code ignored;
  timer_.cancel();
  socket_.close(ignored);
  if (group_socket_) group_socket_->close(ignored);
  if (http_) http_->stop();
}

void SherlockDaemon::set_keys(std::optional<wire::Keyring> keys) {
  keys_ = std::move(keys);
}

udp::endpoint SherlockDaemon::local_endpoint() const {
  boost::system::error_code ec;
  return socket_.local_endpoint(ec);
}

std::optional<unsigned short> SherlockDaemon::http_port() const {
  if (!http_) return std::nullopt;
  return http_->port();
}

void SherlockDaemon::do_receive(udp::socket& socket, Replica::Source source) {
  socket.async_wait(udp::socket::wait_read, [this, &socket, source](boost::system::error_code ec) {
    if (ec || stopped_) return;
    drain(socket, source);
    settle();
    do_receive(socket, source);
  });
}

void SherlockDaemon::drain(udp::socket& socket, Replica::Source source) {
  const TimePoint now = clock_.now();
  udp::endpoint from;
  std::size_t n = 0;
  for (; n < options_.batch; ++n) {
    boost::system::error_code ec;
    const std::size_t size = socket.receive_from(asio::buffer(receive_buffer_), from, 0, ec);
    if (ec) {
      if (ec != asio::error::would_block && ec != asio::error::try_again) {
        spdlog::debug("receive: {}", ec.message());
      }
      break;
    }
    handle_datagram(size, from, now, source);
  }
  if (n > 0) ++stats_.batches;
}

void SherlockDaemon::handle_datagram(std::size_t size, const udp::endpoint& from, TimePoint now,
                                     Replica::Source source) {
  ++stats_.datagrams;
  if (source == Replica::Source::multicast) ++stats_.group_datagrams;
  // A sherlock follows only its directory: on the unicast socket, only its endpoint is heard
  // (before any decoding work). The group's datagrams are checked by addressee and MAC.
  if (source == Replica::Source::unicast && from != options_.directory) {
    ++stats_.foreign_source;
    return;
  }
  wire::DecodeOptions decode_options;
  decode_options.keys = keys_ ? &*keys_ : nullptr;
  auto decoded = wire::decode({receive_buffer_.data(), size}, decode_options);
  if (!decoded) {
    const auto reason = decoded.error();
    const auto i = static_cast<std::size_t>(reason);
    ++stats_.rejects[i];
    if (!reject_logged_[i]) {  // once per reason; the metric counts the rest
      reject_logged_[i] = true;
      spdlog::warn("rejected a datagram ({} bytes): {}", size, wire::to_string(reason));
    }
    return;
  }
  auto& message = decoded.value().message;
  switch (wire::type_of(message)) {
    case wire::MessageType::delta:
    case wire::MessageType::tick:
    case wire::MessageType::snapshot_chunk:
    case wire::MessageType::retry_later:
    case wire::MessageType::challenge:
      send(replica_.on_message(std::move(message), now, source));
      return;
    default:
      ++stats_.unexpected_type;
      spdlog::debug("ignored a {} datagram", wire::to_string(wire::type_of(message)));
  }
}

void SherlockDaemon::send(const Replica::Outgoing& out) {
  for (const auto& m : out) {
    wire::encode_into(m, keys_ ? &*keys_ : nullptr, send_buffer_);
    boost::system::error_code ec;
    socket_.send_to(asio::buffer(send_buffer_), options_.directory, 0, ec);
    if (ec) {
      ++stats_.send_errors;
      spdlog::debug("send {} to the directory: {}", wire::to_string(wire::type_of(m)),
                    ec.message());
    }
  }
}

void SherlockDaemon::settle() {
  if (stopped_) return;
  const auto changed = replica_.take_changes();
  if (!changed.empty() && sink_) {
    ++stats_.sink_updates;
    sink_->routes_changed(replica_.table().view(), changed);
  }
  arm_timer();
}

void SherlockDaemon::arm_timer() {
  const auto next = replica_.next_deadline();
  if (next == timer_at_) return;  // already armed for it
  timer_at_ = next;
  timer_.cancel();
  if (!next) return;
  timer_.expires_at(*next);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    timer_at_.reset();
    send(replica_.on_timer(clock_.now()));
    settle();
  });
}

}  // namespace baker::sherlock
