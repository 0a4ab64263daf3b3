#include "sherlock/haproxy_replies.hpp"

#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "haproxy_fixtures.hpp"

namespace baker::sherlock::haproxy {
namespace {

wire::IpAddress ip(const char* text) {
  return *wire::IpAddress::parse(text);
}

TEST(HaproxyReplies, ParsesCapturedServersState) {
  std::string error;
  const auto rows = parse_servers_state(fixtures::kServersState, &error);
  ASSERT_TRUE(rows) << error;
  ASSERT_EQ(rows->size(), 5u);
  const auto& s1 = (*rows)[0];
  EXPECT_EQ(s1.backend, "web");
  EXPECT_EQ(s1.backend_id, 3);
  EXPECT_EQ(s1.server_id, 1);
  EXPECT_EQ(s1.server, "slot1");
  EXPECT_EQ(*s1.address, ip("127.0.0.1"));
  EXPECT_EQ(s1.port, 18201);
  EXPECT_EQ(s1.admin_state, 4);  // CMAINT left from `disabled`; ready nevertheless
  EXPECT_TRUE(s1.ready());
  EXPECT_EQ(s1.user_weight, 100);
  EXPECT_EQ(s1.initial_weight, 1);
  EXPECT_TRUE(s1.fqdn.empty());
  const auto& s2 = (*rows)[1];
  EXPECT_EQ(s2.admin_state, 12);
  EXPECT_TRUE(s2.draining());
  EXPECT_FALSE(s2.ready());
  const auto& s3 = (*rows)[2];
  EXPECT_EQ(*s3.address, ip("::1"));
  EXPECT_EQ(s3.port, 8081);
  EXPECT_TRUE(s3.in_maint());
  EXPECT_FALSE(s3.draining());
  const auto& dyn = (*rows)[4];
  EXPECT_EQ(dyn.server, "slot-add1");
  EXPECT_EQ(dyn.admin_state, 0);
  EXPECT_EQ(dyn.user_weight, 50);
  EXPECT_TRUE(dyn.ready());
}

TEST(HaproxyReplies, ServersStateColumnsAreFoundByName) {
  const std::string reordered =
      "1\n# srv_name be_name be_id srv_id srv_port srv_addr srv_op_state srv_admin_state "
      "srv_uweight srv_iweight srv_fqdn extra\n"
      "slot7 api 9 7 8080 10.1.2.3 2 0 10 1 - x\n";
  const auto rows = parse_servers_state(reordered);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].server, "slot7");
  EXPECT_EQ((*rows)[0].backend, "api");
  EXPECT_EQ((*rows)[0].port, 8080);
  EXPECT_EQ(*(*rows)[0].address, ip("10.1.2.3"));
}

