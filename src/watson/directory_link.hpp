#pragma once
// One directory watson heartbeats to: a UDP socket connected to it. Connected, so the kernel
// reports ICMP port unreachable (ECONNREFUSED) for it; a receive kept pending collects that error
// (so it does not eat the next heartbeat) and it is logged, rate-limited, while sending goes on.
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <span>
#include <string>

#include "common/clock.hpp"
#include "watson/log_rate_limit.hpp"

namespace baker::watson {

class DirectoryLink {
 public:
  DirectoryLink(boost::asio::io_context& io, boost::asio::ip::udp::endpoint to, std::string name);
  DirectoryLink(const DirectoryLink&) = delete;
  DirectoryLink& operator=(const DirectoryLink&) = delete;

  void send(std::span<const std::uint8_t> datagram);
  void close();
  const std::string& name() const { return name_; }
  std::uint64_t sent() const { return sent_; }
  std::uint64_t unreachable() const { return unreachable_; }

 private:
  bool ensure_connected();
  void do_receive();
  void report(const boost::system::error_code& ec, const char* what);

  boost::asio::ip::udp::socket socket_;
  boost::asio::ip::udp::endpoint to_;
  std::string name_;
  bool connected_ = false;
  bool closed_ = false;
  std::array<std::uint8_t, 64> scratch_{};
  LogRateLimit log_limit_{std::chrono::seconds(30)};
  std::uint64_t sent_ = 0;
  std::uint64_t unreachable_ = 0;
};

}  // namespace baker::watson
