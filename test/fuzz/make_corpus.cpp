// Writes the seed corpus of every fuzz target into DIR/<target>/ (the committed one is
// test/fuzz/corpus). Run: make_corpus DIR
//   decode         every sample message, with and without MAC (key 1 = 0x42 x 32, as the targets'),
//                  MAC'd with publish key 2 (0x43 x 32), a v1 datagram
//   haproxy_reply  HAProxy 2.6.12's replies (haproxy_fixtures.hpp and the error texts measured for
//                  classify_reply), each behind the byte that selects its reader (fuzz_inputs.hpp)
//   dump_frame     the frames of test/baker-dump/captures/any_v4_v6.pcap, and hand-built frames of
//   every
//                  link type carrying sample messages (test/baker-dump/frames.hpp)
//   watson_config  watson.conf examples (Baker Street's layout, `name = value`, every setting)
//   keyring        key files (one key, rotation with two, comments, roles and their primaries)
//   managed_state  sherlock's managed-haproxy state files (written ones, and near misses)
//   status_query   the status pages' request targets (/?page=N&service=NAME)
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../baker-dump/frames.hpp"
#include "../sherlock/haproxy_fixtures.hpp"
#include "../watson/config_examples.hpp"
#include "fuzz_inputs.hpp"
#include "sherlock/haproxy_commands.hpp"
#include "sherlock/managed_reloader.hpp"
#include "sherlock/managed_state.hpp"
#include "wire/codec.hpp"
#include "wire/sample_messages.hpp"

