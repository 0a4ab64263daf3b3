// Several directories on real processes (issue "Several directories"): every watson heartbeats to
// all of them, one sherlock subscribes to all of them and merges their streams into the route set
// its HAProxy gets. Directories SIGKILLed under keep-alive load, partitioned from the watsons or
// from the sherlock (nftables in a network namespace the test makes for itself), restarted
// through their warm-up, lossy; every start order; stale and replayed records at one directory.
// RouteWatch records every distinct route set sherlock shows and every ready set HAProxy has, so
// a flap (a route gone and back) fails a test even when the end state is right.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <iostream>

#include "common/real_clock.hpp"
#include "e2e_support.hpp"
#include "http_load.hpp"
#include "metrics_check.hpp"
#include "wire/auth.hpp"
#include "wire/codec.hpp"
#include "wire/digest.hpp"

namespace baker::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kConverge = 10000ms;
// The bound asserted on a join or a leave reaching HAProxy while a directory is down, partitioned
// or lossy (the single-directory target is milliseconds; the bound is generous for a loaded CI).
constexpr auto kChangeBound = 1000ms;
constexpr int kWatsonIntervalMs = 100;

// Directory flags for short tests: watsons' clocks are this machine's, so a small skew is safe and
// a (re)started directory counts heartbeats 200 ms after its start, not 2 s.
std::vector<std::string> fast_directory(int miss_limit = 5) {
  return {"--max-clock-skew", "200ms", "--miss-limit", std::to_string(miss_limit)};
}

long ms(Clock::duration d) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(d).count());
}

// Printed and recorded as a test property (it lands in ctest's output and in gtest's XML).
void report(const std::string& what, long value_ms) {
  std::cout << "[ measured ] " << what << ": " << value_ms << " ms" << std::endl;
  ::testing::Test::RecordProperty(what, std::to_string(value_ms));
}

bool contains(const std::set<std::string>& s, const std::string& item) {
  return s.count(item) > 0;
}

// Sherlock shows `n` routes, every directory holds the same `n`, and sherlock follows every
// directory's stream with a snapshot applied.
bool converged(Cluster& c, std::size_t n) {
  if (c.sherlock_count("greeting") != n) return false;
  for (std::size_t k = 0; k < c.directory_count(); ++k) {
    if (!c.directory_running(k)) continue;
    if (c.directory_routes("greeting", k).size() != n) return false;
    const auto s = c.stream(k);
    if (!s || !s->synced || s->routes != n) return false;
  }
  return true;
}

// Waits until `pred` holds for what the watch saw at or after `from`; how long after `from`.
std::optional<milliseconds> time_to(const RouteWatch& watch, Clock::time_point from, bool haproxy,
                                    const std::function<bool(const std::set<std::string>&)>& pred,
                                    milliseconds timeout = kConverge) {
  std::optional<Clock::time_point> at;
  wait_until(
      [&] {
        at = haproxy ? watch.first_ready(from, pred) : watch.first_route(from, pred);
        return at.has_value();
      },
      timeout);
  if (!at) return std::nullopt;
  return std::chrono::duration_cast<milliseconds>(*at - from);
}

// The address:port items of a /routes set ("instance@address:port/weight/state").
std::set<std::string> addresses(const std::set<std::string>& routes) {
  std::set<std::string> out;
  for (const auto& r : routes) out.insert(r.substr(r.find('@') + 1, r.find('/') - r.find('@') - 1));
  return out;
}

