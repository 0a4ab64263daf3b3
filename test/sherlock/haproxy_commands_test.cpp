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

// Replies below are HAProxy 2.6.12's own words, captured on this machine.
TEST(HaproxyCommands, SetAddrSuccessForms) {
  const auto c = set_addr("web", "slot4", ip("10.0.0.10"), 81);
  EXPECT_FALSE(reply_error(c,
                           "IP changed from '10.0.0.9' to '10.0.0.10', no need to change the "
                           "port by 'stats socket command'\n"));
  EXPECT_FALSE(reply_error(c,
                           "no need to change the addr, port changed from '80' to '81' by "
                           "'stats socket command'\n"));
  EXPECT_FALSE(reply_error(c,
                           "no need to change the addr, no need to change the port by 'stats "
                           "socket command'\n"));
}

TEST(HaproxyCommands, SetAddrErrors) {
  const auto c = set_addr("web", "slot4", ip("10.0.0.10"), 81);
  EXPECT_EQ(reply_error(c, "Invalid addr '999.1.1.1' by 'stats socket command'\n"),
            "Invalid addr '999.1.1.1' by 'stats socket command'");
  EXPECT_EQ(reply_error(c, "No such server.\n"), "No such server.");
  EXPECT_EQ(reply_error(c, "No such backend.\n"), "No such backend.");
  EXPECT_EQ(reply_error(c, ""), "empty reply");
}

TEST(HaproxyCommands, SetWeightAndStateSucceedSilently) {
  EXPECT_FALSE(reply_error(set_weight("web", "slot1", 5), ""));
  EXPECT_FALSE(reply_error(set_state("web", "slot1", AdminState::maint), ""));
  EXPECT_EQ(reply_error(set_weight("web", "slot1", 5),
                        "Absolute weight can only be between 0 and 256 inclusive.\n"),
            "Absolute weight can only be between 0 and 256 inclusive.");
  EXPECT_EQ(reply_error(set_state("web", "nope", AdminState::ready), "No such server.\n"),
            "No such server.");
}

TEST(HaproxyCommands, AddAndDelServerReplies) {
  const auto add = add_server("web", "slot-add2", ip("10.0.0.5"), 80, 1);
  EXPECT_FALSE(reply_error(add, "New server registered.\n"));
  EXPECT_EQ(reply_error(add, "Already exists a server with the same name in backend.\n"),
            "Already exists a server with the same name in backend.");
  const auto del = del_server("web", "slot-add1");
  EXPECT_FALSE(reply_error(del, "Server deleted."));  // 2.6 ends it without a newline
  EXPECT_EQ(reply_error(del, "Only servers in maintenance mode can be deleted."),
            "Only servers in maintenance mode can be deleted.");
}

TEST(HaproxyCommands, UnknownCommandIsOneLineInTheLog) {
  EXPECT_EQ(reply_error(set_weight("web", "s", 1),
                        "Unknown command, but maybe one of the following ones is a better match:\n"
                        "  show fd [num]   : dump list of file descriptors\n"),
            "Unknown command, but maybe one of the following ones is a better match: ...");
}

TEST(HaproxyCommands, ShowCommandsNeedTheirTable) {
  EXPECT_EQ(reply_error(show_servers_state("nope"), "Can't find backend.\n"),
            "Can't find backend.");
  EXPECT_EQ(reply_error(show_stat("nope"), "No such proxy.\n"), "No such proxy.");
  EXPECT_FALSE(reply_error(show_servers_state("web"), "1\n# be_id be_name srv_id\n"));
  EXPECT_FALSE(reply_error(show_stat("web"), "# pxname,svname\n"));
  EXPECT_FALSE(reply_error(show_info(), "Name: HAProxy\nPid: 12\n"));
  EXPECT_TRUE(reply_error(show_info(), "Permission denied\n"));
}

}  // namespace
}  // namespace baker::sherlock::haproxy
