// baker-dump: shows Baker's UDP traffic as tcpdump shows TCP. This file is the I/O shell (options,
// libpcap, the multicast socket, signals, printing); everything else is in the baker_dump library.
// Usage and output formats: tools/baker-dump/README.md.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "baker-dump/capture_setup.hpp"
#include "baker-dump/filter.hpp"
#include "baker-dump/frame.hpp"
#include "baker-dump/inspector.hpp"
#include "common/host_port.hpp"
#include "common/key_file.hpp"
#include "common/options.hpp"
#include "common/startup_error.hpp"
#include "wire/auth.hpp"

namespace {

using namespace baker;
using namespace baker::dump;

// Baker's exit statuses (common/startup_error.hpp): 0 ok, 1 capture, file or key-file failure,
// 2 bad flags.
constexpr int kExitOk = baker::kExitOk;
constexpr int kExitFailure = baker::kExitStartupFailure;
constexpr int kExitUsage = baker::kExitUsage;
// The largest IP packet (65,535) plus the largest link header we parse: every UDP datagram whole.
// Not libpcap's 262,144 default: on Linux each ring slot is snaplen-sized, so a smaller snaplen
// means many more packets fit in the ring before the kernel drops any.
constexpr int kSnapLength = 65535 + 64;
constexpr unsigned kDefaultBufferMb = 8;  // capture ring; bursts of snapshots fit
constexpr int kPollMs = 200;
constexpr int kBlockTimeoutMs = 20;

volatile sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) {
  g_stop = 1;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll() returns EINTR and the loop sees the flag
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

Timestamp now_timestamp() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  return Timestamp{tv.tv_sec, static_cast<std::int32_t>(tv.tv_usec)};
}

int fail(const std::string& message, int code = kExitFailure) {
  std::cerr << "baker-dump: " << message << "\n";
  return code;
}

struct JoinSpec {
  in_addr group{};
  std::uint16_t port = 0;
  in_addr interface {};  // INADDR_ANY: the kernel picks by route
  std::string text;
};

struct Settings {
  std::string interface = "any";
  std::optional<std::string> read_path;
  std::optional<std::string> write_path;
  bool print = true;  // false with -w unless --print
  std::optional<std::uint64_t> count;
  std::string bpf;
  bool bpf_given = false;  // --filter or --port: applied to -r files as well
  std::optional<JoinSpec> join;
  bool promiscuous = true;
  unsigned buffer_mb = kDefaultBufferMb;
  bool summary = true;
  bool json = false;
  InspectorOptions inspect;
  std::optional<wire::Keyring> keys;
};

// Splits "a,b,c" and repeated flags into one list.
std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    std::stringstream ss(v);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!item.empty()) out.push_back(item);
    }
  }
  return out;
}

