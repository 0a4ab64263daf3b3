#include "directory/directory_daemon.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cstring>
#include <stdexcept>

#include "common/duration.hpp"
#include "common/key_file.hpp"
#include "common/logging.hpp"
#include "common/startup_error.hpp"

namespace baker::directory {
namespace asio = boost::asio;
using asio::ip::udp;

namespace {
constexpr std::size_t kReceiveBatch = 64;
constexpr std::size_t kReceiveBufferSize = 65536;  // any UDP payload fits
constexpr int kMaxBatchesPerWakeup = 64;           // then let timers and HTTP run
// The directory receives heartbeats (announce) and talks to sherlocks (publish).
const std::vector<wire::Role> kDirectoryRoles = {wire::Role::announce, wire::Role::publish};

int socket_buffer(int fd, int option) {
  int v = 0;
  socklen_t len = sizeof v;
  getsockopt(fd, SOL_SOCKET, option, &v, &len);
  return v;
}

// Asks for `bytes`; as root the limit of net.core.[rw]mem_max can be passed with *BUFFORCE.
int grow_buffer(int fd, int option, int force_option, int bytes) {
  setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof bytes);
  if (socket_buffer(fd, option) < bytes) {
    setsockopt(fd, SOL_SOCKET, force_option, &bytes, sizeof bytes);
  }
  return socket_buffer(fd, option);
}

std::uint64_t random_epoch() {
  return random_nonzero_u64();
}

// The key of this process's address cookies: never on disk, new at every start.
CookieSecret random_secret() {
  CookieSecret s;
  for (std::size_t i = 0; i < s.size(); i += 8) {
    const std::uint64_t r = random_nonzero_u64();
    std::memcpy(s.data() + i, &r, 8);
  }
  return s;
}

// What encode_into appends with a key: the key id (msgpack uint32, 5 bytes at most) and the MAC
// (bin8 header + 16 bytes).
constexpr std::size_t kAuthTrailer = 5 + 2 + wire::kMacSize;
}  // namespace

DirectoryDaemon::DirectoryDaemon(asio::io_context& io, const DaemonSettings& settings, int argc,
                                 char** argv)
    : io_(io),
      systemd_(io),
      settings_(settings),
      argc_(argc),
      argv_(argv),
      core_(settings.core, random_epoch(), Clock::now(), random_secret()),
      socket_(io),
      timer_(io),
      rate_timer_(io),
      signals_(io, SIGINT, SIGTERM, SIGHUP),
      receiver_(kReceiveBatch, kReceiveBufferSize),
      sender_(AF_INET) {
  // The wall clock at start (the restart rule) and from then on with every batch: the core reads
  // no clock.
  core_.set_wall_clock(unix_time_ms(), clock_.now());
  if (!settings_.key_file.empty())
    keys_ = load_key_file(settings_.key_file, kDirectoryRoles, "the directory");
  core_.set_auth_overhead(keys_ ? kAuthTrailer : 0);

  boost::system::error_code ec;
  const auto listen_address = asio::ip::make_address(settings_.listen.host, ec);
  if (ec) throw UsageError("--listen: bad address '" + settings_.listen.host + "'");
  const udp::endpoint listen(listen_address, settings_.listen.port);
  socket_.open(listen.protocol());
  family_ = listen.protocol().family();
  sender_ = BatchSender(family_);
  const int fd = socket_.native_handle();
  stats_.receive_buffer_bytes = static_cast<std::size_t>(
      grow_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, settings_.receive_buffer));
  grow_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, settings_.send_buffer);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);  // count queue overflow drops
  socket_.bind(listen, ec);
  if (ec) {
    throw StartupError("cannot listen on UDP " + settings_.listen.to_string() + ": " +
                       ec.message() + " (another directory running? choose another --listen)");
  }
  socket_.non_blocking(true);

  if (settings_.multicast) {
    const auto group = asio::ip::make_address(settings_.multicast->host, ec);
    if (ec || group.is_v4() != listen_address.is_v4()) {
      throw UsageError("--multicast group " + settings_.multicast->host +
                       " must be of the same IP version as --listen");
    }
    socket_.set_option(asio::ip::multicast::hops(settings_.multicast_ttl), ec);
    if (!ec) socket_.set_option(asio::ip::multicast::enable_loopback(true), ec);
    if (!ec && !settings_.multicast_if.empty()) {
      const auto itf = asio::ip::make_address(settings_.multicast_if, ec);
      if (!ec && itf.is_v4() && group.is_v4()) {
        socket_.set_option(asio::ip::multicast::outbound_interface(itf.to_v4()), ec);
      } else if (!ec) {
        ec = asio::error::address_family_not_supported;
      }
    }
    if (ec) {
      throw StartupError("cannot set up multicast sending: " + ec.message() +
                         " (check --multicast-if and --multicast-ttl)");
    }
    Endpoint e;
    e.address = *wire::IpAddress::parse(settings_.multicast->host);
    e.port = settings_.multicast->port;
    group_ = to_sockaddr(e, family_);
  }

  if (settings_.metrics) {
    const auto addr = asio::ip::make_address(settings_.metrics->host, ec);
    if (ec) throw UsageError("--metrics: bad address '" + settings_.metrics->host + "'");
    try {
      http_ = std::make_unique<HttpStatusServer>(
          io_, asio::ip::tcp::endpoint(addr, settings_.metrics->port),
          [this](const std::string& path) { return status(path); });
    } catch (const boost::system::system_error& e) {
      throw StartupError("cannot serve metrics on " + settings_.metrics->to_string() + ": " +
                         e.code().message() + " (choose another --metrics address, or 'off')");
    }
  }
}

