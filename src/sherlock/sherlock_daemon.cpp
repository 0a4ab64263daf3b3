#include "sherlock/sherlock_daemon.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "common/duration.hpp"
#include "sherlock/status_page.hpp"
#include "wire/codec.hpp"

namespace baker::sherlock {

namespace asio = boost::asio;
using asio::ip::udp;

std::string endpoint_name(const udp::endpoint& e) {
  const auto a = e.address();
  const std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return host + ":" + std::to_string(e.port());
}

namespace {
std::vector<ReplicaConfig> stream_configs(const SherlockOptions& o) {
  std::vector<ReplicaConfig> out;
  for (const auto& d : o.directories) {
    ReplicaConfig c = o.replica;
    c.name = endpoint_name(d);
    c.random_seed = o.replica.random_seed + out.size();  // jitter apart, NACKs not in step
    out.push_back(std::move(c));
  }
  return out;
}
}  // namespace

SherlockDaemon::SherlockDaemon(asio::io_context& io, SherlockOptions options,
                               std::optional<wire::Keyring> keys, std::unique_ptr<RouteSink> sink)
    : options_(std::move(options)),
      streams_(stream_configs(options_), options_.replica.services),
      keys_(std::move(keys)),
      sink_(std::move(sink)),
      socket_(io, options_.listen.protocol()),
      timer_(io),
      receive_buffer_(wire::kMaxDatagramSize + 1),
      ready_timer_(io) {
  set_receive_buffer(socket_);
  socket_.bind(options_.listen);
  socket_.non_blocking(true);
  const auto& groups = options_.multicast_groups;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    std::optional<std::size_t> paired;
    if (groups.size() == options_.directories.size()) paired = i;  // one group per directory
    group_sockets_.push_back(
        std::make_unique<GroupSocket>(GroupSocket{udp::socket(io, groups[i].protocol()), paired}));
    join(*group_sockets_.back(), groups[i]);
  }
  if (options_.http) {
    http_ = std::make_unique<HttpStatusServer>(io, *options_.http, [this](const std::string& p) {
      if (p == "/" || p.rfind("/?", 0) == 0) {
        return render_status_page(streams_, sink_.get(), p, clock_.now());
      }
      auto reply = handle_query(p, streams_, stats_, clock_.now(), sink_.get());
      if (p == "/metrics") reply.body += render_http_metrics("sherlock", http_->stats());
      return reply;
    });
  }
}

void SherlockDaemon::join(GroupSocket& g, const udp::endpoint& group) {
  g.socket.set_option(udp::socket::reuse_address(true));
  set_receive_buffer(g.socket);
  // Bound to the group address, the socket hears only that group's datagrams on the port.
  g.socket.bind(udp::endpoint(group.address(), group.port()));
  if (group.address().is_v4() && options_.multicast_interface &&
      options_.multicast_interface->is_v4()) {
    g.socket.set_option(asio::ip::multicast::join_group(group.address().to_v4(),
                                                        options_.multicast_interface->to_v4()));
  } else {
    g.socket.set_option(asio::ip::multicast::join_group(group.address()));
  }
  g.socket.non_blocking(true);
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
  std::vector<std::string> directories;
  for (const auto& d : options_.directories) directories.push_back(endpoint_name(d));
  std::vector<std::string> groups;
  for (const auto& g : options_.multicast_groups) groups.push_back(endpoint_name(g));
  spdlog::info("sherlock {} subscribing to {} {} from udp {}{}; query interface on {}",
               options_.replica.services.empty()
                   ? std::string("(all services)")
                   : fmt::format("(services: {})", fmt::join(options_.replica.services, ",")),
               directories.size() == 1 ? "directory" : "directories", fmt::join(directories, ", "),
               endpoint_name(local_endpoint()),
               groups.empty() ? std::string()
                              : fmt::format(", multicast group{} {}", groups.size() == 1 ? "" : "s",
                                            fmt::join(groups, ", ")),
               http_port()
                   ? options_.http->address().to_string() + ":" + std::to_string(*http_port())
                   : std::string("(off)"));
  const TimePoint now = clock_.now();
  for (std::size_t i = 0; i < streams_.size(); ++i) send(i, streams_.start(i, now));
  do_receive(socket_, Replica::Source::unicast, std::nullopt);
  for (auto& g : group_sockets_) do_receive(g->socket, Replica::Source::multicast, g->stream);
  if (options_.ready_wait > Duration::zero()) {
    ready_timer_.expires_after(options_.ready_wait);
    ready_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || stopped_) return;
      tell_ready("no snapshot within " + format_duration(options_.ready_wait) + ": serving " +
                 std::to_string(streams_.table().size()) + " routes held so far");
    });
  } else {
    tell_ready("ready at start (--ready-wait 0s)");
  }
  settle();
}