// Parses and checks every flag; returns an exit code when the process should stop now.
std::optional<int> configure(int argc, char** argv, Settings& s) {
  po::options_description flags("Options");
  // clang-format off
  flags.add_options()
    ("help,h", "show this help and exit")
    ("version", "print the version and exit")
    ("interface,i", po::value<std::string>()->default_value("any"),
     "capture on this interface; 'any' = every interface (Linux), 'lo' = loopback only")
    ("read,r", po::value<std::string>(), "read a pcap or pcapng file instead of capturing")
    ("write,w", po::value<std::string>(),
     "write the captured packets to this pcap file (and print nothing, unless --print)")
    ("print", po::bool_switch(), "with -w: print the datagrams as well")
    ("count,c", po::value<std::uint64_t>(), "stop after this many packets")
    ("port", po::value<std::vector<std::string>>()->composing(),
     "capture UDP datagrams to or from this port; repeat or comma-separate "
     "(default 7400,7410 plus the --join port)")
    ("filter", po::value<std::string>(),
     "a BPF filter expression (pcap-filter(7)) used instead of the --port filter")
    ("join", po::value<std::string>(),
     "join the IPv4 multicast group GROUP:PORT so its traffic reaches this host")
    ("join-if", po::value<std::string>(),
     "IPv4 address of the interface to join the group on (default: chosen by route)")
    ("no-promisc,p", po::bool_switch(), "do not put the interface in promiscuous mode")
    ("buffer-mb,B", po::value<unsigned>()->default_value(kDefaultBufferMb),
     "kernel capture buffer in MiB, 1..1024; raise it if the summary reports drops")
    ("json", po::bool_switch(), "one JSON object per datagram and per note")
    ("verbose,v", po::bool_switch(), "every field; Delta ops and snapshot routes one per line")
    ("type", po::value<std::string>(),
     "show only these types: heartbeat,goodbye,subscribe,unsubscribe,delta,tick,nack,"
     "snapshot,retry_later,invalid")
    ("service", po::value<std::vector<std::string>>()->composing(),
     "show only datagrams about this service (repeat or comma-separate)")
    ("src", po::value<std::vector<std::string>>()->composing(),
     "show only datagrams from ADDR or ADDR:PORT (repeatable)")
    ("dst", po::value<std::vector<std::string>>()->composing(),
     "show only datagrams to ADDR or ADDR:PORT (repeatable)")
    ("key-file", po::value<std::string>(),
     "cluster key file: verify MACs and report authentication failures")
    ("no-summary", po::bool_switch(), "do not print the summary on exit");
  // clang-format on
  const std::string usage =
      "usage: baker-dump [-i IFACE | -r FILE] [-w FILE] [-c COUNT] [-B MIB] [--port P] [--filter "
      "BPF]\n"
      "                  [--join GROUP:PORT [--join-if ADDR]] [--json] [-v] [--type T,...]\n"
      "                  [--service NAME] [--src ADDR[:PORT]] [--dst ADDR[:PORT]]\n"
      "                  [--key-file FILE]\n"
      "Shows Baker's UDP datagrams, one line each, with sequence analysis (gaps, reorders,\n"
      "duplicates, restarts). Live capture needs root or CAP_NET_RAW. The summary goes to\n"
      "stderr on exit (and on SIGINT); with --json it is also the last line on stdout.\n"
      "Exit status: 0 ok, 1 capture, file or key-file error, 2 bad flags.";
  auto parsed = parse_options(argc, argv, flags, usage, /*config_option=*/"");
  if (parsed.exit_code) return parsed.exit_code;
  const auto& vm = parsed.values;

  s.interface = vm["interface"].as<std::string>();
  if (vm.count("read")) s.read_path = vm["read"].as<std::string>();
  if (vm.count("write")) s.write_path = vm["write"].as<std::string>();
  s.print = !s.write_path || vm["print"].as<bool>();
  if (vm.count("count")) {
    s.count = vm["count"].as<std::uint64_t>();
    if (*s.count == 0) return fail("--count: must be at least 1", kExitUsage);
  }
  if (s.read_path && !vm["interface"].defaulted()) {
    return fail("-r and -i: read a file or capture on an interface, not both", kExitUsage);
  }
  s.promiscuous = !vm["no-promisc"].as<bool>();
  s.buffer_mb = vm["buffer-mb"].as<unsigned>();
  if (s.buffer_mb < 1 || s.buffer_mb > 1024) {
    return fail("--buffer-mb: must be 1..1024 (MiB)", kExitUsage);
  }
  s.summary = !vm["no-summary"].as<bool>();
  s.json = vm["json"].as<bool>();
  s.inspect.json = s.json;
  s.inspect.format.verbose = vm["verbose"].as<bool>();

  if (vm.count("join")) {
    if (s.read_path) return fail("--join: has no meaning with -r", kExitUsage);
    JoinSpec j;
    j.text = vm["join"].as<std::string>();
    HostPortRules numeric;
    numeric.numeric = true;
    const auto hp = parse_host_port(j.text, numeric);
    if (!hp || inet_pton(AF_INET, hp->host.c_str(), &j.group) != 1) {
      return fail("--join '" + j.text + "': expected IPV4GROUP:PORT, e.g. 239.255.74.0:7410",
                  kExitUsage);
    }
    if (!IN_MULTICAST(ntohl(j.group.s_addr))) {
      return fail(
          "--join '" + j.text + "': " + hp->host + " is not a multicast address (224.0.0.0/4)",
          kExitUsage);
    }
    j.port = hp->port;
    j.interface.s_addr = htonl(INADDR_ANY);
    if (vm.count("join-if")) {
      const auto text = vm["join-if"].as<std::string>();
      if (inet_pton(AF_INET, text.c_str(), &j.interface) != 1) {
        return fail("--join-if '" + text + "': expected an IPv4 address", kExitUsage);
      }
    }
    s.join = j;
  } else if (vm.count("join-if")) {
    return fail("--join-if: needs --join", kExitUsage);
  }

  std::vector<std::uint16_t> ports;
  if (vm.count("port")) {
    for (const auto& p : split_list(vm["port"].as<std::vector<std::string>>())) {
      const auto port = parse_port(p);
      if (!port) return fail("--port '" + p + "': expected a port number 1..65535", kExitUsage);
      ports.push_back(*port);
    }
    s.bpf_given = true;
  } else {
    ports = {kDirectoryPort, kMulticastPort};
    if (s.join && s.join->port != kDirectoryPort && s.join->port != kMulticastPort) {
      ports.push_back(s.join->port);
    }
  }
  s.bpf = bpf_for_ports(ports);
  if (vm.count("filter")) {
    if (vm.count("port")) return fail("--filter and --port: give one or the other", kExitUsage);
    s.bpf = vm["filter"].as<std::string>();
    s.bpf_given = true;
  }

  Filter& f = s.inspect.filter;
  if (vm.count("type")) {
    std::string bad;
    const auto mask = parse_type_list(vm["type"].as<std::string>(), &bad);
    if (!mask) {
      return fail("--type: unknown type '" + bad +
                      "' (heartbeat, goodbye, subscribe, unsubscribe, delta, tick, nack, "
                      "snapshot, retry_later, invalid)",
                  kExitUsage);
    }
    f.types = *mask;
  }
  if (vm.count("service")) f.services = split_list(vm["service"].as<std::vector<std::string>>());
  for (const char* name : {"src", "dst"}) {
    if (!vm.count(name)) continue;
    for (const auto& text : vm[name].as<std::vector<std::string>>()) {
      const auto m = parse_address_match(text);
      if (!m) {
        return fail(
            std::string("--") + name + " '" + text + "': expected ADDR, ADDR:PORT or [IPV6]:PORT",
            kExitUsage);
      }
      (std::string(name) == "src" ? f.sources : f.destinations).push_back(*m);
    }
  }

  if (vm.count("key-file")) {
    try {
      s.keys = load_key_file(vm["key-file"].as<std::string>());
    } catch (const KeyFileError& e) {
      return fail(e.what(), kExitFailure);
    }
  }
  return std::nullopt;
}