namespace {

using baker::dump::testing::Bytes;
namespace fs = std::filesystem;
namespace haproxy = baker::sherlock::haproxy;

class SeedWriter {
 public:
  SeedWriter(const fs::path& root, const std::string& target) : dir_(root / target) {
    fs::create_directories(dir_);
  }
  ~SeedWriter() { std::cout << dir_.filename().string() << ": " << count_ << " seeds\n"; }
  void write(const std::string& name, std::span<const std::uint8_t> bytes) {
    std::ofstream(dir_ / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    ++count_;
  }
  void write(const std::string& name, std::string_view text) {
    write(name, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }

 private:
  fs::path dir_;
  int count_ = 0;
};

baker::wire::Keyring fuzz_keys() {
  baker::wire::Keyring keys;
  baker::wire::Key key{};
  key.fill(0x42);
  keys.add(1, key, true);
  return keys;
}

void decode_seeds(const fs::path& root) {
  SeedWriter out(root, "decode");
  const auto keys = fuzz_keys();
  int n = 0;
  for (const auto& m : baker::wire::samples::sample_messages()) {
    const baker::wire::Keyring* rings[] = {nullptr, &keys};
    for (const baker::wire::Keyring* k : rings) {
      out.write("seed-" + std::to_string(n++), baker::wire::encode(m, k));
    }
  }
  // The same message MAC'd with key 2 (publish, 0x43 x 32: decode_fuzz's split ring), so the
  // fuzzer starts from a datagram that is wrong_role for heartbeats and fine for the rest.
  baker::wire::Keyring publish;
  baker::wire::Key p{};
  p.fill(0x43);
  publish.add(2, p, true);
  for (const auto& m : baker::wire::samples::sample_messages()) {
    out.write("seed-" + std::to_string(n++), baker::wire::encode(m, &publish));
  }
  // A v1 heartbeat (refused as unknown_version).
  const std::vector<std::uint8_t> v1{0x94, 0x01, 0x01, 0x00, 0x9a, 0xa1, 'g',  0xa1, 'i',
                                     0xc4, 0x04, 10,   0,    0,    1,    0xcd, 0x1f, 0x90,
                                     0x64, 0x00, 0x90, 0x4d, 0x01, 0xcd, 0x03, 0xe8};
  out.write("v1-heartbeat", v1);
}

std::string selected(baker::fuzz::HaproxyInput input, std::string_view reply) {
  return std::string(1, static_cast<char>(input)) + std::string(reply);
}

std::string classified(haproxy::CommandKind kind, std::string_view reply) {
  const int selector =
      static_cast<int>(baker::fuzz::HaproxyInput::classify) + static_cast<int>(kind);
  return std::string(1, static_cast<char>(selector)) + std::string(reply);
}

void haproxy_seeds(const fs::path& root) {
  using baker::fuzz::HaproxyInput;
  using haproxy::CommandKind;
  namespace fx = haproxy::fixtures;
  SeedWriter out(root, "haproxy_reply");
  out.write("servers_state", selected(HaproxyInput::servers_state, fx::kServersState));
  out.write("stat_with_session", selected(HaproxyInput::stat, fx::kStatWithSession));
  out.write("stat_after_drain", selected(HaproxyInput::stat, fx::kStatAfterDrain));
  out.write("show_info", selected(HaproxyInput::show_info, fx::kShowInfo));
  out.write("show_info_stopping", selected(HaproxyInput::show_info, fx::kShowInfoStopping));
  out.write("show_proc", selected(HaproxyInput::show_proc, fx::kShowProc));
  out.write("show_proc_old_worker", selected(HaproxyInput::show_proc, fx::kShowProcOldWorker));
  // An interactive session as the transport reads it; the byte after the selector is the cut.
  const std::string session = "\n> " + std::string(fx::kShowInfo) + "\n> " +
                              std::string(fx::kServersState) +
                              "\n> \n> Server deleted.\n> No such server.\n\n> ";
  out.write("prompt_session", selected(HaproxyInput::prompt_split, "\x40" + session));

  out.write("ok_servers_state", classified(CommandKind::show_servers_state, fx::kServersState));
  out.write("ok_stat", classified(CommandKind::show_stat, fx::kStatWithSession));
  out.write("ok_show_info", classified(CommandKind::show_info, fx::kShowInfo));
  const std::pair<CommandKind, std::string_view> replies[] = {
      {CommandKind::show_servers_state, "Can't find backend.\n"},
      {CommandKind::show_stat, "No such proxy.\n"},
      {CommandKind::set_addr,
       "IP changed from '127.0.0.1' to '10.0.0.2', port changed from '9' to '8080' by 'stats "
       "socket command'\n"},
      {CommandKind::set_addr,
       "no need to change the addr, no need to change the port by 'stats socket command'\n"},
      {CommandKind::set_addr,
       "no need to change the addr, problem converting port 'abc' to an int by 'stats socket "
       "command'\n"},
      {CommandKind::set_addr, "Invalid addr '999.1.1.1' by 'stats socket command'\n"},
      {CommandKind::set_addr, "No such backend.\n"},
      {CommandKind::set_weight, ""},
      {CommandKind::set_weight, "Absolute weight can only be between 0 and 256 inclusive.\n"},
      {CommandKind::set_weight,
       "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n"},
      {CommandKind::set_state, "No such server.\n"},
      {CommandKind::set_state, "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"},
      {CommandKind::set_state, "Permission denied\n"},
      {CommandKind::add_server, "New server registered.\n"},
      {CommandKind::add_server, "Already exists a server with the same name in backend.\n"},
      {CommandKind::add_server,
       "Backend must use a dynamic load balancing to support dynamic servers."},
      {CommandKind::add_server, "unknown keyword 'frobkw'.\n"},
      {CommandKind::del_server, "Server deleted."},
      {CommandKind::del_server, "Only servers in maintenance mode can be deleted."},
      {CommandKind::del_server, "Server still has connections attached to it, cannot remove it."},
      {CommandKind::del_server,
       "Unknown command, but maybe one of the following ones is a better match:\n"
       "  add map [@<ver>] <map> <key> <val>      : add a map entry (payload supported instead of "
       "key/val)\n"},
  };
  int n = 0;
  for (const auto& [kind, reply] : replies) {
    out.write("reply-" + std::to_string(n++) + "-" + std::string(haproxy::to_string(kind)),
              classified(kind, reply));
  }
}

Bytes read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

std::uint32_t le32(const Bytes& b, std::size_t at) {
  return std::uint32_t{b[at]} | std::uint32_t{b[at + 1]} << 8 | std::uint32_t{b[at + 2]} << 16 |
         std::uint32_t{b[at + 3]} << 24;
}

std::uint8_t link_index(int linktype) {
  for (std::size_t i = 0; i < baker::fuzz::kFuzzLinktypeCount; ++i) {
    if (baker::fuzz::kFuzzLinktypes[i] == linktype) return static_cast<std::uint8_t>(i);
  }
  throw std::runtime_error("link type not in kFuzzLinktypes: " + std::to_string(linktype));
}

void dump_seeds(const fs::path& root) {
  using namespace baker::dump::testing;
  SeedWriter out(root, "dump_frame");
  // The committed capture (classic pcap, little endian, Linux cooked): every frame alone, and the
  // whole capture as one input (a heartbeat gap, Deltas with a gap, a snapshot chunk).
  const Bytes pcap =
      read_file(fs::path(BAKER_SOURCE_DIR) / "test/baker-dump/captures/any_v4_v6.pcap");
  if (pcap.size() < 24 || le32(pcap, 0) != 0xa1b2c3d4) throw std::runtime_error("bad capture");
  const auto link = link_index(static_cast<int>(le32(pcap, 20)));
  Bytes capture;
  int n = 0;
  for (std::size_t at = 24; at + 16 <= pcap.size();) {
    const std::size_t length = le32(pcap, at + 8);
    const std::span<const std::uint8_t> frame(pcap.data() + at + 16, length);
    Bytes one;
    baker::fuzz::append_frame(one, link, 0, frame);
    out.write("capture-frame-" + std::to_string(n++), one);
    baker::fuzz::append_frame(capture, link, 1, frame);
    at += 16 + length;
  }
  out.write("capture-all", capture);

  // Hand-built frames of each link type, carrying sample messages (one with a MAC).
  const auto keys = fuzz_keys();
  const auto messages = baker::wire::samples::sample_messages();
  const Bytes heartbeat = baker::wire::encode(messages.at(0));
  const Bytes signed_heartbeat = baker::wire::encode(messages.at(0), &keys);
  const V4 a{10, 0, 0, 1};
  const V4 b{10, 0, 0, 2};
  const Bytes v4 = ipv4(a, b, 17, udp(47401, 7400, heartbeat));
  const Bytes v6 = ipv6(v6_loopback(), v6_loopback(), 17, udp(7400, 47402, signed_heartbeat));
  const Bytes v6_hop_by_hop = ipv6(v6_loopback(), v6_loopback(), 0,
                                   Bytes{17, 0, 0, 0, 0, 0, 0, 0} + udp(7400, 7400, heartbeat));
  const std::pair<const char*, std::pair<int, Bytes>> frames[] = {
      {"ethernet-v4", {1, ethernet(0x0800, v4)}},
      {"ethernet-vlan-v4", {1, ethernet(0x0800, v4, 1)}},
      {"ethernet-qinq-v6", {1, ethernet(0x86dd, v6, 2)}},
      {"ethernet-arp", {1, ethernet(0x0806, Bytes(28, 0))}},
      {"sll-v6", {113, linux_sll(0x86dd, v6)}},
      {"sll2-v4", {276, linux_sll2(0x0800, v4)}},
      {"raw-v4", {12, v4}},
      {"raw-v6-hop-by-hop", {101, v6_hop_by_hop}},
      {"null-le-v4", {0, null_header(2, true, v4)}},
      {"loop-v6", {108, null_header(24, false, v6)}},
      {"ipv4-fragment", {228, ipv4(a, b, 17, udp(47401, 7400, heartbeat), 0x2000)}},
      {"ipv4-tcp", {228, ipv4(a, b, 6, Bytes(20, 0))}},
      {"ipv6", {229, v6}},
  };
  for (const auto& [name, frame] : frames) {
    Bytes one;
    baker::fuzz::append_frame(one, link_index(frame.first), 0, frame.second);
    out.write(name, one);
  }
  // Every sample message in one stream over raw IPv4, the clock set absolutely first.
  Bytes stream;
  stream.push_back(link_index(12));
  stream.push_back(static_cast<std::uint8_t>(baker::fuzz::kAbsoluteTime));
  // 1700473600 s, 123456 us; then an empty first frame that only carries the clock.
  for (const std::uint8_t t : {0, 0, 0, 0, 0x65, 0x5b, 0x2b, 0x00, 0x00, 0x01, 0xe2, 0x40, 0, 0}) {
    stream.push_back(t);
  }
  for (const auto& m : messages) {
    baker::fuzz::append_frame(stream, link_index(12), 1,
                              ipv4(a, b, 17, udp(1, 7400, baker::wire::encode(m))));
  }
  out.write("raw-every-message", stream);
  // A heartbeat stamped 1 Jan of year 2^31 (67767976233532800 s): a pcapng time stamp can say so,
  // and format_iso_time once overflowed on it.
  Bytes far_future{link_index(12), static_cast<std::uint8_t>(baker::fuzz::kAbsoluteTime)};
  for (int shift = 56; shift >= 0; shift -= 8) {
    far_future.push_back(static_cast<std::uint8_t>(67767976233532800ULL >> shift));
  }
  far_future.insert(far_future.end(), {0, 0, 0, 0});
  const Bytes frame = ipv4(a, b, 17, udp(47401, 7400, heartbeat));
  far_future.push_back(static_cast<std::uint8_t>(frame.size() >> 8));
  far_future.push_back(static_cast<std::uint8_t>(frame.size()));
  far_future.insert(far_future.end(), frame.begin(), frame.end());
  out.write("far-future-time", far_future);
}

void watson_seeds(const fs::path& root) {
  SeedWriter out(root, "watson_config");
  out.write("bakerstreet", baker::watson::examples::kBakerStreetStyle);
  out.write("equals-quotes-hyphens",
            "service-name = bar\r\nexec_check = \"test -f /tmp/x && echo a=b\"\ntags: 'a,b'\n"
            "service_url = http://10.0.0.1:80\n");
  out.write("every-setting", R"([Watson]
service_name: greeting
service_url: http://10.0.0.5:8080/
instance_id: greeting-1
weight: 50
tags: v2,zone-a
tags: canary
directory: 10.0.0.1:7400, 10.0.0.2
directory: [::1]:7500
key_file: /etc/baker/cluster.keys
health_check_url: http://10.0.0.5:8080/health?deep=1
expected_codes: 200-299,301
check: http
check_timeout: 500ms
period: 2.5
rise: 2
fall: 3
jitter: 0.2
goodbye_count: 3
goodbye_spacing_ms: 100
draining: false
drain_file: /var/run/greeting.drain
log_level: warning
)");
  out.write("tcp-check",
            "service_name = api\nservice_url = http://[::1]:9000\ntcp_check = [::1]:9001\n"
            "healthy_threshold = 5\nunhealthy_threshold = 1\ninterval_ms = 50\ntimeout = 2s\n");
  out.write("exec-check",
            "service_name: _job\nservice_url: https://10.0.0.7\ncheck: exec\n"
            "exec_check: test -f /tmp/ok\ndirectories: 127.0.0.1\n");
  out.write("template-placeholder", "[Datawire]\ndirectory_host = ${directory_host}\n");
  out.write("continuation", "a: 1\n  continued\n");
}

void keyring_seeds(const fs::path& root) {
  SeedWriter out(root, "keyring");
  const std::string a(64, 'a');
  const std::string key2 = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
  out.write("one-key", "# cluster key\n7 " + a + " primary\n");
  out.write("one-key-implicit-primary", "1 " + a + "\n");
  out.write("rotation", "# old key, still accepted\n1 " + a + "\n2 " + key2 + " primary  # new\n");
  out.write("two-primaries", "1 " + a + " primary\n2 " + key2 + " primary\n");
  out.write("largest-id", "4294967295 " + key2 + "\n");
  out.write("roles", "# watsons announce, sherlocks publish\n1 " + a + " announce\n2 " + key2 +
                         " publish\n");
  out.write("roles-rotation", "1 " + a + " announce primary\n2 " + key2 + " publish primary\n3 " +
                                  a + " publish\n4 " + key2 + " announce\n");
  out.write("primary-both", "1 " + a + " primary\n2 " + key2 + " publish\n3 " + a + " announce\n");
  out.write("publish-only", "9 " + a + " publish\n");
  out.write("duplicate-role-word", "1 " + a + " publish publish\n");
  out.write("unknown-word", "1 " + a + " announce watson\n");
}

void managed_state_seeds(const fs::path& root) {
  namespace haproxy = baker::sherlock::haproxy;
  SeedWriter out(root, "managed_state");
  haproxy::ManagedState s;
  s.master_pid = 4242;
  s.generation = 1;
  s.settings = haproxy::settings_fingerprint(haproxy::ManagedSettings{});
  out.write("no-services", haproxy::write_managed_state(s));
  s.generation = 18446744073709551615ull;
  s.http = {{"web", 16}, {"api", 8192}};
  s.tcp = {{"db", 1000000}};
  const auto full = haproxy::write_managed_state(s);
  out.write("services", full);
  out.write("cut", full.substr(0, full.size() / 2));
  out.write("no-end", full.substr(0, full.size() - 4));
  out.write("twice", full + full);
  out.write("bad-slots",
            "baker-sherlock-state 1\nmaster_pid 9\ngeneration 2\nsettings x\n"
            "http web 0\nend\n");
}

void status_query_seeds(const fs::path& root) {
  SeedWriter out(root, "status_query");
  out.write("root", "/");
  out.write("page", "/?page=2");
  out.write("service-page", "/?service=web&page=1");
  out.write("last-page", "/?page=1000000000");
  out.write("page-zero", "/?page=0");
  out.write("escaped-markup", "/?service=%3Cscript%3Ealert(1)%3C/script%3E");
  out.write("many-keys",
            "/?a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&m=13&n=14&o=15&p=16&q=17");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_corpus DIR\n";
    return 2;
  }
  try {
    const fs::path root(argv[1]);
    decode_seeds(root);
    haproxy_seeds(root);
    dump_seeds(root);
    watson_seeds(root);
    keyring_seeds(root);
    managed_state_seeds(root);
    status_query_seeds(root);
  } catch (const std::exception& e) {
    std::cerr << "make_corpus: " << e.what() << "\n";
    return 1;
  }
}
