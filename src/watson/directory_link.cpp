#include "watson/directory_link.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/error.hpp>

namespace baker::watson {

namespace asio = boost::asio;
using udp = asio::ip::udp;

DirectoryLink::DirectoryLink(asio::io_context& io, udp::endpoint to, std::string name)
    : socket_(io), to_(std::move(to)), name_(std::move(name)) {
  ensure_connected();
}

bool DirectoryLink::ensure_connected() {
  if (connected_) return true;
  boost::system::error_code ec;
  if (!socket_.is_open()) socket_.open(to_.protocol(), ec);
  if (!ec) socket_.connect(to_, ec);
  if (ec) {
    report(ec, "cannot connect UDP socket");
    socket_.close(ec);
    return false;
  }
  connected_ = true;
  do_receive();
  return true;
}

void DirectoryLink::send(std::span<const std::uint8_t> datagram) {
  if (closed_ || !ensure_connected()) return;
  boost::system::error_code ec;
  socket_.send(asio::buffer(datagram.data(), datagram.size()), 0, ec);
  if (ec == asio::error::connection_refused) {
    // An ICMP error from an earlier datagram surfaced here instead of in the pending receive;
    // this datagram was not sent, so send it again.
    report(ec, "port unreachable");
    socket_.send(asio::buffer(datagram.data(), datagram.size()), 0, ec);
  }
  if (ec) {
    report(ec, "send failed");
    return;
  }
  ++sent_;
}

void DirectoryLink::close() {
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void DirectoryLink::do_receive() {
  socket_.async_receive(asio::buffer(scratch_), [this](boost::system::error_code ec, std::size_t) {
    if (ec == asio::error::operation_aborted || closed_ || !socket_.is_open()) return;
    if (ec) report(ec, "port unreachable");
    // Directories send nothing to watson; anything that arrives is dropped.
    do_receive();
  });
}

void DirectoryLink::report(const boost::system::error_code& ec, const char* what) {
  if (ec == asio::error::connection_refused) ++unreachable_;
  if (!log_limit_.allow(Clock::now())) return;
  const auto held = log_limit_.take_suppressed();
  spdlog::warn("directory {}: {} ({}); no directory listening there? still sending{}", name_, what,
               ec.message(), held ? fmt::format(" ({} more since the last report)", held) : "");
}

}  // namespace baker::watson
