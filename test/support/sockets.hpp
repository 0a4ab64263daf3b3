#pragma once
// Blocking loopback sockets for tests: the few calls every helper used to spell out itself.
// Each returns a file descriptor the caller closes, or -1 (connect) / throws (listen).
#include <chrono>
#include <cstdint>
#include <string>

namespace baker::testing {

// A TCP listener on 127.0.0.1 with an ephemeral port (SO_REUSEADDR); `port` receives it.
// Throws std::runtime_error if it cannot be made.
int tcp_listen_loopback(int backlog, std::uint16_t& port);
// A TCP connection to host:port with send and receive timeouts of `timeout`; -1 on failure.
int tcp_connect(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);
// A connection to a Unix stream socket with a receive timeout of `timeout`; -1 on failure.
int unix_connect(const std::string& path, std::chrono::milliseconds timeout);
// Everything the peer sends until it closes (or the receive timeout passes).
std::string read_to_eof(int fd);
// Sends all of `text` (MSG_NOSIGNAL); false if the connection failed.
bool send_all(int fd, const std::string& text);

}  // namespace baker::testing
