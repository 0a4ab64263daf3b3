#include "common/systemd_link.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace baker {

namespace {
std::optional<long long> parse_positive(const char* text) {
  if (!text || !*text) return std::nullopt;
  long long v = 0;
  const char* end = text + std::strlen(text);
  const auto [p, ec] = std::from_chars(text, end, v);
  if (ec != std::errc{} || p != end || v <= 0) return std::nullopt;
  return v;
}
}  // namespace

std::optional<NotifyAddress> parse_notify_socket(std::string_view value) {
  if (value.size() < 2 || (value[0] != '/' && value[0] != '@')) return std::nullopt;
  NotifyAddress a;
  if (value.size() > sizeof a.address.sun_path) return std::nullopt;
  a.address.sun_family = AF_UNIX;
  std::memcpy(a.address.sun_path, value.data(), value.size());
  if (value[0] == '@') {
    a.address.sun_path[0] = '\0';  // abstract: no terminating NUL counts
    a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + value.size());
  } else {
    if (value.size() == sizeof a.address.sun_path) return std::nullopt;  // no room for the NUL
    a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + value.size() + 1);
  }
  return a;
}

std::optional<Duration> watchdog_ping_interval(const char* watchdog_usec, const char* watchdog_pid,
                                               long pid) {
  const auto usec = parse_positive(watchdog_usec);
  if (!usec) return std::nullopt;
  if (watchdog_pid && *watchdog_pid) {
    const auto for_pid = parse_positive(watchdog_pid);
    if (!for_pid || *for_pid != pid) return std::nullopt;
  }
  return std::chrono::duration_cast<Duration>(std::chrono::microseconds(*usec / 2));
}

SystemdLink::SystemdLink(boost::asio::io_context& io) : timer_(io) {
  const char* socket_env = std::getenv("NOTIFY_SOCKET");
  const auto address = socket_env ? parse_notify_socket(socket_env) : std::nullopt;
  watchdog_ = watchdog_ping_interval(std::getenv("WATCHDOG_USEC"), std::getenv("WATCHDOG_PID"),
                                     static_cast<long>(::getpid()));
  if (socket_env && !address) spdlog::warn("NOTIFY_SOCKET '{}' is not usable: ignored", socket_env);
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  if (!address) {
    watchdog_.reset();  // nobody to ping
    return;
  }
  address_ = *address;
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) {
    spdlog::warn("cannot open a socket to tell systemd our state: {}", std::strerror(errno));
    watchdog_.reset();
    return;
  }
  if (watchdog_) arm_watchdog();
}

SystemdLink::~SystemdLink() {
  if (fd_ >= 0) ::close(fd_);
}

void SystemdLink::ready(std::string_view status) {
  if (!told_ready_ && active()) spdlog::info("told systemd: ready ({})", status);
  told_ready_ = true;
  ready_status_ = status;
  send("READY=1\nSTATUS=" + ready_status_);
}

void SystemdLink::reloaded() {
  send("READY=1\nSTATUS=" + ready_status_);
}

void SystemdLink::reloading() {
  send("RELOADING=1");
}

void SystemdLink::stopping(std::string_view status) {
  timer_.cancel();
  watchdog_.reset();
  if (told_stopping_) return;
  told_stopping_ = true;
  send("STOPPING=1\nSTATUS=" + std::string(status));
}

void SystemdLink::status(std::string_view status) {
  send("STATUS=" + std::string(status));
}

void SystemdLink::send(const std::string& message) {
  if (fd_ < 0) return;
  const auto sent = ::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&address_.address), address_.length);
  if (sent < 0 && !send_failure_logged_) {
    // Once: systemd going away must not flood the log from every watchdog ping.
    send_failure_logged_ = true;
    spdlog::warn("cannot tell systemd '{}': {}", message.substr(0, message.find('\n')),
                 std::strerror(errno));
  }
}

void SystemdLink::arm_watchdog() {
  send("WATCHDOG=1");
  timer_.expires_after(*watchdog_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !watchdog_) return;
    arm_watchdog();
  });
}

}  // namespace baker
