#pragma once
// Shared by baker-dump's integration tests: running the binary with stdout and stderr apart, and
// reading, rewriting and hand-writing capture files.
#include <fcntl.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "baker-dump/record.hpp"
#include "process.hpp"

namespace baker::dump::testing {

using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;

// Where "lag=<n>ms" (capture time - sent_ms, a few ms that vary by run) sits in a baker-dump line:
// the offset of <n> and its length. (No std::regex: GCC 12's <regex> trips -Wmaybe-uninitialized
// under the sanitizer build.)
inline std::optional<std::pair<std::size_t, std::size_t>> lag_field(const std::string& line) {
  for (std::size_t at = line.find("lag="); at != std::string::npos;
       at = line.find("lag=", at + 1)) {
    std::size_t end = at + 4;
    if (end < line.size() && line[end] == '-') ++end;
    const std::size_t digits = end;
    while (end < line.size() && line[end] >= '0' && line[end] <= '9') ++end;
    if (end > digits && line.compare(end, 2, "ms") == 0) return std::pair{at + 4, end - at - 4};
  }
  return std::nullopt;
}

// The lag of a line, if it has one.
inline std::optional<long long> lag_ms(const std::string& line) {
  const auto f = lag_field(line);
  if (!f) return std::nullopt;
  return std::stoll(line.substr(f->first, f->second));
}

// The line with its lag replaced by "lag=Xms".
inline std::string unlagged(const std::string& line) {
  const auto f = lag_field(line);
  if (!f) return line;
  return line.substr(0, f->first) + "X" + line.substr(f->first + f->second);
}

struct RunResult {
  int status = -1;  // exit status, 128+signal, -1 on timeout
  std::string out;
  std::string err;
  std::vector<std::string> lines() const {
    std::vector<std::string> v;
    std::stringstream ss(out);
    std::string l;
    while (std::getline(ss, l)) v.push_back(l);
    return v;
  }
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Runs argv to completion (killed after `timeout`), stdout and stderr into separate strings.
inline RunResult run_tool(const std::vector<std::string>& argv, const baker::testing::TempDir& dir,
                          std::chrono::milliseconds timeout = 20s) {
  static int serial = 0;
  const std::string out_path = dir.file("run" + std::to_string(++serial) + ".out");
  const std::string err_path = out_path + ".err";
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  RunResult r;
  int st = 0;
  const bool done =
      baker::testing::wait_until([&] { return waitpid(pid, &st, WNOHANG) == pid; }, timeout, 5ms);
  if (!done) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  } else {
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  return r;
}

struct Packet {
  pcap_pkthdr header{};
  Bytes data;
};

inline std::vector<Packet> read_capture(const std::string& path, int* linktype) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
  if (!p) throw std::runtime_error(std::string("read_capture: ") + errbuf);
  *linktype = pcap_datalink(p);
  std::vector<Packet> out;
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  while (pcap_next_ex(p, &h, &d) == 1) out.push_back(Packet{*h, Bytes(d, d + h->caplen)});
  pcap_close(p);
  return out;
}

// A classic pcap file, as any tool would write it (pcap_dump on a dead handle).
inline void write_capture(const std::string& path, int linktype,
                          const std::vector<Packet>& packets) {
  pcap_t* dead = pcap_open_dead(linktype, 262144);
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  if (!d) throw std::runtime_error("write_capture: " + std::string(pcap_geterr(dead)));
  for (const auto& p : packets) {
    pcap_dump(reinterpret_cast<u_char*>(d), &p.header, p.data.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
}

// A pcapng file written block by block (section header, one interface, enhanced packet blocks),
// so reading pcapng is checked against the format itself rather than against libpcap's writer.
inline void write_pcapng(const std::string& path, std::uint16_t linktype,
                         const std::vector<Packet>& packets) {
  std::string out;
  auto u32 = [&](std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](std::uint16_t v) { out.append(reinterpret_cast<const char*>(&v), 2); };
  // Section header block.
  u32(0x0A0D0D0A);
  u32(28);
  u32(0x1A2B3C4D);
  u16(1);
  u16(0);
  u32(0xffffffff);
  u32(0xffffffff);  // section length unknown
  u32(28);
  // Interface description block (microsecond time stamps by default).
  u32(1);
  u32(20);
  u16(linktype);
  u16(0);
  u32(262144);
  u32(20);
  for (const auto& p : packets) {
    const std::uint32_t padded = (static_cast<std::uint32_t>(p.data.size()) + 3) & ~3u;
    const std::uint32_t total = 32 + padded;
    const std::uint64_t ts = static_cast<std::uint64_t>(p.header.ts.tv_sec) * 1000000 +
                             static_cast<std::uint64_t>(p.header.ts.tv_usec);
    u32(6);
    u32(total);
    u32(0);  // interface 0
    u32(static_cast<std::uint32_t>(ts >> 32));
    u32(static_cast<std::uint32_t>(ts));
    u32(static_cast<std::uint32_t>(p.data.size()));
    u32(static_cast<std::uint32_t>(p.data.size()));
    out.append(reinterpret_cast<const char*>(p.data.data()), p.data.size());
    out.append(padded - p.data.size(), '\0');
    u32(total);
  }
  write_bytes(path, out);
}

// The time stamp tcpdump-style lines start with: "HH:MM:SS.uuuuuu ".
inline bool starts_with_time(const std::string& line) {
  static constexpr std::string_view shape = "dd:dd:dd.dddddd ";
  if (line.size() < shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const bool digit = line[i] >= '0' && line[i] <= '9';
    if (shape[i] == 'd' ? !digit : line[i] != shape[i]) return false;
  }
  return true;
}

// The line without its time stamp.
inline std::string untimed(const std::string& line) {
  return line.size() > 16 ? line.substr(16) : line;
}

}  // namespace baker::dump::testing
