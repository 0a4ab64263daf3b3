#include "sherlock/haproxy_plan.hpp"

#include <gtest/gtest.h>

#include "haproxy_fixtures.hpp"
#include "routes.hpp"

namespace baker::sherlock::haproxy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);

wire::Route route(const std::string& id, const std::string& addr, std::uint16_t port,
                  std::uint16_t weight = 100, wire::InstanceState state = wire::InstanceState::up) {
  return baker::testing::make_route("web", id, baker::testing::ip(addr), port, weight, state);
}

// A template slot row as `show servers state` shows it.
ServerStateRow slot(int n, const std::string& addr = "127.0.0.1", std::uint16_t port = 9,
                    int admin = 5, int weight = 1, const std::string& name = "") {
  ServerStateRow r;
  r.backend_id = 3;
  r.backend = "web";
  r.server_id = n;
  r.server = name.empty() ? "slot" + std::to_string(n) : name;
  r.address = wire::IpAddress::parse(addr);
  r.port = port;
  r.op_state = (admin & 1) ? 0 : 2;
  r.admin_state = admin;
  r.user_weight = weight;
  r.initial_weight = 1;
  return r;
}

std::vector<std::string> texts(const BackendPlan& p) {
  std::vector<std::string> out;
  for (const auto& c : p.commands) out.push_back(c.text);
  return out;
}

BackendSnapshot free_slots(int n) {
  BackendSnapshot s;
  for (int i = 1; i <= n; ++i) s.rows.push_back(slot(i));
  return s;
}

TEST(HaproxyPlan, NewInstanceTakesTheFirstFreeSlotAddressThenWeightThenReady) {
  const auto plan =
      plan_backend("web", free_slots(3), {route("a", "10.0.0.1", 8080, 100)}, {}, kT0);
  EXPECT_EQ(texts(plan), (std::vector<std::string>{
                             "set server web/slot1 addr 10.0.0.1 port 8080",
                             "set server web/slot1 weight 100",
                             "set server web/slot1 state ready",
                         }));
  EXPECT_EQ(plan.assignment.at("a"), "slot1");
  EXPECT_EQ(plan.slots_total, 3);
  EXPECT_EQ(plan.slots_used, 1);
  EXPECT_TRUE(plan.unplaced.empty());
  EXPECT_FALSE(plan.needs_loads);
}

TEST(HaproxyPlan, InstanceAlreadyInItsSlotNeedsNothing) {
  BackendSnapshot s = free_slots(3);
  s.rows[1] = slot(2, "10.0.0.1", 8080, 4, 100);  // ready, CMAINT left over
  const auto plan = plan_backend("web", s, {route("a", "10.0.0.1", 8080, 100)}, {}, kT0);
  EXPECT_TRUE(plan.commands.empty());
  EXPECT_EQ(plan.assignment.at("a"), "slot2");
}

TEST(HaproxyPlan, SlotsAreFoundByAddressNotByName) {
  // After a reconnect the mapping comes from HAProxy itself: b sits in slot3, a in slot1.
  BackendSnapshot s = free_slots(3);
  s.rows[0] = slot(1, "10.0.0.1", 80, 0, 100);
  s.rows[2] = slot(3, "10.0.0.2", 80, 0, 100);
  const auto plan =
      plan_backend("web", s, {route("a", "10.0.0.1", 80), route("b", "10.0.0.2", 80)}, {}, kT0);
  EXPECT_TRUE(plan.commands.empty());
  EXPECT_EQ(plan.assignment.at("a"), "slot1");
  EXPECT_EQ(plan.assignment.at("b"), "slot3");
}

TEST(HaproxyPlan, WeightAndStateUpdates) {
  BackendSnapshot s = free_slots(2);
  s.rows[0] = slot(1, "10.0.0.1", 80, 0, 100);
  s.rows[1] = slot(2, "10.0.0.2", 80, 0, 100);
  const auto plan = plan_backend("web", s,
                                 {route("a", "10.0.0.1", 80, 30),
                                  route("b", "10.0.0.2", 80, 100, wire::InstanceState::draining)},
                                 {}, kT0);
  EXPECT_EQ(texts(plan), (std::vector<std::string>{
                             "set server web/slot1 weight 30",
                             "set server web/slot2 state drain",
                         }));
  EXPECT_FALSE(plan.needs_loads);  // a draining instance stays until it leaves the replica
}