// A cluster of `n` directories, three instances and a managed sherlock, converged, every
// directory past its warm-up; then a watch on sherlock's routes and HAProxy's ready servers.
class ManagedCluster {
 public:
  // first_miss_limit: directory 0's, when it differs from the others'.
  explicit ManagedCluster(std::size_t n, int miss_limit = 5, int first_miss_limit = 0) : c(n) {
    c.set_watson_interval_ms(kWatsonIntervalMs);
    if (first_miss_limit > 0) c.start_directory(0, fast_directory(first_miss_limit));
    c.start_directory(fast_directory(miss_limit));
    for (int i = 0; i < 3; ++i) c.add_instance("v1");
    c.start_sherlock_managed();
  }
  // Call from the test body (ASSERTs).
  void converge() {
    ASSERT_TRUE(wait_until([&] { return converged(c, 3); }, kConverge))
        << c.sherlock_digest() << "\n"
        << c.logs();
    ASSERT_TRUE(wait_until(
        [&] {
          for (std::size_t k = 0; k < c.directory_count(); ++k) {
            const auto s = c.stream(k);
            if (!s || s->warmup || !s->live) return false;
          }
          const auto r = http_get("127.0.0.1", c.frontend_port(), "/greeting/");
          return r && r->status == 200;
        },
        kConverge))
        << c.sherlock_digest();
    watch =
        std::make_unique<RouteWatch>(c.sherlock_http_port(), "greeting", c.managed_admin_socket());
    ASSERT_TRUE(wait_until([&] { return ready() == expected(); }, kConverge)) << watch->describe();
  }
  std::set<std::string> ready() const {
    const auto r = watch->ready();
    return r.empty() ? std::set<std::string>{} : r.back().items;
  }
  // What should be routed: the instances whose watson runs.
  std::set<std::string> expected() {
    std::set<std::string> out;
    for (std::size_t i = 0; i < c.instance_count(); ++i) {
      if (c.instance(i).watson && c.instance(i).watson->running()) out.insert(c.address_of(i));
    }
    return out;
  }
  // Starts an instance, reports (and bounds) how long until sherlock shows it and HAProxy routes
  // it; returns its index.
  std::size_t join(const std::string& what) {
    const std::size_t i = c.add_instance("v2");
    const auto from = Clock::now();
    const std::string me = c.address_of(i);
    const auto t = time_to(*watch, from, true, [&](const auto& s) { return contains(s, me); });
    EXPECT_TRUE(t) << what << ": " << me << " never ready in HAProxy\n" << watch->describe();
    const auto tr =
        time_to(*watch, from, false, [&](const auto& s) { return contains(addresses(s), me); });
    if (tr) report(what + " join -> sherlock /routes", tr->count());
    if (t) {
      report(what + " join -> HAProxy ready", t->count());
      EXPECT_LT(*t, kChangeBound) << what;
    }
    return i;
  }
  // Instance i's watson says goodbye; how long until HAProxy stops sending it new requests.
  milliseconds leave(std::size_t i, const std::string& what) {
    const auto from = Clock::now();
    c.say_goodbye(i);
    const std::string me = c.address_of(i);
    const auto t = time_to(*watch, from, true, [&](const auto& s) { return !contains(s, me); });
    EXPECT_TRUE(t) << what << ": " << me << " still ready in HAProxy\n" << watch->describe();
    const auto tr =
        time_to(*watch, from, false, [&](const auto& s) { return !contains(addresses(s), me); });
    if (tr) report(what + " leave -> sherlock /routes", tr->count());
    if (t) {
      report(what + " leave -> HAProxy not ready", t->count());
      EXPECT_LT(*t, kChangeBound) << what;
    }
    c.instance(i).watson->wait_exit(3000ms);
    return t.value_or(kConverge);
  }
  // Nothing changed at sherlock or HAProxy at or after `from`.
  void expect_no_change_since(Clock::time_point from, const std::string& what) {
    EXPECT_EQ(watch->route_changes_since(from), 0u) << what << "\n" << watch->describe();
    EXPECT_EQ(watch->ready_changes_since(from), 0u) << what << "\n" << watch->describe();
  }

  Cluster c;
  std::unique_ptr<RouteWatch> watch;
};

// (1) Two and three directories: one SIGKILLed under keep-alive load through HAProxy. No request
// fails; an instance that joins and one that leaves meanwhile are routed accordingly, through the
// directories left; and nothing changes when sherlock finds the killed one unreachable.
class DirectoryKilledUnderLoad : public ::testing::TestWithParam<std::size_t> {};

