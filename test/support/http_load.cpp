#include "http_load.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include "sockets.hpp"

namespace baker::testing {
namespace {
// Header names are case-insensitive (HAProxy sends them in lower case): find one in lower case.
std::size_t find_header(const std::string& head, const std::string& lower_name) {
  std::string lower(head);
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return lower.find(lower_name);
}
}  // namespace

HttpLoad::HttpLoad(std::string host, std::uint16_t port, std::string path, int connections)
    : host_(std::move(host)), path_(std::move(path)), port_(port) {
  for (int i = 0; i < connections; ++i) threads_.emplace_back([this] { run(); });
}

HttpLoad::~HttpLoad() {
  stop();
}

void HttpLoad::stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::map<std::string, std::uint64_t> HttpLoad::bodies() const {
  std::lock_guard lock(mu_);
  return bodies_;
}

std::vector<std::string> HttpLoad::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

void HttpLoad::fail(const std::string& why) {
  ++failed_;
  std::lock_guard lock(mu_);
  if (failures_.size() < 20) failures_.push_back(why);
}

void HttpLoad::run() {
  const std::string request =
      "GET " + path_ + " HTTP/1.1\r\nHost: " + host_ + "\r\nConnection: keep-alive\r\n\r\n";
  int fd = -1;
  std::string buf;
  auto close_fd = [&] {
    if (fd >= 0) close(fd);
    fd = -1;
    buf.clear();
  };
  while (!stop_) {
    if (fd < 0) {
      fd = tcp_connect(host_, port_, std::chrono::seconds(2));
      if (fd < 0) {
        fail(std::string("connect: ") + strerror(errno));
        close_fd();
        usleep(10000);
        continue;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ++connects_;
    }
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      fail(std::string("send: ") + strerror(errno));
      close_fd();
      continue;
    }
    // Read one response: headers, then Content-Length bytes of body.
    std::size_t header_end = std::string::npos;
    std::size_t need = 0;
    bool broken = false;
    while (true) {
      if (header_end == std::string::npos) {
        header_end = buf.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          const auto cl = find_header(buf.substr(0, header_end), "\r\ncontent-length:");
          need = header_end + 4 + (cl != std::string::npos ? std::stoul(buf.substr(cl + 17)) : 0);
        }
      }
      if (header_end != std::string::npos && buf.size() >= need) break;
      char chunk[4096];
      const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        fail(n == 0 ? "connection closed before the answer"
                    : std::string("recv: ") + strerror(errno));
        broken = true;
        break;
      }
      buf.append(chunk, static_cast<std::size_t>(n));
    }
    if (broken) {
      close_fd();
      continue;
    }
    const int status = std::atoi(buf.c_str() + 9);
    const std::string body = buf.substr(header_end + 4, need - header_end - 4);
    const bool server_closes =
        find_header(buf.substr(0, header_end), "\r\nconnection: close") != std::string::npos;
    buf.erase(0, need);
    if (status >= 200 && status < 300) {
      ++ok_;
      std::lock_guard lock(mu_);
      ++bodies_[body];
    } else {
      fail("status " + std::to_string(status) + ": " + body.substr(0, 80));
    }
    if (server_closes) close_fd();
  }
  close_fd();
}

}  // namespace baker::testing