TEST(HaproxyPlan, DrainingInstanceComesBack) {
  BackendSnapshot s = free_slots(1);
  s.rows[0] = slot(1, "10.0.0.1", 80, 12, 100);
  const auto plan = plan_backend("web", s, {route("a", "10.0.0.1", 80)}, {}, kT0);
  EXPECT_EQ(texts(plan), std::vector<std::string>{"set server web/slot1 state ready"});
}

TEST(HaproxyPlan, NewDrainingInstanceIsNotPlaced) {
  const auto plan =
      plan_backend("web", free_slots(2),
                   {route("a", "10.0.0.1", 80, 100, wire::InstanceState::draining)}, {}, kT0);
  EXPECT_TRUE(plan.commands.empty());
  EXPECT_TRUE(plan.unplaced.empty());
}

TEST(HaproxyPlan, RemovalDrainsThenWaitsForSessionsThenMaint) {
  BackendSnapshot s = free_slots(2);
  s.rows[0] = slot(1, "10.0.0.1", 80, 0, 100);
  auto plan = plan_backend("web", s, {}, {}, kT0);
  EXPECT_EQ(texts(plan), std::vector<std::string>{"set server web/slot1 state drain"});
  EXPECT_TRUE(plan.needs_loads);
  EXPECT_EQ(plan.removals.at("slot1"), (Removal{kT0, 1}));
  EXPECT_EQ(plan.next_deadline, kT0 + seconds(10));
  EXPECT_EQ(plan.slots_used, 1);  // not free until it is in maint

  // Drained; a session still runs.
  s.rows[0].admin_state = 12;
  s.removals = plan.removals;
  s.loads["slot1"] = ServerLoad{"web", "slot1", 1, 0, "DRAIN"};
  s.loads_session = 2;
  plan = plan_backend("web", s, {}, {}, kT0 + milliseconds(100), 3);
  EXPECT_TRUE(plan.commands.empty());
  EXPECT_TRUE(plan.needs_loads);

  // The session ended: maint, and the slot is free again.
  s.loads["slot1"].current_sessions = 0;
  s.loads_session = 3;
  plan = plan_backend("web", s, {}, {}, kT0 + milliseconds(200), 4);
  EXPECT_EQ(texts(plan), std::vector<std::string>{"set server web/slot1 state maint"});
  EXPECT_FALSE(plan.needs_loads);
  EXPECT_TRUE(plan.removals.empty());
}

TEST(HaproxyPlan, LoadsReadBeforeTheDrainDoNotCount) {
  BackendSnapshot s = free_slots(1);
  s.rows[0] = slot(1, "10.0.0.1", 80, 12, 100);
  s.removals["slot1"] = Removal{kT0, 1};
  s.loads["slot1"] = ServerLoad{"web", "slot1", 0, 0, "no check"};
  s.removals["slot1"].session = 5;
  s.loads_session = 4;  // read before the drain: sessions may have started since
  const auto plan = plan_backend("web", s, {}, {}, kT0 + milliseconds(5), 6);
  EXPECT_TRUE(plan.commands.empty());
  EXPECT_TRUE(plan.needs_loads);
}

TEST(HaproxyPlan, QueuedRequestsKeepTheServerDraining) {
  BackendSnapshot s = free_slots(1);
  s.rows[0] = slot(1, "10.0.0.1", 80, 12, 100);
  s.removals["slot1"] = Removal{kT0, 1};
  s.loads["slot1"] = ServerLoad{"web", "slot1", 0, 2, "DRAIN"};
  s.loads_session = 1;
  EXPECT_TRUE(plan_backend("web", s, {}, {}, kT0 + milliseconds(2), 2).commands.empty());
}

TEST(HaproxyPlan, DrainTimeoutForcesMaint) {
  BackendSnapshot s = free_slots(1);
  s.rows[0] = slot(1, "10.0.0.1", 80, 12, 100);
  s.removals["slot1"] = Removal{kT0, 1};
  s.loads["slot1"] = ServerLoad{"web", "slot1", 3, 0, "DRAIN"};
  s.loads_session = 2;
  PlanSettings settings;
  settings.drain_timeout = seconds(10);
  EXPECT_TRUE(plan_backend("web", s, {}, settings, kT0 + seconds(9)).commands.empty());
  const auto plan = plan_backend("web", s, {}, settings, kT0 + seconds(10));
  EXPECT_EQ(texts(plan), std::vector<std::string>{"set server web/slot1 state maint"});
}

