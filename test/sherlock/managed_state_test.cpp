#include "sherlock/managed_state.hpp"

#include <gtest/gtest.h>

#include "sherlock/managed_reloader.hpp"

namespace baker::sherlock::haproxy {
namespace {

ManagedState sample() {
  ManagedState s;
  s.master_pid = 4242;
  s.generation = 12;
  s.settings = "frontend=127.0.0.1:8000 balance=roundrobin backend_prefix= slot_prefix=slot tcp=";
  s.http = {{"web", 16}, {"api", 4096}};
  s.tcp = {{"db", 32}};
  return s;
}

bool same(const ManagedState& a, const ManagedState& b) {
  return a.master_pid == b.master_pid && a.generation == b.generation && a.settings == b.settings &&
         a.http == b.http && a.tcp == b.tcp;
}

std::string why_rejected(const std::string& text) {
  std::string why;
  EXPECT_FALSE(parse_managed_state(text, &why)) << text;
  return why;
}

TEST(ManagedState, ReadsBackWhatItWrites) {
  const auto text = write_managed_state(sample());
  std::string why;
  const auto back = parse_managed_state(text, &why);
  ASSERT_TRUE(back) << why;
  EXPECT_TRUE(same(*back, sample()));
}

TEST(ManagedState, EveryCutOfAValidFileIsRejected) {
  // A file cut anywhere (a full disk, a crash mid-write) is never half-adopted.
  const auto text = write_managed_state(sample());
  for (std::size_t n = 0; n < text.size(); ++n) {
    EXPECT_FALSE(parse_managed_state(text.substr(0, n))) << n;
  }
}

TEST(ManagedState, RejectsWhatItDidNotWrite) {
  const std::string head = "baker-sherlock-state 1\nmaster_pid 4242\ngeneration 3\nsettings x\n";
  EXPECT_TRUE(parse_managed_state(head + "end\n"));
  EXPECT_NE(why_rejected(head).find("no 'end' line"), std::string::npos);
  EXPECT_NE(why_rejected(head + "end\nhttp web 16\n").find("after 'end'"), std::string::npos);
  EXPECT_NE(why_rejected("").find("empty"), std::string::npos);
  EXPECT_NE(why_rejected("baker-sherlock-state 2\n").find("not a sherlock state file"),
            std::string::npos);
  EXPECT_NE(why_rejected(head + "http web 16").find("cut"), std::string::npos);
  EXPECT_NE(why_rejected(head + "master_pid 7\n").find("given twice"), std::string::npos);
  EXPECT_NE(why_rejected(head + "http web 16\nhttp web 8\n").find("web given twice"),
            std::string::npos);
  for (const std::string bad :
       {"http web 0\n", "http web 1000001\n", "http web -3\n", "http web x\n", "http web\n",
        "http web 16 17\n", "http we/b 16\n", "tcp  16\n", "http web 99999999999999999999999\n"}) {
    EXPECT_NE(why_rejected(head + bad).find("expected '"), std::string::npos) << bad;
  }
  EXPECT_NE(why_rejected(head + "colour blue\n").find("unknown key 'colour'"), std::string::npos);
  // pid 0 or 1 (never a haproxy sherlock started), generation 0, missing keys.
  EXPECT_NE(why_rejected("baker-sherlock-state 1\nmaster_pid 1\n").find("bad master_pid"),
            std::string::npos);
  EXPECT_NE(why_rejected("baker-sherlock-state 1\nmaster_pid 4242\ngeneration 0\nsettings x\nend\n")
                .find("generation 0"),
            std::string::npos);
  EXPECT_NE(why_rejected("baker-sherlock-state 1\nmaster_pid 4242\nend\n").find("missing"),
            std::string::npos);
  EXPECT_NE(why_rejected(std::string(kMaxStateFileBytes + 1, '#')).find("larger than"),
            std::string::npos);
}

TEST(ManagedState, FingerprintChangesWithEverySettingThatShapesTheConfiguration) {
  ManagedSettings base;
  const auto fp = settings_fingerprint(base);
  EXPECT_EQ(fp, settings_fingerprint(base));
  auto frontend = base;
  frontend.frontend_port = 9000;
  auto balance = base;
  balance.balance = "leastconn";
  auto prefix = base;
  prefix.backend_prefix = "baker_";
  auto slots = base;
  slots.naming.prefix = "s";
  auto tcp = base;
  tcp.tcp_ports = {{"db", 5432}};
  for (const auto* other : {&frontend, &balance, &prefix, &slots, &tcp}) {
    EXPECT_NE(settings_fingerprint(*other), fp);
  }
  // What does not shape the configuration (timeouts, the binary) keeps it.
  auto timeouts = base;
  timeouts.start_timeout = std::chrono::seconds(99);
  timeouts.haproxy_bin = "/usr/local/sbin/haproxy";
  EXPECT_EQ(settings_fingerprint(timeouts), fp);
}

}  // namespace
}  // namespace baker::sherlock::haproxy