TEST_P(DirectoryKilledUnderLoad, NoRequestFailsAndJoinsAndLeavesAreRouted) {
  const std::size_t n = GetParam();
  const std::size_t victim = n - 2;  // 0 of two, 1 of three (not always the first stream)
  ManagedCluster m(n);
  ASSERT_NO_FATAL_FAILURE(m.converge());
  Cluster& c = m.c;
  HttpLoad load("127.0.0.1", c.frontend_port(), "/greeting/", 4);
  std::this_thread::sleep_for(300ms);

  const auto killed = Clock::now();
  c.kill_directory(victim);
  std::this_thread::sleep_for(200ms);
  const std::size_t joined = m.join(std::to_string(n) + " directories, one killed:");
  m.leave(0, std::to_string(n) + " directories, one killed:");
  EXPECT_EQ(m.ready(), m.expected());

  // Sherlock notices the killed directory is silent (3 s without a datagram): its stream stops
  // being live, and that changes nothing.
  ASSERT_TRUE(wait_until(
      [&] {
        const auto s = c.stream(victim);
        return s && !s->reachable;
      },
      kConverge))
      << c.sherlock_digest();
  std::this_thread::sleep_for(500ms);
  // Exactly the two changes made: the join, then the leave.
  const auto ready = m.watch->ready();
  std::size_t after_kill = 0;
  for (const auto& s : ready) after_kill += s.at >= killed ? 1 : 0;
  EXPECT_EQ(after_kill, 2u) << m.watch->describe();
  EXPECT_EQ(m.ready(), m.expected());
  EXPECT_EQ(addresses(c.sherlock_routes("greeting")), m.expected());

  load.stop();
  EXPECT_EQ(load.failed(), 0u) << (load.failures().empty() ? "" : load.failures().front());
  EXPECT_GT(load.ok(), 100u);
  std::uint64_t from_joined = 0;
  for (const auto& [body, count] : load.bodies()) {
    if (body.find(c.address_of(joined)) != std::string::npos) from_joined += count;
  }
  EXPECT_GT(from_joined, 0u) << "the instance that joined after the kill got no request";
  std::cout << "[ measured ] " << n << " directories, one killed: " << load.ok()
            << " requests answered, " << load.failed() << " failed" << std::endl;
}

INSTANTIATE_TEST_SUITE_P(TwoAndThree, DirectoryKilledUnderLoad, ::testing::Values(2u, 3u),
                         [](const auto& info) {
                           return std::to_string(info.param) + "Directories";
                         });

// (2) Directory 0 cut from the watsons (it still talks to the sherlock): a Goodbye it never hears
// still removes the instance at once (through directory 1, not after directory 0's expiry); then
// directory 0 expires everything while it stays live, and the route set does not change; an
// instance joins through directory 1; healed, directory 0 hears everyone again and nothing flaps.
TEST(MultiDirectory, PartitionedFromTheWatsonsItsExpiriesRemoveNothing) {
  ASSERT_EQ(enter_private_network(), "");
  ManagedCluster m(2, /*miss_limit=*/10);  // directory 0 expires a silent instance after 1 s
  ASSERT_NO_FATAL_FAILURE(m.converge());
  Cluster& c = m.c;

  c.cut_directory_from_watsons(0);
  // The leave must not wait for directory 0's expiry of the instance (1 s): the Goodbye at
  // directory 1 shadows directory 0's older record of the same incarnation.
  const auto leave_t = m.leave(0, "partitioned from the watsons:");
  EXPECT_LT(leave_t, 600ms) << "the leave waited for the partitioned directory's expiry";

  const auto cut = Clock::now();
  ASSERT_TRUE(wait_until([&] { return c.directory_routes("greeting", 0).empty(); }, kConverge))
      << "directory 0 did not expire the instances it no longer hears";
  // The expiries reached sherlock (its stream of directory 0 holds nothing) while it stayed live.
  ASSERT_TRUE(wait_until(
      [&] {
        const auto s = c.stream(0);
        return s && s->routes == 0 && s->synced;
      },
      3000ms))
      << c.sherlock_digest();
  std::this_thread::sleep_for(300ms);
  const auto s0 = c.stream(0);
  ASSERT_TRUE(s0);
  EXPECT_TRUE(s0->reachable && s0->live) << c.sherlock_digest();
  EXPECT_GT(c.directory_drops(0), 0u);
  m.expect_no_change_since(cut, "directory 0's expiries changed the route set");
  EXPECT_EQ(m.ready(), m.expected());

  m.join("partitioned from the watsons:");
  EXPECT_EQ(c.directory_routes("greeting", 0).size(), 0u);

  c.heal_directory(0);
  const auto healed = Clock::now();
  ASSERT_TRUE(wait_until(
      [&] {
        const auto s = c.stream(0);
        return c.directory_routes("greeting", 0) == c.directory_routes("greeting", 1) && s &&
               s->routes == 3;
      },
      kConverge))
      << c.sherlock_digest();
  std::this_thread::sleep_for(500ms);
  m.expect_no_change_since(healed, "directory 0 hearing the watsons again changed the route set");
  EXPECT_EQ(m.ready(), m.expected());
}