TEST(HaproxyPlan, ReplacementReusesTheFreedSlotAndDrainsTheOld) {
  BackendSnapshot s = free_slots(2);
  s.rows[0] = slot(1, "10.0.0.1", 80, 0, 100);
  s.rows[1] = slot(2, "10.0.0.9", 80, 5, 100);  // free, old address from an earlier instance
  const auto plan = plan_backend("web", s, {route("b", "10.0.0.2", 80)}, {}, kT0);
  EXPECT_EQ(texts(plan), (std::vector<std::string>{
                             "set server web/slot2 addr 10.0.0.2 port 80",
                             "set server web/slot2 state ready",
                             "set server web/slot1 state drain",
                         }));
  EXPECT_EQ(plan.assignment.at("b"), "slot2");
}

TEST(HaproxyPlan, AddressChangeMovesTheInstanceToAnotherSlot) {
  BackendSnapshot s = free_slots(2);
  s.rows[0] = slot(1, "10.0.0.1", 80, 0, 100);
  const auto plan = plan_backend("web", s, {route("a", "10.0.0.1", 81)}, {}, kT0);
  EXPECT_EQ(texts(plan), (std::vector<std::string>{
                             "set server web/slot2 addr 10.0.0.1 port 81",
                             "set server web/slot2 weight 100",
                             "set server web/slot2 state ready",
                             "set server web/slot1 state drain",
                         }));
}

TEST(HaproxyPlan, ReturningInstancePrefersTheSlotThatStillHasItsAddress) {
  BackendSnapshot s = free_slots(3);
  s.rows[2] = slot(3, "10.0.0.7", 80, 5, 100);  // in maint, still pointing at the instance
  const auto plan = plan_backend("web", s, {route("a", "10.0.0.7", 80)}, {}, kT0);
  EXPECT_EQ(texts(plan), std::vector<std::string>{"set server web/slot3 state ready"});
}

TEST(HaproxyPlan, ExhaustionWithoutFallbackReportsUnplaced) {
  BackendSnapshot s = free_slots(1);
  s.rows[0] = slot(1, "10.0.0.1", 80, 0, 100);
  const auto plan =
      plan_backend("web", s, {route("a", "10.0.0.1", 80), route("b", "10.0.0.2", 80)}, {}, kT0);
  EXPECT_TRUE(plan.commands.empty());
  EXPECT_EQ(plan.unplaced, std::vector<std::string>{"b"});
  EXPECT_EQ(plan.slots_used, 1);
  EXPECT_EQ(plan.slots_total, 1);
}

TEST(HaproxyPlan, DrainingRemovalsHoldTheirSlotsUntilMaint) {
  BackendSnapshot s = free_slots(1);
  s.rows[0] = slot(1, "10.0.0.1", 80, 12, 100);
  s.removals["slot1"] = Removal{kT0, 1};
  const auto plan = plan_backend("web", s, {route("b", "10.0.0.2", 80)}, {}, kT0 + seconds(1));
  EXPECT_EQ(plan.unplaced, std::vector<std::string>{"b"});
}

TEST(HaproxyPlan, ExhaustionFallsBackToAddServer) {
  BackendSnapshot s = free_slots(1);
  s.rows[0] = slot(1, "10.0.0.1", 80, 0, 100);
  PlanSettings settings;
  settings.allow_add_server = true;
  settings.add_server_options = "maxconn 50";
  const auto plan = plan_backend(
      "web", s, {route("a", "10.0.0.1", 80), route("b", "10.0.0.2", 80, 7)}, settings, kT0);
  EXPECT_EQ(texts(plan), (std::vector<std::string>{
                             "add server web/slot-add1 10.0.0.2:80 weight 7 maxconn 50",
                             "set server web/slot-add1 state ready",
                         }));
  EXPECT_EQ(plan.assignment.at("b"), "slot-add1");
  EXPECT_EQ(plan.dynamic_servers, 1);
  EXPECT_TRUE(plan.unplaced.empty());
}

TEST(HaproxyPlan, FallbackNamesSkipThoseInUse) {
  BackendSnapshot s;
  s.rows.push_back(slot(1, "10.0.0.1", 80, 0, 100));
  s.rows.push_back(slot(2, "10.0.0.3", 80, 0, 100, "slot-add1"));
  PlanSettings settings;
  settings.allow_add_server = true;
  const auto plan = plan_backend(
      "web", s,
      {route("a", "10.0.0.1", 80), route("b", "10.0.0.2", 80), route("c", "10.0.0.3", 80)},
      settings, kT0);
  EXPECT_EQ(plan.commands.front().text, "add server web/slot-add2 10.0.0.2:80 weight 100");
  EXPECT_EQ(plan.assignment.at("c"), "slot-add1");
}