// Prints the inspector's lines; flushed per batch when live, so pipes see them at once.
class Printer {
 public:
  Printer(bool enabled, bool live) : enabled_(enabled), live_(live) {}
  void print(const std::vector<std::string>& lines) {
    if (!enabled_) return;
    for (const auto& l : lines) std::cout << l << '\n';
    if (live_ && !lines.empty()) std::cout.flush();
  }

 private:
  bool enabled_;
  bool live_;
};

// What the pcap callback needs.
struct CaptureContext {
  Inspector* inspector = nullptr;
  Printer* printer = nullptr;
  pcap_t* handle = nullptr;
  pcap_dumper_t* dumper = nullptr;
  int linktype = 0;
  std::optional<std::uint64_t> limit;
  std::uint64_t seen = 0;
  bool done = false;
};

extern "C" void on_packet(u_char* user, const pcap_pkthdr* header, const u_char* bytes) {
  auto& ctx = *reinterpret_cast<CaptureContext*>(user);
  if (ctx.done) return;
  if (ctx.dumper) pcap_dump(reinterpret_cast<u_char*>(ctx.dumper), header, bytes);
  const Timestamp t{header->ts.tv_sec, static_cast<std::int32_t>(header->ts.tv_usec)};
  ctx.printer->print(ctx.inspector->on_frame(t, ctx.linktype, {bytes, header->caplen}));
  ++ctx.seen;
  if (ctx.limit && ctx.seen >= *ctx.limit) {
    ctx.done = true;
    pcap_breakloop(ctx.handle);
  }
}

