#pragma once
// Many datagrams per system call: recvmmsg into a ring of buffers (with the kernel's count of
// datagrams dropped for a full receive queue), and sendmmsg of encoded messages to many
// destinations. Plain POSIX on a socket the Asio shell owns; no Asio types here.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "directory/endpoint.hpp"

namespace baker::directory {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

Endpoint to_endpoint(const sockaddr_storage& a);
// For a socket of the given family (AF_INET or AF_INET6; v4 endpoints are mapped on AF_INET6).
SocketAddress to_sockaddr(const Endpoint& e, int family);

class BatchReceiver {
 public:
  struct Datagram {
    std::span<const std::uint8_t> bytes;
    Endpoint from;
    bool truncated = false;  // longer than the buffer: cut by the kernel
  };

  BatchReceiver(std::size_t batch, std::size_t buffer_size);
  // Reads up to `batch` datagrams without blocking; returns how many (0 when none are waiting,
  // -1 with errno on an error). Afterwards datagram(i) for i < count.
  int receive(int fd);
  Datagram datagram(int i) const;
  // The kernel's running count of datagrams dropped on this socket (needs SO_RXQ_OVFL).
  std::uint32_t kernel_drops() const { return drops_; }

 private:
  std::size_t batch_;
  std::size_t buffer_size_;
  std::vector<std::uint8_t> buffers_;
  std::vector<std::uint8_t> controls_;
  std::vector<sockaddr_storage> addresses_;
  std::vector<iovec> iovecs_;
  std::vector<mmsghdr> headers_;
  std::uint32_t drops_ = 0;
};

class BatchSender {
 public:
  explicit BatchSender(int family) : family_(family) {}
  // Queues `bytes` (which must stay alive until flush) to `to`.
  void queue(std::span<const std::uint8_t> bytes, const SocketAddress& to);
  void queue(std::span<const std::uint8_t> bytes, const Endpoint& to) {
    queue(bytes, to_sockaddr(to, family_));
  }
  // Sends everything queued; failures are counted by errno name and skipped.
  void flush(int fd);
  std::size_t queued() const { return pending_.size(); }
  std::uint64_t sent() const { return sent_; }
  const std::map<std::string, std::uint64_t>& errors() const { return errors_; }

 private:
  struct Pending {
    std::span<const std::uint8_t> bytes;
    SocketAddress to;
  };
  int family_;
  std::vector<Pending> pending_;
  std::uint64_t sent_ = 0;
  std::map<std::string, std::uint64_t> errors_;
};

}  // namespace baker::directory