void DirectoryDaemon::start() {
  const auto& c = settings_.core;
  spdlog::info(
      "listening on UDP {}:{} (receive buffer {} KiB), epoch {:016x}, miss-limit {}, warm-up "
      "{} at most, max-clock-skew {}{}{}{}",
      settings_.listen.host, udp_port(), stats_.receive_buffer_bytes / 1024, core_.epoch(),
      c.miss_limit, format_duration(c.warmup_max), format_duration(c.max_clock_skew),
      settings_.multicast ? ", multicast to " + settings_.multicast->to_string() : std::string(),
      keys_ ? ", authenticated (" + std::to_string(keys_->size()) + " keys)"
            : std::string(", WITHOUT authentication (no --key-file)"),
      http_ ? ", metrics on http://" + settings_.metrics->host + ":" + std::to_string(http_->port())
            : std::string());
  do_receive();
  do_await_signal();
  do_rate_timer();
  arm_timer();
  systemd_.ready(systemd_status());  // every socket is bound (the constructor did it)
}

std::string DirectoryDaemon::systemd_status() const {
  return "listening on UDP " + settings_.listen.host + ":" + std::to_string(udp_port()) +
         (http_ ? ", HTTP on " + settings_.metrics->host + ":" + std::to_string(http_->port())
                : std::string()) +
         (keys_ ? ", authenticated" : ", without authentication");
}

void DirectoryDaemon::do_receive() {
  socket_.async_wait(udp::socket::wait_read, [this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    on_readable();
    do_receive();
  });
}

void DirectoryDaemon::on_readable() {
  const int fd = socket_.native_handle();
  TimePoint now = clock_.now();
  for (int round = 0; round < kMaxBatchesPerWakeup; ++round) {
    const int n = receiver_.receive(fd);
    if (n < 0) {
      spdlog::warn("receive failed: {}", std::strerror(errno));
      break;
    }
    if (n == 0) break;
    ++stats_.receive_batches;
    now = clock_.now();
    core_.set_wall_clock(unix_time_ms(), now);
    for (int i = 0; i < n; ++i) handle(receiver_.datagram(i), now);
    if (actions_.size() >= 1024) send_actions();
    if (static_cast<std::size_t>(n) < kReceiveBatch) break;
  }
  stats_.kernel_drops = receiver_.kernel_drops();
  core_.flush(now, actions_);
  send_actions();
  arm_timer();
}

void DirectoryDaemon::handle(const BatchReceiver::Datagram& d, TimePoint now) {
  ++stats_.datagrams_received;
  stats_.bytes_received += d.bytes.size();
  if (d.truncated) {
    ++stats_.oversized;
    return;
  }
  auto decoded = wire::decode(d.bytes, wire::DecodeOptions{keys()});
  if (!decoded) {
    const auto e = decoded.error();
    if (++stats_.decode_errors[static_cast<int>(e)] == 1) {  // the first of each kind is logged
      spdlog::warn("rejected a datagram from {}: {} (counted in /metrics from now on)",
                   d.from.to_string(), wire::to_string(e));
    }
    return;
  }
  core_.on_datagram(decoded.value().message, d.from, d.bytes.size(), now, actions_);
}

