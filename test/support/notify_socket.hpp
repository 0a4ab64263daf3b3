#pragma once
// A NOTIFY_SOCKET the test owns, as systemd creates one for a Type=notify service: a unix datagram
// socket in a fresh directory. Collects what a daemon tells systemd (READY=1, WATCHDOG=1, ...).
#include <chrono>
#include <string>
#include <vector>

namespace baker::testing {

class NotifySocket {
 public:
  NotifySocket();
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  const std::string& path() const { return path_; }
  // Every datagram that arrives within `wait`.
  std::vector<std::string> drain(std::chrono::milliseconds wait = std::chrono::milliseconds(200));
  // Reads until a datagram containing `text` arrives or timeout passes; every datagram read is
  // kept in received(). Returns that datagram ("" on timeout).
  std::string wait_for(const std::string& text, std::chrono::milliseconds timeout);
  const std::vector<std::string>& received() const { return received_; }

 private:
  int fd_ = -1;
  std::string dir_;
  std::string path_;
  std::vector<std::string> received_;
};

}  // namespace baker::testing