TEST(HaproxyPlan, RemovedFallbackServerIsDeletedOnceIdle) {
  BackendSnapshot s;
  s.rows.push_back(slot(1, "10.0.0.3", 80, 0, 100, "slot-add1"));
  auto plan = plan_backend("web", s, {}, {}, kT0);
  EXPECT_EQ(texts(plan), std::vector<std::string>{"set server web/slot-add1 state drain"});
  s.rows[0].admin_state = 8;
  s.removals = plan.removals;
  s.loads["slot-add1"] = ServerLoad{"web", "slot-add1", 0, 0, "DRAIN"};
  s.loads_session = 1;  // show stat sent right after the drain, in the same session
  plan = plan_backend("web", s, {}, {}, kT0 + milliseconds(50), 2);
  EXPECT_EQ(texts(plan), (std::vector<std::string>{"set server web/slot-add1 state maint",
                                                   "del server web/slot-add1"}));
  EXPECT_EQ(plan.dynamic_servers, 0);
}

TEST(HaproxyPlan, FallbackServerForcedToMaintIsDeletedOnlyWithoutSessions) {
  BackendSnapshot s;
  s.rows.push_back(slot(1, "10.0.0.3", 80, 1, 100, "slot-add1"));  // maint after drain timeout
  s.removals["slot-add1"] = Removal{kT0, 1};
  s.loads["slot-add1"] = ServerLoad{"web", "slot-add1", 2, 0, "MAINT"};
  s.loads_session = 5;
  auto plan = plan_backend("web", s, {}, {}, kT0 + seconds(11), 6);
  EXPECT_TRUE(plan.commands.empty());
  EXPECT_TRUE(plan.needs_loads);
  s.loads["slot-add1"].current_sessions = 0;
  s.loads_session = 6;
  plan = plan_backend("web", s, {}, {}, kT0 + seconds(12), 7);
  EXPECT_EQ(texts(plan), std::vector<std::string>{"del server web/slot-add1"});
}

TEST(HaproxyPlan, OperatorServersAndHostNameSlotsAreNeverTouched) {
  BackendSnapshot s = free_slots(1);
  s.rows.push_back(slot(2, "10.0.0.50", 80, 0, 100, "legacy"));
  auto fqdn = slot(3, "10.0.0.60", 80, 5, 1);
  fqdn.fqdn = "db.example";
  s.rows.push_back(fqdn);
  const auto plan = plan_backend("web", s, {route("a", "10.0.0.50", 80)}, {}, kT0);
  // a takes slot1 (the operator's "legacy" server at the same address is not Baker's).
  EXPECT_EQ(plan.assignment.at("a"), "slot1");
  for (const auto& c : plan.commands) {
    EXPECT_EQ(c.server, "slot1");
  }
  EXPECT_EQ(plan.slots_total, 2);
}

TEST(HaproxyPlan, CapturedStateReplannedAgainstTheSameRoutesIsQuiet) {
  BackendSnapshot s;
  s.rows = *parse_servers_state(fixtures::kServersState);
  const auto plan =
      plan_backend("web", s,
                   {route("one", "127.0.0.1", 18201, 100), route("add", "127.0.0.1", 18201, 50),
                    route("two", "10.0.0.2", 8080, 1, wire::InstanceState::draining)},
                   {}, kT0);
  EXPECT_TRUE(plan.commands.empty()) << texts(plan).front();
  EXPECT_EQ(plan.assignment.at("one"), "slot1");
  EXPECT_EQ(plan.assignment.at("add"), "slot-add1");
  EXPECT_EQ(plan.assignment.at("two"), "slot2");
}

// `server-template slot 1-N 127.0.0.1:9 weight 0`: in service at weight 0, taking no requests.
BackendSnapshot parked_slots(int n) {
  BackendSnapshot s;
  for (int i = 1; i <= n; ++i) {
    s.rows.push_back(slot(i, "127.0.0.1", 9, 0, 0));
    s.rows.back().initial_weight = 0;
  }
  return s;
}