void SherlockDaemon::tell_ready(const std::string& status) {
  if (ready_told_) return;
  ready_told_ = true;
  ready_timer_.cancel();
  if (ready_) ready_(status);
}

void SherlockDaemon::stop() {
  if (stopped_) return;
  stopped_ = true;
  spdlog::info("sherlock stopping: unsubscribing, keeping nothing");
  const auto out = streams_.stop();
  for (std::size_t i = 0; i < out.size(); ++i) send(i, out[i]);
  if (sink_) sink_->stop();
  boost::system::error_code ignored;
  timer_.cancel();
  ready_timer_.cancel();
  socket_.close(ignored);
  for (auto& g : group_sockets_) g->socket.close(ignored);
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

std::size_t SherlockDaemon::stream_of(const udp::endpoint& from) const {
  for (std::size_t i = 0; i < options_.directories.size(); ++i) {
    if (options_.directories[i] == from) return i;
  }
  return kNoStream;
}

void SherlockDaemon::do_receive(udp::socket& socket, Replica::Source source,
                                std::optional<std::size_t> paired) {
  socket.async_wait(udp::socket::wait_read,
                    [this, &socket, source, paired](boost::system::error_code ec) {
                      if (ec || stopped_) return;
                      drain(socket, source, paired);
                      settle();
                      do_receive(socket, source, paired);
                    });
}

void SherlockDaemon::drain(udp::socket& socket, Replica::Source source,
                           std::optional<std::size_t> paired) {
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
    handle_datagram(size, from, now, source, paired);
  }
  if (n > 0) ++stats_.batches;
}

void SherlockDaemon::handle_datagram(std::size_t size, const udp::endpoint& from, TimePoint now,
                                     Replica::Source source, std::optional<std::size_t> paired) {
  ++stats_.datagrams;
  if (source == Replica::Source::multicast) ++stats_.group_datagrams;
  // A stream hears only its directory (before any decoding work): on the unicast socket and on a
  // group shared by several directories, by source endpoint; a group paired with one directory
  // goes to its stream, checked by addressee and MAC.
  const std::size_t stream = paired ? *paired : stream_of(from);
  if (stream == kNoStream) {
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
      spdlog::warn("rejected a datagram ({} bytes) from {}: {}", size, endpoint_name(from),
                   wire::to_string(reason));
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
      send(stream, streams_.on_message(stream, std::move(message), now, source));
      return;
    default:
      ++stats_.unexpected_type;
      spdlog::debug("ignored a {} datagram", wire::to_string(wire::type_of(message)));
  }
}

void SherlockDaemon::send(std::size_t stream, const Replica::Outgoing& out) {
  const udp::endpoint& to = options_.directories.at(stream);
  for (const auto& m : out) {
    wire::encode_into(m, keys_ ? &*keys_ : nullptr, send_buffer_);
    boost::system::error_code ec;
    socket_.send_to(asio::buffer(send_buffer_), to, 0, ec);
    if (ec) {
      ++stats_.send_errors;
      spdlog::debug("send {} to directory {}: {}", wire::to_string(wire::type_of(m)),
                    endpoint_name(to), ec.message());
    }
  }
}

void SherlockDaemon::settle() {
  if (stopped_) return;
  const auto deferred = streams_.take_deferred(clock_.now());
  for (std::size_t i = 0; i < deferred.size(); ++i) send(i, deferred[i]);
  const auto changed = streams_.take_changes();
  if (!changed.empty() && sink_) {
    ++stats_.sink_updates;
    sink_->routes_changed(streams_.table().view(), changed);
  }
  // The replica is worth starting from once a live directory's whole table is in, or, while the
  // directories warm up, once a synced stream brought some routes (the rest arrive as changes).
  const bool worth_starting_from =
      streams_.any_synced(true) || (streams_.any_synced() && streams_.table().size() > 0);
  if (!synced_told_ && sink_ && worth_starting_from) {
    synced_told_ = true;
    sink_->replica_synced(streams_.table().view());
  }
  if (!ready_told_ && worth_starting_from) {
    tell_ready("holds a snapshot: " + std::to_string(streams_.table().size()) + " routes");
  }
  arm_timer();
}

void SherlockDaemon::arm_timer() {
  const auto next = streams_.next_deadline();
  if (next == timer_at_) return;  // already armed for it
  timer_at_ = next;
  timer_.cancel();
  if (!next) return;
  timer_.expires_at(*next);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    timer_at_.reset();
    const auto out = streams_.on_timer(clock_.now());
    for (std::size_t i = 0; i < out.size(); ++i) send(i, out[i]);
    settle();
  });
}

}  // namespace baker::sherlock