// (3) Directory 0 cut from the sherlock only (it still hears the watsons): routes stay; a join,
// a Goodbye and a crashed watson's expiry all arrive through directory 1, and directory 0's
// frozen records keep nothing once sherlock finds it unreachable; healed, nothing flaps.
TEST(MultiDirectory, PartitionedFromTheSherlockChangesArriveThroughTheOther) {
  ASSERT_EQ(enter_private_network(), "");
  ManagedCluster m(2);
  ASSERT_NO_FATAL_FAILURE(m.converge());
  Cluster& c = m.c;

  const auto cut = Clock::now();
  c.cut_directory_from_sherlock(0);
  std::this_thread::sleep_for(200ms);
  m.expect_no_change_since(cut, "cutting directory 0 from the sherlock changed the route set");
  m.join("partitioned from the sherlock:");
  m.leave(0, "partitioned from the sherlock:");

  ASSERT_TRUE(wait_until(
      [&] {
        const auto s = c.stream(0);
        return s && !s->reachable && !s->live;
      },
      kConverge))
      << c.sherlock_digest();
  // A crash (no Goodbye): both directories expire it after 5 x 100 ms; only directory 1 can tell.
  const auto crashed = Clock::now();
  const std::string gone = c.address_of(1);
  c.instance(1).watson->signal(SIGKILL);
  c.instance(1).watson->wait_exit(2000ms);
  const auto t =
      time_to(*m.watch, crashed, true, [&](const auto& s) { return !contains(s, gone); });
  ASSERT_TRUE(t) << m.watch->describe();
  report("partitioned from the sherlock: crashed watson expired -> HAProxy not ready", t->count());
  EXPECT_LT(*t, 500ms + kChangeBound);
  EXPECT_EQ(m.ready(), m.expected());
  EXPECT_GT(c.directory_drops(0), 0u);

  c.heal_directory(0);
  const auto healed = Clock::now();
  ASSERT_TRUE(wait_until(
      [&] {
        const auto s = c.stream(0);
        return s && s->reachable && s->live && s->synced && s->routes == 2;
      },
      kConverge))
      << c.sherlock_digest();
  std::this_thread::sleep_for(500ms);
  m.expect_no_change_since(healed, "directory 0 reachable again changed the route set");
  EXPECT_EQ(m.ready(), m.expected());
  EXPECT_EQ(addresses(c.sherlock_routes("greeting")), m.expected());
}