TEST(HaproxyPlan, ParkedWeightZeroSlotsAreFreeAndTheRestGoToMaintenance) {
  const auto plan =
      plan_backend("web", parked_slots(3), {route("a", "10.0.0.1", 8080, 100)}, {}, kT0);
  // a takes slot1 (it is in service already: its weight is what lets requests in); the others are
  // put in maintenance at once (nothing to drain), and are free.
  EXPECT_EQ(texts(plan), (std::vector<std::string>{
                             "set server web/slot1 addr 10.0.0.1 port 8080",
                             "set server web/slot1 weight 100",
                             "set server web/slot2 state maint",
                             "set server web/slot3 state maint",
                         }));
  EXPECT_TRUE(plan.unplaced.empty());
  EXPECT_TRUE(plan.removals.empty());
  EXPECT_FALSE(plan.needs_loads);
  EXPECT_EQ(plan.slots_used, 1);
  // No `add server` fallback for instances while parked slots are left (an operator's reload
  // brings every slot back parked).
  PlanSettings fallback;
  fallback.allow_add_server = true;
  const auto again =
      plan_backend("web", parked_slots(2), {route("a", "10.0.0.1", 80), route("b", "10.0.0.2", 80)},
                   fallback, kT0);
  EXPECT_EQ(again.dynamic_servers, 0);
  EXPECT_EQ(again.assignment.at("a"), "slot1");
  EXPECT_EQ(again.assignment.at("b"), "slot2");
}

TEST(HaproxyPlan, OnlyWeightZeroTemplateSlotsAreParked) {
  // A slot at runtime weight 0 whose configured weight is not 0 is an instance someone weighted
  // down: removed through drain as usual. So is a parked slot the operator drained.
  BackendSnapshot s = parked_slots(2);
  s.rows[0].initial_weight = 1;
  s.rows[1].admin_state = 8;
  const auto plan = plan_backend("web", s, {}, {}, kT0);
  EXPECT_EQ(texts(plan), std::vector<std::string>{"set server web/slot1 state drain"});
  EXPECT_EQ(plan.removals.size(), 2u);
  EXPECT_TRUE(plan.needs_loads);
}

TEST(HaproxyPlan, SlotNamesAreNotConfusedWithFallbackNames) {
  SlotNaming n;
  EXPECT_EQ(n.slot_number("slot12"), 12);
  EXPECT_FALSE(n.slot_number("slot"));
  EXPECT_FALSE(n.slot_number("slot01"));
  EXPECT_FALSE(n.slot_number("slot-add1"));
  EXPECT_FALSE(n.slot_number("slots1"));
  EXPECT_EQ(n.dynamic_number("slot-add3"), 3);
  EXPECT_FALSE(n.dynamic_number("slot3"));
}

TEST(HaproxyPlan, AssignSlotsKeepsInstancesWhereTheyAre) {
  std::vector<ServerStateRow> rows{slot(1, "127.0.0.1", 9), slot(2, "10.0.0.2", 80, 0, 100),
                                   slot(3, "10.0.0.1", 80, 12, 100)};
  const std::vector<wire::Route> desired{
      route("a", "10.0.0.1", 80, 100, wire::InstanceState::draining), route("b", "10.0.0.2", 80),
      route("c", "10.0.0.3", 80), route("d", "10.0.0.4", 80)};
  const auto slots = assign_slots(rows, desired, 4, SlotNaming{});
  ASSERT_EQ(slots.size(), 4u);
  EXPECT_EQ(slots[0]->instance, "c");
  EXPECT_EQ(slots[1]->instance, "b");
  EXPECT_EQ(slots[2]->instance, "a");
  EXPECT_EQ(slots[3]->instance, "d");
}

TEST(HaproxyPlan, AssignSlotsForANewBackendFillsInOrder) {
  const auto slots =
      assign_slots({}, {route("a", "10.0.0.1", 80), route("b", "10.0.0.2", 80)}, 3, SlotNaming{});
  EXPECT_EQ(slots[0]->instance, "a");
  EXPECT_EQ(slots[1]->instance, "b");
  EXPECT_FALSE(slots[2]);
}

TEST(HaproxyPlan, SlotsNeededDoublesUntilEveryoneFits) {
  std::vector<wire::Route> many;
  for (int i = 0; i < 20; ++i) many.push_back(route("i" + std::to_string(i), "10.0.0.1", 1000 + i));
  EXPECT_EQ(slots_needed({}, 16), 16);
  EXPECT_EQ(slots_needed(many, 16), 32);
  EXPECT_EQ(slots_needed(many, 0), 32);
}

}  // namespace
}  // namespace baker::sherlock::haproxy
