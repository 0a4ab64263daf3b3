#include "sherlock/haproxy_commands.hpp"

#include <gtest/gtest.h>

namespace baker::sherlock::haproxy {
namespace {

wire::IpAddress ip(const char* text) {
  return *wire::IpAddress::parse(text);
}

TEST(HaproxyCommands, BuildsTheExactLines) {
  EXPECT_EQ(show_servers_state("web").text, "show servers state web");
  EXPECT_EQ(show_stat("web").text, "show stat web 4 -1");
  EXPECT_EQ(show_info().text, "show info");
  EXPECT_EQ(set_addr("web", "slot1", ip("10.0.0.2"), 8080).text,
            "set server web/slot1 addr 10.0.0.2 port 8080");
  EXPECT_EQ(set_addr("web", "slot1", ip("::1"), 80).text, "set server web/slot1 addr ::1 port 80");
  EXPECT_EQ(set_weight("web", "slot1", 0).text, "set server web/slot1 weight 0");
  EXPECT_EQ(set_state("web", "slot1", AdminState::ready).text, "set server web/slot1 state ready");
  EXPECT_EQ(set_state("web", "slot1", AdminState::drain).text, "set server web/slot1 state drain");
  EXPECT_EQ(set_state("web", "slot1", AdminState::maint).text, "set server web/slot1 state maint");
  EXPECT_EQ(del_server("web", "slot-add1").text, "del server web/slot-add1");
}

TEST(HaproxyCommands, AddServerWritesEveryOptionAndNeverEnabled) {
  const auto c = add_server("web", "slot-add1", ip("10.0.0.5"), 80, 7, "maxconn 100");
  EXPECT_EQ(c.text, "add server web/slot-add1 10.0.0.5:80 weight 7 maxconn 100");
  EXPECT_EQ(c.text.find("enabled"), std::string::npos);
  EXPECT_EQ(add_server("web", "s", ip("::1"), 8083, 3).text,
            "add server web/s [::1]:8083 weight 3");
}

TEST(HaproxyCommands, CommandsCarryTheirEffect) {
  const auto c = set_addr("web", "slot2", ip("10.0.0.2"), 81);
  EXPECT_EQ(c.kind, CommandKind::set_addr);
  EXPECT_EQ(c.backend, "web");
  EXPECT_EQ(c.server, "slot2");
  EXPECT_EQ(*c.address, ip("10.0.0.2"));
  EXPECT_EQ(c.port, 81);
  EXPECT_EQ(set_weight("web", "slot2", 42).weight, 42);
  EXPECT_EQ(set_state("web", "slot2", AdminState::drain).state, AdminState::drain);
}

TEST(HaproxyCommands, NamesRejectCliSeparatorsAndSpaces) {
  EXPECT_TRUE(valid_haproxy_name("web"));
  EXPECT_TRUE(valid_haproxy_name("baker_web-1.tcp:x"));
  EXPECT_FALSE(valid_haproxy_name(""));
  EXPECT_FALSE(valid_haproxy_name("web;shutdown"));
  EXPECT_FALSE(valid_haproxy_name("web slot"));
  EXPECT_FALSE(valid_haproxy_name("web\nshow info"));
  EXPECT_FALSE(valid_haproxy_name("web/slot1"));
  EXPECT_FALSE(valid_haproxy_name(std::string(101, 'a')));
}

}  // namespace
}  // namespace baker::sherlock::haproxy
