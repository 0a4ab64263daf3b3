#pragma once
// Test support for integration tests: real child processes, polling with deadlines, loopback ports,
// a blocking UDP socket and a tiny HTTP GET. Everything cleans up in destructors.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace baker::testing {

using namespace std::chrono_literals;

// Directory holding the project's built binaries (directory, watson, sherlock, baker-dump).
std::string bin_dir();
std::string bin(const std::string& name);  // bin_dir() + "/" + name

// A child process; its stdout+stderr go to a log file that the test can read. The destructor
// sends SIGTERM, waits up to 3 s, then SIGKILLs: no test leaves a process behind.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, std::string log_path = "");
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for exit; returns the exit status (or 128+signal), nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // SIGTERM, wait, SIGKILL if needed. Returns the exit status.
  int stop(std::chrono::milliseconds grace = 3000ms);
  std::string log() const;  // everything the child printed so far
  const std::string& log_path() const { return log_path_; }

 private:
  int pid_ = -1;
  std::optional<int> status_;
  std::string log_path_;
  bool own_log_ = false;
};

// The whole file ("" if it cannot be read).
std::string read_file(const std::string& path);

// Polls pred every `every` until it returns true or timeout passes. Returns the last pred value.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = 10ms);

// A port that was free on 127.0.0.1 a moment ago (bound to port 0, then released).
std::uint16_t free_udp_port();
std::uint16_t free_tcp_port();

// A blocking UDP socket bound to 127.0.0.1 (port 0 = ephemeral).
class UdpSocket {
 public:
  explicit UdpSocket(std::uint16_t port = 0, const std::string& address = "127.0.0.1");
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  std::uint16_t port() const { return port_; }
  int fd() const { return fd_; }
  void send_to(const std::vector<std::uint8_t>& bytes, const std::string& address,
               std::uint16_t port);
  // One datagram, or nullopt after timeout. from_port receives the sender's port if given.
  std::optional<std::vector<std::uint8_t>> receive(std::chrono::milliseconds timeout,
                                                   std::uint16_t* from_port = nullptr);

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

struct HttpResponse {
  int status = 0;
  std::string body;
};
// GET http://host:port/path with a timeout; nullopt on connection failure or timeout.
std::optional<HttpResponse> http_get(const std::string& host, std::uint16_t port,
                                     const std::string& path,
                                     std::chrono::milliseconds timeout = 2000ms);

// A fresh temporary directory, removed with its contents by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes (or rewrites) a file with mode 0600, as a key file must be.
  void write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

}  // namespace baker::testing