bool apply_bpf(pcap_t* handle, const std::string& bpf, std::string* error) {
  bpf_program program{};
  if (pcap_compile(handle, &program, bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    *error = "invalid filter '" + bpf + "': " + pcap_geterr(handle);
    return false;
  }
  const bool ok = pcap_setfilter(handle, &program) == 0;
  if (!ok) *error = "cannot set filter '" + bpf + "': " + pcap_geterr(handle);
  pcap_freecode(&program);
  return ok;
}

pcap_dumper_t* open_dump(pcap_t* handle, const std::string& path) {
  pcap_dumper_t* d = pcap_dump_open(handle, path.c_str());
  if (!d) fail("-w '" + path + "': cannot write: " + pcap_geterr(handle));
  return d;
}

void print_summary(const Settings& s, const Inspector& inspector) {
  if (!s.summary) return;
  std::cerr << inspector.summary_text();
  if (s.json && s.print) std::cout << inspector.summary_json() << '\n';
  std::cout.flush();
}

int read_file(Settings& s, Inspector& inspector) {
  const std::string& path = *s.read_path;
  if (FILE* probe = std::fopen(path.c_str(), "rb")) {
    std::fclose(probe);
  } else {
    return fail("-r '" + path + "': cannot open: " + std::strerror(errno));
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO, errbuf);
  if (!handle) return fail("-r '" + path + "': not a readable pcap/pcapng capture: " + errbuf);
  std::string error;
  if (s.bpf_given && !apply_bpf(handle, s.bpf, &error)) {
    pcap_close(handle);
    return fail(error, kExitUsage);
  }
  pcap_dumper_t* dumper = nullptr;
  if (s.write_path && !(dumper = open_dump(handle, *s.write_path))) {
    pcap_close(handle);
    return kExitFailure;
  }
  Printer printer(s.print, false);
  CaptureContext ctx{&inspector, &printer, handle, dumper, pcap_datalink(handle), s.count};
  int code = kExitOk;
  while (!ctx.done && !g_stop) {
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int r = pcap_next_ex(handle, &header, &data);
    if (r == 1) {
      on_packet(reinterpret_cast<u_char*>(&ctx), header, data);
    } else if (r == PCAP_ERROR_BREAK) {
      break;  // end of file
    } else {
      // Usually a truncated or corrupt file: say where, after what was readable.
      error = "-r '" + path + "': corrupt or truncated capture after " + std::to_string(ctx.seen) +
              " packets: " + pcap_geterr(handle);
      code = kExitFailure;
      break;
    }
  }
  if (dumper) pcap_dump_close(dumper);
  pcap_close(handle);
  printer.print(inspector.finish(now_timestamp()));
  print_summary(s, inspector);
  if (code != kExitOk) fail(error);
  return code;
}

// A socket that holds the multicast membership (and, without capture, receives the group).
class JoinSocket {
 public:
  ~JoinSocket() {
    if (fd_ >= 0) close(fd_);
  }
  bool open(const JoinSpec& j, bool bind_to_group, std::string* error) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return set(error, "--join: socket: ");
    const int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind_to_group) {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr = j.group;
      a.sin_port = htons(j.port);
      if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        return set(error, "--join " + j.text +
                              ": cannot bind the group port (a process bound it without "
                              "SO_REUSEADDR?): ");
      }
    }
    ip_mreq mreq{};
    mreq.imr_multiaddr = j.group;
    mreq.imr_interface = j.interface;
    if (setsockopt(fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
      return set(error, "--join " + j.text + ": cannot join the group: ");
    }
    return true;
  }
  int fd() const { return fd_; }

 private:
  bool set(std::string* error, const std::string& what) {
    *error = what + std::strerror(errno);
    return false;
  }
  int fd_ = -1;
};

