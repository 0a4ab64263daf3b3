#include "notify_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace baker::testing {

NotifySocket::NotifySocket() {
  char dir[] = "/tmp/baker-notify-XXXXXX";
  if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
  dir_ = dir;
  path_ = dir_ + "/notify";
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    throw std::runtime_error("cannot bind the notify socket " + path_);
  }
}

NotifySocket::~NotifySocket() {
  if (fd_ >= 0) ::close(fd_);
  ::unlink(path_.c_str());
  ::rmdir(dir_.c_str());
}

std::vector<std::string> NotifySocket::drain(std::chrono::milliseconds wait) {
  std::vector<std::string> out;
  char buf[4096];
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) break;
    out.emplace_back(buf, static_cast<std::size_t>(n));
  }
  received_.insert(received_.end(), out.begin(), out.end());
  return out;
}

std::string NotifySocket::wait_for(const std::string& text, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return "";
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) continue;
    received_.emplace_back(buf, static_cast<std::size_t>(n));
    if (received_.back().find(text) != std::string::npos) return received_.back();
  }
}

}  // namespace baker::testing