void DirectoryDaemon::send_actions() {
  if (actions_.empty()) return;
  if (encoded_.size() < actions_.size()) encoded_.resize(actions_.size());
  for (std::size_t k = 0; k < actions_.size(); ++k) {
    const Outgoing& a = actions_[k];
    wire::Bytes& buf = encoded_[k];
    wire::encode_into(a.message, keys(), buf);
    for (const auto& to : a.to) sender_.queue(buf, to);
    if (a.to_group && group_) sender_.queue(buf, *group_);
  }
  sender_.flush(socket_.native_handle());
  stats_.datagrams_sent = sender_.sent();
  stats_.send_errors = sender_.errors();
  actions_.clear();
  if (encoded_.size() > 4096) encoded_.resize(4096);  // a burst's buffers need not stay
}

void DirectoryDaemon::arm_timer() {
  if (stopping_) return;
  const TimePoint next = core_.next_deadline().value_or(TimePoint::max());
  if (next >= armed_) return;  // already armed for an earlier moment
  armed_ = next;
  timer_.expires_at(std::min(next, clock_.now() + std::chrono::hours(1)));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted) return;  // re-armed or stopping
    armed_ = TimePoint::max();
    on_timer();
  });
}

void DirectoryDaemon::on_timer() {
  if (stopping_) return;
  const bool was_warming = core_.warming_up();
  const TimePoint now = clock_.now();
  core_.set_wall_clock(unix_time_ms(), now);
  core_.on_timer(now, actions_);
  send_actions();
  if (was_warming && !core_.warming_up()) {
    spdlog::info("routes: {}, subscribers: {}", core_.route_count(), core_.subscriber_count());
  }
  arm_timer();
}

void DirectoryDaemon::do_rate_timer() {
  rate_timer_.expires_after(std::chrono::seconds(1));
  rate_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    const std::uint64_t total = core_.stats().heartbeats;
    stats_.heartbeats_per_second = static_cast<double>(total - heartbeats_at_last_second_);
    heartbeats_at_last_second_ = total;
    do_rate_timer();
  });
}

void DirectoryDaemon::do_await_signal() {
  signals_.async_wait([this](boost::system::error_code ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      systemd_.reloading();
      reload();
      systemd_.ready(systemd_status());
      do_await_signal();
      return;
    }
    spdlog::info("{}: shutting down ({} routes, {} subscribers)",
                 signal == SIGINT ? "SIGINT" : "SIGTERM", core_.route_count(),
                 core_.subscriber_count());
    stop();
  });
}

void DirectoryDaemon::reload() {
  // Same flags, config file re-read: the key file and the log level may have changed.
  const LoadedSettings fresh = load_settings(argc_, argv_);
  if (fresh.exit_code) {
    spdlog::error("SIGHUP: settings are invalid now (see above); keeping the current ones");
    set_log_level(settings_.log_level);
    return;
  }
  // Fail closed (common/key_file.hpp): a refused key change keeps the keys and their file; the
  // log level is applied all the same.
  auto keys =
      reload_key_file(fresh.settings.key_file, keys_.has_value(), kDirectoryRoles, "the directory");
  if (keys.refused()) {
    spdlog::error("SIGHUP: {} (the log level is applied)", keys.message);
  } else {
    keys_ = std::move(keys.keys);
    settings_.key_file = fresh.settings.key_file;
    core_.set_auth_overhead(keys_ ? kAuthTrailer : 0);
  }
  settings_.log_level = fresh.settings.log_level;
  set_log_level(settings_.log_level);
  spdlog::info("SIGHUP: reloaded: {}, log level {}",
               keys_ ? std::to_string(keys_->size()) + " keys from " + settings_.key_file
                     : std::string("no key file"),
               settings_.log_level);
}

void DirectoryDaemon::stop() {
  stopping_ = true;
  systemd_.stopping();
  boost::system::error_code ignored;
  timer_.cancel();
  rate_timer_.cancel();
  signals_.cancel(ignored);
  socket_.close(ignored);
  if (http_) http_->stop();
}

HttpReply DirectoryDaemon::status(const std::string& path) {
  if (path == "/" || path.rfind("/?", 0) == 0) {
    return render_status_page(core_, stats_, path, clock_.now());
  }
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4",
            render_metrics(core_, stats_) + render_http_metrics("directory", http_->stats())};
  }
  if (path == "/routes") {
    return {200, "application/json", render_routes_json(core_, "", clock_.now())};
  }
  if (path.rfind("/routes/", 0) == 0 && path.size() > 8) {
    return {200, "application/json", render_routes_json(core_, path.substr(8), clock_.now())};
  }
  return {404, "text/plain", "not found: try /, /metrics or /routes\n"};
}

}  // namespace baker::directory