// Without capture rights, --join still works: read the group from the socket. Only the group's
// traffic is seen, time stamps are receive times, and -w writes synthesized IPv4/UDP packets.
int receive_direct(Settings& s, Inspector& inspector, const std::string& why) {
  const JoinSpec& j = *s.join;
  JoinSocket sock;
  std::string error;
  if (!sock.open(j, /*bind_to_group=*/true, &error)) return fail(why + "; and " + error);
  std::cerr << "baker-dump: " << why << "\n"
            << "baker-dump: reading multicast group " << j.text
            << " from a socket instead (only the group's datagrams)\n";
  pcap_t* dead = nullptr;
  pcap_dumper_t* dumper = nullptr;
  if (s.write_path) {
    dead = pcap_open_dead(DLT_RAW, kSnapLength);
    if (!(dumper = open_dump(dead, *s.write_path))) {
      pcap_close(dead);
      return kExitFailure;
    }
  }
  std::cerr.flush();
  Printer printer(s.print, true);
  const Endpoint group{wire::IpAddress::v4(static_cast<std::uint8_t>(ntohl(j.group.s_addr) >> 24),
                                           static_cast<std::uint8_t>(ntohl(j.group.s_addr) >> 16),
                                           static_cast<std::uint8_t>(ntohl(j.group.s_addr) >> 8),
                                           static_cast<std::uint8_t>(ntohl(j.group.s_addr))),
                       j.port};
  std::vector<std::uint8_t> buffer(65536);
  std::uint64_t seen = 0;
  while (!g_stop && !(s.count && seen >= *s.count)) {
    pollfd p{sock.fd(), POLLIN, 0};
    if (poll(&p, 1, kPollMs) <= 0) continue;
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t n = recvfrom(sock.fd(), buffer.data(), buffer.size(), 0,
                               reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) continue;
    const std::uint32_t a = ntohl(from.sin_addr.s_addr);
    const Endpoint source{
        wire::IpAddress::v4(static_cast<std::uint8_t>(a >> 24), static_cast<std::uint8_t>(a >> 16),
                            static_cast<std::uint8_t>(a >> 8), static_cast<std::uint8_t>(a)),
        ntohs(from.sin_port)};
    const Timestamp t = now_timestamp();
    const std::span<const std::uint8_t> payload(buffer.data(), static_cast<std::size_t>(n));
    if (dumper) {
      const auto packet = encapsulate_ipv4_udp(source, group, payload);
      pcap_pkthdr h{};
      h.ts.tv_sec = t.sec;
      h.ts.tv_usec = t.usec;
      h.caplen = h.len = static_cast<bpf_u_int32>(packet.size());
      pcap_dump(reinterpret_cast<u_char*>(dumper), &h, packet.data());
      pcap_dump_flush(dumper);
    }
    printer.print(inspector.on_datagram(t, source, group, payload));
    ++seen;
  }
  if (dumper) pcap_dump_close(dumper);
  if (dead) pcap_close(dead);
  printer.print(inspector.finish(now_timestamp()));
  print_summary(s, inspector);
  return kExitOk;
}

