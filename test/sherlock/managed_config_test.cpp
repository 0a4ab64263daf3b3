#include "sherlock/managed_config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "routes.hpp"

namespace baker::sherlock::haproxy {
namespace {

wire::Route route(const std::string& id, const std::string& addr, std::uint16_t port,
                  std::uint16_t weight = 100, wire::InstanceState state = wire::InstanceState::up) {
  return baker::testing::make_route("web", id, baker::testing::ip(addr), port, weight, state);
}

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

ManagedConfig sample() {
  ManagedConfig c;
  c.stable_socket = "/run/b/haproxy.sock";
  c.admin_socket = "/run/b/sherlock-3.sock";
  c.frontend_host = "127.0.0.1";
  c.frontend_port = 8000;
  c.backends.push_back({"web",
                        "web",
                        std::nullopt,
                        {route("a", "10.0.0.1", 8080), std::nullopt,
                         route("b", "::1", 8081, 5, wire::InstanceState::draining)}});
  c.backends.push_back({"api", "api", std::nullopt, {std::nullopt}});
  c.backends.push_back({"db", "db.tcp", std::uint16_t{5432}, {route("d", "10.0.0.9", 5432)}});
  return c;
}

TEST(HaproxyManagedConfig, SocketsForHitlessReloadAndForSherlock) {
  const auto text = write_haproxy_config(sample());
  EXPECT_TRUE(has(text,
                  "    stats socket /run/b/haproxy.sock mode 600 level admin expose-fd "
                  "listeners"));
  EXPECT_TRUE(has(text, "    stats socket /run/b/sherlock-3.sock mode 600 level admin"));
  EXPECT_TRUE(has(text, "    option idle-close-on-response"));
}

TEST(HaproxyManagedConfig, FrontendRoutesTheFirstPathSegmentToItsBackend) {
  const auto text = write_haproxy_config(sample());
  EXPECT_TRUE(has(text, "frontend baker.http"));
  EXPECT_TRUE(has(text, "    bind 127.0.0.1:8000"));
  EXPECT_TRUE(has(text, "    acl baker_service path,field(2,/) -m str web api"));
  EXPECT_TRUE(has(text, "    use_backend %[path,field(2,/)] if baker_service"));
  EXPECT_TRUE(has(text, "    default_backend baker.unknown"));
  EXPECT_TRUE(has(text, "    http-request replace-path ^/[^/]*/?(.*) /\\1"));
}

TEST(HaproxyManagedConfig, SlotsListCurrentServersStatically) {
  const auto text = write_haproxy_config(sample());
  EXPECT_TRUE(has(text, "backend web"));
  EXPECT_TRUE(has(text, "    balance roundrobin"));
  EXPECT_TRUE(has(text, "    http-reuse always"));
  EXPECT_TRUE(has(text, "    server slot1 10.0.0.1:8080 weight 100"));
  // No `disabled` (its bit would stay on a serving slot): the server-state file says how each
  // starts; a free slot's weight 0 takes no requests even without it.
  EXPECT_TRUE(has(text, "    server slot2 127.0.0.1:9 weight 0"));
  EXPECT_TRUE(has(text, "    server slot3 [::1]:8081 weight 5"));  // draining
  EXPECT_TRUE(has(text, "backend api"));
  EXPECT_EQ(text.find("enabled"), std::string::npos);
  EXPECT_EQ(text.find("disabled"), std::string::npos);
}

TEST(HaproxyManagedConfig, ServerStateFileIsLoadedByEveryBackend) {
  auto c = sample();
  EXPECT_EQ(write_haproxy_config(c).find("server-state"), std::string::npos);
  c.server_state_file = "/run/b/servers.state";
  const auto text = write_haproxy_config(c);
  EXPECT_TRUE(has(text,
                  "global\n    stats socket /run/b/haproxy.sock mode 600 level admin "
                  "expose-fd listeners\n    stats socket /run/b/sherlock-3.sock mode 600 "
                  "level admin\n    server-state-file /run/b/servers.state"));
  const auto defaults = text.find("defaults\n");
  const auto load = text.find("    load-server-state-from-file global\n");
  ASSERT_NE(load, std::string::npos);
  EXPECT_LT(defaults, load);
  EXPECT_LT(load, text.find("frontend "));
}

const std::string kHeader =
    "1\n"
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
    "srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health "
    "srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord\n";

TEST(HaproxyManagedConfig, ServerStateFileHasALinePerSlotWithItsStartingState) {
  const auto c = sample();
  // web: slot1 serving at weight 70 (set at runtime), slot2 free, slot3 draining; api: free;
  // db.tcp: in maintenance.
  const std::vector<std::vector<SlotStart>> starts = {
      {{AdminState::ready, 70}, {AdminState::maint, 0}, {AdminState::drain, 5}},
      {{AdminState::maint, 0}},
      {{AdminState::maint, 100}}};
  EXPECT_EQ(write_server_state(c, starts),
            kHeader +
                "0 web 1 slot1 - 2 0 70 100 0 1 0 0 0 0 0 0 - 8080 -\n"
                "0 web 2 slot2 - 2 1 0 0 0 1 0 0 0 0 0 0 - 9 -\n"
                "0 web 3 slot3 - 2 8 5 5 0 1 0 0 0 0 0 0 - 8081 -\n"
                "0 api 1 slot1 - 2 1 0 0 0 1 0 0 0 0 0 0 - 9 -\n"
                "0 db.tcp 1 slot1 - 2 1 100 100 0 1 0 0 0 0 0 0 - "
                "5432 -\n");
}

TEST(HaproxyManagedConfig, ServerStateFileWithoutStartsPutsEverySlotInMaintenance) {
  auto c = sample();
  c.slot_prefix = "s";
  c.backends.resize(1);
  EXPECT_EQ(write_server_state(c, {{}}), kHeader +
                                             "0 web 1 s1 - 2 1 0 100 0 1 0 0 0 0 0 0 - 8080 -\n"
                                             "0 web 2 s2 - 2 1 0 0 0 1 0 0 0 0 0 0 - 9 -\n"
                                             "0 web 3 s3 - 2 1 0 5 0 1 0 0 0 0 0 0 - 8081 -\n");
  EXPECT_EQ(write_server_state(c, {}), kHeader);
}

ServerStateRow row(int n, const std::string& addr, std::uint16_t port, int admin, int weight) {
  ServerStateRow r;
  r.backend = "web";
  r.server_id = n;
  r.server = "slot" + std::to_string(n);
  r.address = wire::IpAddress::parse(addr);
  r.port = port;
  r.admin_state = admin;
  r.user_weight = weight;
  r.initial_weight = 100;
  return r;
}

TEST(HaproxyManagedConfig, FirstStartSlotsStartAsTheirRoutesAre) {
  const auto c = sample();
  const auto& web = c.backends[0];
  std::vector<wire::Route> desired;
  for (const auto& s : web.slots) {
    if (s) desired.push_back(*s);
  }
  EXPECT_EQ(slot_starts(web, {}, desired, SlotNaming{}),
            (std::vector<SlotStart>{
                {AdminState::ready, 100}, {AdminState::maint, 0}, {AdminState::drain, 5}}));
}

TEST(HaproxyManagedConfig, ReloadSlotsStartAsTheRunningWorkerHasThem) {
  // The plan put a in slot1 and b (draining) in slot3. Since, the driver set a's weight to 30,
  // drained b and freed it (maint), and put c in slot2 (free in this configuration).
  const auto c = sample();
  const auto& web = c.backends[0];
  const std::vector<ServerStateRow> rows = {
      row(1, "10.0.0.1", 8080, 0, 30), row(2, "10.0.0.3", 8080, 0, 100), row(3, "::1", 8081, 1, 5)};
  const std::vector<wire::Route> desired = {route("a", "10.0.0.1", 8080, 40),
                                            route("c", "10.0.0.3", 8080)};
  EXPECT_EQ(slot_starts(web, rows, desired, SlotNaming{}),
            (std::vector<SlotStart>{{AdminState::ready, 30},  // as applied, not as wanted
                                    {AdminState::maint, 0},   // its line is the free address
                                    {AdminState::maint, 5}}));
  // A draining row keeps draining; an operator's `disabled` leftover (CMAINT) does not count.
  const std::vector<ServerStateRow> draining = {row(1, "10.0.0.1", 8080, 8, 100),
                                                row(3, "::1", 8081, 4, 5)};
  EXPECT_EQ(slot_starts(web, draining, desired, SlotNaming{}),
            (std::vector<SlotStart>{
                {AdminState::drain, 100}, {AdminState::maint, 0}, {AdminState::ready, 5}}));
}

TEST(HaproxyManagedConfig, LinesTheRunningWorkerDoesNotHaveStartAsTheirRoutesAreWantedNow) {
  // Slots grown for instances that waited: the running worker has slot1 free (or elsewhere).
  const auto c = sample();
  const auto& web = c.backends[0];
  const std::vector<ServerStateRow> rows = {row(1, "127.0.0.1", 9, 1, 0),
                                            row(2, "10.0.0.1", 8080, 0, 100)};
  EXPECT_EQ(slot_starts(web, rows, {route("a", "10.0.0.1", 8080, 60)}, SlotNaming{})[0],
            (SlotStart{AdminState::ready, 60}));
  EXPECT_EQ(
      slot_starts(web, rows, {route("a", "10.0.0.1", 8080, 60, wire::InstanceState::draining)},
                  SlotNaming{})[0],
      (SlotStart{AdminState::drain, 60}));
  // Gone since the plan: in maintenance, never serving an address no one wants.
  EXPECT_EQ(slot_starts(web, rows, {}, SlotNaming{})[0], (SlotStart{AdminState::maint, 100}));
  // The same port on another address is another instance.
  EXPECT_EQ(slot_starts(web, rows, {route("a", "10.0.0.2", 8080)}, SlotNaming{})[0],
            (SlotStart{AdminState::maint, 100}));
}

TEST(HaproxyManagedConfig, TcpListenerPerService) {
  const auto text = write_haproxy_config(sample());
  EXPECT_TRUE(has(text, "listen db.tcp"));
  EXPECT_TRUE(has(text, "    mode tcp"));
  EXPECT_TRUE(has(text, "    bind 127.0.0.1:5432"));
  EXPECT_TRUE(has(text, "    server slot1 10.0.0.9:5432 weight 100"));
  // Not reachable through the HTTP frontend.
  EXPECT_EQ(text.find("-m str web api db"), std::string::npos);
}

TEST(HaproxyManagedConfig, BackendPrefixGoesIntoUseBackend) {
  ManagedConfig c = sample();
  c.backends = {{"web", "bk_web", std::nullopt, {std::nullopt}}};
  const auto text = write_haproxy_config(c);
  EXPECT_TRUE(has(text, "    use_backend bk_%[path,field(2,/)] if baker_service"));
  EXPECT_TRUE(has(text, "backend bk_web"));
}

TEST(HaproxyManagedConfig, NoServicesYetMeansEverythingIsUnknown) {
  ManagedConfig c = sample();
  c.backends.clear();
  const auto text = write_haproxy_config(c);
  EXPECT_EQ(text.find("use_backend"), std::string::npos);
  EXPECT_EQ(text.find("acl "), std::string::npos);
  EXPECT_TRUE(has(text, "    default_backend baker.unknown"));
}

TEST(HaproxyManagedConfig, ManyServicesSplitAclLines) {
  ManagedConfig c = sample();
  c.backends.clear();
  for (int i = 0; i < 70; ++i) {
    c.backends.push_back({"s" + std::to_string(i), "s" + std::to_string(i), std::nullopt, {}});
  }
  const auto text = write_haproxy_config(c);
  std::size_t lines = 0;
  for (auto p = text.find("acl baker_service"); p != std::string::npos;
       p = text.find("acl baker_service", p + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 3u);
}

TEST(HaproxyManagedConfig, Ipv6Frontend) {
  ManagedConfig c = sample();
  c.frontend_host = "::1";
  EXPECT_TRUE(has(write_haproxy_config(c), "    bind [::1]:8000"));
}

TEST(HaproxyManagedConfig, ServerStateOfThousandsOfSlots) {
  // 8,192 slots, 5,000 instances: written on the event loop right before a reload.
  ManagedBackend web{"web", "web", std::nullopt, {}};
  std::vector<wire::Route> desired;
  std::vector<ServerStateRow> rows;
  for (int i = 0; i < 8192; ++i) {
    if (i >= 5000) {
      web.slots.push_back(std::nullopt);
      continue;
    }
    const auto r =
        route("i" + std::to_string(i),
              "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1), 8080);
    web.slots.push_back(r);
    desired.push_back(r);
    rows.push_back(row(i + 1, r.address.to_string(), 8080, 0, 100));
  }
  ManagedConfig c;
  c.backends = {web};
  const auto t0 = std::chrono::steady_clock::now();
  const auto starts = slot_starts(web, rows, desired, SlotNaming{});
  const auto text = write_server_state(c, {starts});
  const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0);
  std::printf("server state of 8192 slots (5000 instances): %.1f ms, %zu bytes\n", ms.count(),
              text.size());
  EXPECT_EQ(std::count(starts.begin(), starts.end(), SlotStart{AdminState::ready, 100}), 5000);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 8192 + 2);
}

}  // namespace
}  // namespace baker::sherlock::haproxy