// (4) Restarts with warm-up. Directory 0 is SIGKILLed and restarted while it hears no watson, so
// the snapshot sherlock gets from it during its warm-up (7 x 1 s: miss-limit 7) is empty;
// directory 1 is SIGKILLed at the same time, and sherlock stops counting it: the only stream that
// answers is a warming-up empty one, whose absence means nothing, and the other is frozen. No
// route is lost; directory 0 then hears everyone, ends its warm-up, and carries a join and a leave
// alone; directory 1 comes back. Nothing flaps, ever.
TEST(MultiDirectory, RestartsThroughWarmUpLoseNoRouteAndNothingFlaps) {
  ASSERT_EQ(enter_private_network(), "");
  ManagedCluster m(2);
  ASSERT_NO_FATAL_FAILURE(m.converge());
  Cluster& c = m.c;
  HttpLoad load("127.0.0.1", c.frontend_port(), "/greeting/", 2);

  const auto start = Clock::now();
  const auto before = c.stream(0);
  ASSERT_TRUE(before);
  c.kill_directory(0);
  c.cut_directory_from_watsons(0);
  std::this_thread::sleep_for(300ms);
  auto warm = fast_directory(7);
  warm.insert(warm.end(), {"--warmup-max", "9s"});
  c.start_directory(0, warm);
  c.kill_directory(1);
  // Sherlock finds the new process (it probes a silent directory) and takes its empty snapshot,
  // and stops counting the silent directory 1 (3 s without a datagram).
  ASSERT_TRUE(wait_until(
      [&] {
        const auto s0 = c.stream(0);
        const auto s1 = c.stream(1);
        return s0 && s0->epoch != before->epoch && s0->warmup && s1 && !s1->live;
      },
      kConverge))
      << c.sherlock_digest();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(c.directory_routes("greeting", 0).size(), 0u);
  EXPECT_EQ(m.ready(), m.expected()) << m.watch->describe();
  const auto s0 = c.stream(0);
  ASSERT_TRUE(s0 && s0->warmup) << "directory 0's warm-up ended too soon for the test: "
                                << c.sherlock_digest();

  c.heal_directory(0);
  ASSERT_TRUE(wait_until(
      [&] {
        const auto s = c.stream(0);
        return s && !s->warmup && s->live && s->routes == 3;
      },
      kConverge))
      << c.sherlock_digest();
  m.join("directory 1 down, directory 0 restarted:");
  m.leave(0, "directory 1 down, directory 0 restarted:");

  c.start_directory(1);
  ASSERT_TRUE(wait_until(
      [&] {
        const auto s = c.stream(1);
        return s && s->live && s->synced && s->routes == 3;
      },
      kConverge))
      << c.sherlock_digest();
  std::this_thread::sleep_for(300ms);
  // The route set went through exactly the join and the leave.
  std::size_t changes = 0;
  for (const auto& s : m.watch->ready()) changes += s.at >= start ? 1 : 0;
  EXPECT_EQ(changes, 2u) << m.watch->describe();
  EXPECT_EQ(m.watch->route_changes_since(start), 2u) << m.watch->describe();
  EXPECT_EQ(c.directory_routes("greeting", 0), c.directory_routes("greeting", 1));
  EXPECT_EQ(addresses(c.sherlock_routes("greeting")), m.expected());
  load.stop();
  EXPECT_EQ(load.failed(), 0u) << (load.failures().empty() ? "" : load.failures().front());
}

// (5) 20% loss each way on directory 0's link (watsons and sherlock alike): joins and leaves
// still arrive at once, and neither a lost Goodbye nor a false expiry at directory 0 flaps a route.
// Directory 0 expires after 2 silent intervals, so at 20% loss it expires live instances falsely
// several times a second (each then back at the next heartbeat heard): all absorbed by the merge.
TEST(MultiDirectory, TwentyPercentLossOnOneDirectoryChangesArriveAndNothingFlaps) {
  ASSERT_EQ(enter_private_network(), "");
  ManagedCluster m(2, 5, /*first_miss_limit=*/2);
  ASSERT_NO_FATAL_FAILURE(m.converge());
  Cluster& c = m.c;

  const auto start = Clock::now();
  c.set_directory_loss(0, 20);
  std::this_thread::sleep_for(1000ms);
  m.join("20% loss on one directory:");
  m.leave(0, "20% loss on one directory:");
  m.join("20% loss on one directory:");
  m.leave(1, "20% loss on one directory:");
  std::this_thread::sleep_for(2000ms);
  EXPECT_GT(c.directory_drops(0), 5u) << "the loss was not real";
  const double false_expiries =
      c.directory_metric("baker_directory_route_changes_total{kind=\"expiry\"}", 0);
  std::cout << "[ measured ] 20% loss on one directory: " << false_expiries
            << " expiries at the lossy directory (2 of them are the leaves if their Goodbyes were"
               " all lost)"
            << std::endl;
  c.heal_directory(0);
  ASSERT_TRUE(wait_until(
      [&] {
        const auto s = c.stream(0);
        return c.directory_routes("greeting", 0) == c.directory_routes("greeting", 1) && s &&
               s->synced && s->routes == 3;
      },
      kConverge))
      << c.sherlock_digest();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(m.watch->ready_changes_since(start), 4u) << m.watch->describe();
  EXPECT_EQ(m.watch->route_changes_since(start), 4u) << m.watch->describe();
  EXPECT_EQ(m.ready(), m.expected());
}