int capture_live(Settings& s, Inspector& inspector) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  JoinSocket membership;
  std::string error;
  pcap_t* handle = pcap_create(s.interface.c_str(), errbuf);
  if (!handle) return fail(describe_capture_error(PCAP_ERROR, s.interface, errbuf));
  pcap_set_snaplen(handle, kSnapLength);
  pcap_set_buffer_size(handle, static_cast<int>(s.buffer_mb << 20));
  pcap_set_promisc(handle, s.promiscuous ? 1 : 0);
  // Not immediate mode: on Linux that means TPACKET_V3, which packs packets tightly into ring
  // blocks (thousands of small datagrams fit), where immediate mode's one-slot-per-packet ring
  // overflows under a burst. The price is up to kBlockTimeoutMs of display latency.
  pcap_set_immediate_mode(handle, 0);
  pcap_set_timeout(handle, kBlockTimeoutMs);
  const int status = pcap_activate(handle);
  if (status < 0) {
    const std::string detail = status == PCAP_ERROR || status == PCAP_ERROR_PERM_DENIED ||
                                       status == PCAP_ERROR_NO_SUCH_DEVICE
                                   ? pcap_geterr(handle)
                                   : "";
    const std::string message = describe_capture_error(status, s.interface, detail);
    pcap_close(handle);
    if (s.join && status == PCAP_ERROR_PERM_DENIED) return receive_direct(s, inspector, message);
    return fail(message);
  }
  if (status > 0) {
    const auto warning = describe_capture_warning(status, s.interface, pcap_geterr(handle));
    if (!warning.empty()) std::cerr << "baker-dump: " << warning << "\n";
  }
  if (!apply_bpf(handle, s.bpf, &error)) {
    pcap_close(handle);
    return fail(error, kExitUsage);
  }
  // On loopback the kernel hands every packet to the capture twice (sent, received) and libpcap
  // drops the sent copy only after it took ring space; asking for received packets only halves
  // the ring load and loses nothing there (elsewhere it would lose this host's own sends).
  if (s.interface == "lo") pcap_setdirection(handle, PCAP_D_IN);
  if (s.join && !membership.open(*s.join, /*bind_to_group=*/false, &error)) {
    pcap_close(handle);
    return fail(error);
  }
  pcap_dumper_t* dumper = nullptr;
  if (s.write_path && !(dumper = open_dump(handle, *s.write_path))) {
    pcap_close(handle);
    return kExitFailure;
  }
  if (pcap_setnonblock(handle, 1, errbuf) != 0) {
    if (dumper) pcap_dump_close(dumper);
    pcap_close(handle);
    return fail(std::string("cannot make the capture non-blocking: ") + errbuf);
  }
  const int linktype = pcap_datalink(handle);
  const char* link_name = pcap_datalink_val_to_name(linktype);
  std::cerr << "baker-dump: listening on " << s.interface << ", link-type "
            << (link_name ? link_name : std::to_string(linktype)) << ", filter '" << s.bpf << "'"
            << (s.join ? ", joined " + s.join->text : "")
            << (s.write_path ? ", writing " + *s.write_path : "") << std::endl;

  Printer printer(s.print, true);
  CaptureContext ctx{&inspector, &printer, handle, dumper, linktype, s.count};
  const int fd = pcap_get_selectable_fd(handle);
  int code = kExitOk;
  while (!ctx.done) {
    if (!g_stop) {
      pollfd p{fd, POLLIN, 0};
      poll(&p, 1, kPollMs);
    }
    // After a stop signal, one last pass collects what the kernel already holds.
    const int r = pcap_dispatch(handle, -1, on_packet, reinterpret_cast<u_char*>(&ctx));
    if (r == PCAP_ERROR) {
      error = std::string("capture on '") + s.interface + "' failed: " + pcap_geterr(handle);
      code = kExitFailure;
      break;
    }
    if (dumper) pcap_dump_flush(dumper);
    if (g_stop) break;
  }
  pcap_stat stats{};
  const bool have_stats = pcap_stats(handle, &stats) == 0;
  if (dumper) pcap_dump_close(dumper);
  pcap_close(handle);
  printer.print(inspector.finish(now_timestamp()));
  if (have_stats && s.summary) {
    std::cerr << "baker-dump: " << ctx.seen << " packets captured, " << stats.ps_drop
              << " dropped by the kernel\n";
  }
  print_summary(s, inspector);
  if (code != kExitOk) fail(error);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  if (const auto exit_code = configure(argc, argv, settings)) return *exit_code;
  if (settings.keys) settings.inspect.keys = &*settings.keys;
  install_signal_handlers();
  Inspector inspector(settings.inspect);
  try {
    return settings.read_path ? read_file(settings, inspector) : capture_live(settings, inspector);
  } catch (const std::exception& e) {
    return fail(std::string("unexpected error: ") + e.what());
  }
}
