#include "directory/batch_udp.hpp"

#include <errno.h>
#include <string.h>

#include <algorithm>
#include <cstring>

namespace baker::directory {

Endpoint to_endpoint(const sockaddr_storage& a) {
  Endpoint e;
  if (a.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(a);
    e.address.family = wire::IpAddress::Family::v4;
    std::memcpy(e.address.bytes.data(), &in.sin_addr, 4);
    e.port = ntohs(in.sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a);
    e.address.family = wire::IpAddress::Family::v6;
    std::memcpy(e.address.bytes.data(), &in6.sin6_addr, 16);
    e.port = ntohs(in6.sin6_port);
  }
  return e;
}

SocketAddress to_sockaddr(const Endpoint& e, int family) {
  SocketAddress out;
  if (family == AF_INET && e.address.family == wire::IpAddress::Family::v4) {
    auto& in = reinterpret_cast<sockaddr_in&>(out.storage);
    in.sin_family = AF_INET;
    in.sin_port = htons(e.port);
    std::memcpy(&in.sin_addr, e.address.bytes.data(), 4);
    out.length = sizeof(sockaddr_in);
  } else {
    auto& in6 = reinterpret_cast<sockaddr_in6&>(out.storage);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(e.port);
    if (e.address.family == wire::IpAddress::Family::v4) {  // ::ffff:a.b.c.d
      in6.sin6_addr.s6_addr[10] = 0xff;
      in6.sin6_addr.s6_addr[11] = 0xff;
      std::memcpy(&in6.sin6_addr.s6_addr[12], e.address.bytes.data(), 4);
    } else {
      std::memcpy(&in6.sin6_addr, e.address.bytes.data(), 16);
    }
    out.length = sizeof(sockaddr_in6);
  }
  return out;
}

BatchReceiver::BatchReceiver(std::size_t batch, std::size_t buffer_size)
    : batch_(batch),
      buffer_size_(buffer_size),
      buffers_(batch * buffer_size),
      controls_(batch * CMSG_SPACE(sizeof(std::uint32_t))),
      addresses_(batch),
      iovecs_(batch),
      headers_(batch) {}

int BatchReceiver::receive(int fd) {
  const std::size_t control_size = CMSG_SPACE(sizeof(std::uint32_t));
  for (std::size_t i = 0; i < batch_; ++i) {
    iovecs_[i] = iovec{buffers_.data() + i * buffer_size_, buffer_size_};
    msghdr& h = headers_[i].msg_hdr;
    h = msghdr{};
    h.msg_name = &addresses_[i];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_iov = &iovecs_[i];
    h.msg_iovlen = 1;
    h.msg_control = controls_.data() + i * control_size;
    h.msg_controllen = control_size;
    headers_[i].msg_len = 0;
  }
  const int n = recvmmsg(fd, headers_.data(), static_cast<unsigned>(batch_), MSG_DONTWAIT, nullptr);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
  for (int i = 0; i < n; ++i) {
    msghdr& h = headers_[i].msg_hdr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        std::uint32_t d = 0;
        std::memcpy(&d, CMSG_DATA(c), sizeof d);
        drops_ = std::max(drops_, d);
      }
    }
  }
  return n;
}

BatchReceiver::Datagram BatchReceiver::datagram(int i) const {
  const auto& h = headers_[static_cast<std::size_t>(i)];
  const std::size_t len = std::min<std::size_t>(h.msg_len, buffer_size_);
  return Datagram{{buffers_.data() + static_cast<std::size_t>(i) * buffer_size_, len},
                  to_endpoint(addresses_[static_cast<std::size_t>(i)]),
                  (h.msg_hdr.msg_flags & MSG_TRUNC) != 0};
}

void BatchSender::queue(std::span<const std::uint8_t> bytes, const SocketAddress& to) {
  pending_.push_back({bytes, to});
}

void BatchSender::flush(int fd) {
  constexpr std::size_t kBatch = 64;
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> headers(kBatch);
  std::size_t next = 0;
  while (next < pending_.size()) {
    const std::size_t n = std::min(kBatch, pending_.size() - next);
    for (std::size_t k = 0; k < n; ++k) {
      Pending& p = pending_[next + k];
      iov[k] = iovec{const_cast<std::uint8_t*>(p.bytes.data()), p.bytes.size()};
      headers[k] = mmsghdr{};
      headers[k].msg_hdr.msg_name = &p.to.storage;
      headers[k].msg_hdr.msg_namelen = p.to.length;
      headers[k].msg_hdr.msg_iov = &iov[k];
      headers[k].msg_hdr.msg_iovlen = 1;
    }
    const int sent = sendmmsg(fd, headers.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
    if (sent > 0) {
      sent_ += static_cast<std::uint64_t>(sent);
      next += static_cast<std::size_t>(sent);
    } else {
      // The first datagram failed: count it and go on with the rest (UDP: best effort).
      const int err = sent < 0 ? errno : EIO;
      if (err == EINTR) continue;
      ++errors_[strerrorname_np(err) ? strerrorname_np(err) : std::to_string(err)];
      ++next;
    }
  }
  pending_.clear();
}

}  // namespace baker::directory