TEST(HaproxyReplies, ServersStateRejectsWhatIsNotOne) {
  std::string error;
  EXPECT_FALSE(parse_servers_state("Can't find backend.\n", &error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(parse_servers_state("1\n# be_id be_name\n"));  // columns missing
  EXPECT_FALSE(parse_servers_state(
      "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
      "srv_iweight srv_fqdn srv_port\n3 web x slot1 1.2.3.4 2 0 1 1 - 80\n"));
  const auto empty = parse_servers_state(
      "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
      "srv_iweight srv_fqdn srv_port\n");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(HaproxyReplies, UnresolvedAddressIsNoAddress) {
  const auto rows = parse_servers_state(
      "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
      "srv_iweight srv_fqdn srv_port\n4 web 5 dyn2 - 0 1 1 1 localhost 1\n");
  ASSERT_TRUE(rows);
  EXPECT_FALSE((*rows)[0].address);
  EXPECT_EQ((*rows)[0].fqdn, "localhost");
}

TEST(HaproxyReplies, ParsesCapturedStatByColumnName) {
  std::string error;
  const auto loads = parse_stat(fixtures::kStatWithSession, &error);
  ASSERT_TRUE(loads) << error;
  ASSERT_EQ(loads->size(), 5u);  // servers only
  EXPECT_EQ((*loads)[0].server, "slot1");
  EXPECT_EQ((*loads)[0].current_sessions, 1);
  EXPECT_EQ((*loads)[0].queued, 0);
  EXPECT_EQ((*loads)[0].status, "no check");
  EXPECT_EQ((*loads)[1].status, "DRAIN");
  EXPECT_EQ((*loads)[2].status, "MAINT");
  const auto after = parse_stat(fixtures::kStatAfterDrain);
  ASSERT_TRUE(after);
  EXPECT_EQ((*after)[0].status, "DRAIN");
  EXPECT_EQ((*after)[0].current_sessions, 1);
}

TEST(HaproxyReplies, StatRejectsErrors) {
  EXPECT_FALSE(parse_stat("No such proxy.\n"));
  EXPECT_FALSE(parse_stat("# pxname,svname\nweb,slot1\n"));  // no scur/qcur/status
}

TEST(HaproxyReplies, ShowInfoGivesPidAndStopping) {
  const auto info = parse_show_info(fixtures::kShowInfo);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->pid, 20960);
  EXPECT_FALSE(info->stopping);
  const auto old = parse_show_info(fixtures::kShowInfoStopping);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->pid, 20960);
  EXPECT_TRUE(old->stopping);
  EXPECT_FALSE(parse_show_info("Unknown command\n"));
}

TEST(HaproxyReplies, ShowProcFindsTheCurrentWorker) {
  const auto procs = parse_show_proc(fixtures::kShowProc);
  ASSERT_TRUE(procs);
  EXPECT_EQ(procs->master_pid, 20959);
  EXPECT_EQ(procs->reloads, 0);
  EXPECT_EQ(procs->failed_reloads, 0);
  ASSERT_EQ(procs->workers.size(), 1u);
  EXPECT_EQ(procs->current_worker(), 20960);
  const auto reloaded = parse_show_proc(fixtures::kShowProcOldWorker);
  ASSERT_TRUE(reloaded);
  EXPECT_EQ(reloaded->reloads, 1);
  ASSERT_EQ(reloaded->workers.size(), 2u);
  EXPECT_EQ(reloaded->current_worker(), 20991);
  EXPECT_FALSE(parse_show_proc(""));
}

TEST(HaproxyReplies, ShowProcReadsFailedReloads) {
  const auto procs = parse_show_proc(
      "#<PID>          <type>          <reloads>       <uptime>        <version>\n"
      "100             master          3 [failed: 2]   0d00h02m54s     2.6.12\n# workers\n"
      "101             worker          0               0d00h02m54s     2.6.12\n");
  ASSERT_TRUE(procs);
  EXPECT_EQ(procs->reloads, 3);
  EXPECT_EQ(procs->failed_reloads, 2);
}

// What an interactive session receives: the answer to `prompt`, then one reply per command, each
// followed by "\n> ", some with a trailing blank line and some (del server) without.
const std::string kSession = std::string("\n> ") + std::string(fixtures::kServersState) +
                             "\n> \n> Server deleted.\n> No such server.\n\n> ";

TEST(HaproxyReplies, SplitsInteractiveRepliesAtPrompts) {
  std::vector<std::string> replies;
  std::size_t consumed = 0;
  EXPECT_EQ(split_prompt_replies(kSession, replies, consumed), 5u);
  EXPECT_EQ(consumed, kSession.size());
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_EQ(replies[0], "");
  EXPECT_EQ(replies[1], fixtures::kServersState);
  EXPECT_EQ(replies[2], "");
  EXPECT_EQ(replies[3], "Server deleted.");
  EXPECT_EQ(replies[4], "No such server.\n");
}

TEST(HaproxyReplies, SplitGivesTheSameRepliesWhateverTheCut) {
  // The bytes arrive in pieces: cut the session at every offset and feed the halves in turn.
  std::vector<std::string> whole;
  std::size_t consumed = 0;
  split_prompt_replies(kSession, whole, consumed);
  for (std::size_t cut = 0; cut <= kSession.size(); ++cut) {
    std::string buffer = kSession.substr(0, cut);
    std::vector<std::string> replies;
    std::size_t used = 0;
    split_prompt_replies(buffer, replies, used);
    buffer.erase(0, used);
    buffer += kSession.substr(cut);
    split_prompt_replies(buffer, replies, used);
    ASSERT_EQ(replies, whole) << "cut at " << cut;
  }
}

// classify_reply. Every reply text below is HAProxy 2.6.12-1+deb12u4's own, measured on this
// machine through an interactive (`prompt`) session of a `level admin` stats socket (and of `level
// operator` and `level user` ones for permission_denied).

ReplyStatus status_of(CommandKind kind, std::string_view reply) {
  return classify_reply(kind, reply).status;
}

TEST(HaproxyReplyStatus, SuccessFormOfEveryCommand) {
  EXPECT_EQ(status_of(CommandKind::show_servers_state, fixtures::kServersState), ReplyStatus::ok);
  EXPECT_EQ(status_of(CommandKind::show_stat, fixtures::kStatWithSession), ReplyStatus::ok);
  EXPECT_EQ(status_of(CommandKind::show_info, fixtures::kShowInfo), ReplyStatus::ok);
  EXPECT_EQ(status_of(CommandKind::set_weight, ""), ReplyStatus::ok);
  EXPECT_EQ(status_of(CommandKind::set_state, ""), ReplyStatus::ok);
  EXPECT_EQ(status_of(CommandKind::add_server, "New server registered.\n"), ReplyStatus::ok);
  EXPECT_EQ(status_of(CommandKind::del_server, "Server deleted."), ReplyStatus::ok);  // no newline
  const auto ok = classify_reply(CommandKind::set_weight, "");
  EXPECT_TRUE(ok.text.empty());
}

TEST(HaproxyReplyStatus, SetAddrSuccessForms) {
  for (const char* reply : {
           "IP changed from '127.0.0.1' to '10.0.0.2', port changed from '9' to '8080' by 'stats "
           "socket command'\n",
           "IP changed from '10.0.0.2' to '10.0.0.3', no need to change the port by 'stats socket "
           "command'\n",
           "no need to change the addr, port changed from '9' to '28517' by 'stats socket "
           "command'\n",
           "no need to change the addr, no need to change the port by 'stats socket command'\n",
           "IP changed from '10.0.0.2' to '::1', port changed from '34463' to '80' by 'stats "
           "socket command'\n",
           "IP changed from '127.0.0.1' to '10.0.0.1', port changed from '+1' to '80' by 'stats "
           "socket command'\n",  // a server declared with a port offset
       }) {
    EXPECT_EQ(status_of(CommandKind::set_addr, reply), ReplyStatus::ok) << reply;
  }
}

TEST(HaproxyReplyStatus, SetAddrWhosePortHalfFailedIsABadArgument) {
  // The address part is applied, the port is not: HAProxy's model and Baker's would differ.
  EXPECT_EQ(status_of(CommandKind::set_addr,
                      "no need to change the addr, problem converting port 'abc' to an int by "
                      "'stats socket command'\n"),
            ReplyStatus::bad_argument);
  EXPECT_EQ(status_of(CommandKind::set_addr,
                      "IP changed from '10.0.0.1' to '10.0.0.9', can't change <port> to port map "
                      "because it is incompatible with current health check port configuration "
                      "(use 'port' statement from the 'server' directive. by 'stats socket "
                      "command'\n"),
            ReplyStatus::bad_argument);
}

TEST(HaproxyReplyStatus, NoSuchBackendInEachCommandsWords) {
  EXPECT_EQ(status_of(CommandKind::show_servers_state, "Can't find backend.\n"),
            ReplyStatus::no_such_backend);
  EXPECT_EQ(status_of(CommandKind::show_stat, "No such proxy.\n"), ReplyStatus::no_such_backend);
  for (const auto kind : {CommandKind::set_addr, CommandKind::set_weight, CommandKind::set_state}) {
    EXPECT_EQ(status_of(kind, "No such backend.\n"), ReplyStatus::no_such_backend);
  }
  EXPECT_EQ(status_of(CommandKind::add_server, "No such backend."), ReplyStatus::no_such_backend);
  EXPECT_EQ(status_of(CommandKind::del_server, "No such backend."), ReplyStatus::no_such_backend);
  const auto r = classify_reply(CommandKind::show_servers_state, "Can't find backend.\n");
  EXPECT_EQ(r.text, "Can't find backend.");
}

TEST(HaproxyReplyStatus, ServerErrors) {
  for (const auto kind : {CommandKind::set_addr, CommandKind::set_weight, CommandKind::set_state}) {
    EXPECT_EQ(status_of(kind, "No such server.\n"), ReplyStatus::no_such_server);
  }
  EXPECT_EQ(status_of(CommandKind::del_server, "No such server."), ReplyStatus::no_such_server);
  EXPECT_EQ(status_of(CommandKind::add_server,
                      "Already exists a server with the same name in backend.\n"),
            ReplyStatus::server_exists);
  EXPECT_EQ(status_of(CommandKind::del_server, "Only servers in maintenance mode can be deleted."),
            ReplyStatus::server_not_in_maint);
  EXPECT_EQ(status_of(CommandKind::del_server,
                      "Server still has connections attached to it, cannot remove it."),
            ReplyStatus::server_in_use);
}

TEST(HaproxyReplyStatus, StaticOrHashBalanceIsBackendUnsupported) {
  // `balance source` and `balance static-rr` backends.
  EXPECT_EQ(status_of(CommandKind::add_server,
                      "Backend must use a dynamic load balancing to support dynamic servers."),
            ReplyStatus::backend_unsupported);
  EXPECT_EQ(status_of(CommandKind::set_weight,
                      "Backend is using a static LB algorithm and only accepts weights '0%' and "
                      "'100%'.\n"),
            ReplyStatus::backend_unsupported);
}

TEST(HaproxyReplyStatus, PermissionDeniedBelowLevelAdmin) {
  // What `level operator` and `level user` sockets answer to every command Baker sends but `show`.
  for (const auto kind : {CommandKind::set_addr, CommandKind::set_weight, CommandKind::set_state,
                          CommandKind::add_server, CommandKind::del_server}) {
    EXPECT_EQ(status_of(kind, "Permission denied\n"), ReplyStatus::permission_denied);
  }
}

TEST(HaproxyReplyStatus, UnknownCommandIsOneLineInTheLog) {
  const auto r = classify_reply(
      CommandKind::del_server,
      "Unknown command, but maybe one of the following ones is a better match:\n"
      "  add map [@<ver>] <map> <key> <val>      : add a map entry (payload supported instead of "
      "key/val)\n  del map <map> [<key>|#<ref>]            : delete map entries matching <key>\n");
  EXPECT_EQ(r.status, ReplyStatus::unknown_command);
  EXPECT_EQ(r.text, "Unknown command, but maybe one of the following ones is a better match: ...");
}

TEST(HaproxyReplyStatus, BadArguments) {
  const std::pair<CommandKind, const char*> replies[] = {
      {CommandKind::set_addr, "Invalid addr '999.1.1.1' by 'stats socket command'\n"},
      {CommandKind::set_addr, "Require 'backend/server'.\n"},
      {CommandKind::set_addr,
       "set server <b>/<s> addr requires an address and optionally a port.\n"},
      {CommandKind::set_weight, "Absolute weight can only be between 0 and 256 inclusive.\n"},
      {CommandKind::set_weight, "Empty weight string empty or preceded by garbage"},
      {CommandKind::set_weight, "Require <weight> or <weight%>.\n"},
      {CommandKind::set_state, "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"},
      {CommandKind::set_state,
       "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | "
       "check-addr | check-port | fqdn | health | ssl | state | weight\n"},
      {CommandKind::add_server, "Require 'backend/server'."},
      {CommandKind::add_server, "'server' expects <name> and <addr>[:<port>] as arguments.\n"},
      {CommandKind::add_server, "unknown keyword 'frobkw'.\n"},
      {CommandKind::add_server, "weight of server dyn4 is not within 0 and 256 (700)..\n"},
      {CommandKind::add_server, "invalid character 'a' in port number 'abc' in '10.0.0.5:abc'\n\n"},
      {CommandKind::del_server, "Require 'backend/server'."},
  };
  for (const auto& [kind, reply] : replies) {
    EXPECT_EQ(status_of(kind, reply), ReplyStatus::bad_argument) << reply;
  }
  EXPECT_EQ(classify_reply(CommandKind::set_weight,
                           "Absolute weight can only be between 0 and 256 inclusive.\n")
                .text,
            "Absolute weight can only be between 0 and 256 inclusive.");
}

TEST(HaproxyReplyStatus, EmptyWhereTextIsDue) {
  for (const auto kind :
       {CommandKind::show_servers_state, CommandKind::show_stat, CommandKind::show_info,
        CommandKind::set_addr, CommandKind::add_server, CommandKind::del_server}) {
    const auto r = classify_reply(kind, "");
    EXPECT_EQ(r.status, ReplyStatus::empty_reply);
    EXPECT_EQ(r.text, "empty reply");
    EXPECT_EQ(status_of(kind, "\n"), ReplyStatus::empty_reply);
  }
}

TEST(HaproxyReplyStatus, AnotherCommandsSuccessIsUnparsable) {
  // Replies out of step with their commands (a lost prompt) must not pass for success.
  EXPECT_EQ(status_of(CommandKind::show_servers_state, fixtures::kShowInfo),
            ReplyStatus::unparsable);
  EXPECT_EQ(status_of(CommandKind::show_stat, fixtures::kServersState), ReplyStatus::unparsable);
  EXPECT_EQ(status_of(CommandKind::show_info, fixtures::kStatWithSession), ReplyStatus::unparsable);
  EXPECT_EQ(status_of(CommandKind::set_weight, "New server registered.\n"),
            ReplyStatus::unparsable);
  EXPECT_EQ(status_of(CommandKind::add_server, "Server deleted."), ReplyStatus::unparsable);
  EXPECT_EQ(status_of(CommandKind::set_addr, "New server registered.\n"), ReplyStatus::unparsable);
  const auto r = classify_reply(CommandKind::del_server, "something new\nand more\n");
  EXPECT_EQ(r.status, ReplyStatus::unparsable);
  EXPECT_EQ(r.text, "something new ...");
}

TEST(HaproxyReplyStatus, EveryStatusHasItsOwnName) {
  std::set<std::string_view> names;
  for (int i = 0; i < kReplyStatusCount; ++i) {
    const auto name = to_string(static_cast<ReplyStatus>(i));
    EXPECT_NE(name, "?");
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<std::size_t>(kReplyStatusCount));
}

}  // namespace
}  // namespace baker::sherlock::haproxy
