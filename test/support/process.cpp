#include "process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "sockets.hpp"

#ifndef BAKER_BIN_DIR
#error "BAKER_BIN_DIR must be defined by the build"
#endif

namespace baker::testing {

std::string bin_dir() {
  return BAKER_BIN_DIR;
}
std::string bin(const std::string& name) {
  return bin_dir() + "/" + name;
}

ChildProcess::ChildProcess(std::vector<std::string> argv, std::string log_path)
    : log_path_(std::move(log_path)) {
  if (log_path_.empty()) {
    char tmpl[] = "/tmp/baker-child-XXXXXX";
    const int fd = mkstemp(tmpl);
    if (fd >= 0) close(fd);
    log_path_ = tmpl;
    own_log_ = true;
  }
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    setpgid(0, 0);  // its own group, so stop() also reaches anything it forks
    // The test's own sockets must not live on in the child (a "closed" listener would stay open).
    for (int fd = 3; fd < 1024; ++fd) close(fd);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
}

ChildProcess::~ChildProcess() {
  stop();
  if (own_log_) std::remove(log_path_.c_str());
}

bool ChildProcess::running() {
  if (status_) return false;
  int st = 0;
  const int r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return r == 0;
}

void ChildProcess::signal(int sig) {
  if (running()) kill(pid_, sig);
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  wait_until([this] { return !running(); }, timeout, 5ms);
  return status_;
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (running()) {
    kill(pid_, SIGTERM);
    if (!wait_exit(grace)) {
      kill(-pid_, SIGKILL);
      kill(pid_, SIGKILL);
      wait_exit(2000ms);
    }
  }
  kill(-pid_, SIGKILL);  // leftovers of its process group, if any
  return status_.value_or(-1);
}

std::string ChildProcess::log() const {
  return read_file(log_path_);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(every);
  }
}

namespace {
std::uint16_t free_port(int type) {
  const int fd = socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}
}  // namespace

std::uint16_t free_udp_port() {
  return free_port(SOCK_DGRAM);
}
std::uint16_t free_tcp_port() {
  return free_port(SOCK_STREAM);
}

UdpSocket::UdpSocket(std::uint16_t port, const std::string& address) {
  fd_ = socket(AF_INET, SOCK_DGRAM, 0);
  const int big = 4 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, address.c_str(), &a.sin_addr);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    throw std::runtime_error("UdpSocket: bind failed: " + std::string(strerror(errno)));
  }
  socklen_t len = sizeof a;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) close(fd_);
}

void UdpSocket::send_to(const std::vector<std::uint8_t>& bytes, const std::string& address,
                        std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, address.c_str(), &a.sin_addr);
  sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
}

std::optional<std::vector<std::uint8_t>> UdpSocket::receive(std::chrono::milliseconds timeout,
                                                            std::uint16_t* from_port) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  std::vector<std::uint8_t> buf(65536);
  sockaddr_in from{};
  socklen_t len = sizeof from;
  const ssize_t n =
      recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
  if (n < 0) return std::nullopt;
  buf.resize(static_cast<std::size_t>(n));
  if (from_port) *from_port = ntohs(from.sin_port);
  return buf;
}

std::optional<HttpResponse> http_get(const std::string& host, std::uint16_t port,
                                     const std::string& path, std::chrono::milliseconds timeout) {
  const int fd = tcp_connect(host, port, timeout);
  if (fd < 0) return std::nullopt;
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  if (!send_all(fd, req)) {
    close(fd);
    return std::nullopt;
  }
  const std::string resp = read_to_eof(fd);
  close(fd);
  if (resp.compare(0, 5, "HTTP/") != 0) return std::nullopt;
  HttpResponse out;
  out.status = std::atoi(resp.c_str() + resp.find(' ') + 1);
  const auto body = resp.find("\r\n\r\n");
  if (body != std::string::npos) out.body = resp.substr(body + 4);
  return out;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/baker-test-XXXXXX";
  path_ = mkdtemp(tmpl);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void TempDir::write(const std::string& name, const std::string& content) const {
  std::ofstream(file(name)) << content;
  // Key files must not be readable by group or others (load_key_file refuses them); every file
  // a test writes gets the mode a key file needs, so no test has to remember it.
  ::chmod(file(name).c_str(), 0600);
}

}  // namespace baker::testing