// (6) Every start order of two directories, a watson and a sherlock (24): each converges to the
// route at sherlock and at both directories, with both streams synced. The 24 clusters run side
// by side (their own ports), each in its own order, so the whole takes seconds.
TEST(MultiDirectory, EveryStartOrderOfTwoDirectoriesAWatsonAndASherlockConverges) {
  std::array<int, 4> order = {0, 1, 2, 3};  // 0, 1 directories; 2 watson; 3 sherlock
  std::vector<std::array<int, 4>> orders;
  do {
    orders.push_back(order);
  } while (std::next_permutation(order.begin(), order.end()));
  ASSERT_EQ(orders.size(), 24u);

  std::vector<std::unique_ptr<Cluster>> clusters;
  for (std::size_t i = 0; i < orders.size(); ++i) {
    clusters.push_back(std::make_unique<Cluster>(2));
    clusters.back()->set_watson_interval_ms(kWatsonIntervalMs);
  }
  for (int step = 0; step < 4; ++step) {
    for (std::size_t i = 0; i < orders.size(); ++i) {
      Cluster& c = *clusters[i];
      switch (orders[i][step]) {
        case 0:
        case 1:
          c.start_directory(static_cast<std::size_t>(orders[i][step]), fast_directory());
          break;
        case 2:
          c.add_checkless_instance("v1", {"--goodbye-count", "1"});
          break;
        case 3:
          c.start_sherlock_replica_only();
          break;
      }
    }
    std::this_thread::sleep_for(150ms);
  }
  const auto started = Clock::now();
  std::vector<bool> done(orders.size(), false);
  long slowest = 0;
  wait_until(
      [&] {
        bool all = true;
        for (std::size_t i = 0; i < orders.size(); ++i) {
          if (!done[i] && converged(*clusters[i], 1)) {
            done[i] = true;
            slowest = std::max(slowest, ms(Clock::now() - started));
          }
          all = all && done[i];
        }
        return all;
      },
      kConverge, 50ms);
  for (std::size_t i = 0; i < orders.size(); ++i) {
    std::string name;
    for (int s : orders[i]) name += std::to_string(s);
    EXPECT_TRUE(done[i]) << "start order " << name
                         << " (0, 1 directories; 2 watson; 3 sherlock) did not converge: "
                         << clusters[i]->sherlock_digest() << "\n"
                         << clusters[i]->logs();
  }
  report("every start order: slowest convergence after the last start", slowest);
  // Stop them side by side too.
  std::vector<std::thread> stops;
  for (auto& c : clusters) stops.emplace_back([&c] { c.reset(); });
  for (auto& t : stops) t.join();
}

// (7) Freshest wins, never the directory that spoke last, and a Goodbye shadows its incarnation
// everywhere. A watson restarted (a new incarnation, a new port) heartbeats to directory 1 only;
// directory 0, which never heard the new process, keeps getting the old process's heartbeats (a
// replay, re-stamped: no keys here) and speaks last each time. Sherlock shows the new port
// throughout (the stale record is at the lower stream, which wins ties: only the versions can
// make it lose); the old process's Goodbye at directory 0 removes nothing; the new process's
// Goodbye, heard by directory 1 only, removes the route at once though directory 0 still holds it.
TEST(MultiDirectory, StaleRecordAtOneDirectoryNeverWinsAndAGoodbyeShadowsItEverywhere) {
  constexpr std::size_t kStale = 0, kFresh = 1;
  Cluster c(2);
  c.start_directory(fast_directory(10));
  c.start_sherlock_replica_only();
  std::this_thread::sleep_for(300ms);  // past the directories' start + skew
  UdpSocket watson;
  const std::uint64_t old_inc = baker::unix_time_us();
  const std::uint64_t new_inc = old_inc + 1000;
  std::uint64_t old_seq = 0, new_seq = 0;
  const auto heartbeat = [&](std::uint64_t inc, std::uint64_t seq, std::uint16_t port) {
    wire::Heartbeat h;
    h.route.service = "greeting";
    h.route.instance = "web-1";
    h.route.address = wire::IpAddress::v4(127, 0, 0, 1);
    h.route.port = port;
    h.incarnation = inc;
    h.seq = seq;
    h.interval_ms = 100;
    h.sent_ms = baker::unix_time_ms();
    return wire::encode(h);
  };
  const auto goodbye = [&](std::uint64_t inc, std::uint64_t seq) {
    wire::Goodbye g;
    g.service = "greeting";
    g.instance = "web-1";
    g.incarnation = inc;
    g.seq = seq;
    g.sent_ms = baker::unix_time_ms();
    return wire::encode(g);
  };
  const auto to = [&](std::size_t k, const wire::Bytes& b) {
    watson.send_to(b, "127.0.0.1", c.directory_port(k));
  };
  const std::string old_route = "web-1@127.0.0.1:7001/100/up";
  const std::string new_route = "web-1@127.0.0.1:7002/100/up";

  // The new process, at directory 1 only.
  const auto beat = [&](bool old_too, milliseconds d) {
    const auto end = Clock::now() + d;
    while (Clock::now() < end) {
      to(kFresh, heartbeat(new_inc, ++new_seq, 7002));
      if (old_too) to(kStale, heartbeat(old_inc, ++old_seq, 7001));
      std::this_thread::sleep_for(50ms);
    }
  };
  beat(false, 300ms);
  ASSERT_TRUE(wait_until([&] { return c.sherlock_routes("greeting").size() == 1; }, kConverge));
  ASSERT_EQ(c.sherlock_routes("greeting"), std::set<std::string>{new_route}) << c.logs();
  RouteWatch watch(c.sherlock_http_port(), "greeting");

  const auto stale = Clock::now();
  beat(true, 1000ms);
  ASSERT_EQ(c.directory_routes("greeting", kStale), std::set<std::string>{old_route})
      << "directory 0 should hold the old process's record";
  EXPECT_EQ(watch.route_changes_since(stale), 0u)
      << "the older incarnation at directory 0 won the merge\n"
      << watch.describe();

  // The old process's Goodbye (at directory 0): its record goes there, the new one stays.
  to(kStale, goodbye(old_inc, ++old_seq));
  beat(false, 500ms);
  EXPECT_EQ(c.directory_routes("greeting", kStale).size(), 0u);
  EXPECT_EQ(watch.route_changes_since(stale), 0u)
      << "an old incarnation's Goodbye removed the new one\n"
      << watch.describe();
  EXPECT_EQ(c.sherlock_routes("greeting"), std::set<std::string>{new_route});

  // Directory 0 now hears the new process too; then the new process leaves and only directory 1
  // hears its Goodbye. Directory 0 holds the record until it expires it (10 x 100 ms): the
  // Goodbye's version shadows it at once, and nothing shows it again meanwhile.
  const auto both = Clock::now();
  for (int i = 0; i < 6; ++i) {
    const auto b = heartbeat(new_inc, ++new_seq, 7002);
    to(kFresh, b);
    to(kStale, b);
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(c.directory_routes("greeting", kStale), std::set<std::string>{new_route});
  EXPECT_EQ(watch.route_changes_since(both), 0u) << watch.describe();
  const auto bye = Clock::now();
  to(kFresh, goodbye(new_inc, ++new_seq));
  const auto t = time_to(watch, bye, false, [](const auto& s) { return s.empty(); });
  ASSERT_TRUE(t) << watch.describe() << c.sherlock_digest();
  report("Goodbye at one directory, the other still holding the record -> sherlock /routes",
         t->count());
  EXPECT_LT(*t, 500ms) << "the route waited for the other directory's expiry";
  const auto removed = Clock::now();
  ASSERT_TRUE(
      wait_until([&] { return c.directory_routes("greeting", kStale).empty(); }, kConverge));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(watch.route_changes_since(removed), 0u) << "the record the Goodbye shadowed came back\n"
                                                    << watch.describe();
  EXPECT_TRUE(c.sherlock_routes("greeting").empty());
}

// (8) Streams are told apart by their directory's address, never by what a datagram says. With
// keys (an insider's worst case: validly signed), directory 1 is killed and its address taken by
// the test, which sends sherlock Deltas, Ticks and snapshot chunks of directory 0's epoch and
// sequence, replacing the one route with another address: they reach only the stream of directory
// 1 (which follows another epoch), so the merged route set does not change, directory 0's stream
// keeps its epoch and sequence, and directory 0's next change still arrives.
TEST(MultiDirectory, DatagramsOfOneDirectoryFromAnothersAddressChangeNothing) {
  Cluster c(2);
  const std::string key = "1 " + std::string(64, 'c') + "\n";
  c.dir().write("keys", key);
  const auto keyfile = c.dir().file("keys");
  auto flags = fast_directory();
  flags.insert(flags.end(), {"--key-file", keyfile});
  c.set_watson_interval_ms(kWatsonIntervalMs);
  c.start_directory(flags);
  c.add_checkless_instance("v1", {"--key-file", keyfile});
  c.start_sherlock_replica_only({"--key-file", keyfile});
  ASSERT_TRUE(wait_until([&] { return converged(c, 1); }, kConverge)) << c.logs();
  const auto routes = c.sherlock_routes();
  const auto before = c.stream(0);
  ASSERT_TRUE(before);
  // Sherlock's subscriber id, from directory 0's log.
  const std::string log = c.directory(0).log();
  const std::string tail =
      " at 127.0.0.1:" + std::to_string(c.sherlock_udp_port()) + ": subscribed";
  const auto at = log.find(tail);
  ASSERT_NE(at, std::string::npos) << log;
  const std::uint64_t subscriber = std::stoull(log.substr(at - 16, 16), nullptr, 16);
  const std::uint64_t epoch0 = std::stoull(before->epoch, nullptr, 16);

  c.kill_directory(1);
  UdpSocket impostor(c.directory_port(1));  // directory 1's own address, now the test's
  std::string err;
  const auto ring = *wire::Keyring::parse(key, &err);
  wire::Route evil;
  const std::string instance = routes.begin()->substr(0, routes.begin()->find('@'));
  evil.service = "greeting";
  evil.instance = instance;
  evil.address = wire::IpAddress::v4(127, 0, 0, 66);
  evil.port = 6666;
  const wire::Version newest{~std::uint64_t{0} >> 1, 1};
  wire::Delta delta;
  delta.epoch = epoch0;
  delta.subscriber_id = subscriber;
  delta.from_seq = before->seq;
  delta.to_seq = before->seq + 1;
  delta.ops.push_back({wire::OpKind::update, evil, newest});
  wire::Tick tick;
  tick.epoch = epoch0;
  tick.subscriber_id = subscriber;
  tick.seq = before->seq + 1;
  tick.digest = wire::table_digest(std::vector<wire::Route>{evil});
  tick.route_count = 1;
  tick.lease_ms = 15000;
  wire::SnapshotChunk chunk;
  chunk.epoch = epoch0;
  chunk.subscriber_id = subscriber;
  chunk.seq = before->seq + 1;
  chunk.routes = {evil};
  chunk.versions = {newest};
  for (int i = 0; i < 10; ++i) {
    for (const wire::Message& m : std::vector<wire::Message>{delta, tick, chunk}) {
      impostor.send_to(wire::encode(m, &ring), "127.0.0.1", c.sherlock_udp_port());
    }
    std::this_thread::sleep_for(30ms);
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(c.sherlock_routes(), routes)
      << "directory 0's stream was fed from directory 1's address";
  const auto after = c.stream(0);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->epoch, before->epoch);
  EXPECT_TRUE(after->synced) << c.sherlock_digest();
  // Directory 0 still carries changes.
  c.add_checkless_instance("v2", {"--key-file", keyfile});
  EXPECT_TRUE(wait_until([&] { return c.sherlock_count("greeting") == 2; }, kConverge))
      << c.sherlock_digest();
  EXPECT_EQ(c.sherlock_routes().count(*routes.begin()), 1u);
}

// (9) Operators' view with two directories: sherlock's /metrics labels each stream's families
// with its directory and passes the exposition checks (ours and promtool's); /digest lists both.
TEST(MultiDirectory, MetricsAndDigestShowEachDirectory) {
  ManagedCluster m(2);
  ASSERT_NO_FATAL_FAILURE(m.converge());
  Cluster& c = m.c;
  const std::string page = c.sherlock_metrics();
  EXPECT_EQ(check_metrics(page), std::vector<std::string>{}) << page;
  EXPECT_EQ(promtool_check(page), "") << page;
  for (std::size_t k = 0; k < 2; ++k) {
    const std::string label = "127.0.0.1:" + std::to_string(c.directory_port(k));
    EXPECT_EQ(metric_sum(page, "baker_sherlock_directory_reachable", {{"directory", label}}), 1)
        << page;
    EXPECT_EQ(metric_sum(page, "baker_sherlock_synced", {{"directory", label}}), 1) << page;
    const auto s = c.stream(k);
    ASSERT_TRUE(s) << c.sherlock_digest();
    EXPECT_EQ(s->routes, 3u);
    EXPECT_TRUE(s->live && s->reachable && s->synced && !s->warmup);
  }
  EXPECT_NE(c.sherlock_digest().find("\"routes\":3"), std::string::npos) << c.sherlock_digest();
}

}  // namespace
}  // namespace baker::testing
