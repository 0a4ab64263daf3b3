#include "watson/watson_core.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "wire/validate.hpp"

namespace baker::watson {
namespace {

using namespace std::chrono_literals;

// A process start in 2026 (us since 1970), and the wall clock the simulated shell gives at t0.
constexpr std::uint64_t kIncarnation = 1'796'000'000'000'000ULL;
constexpr std::uint64_t kWallAtStart = 1'796'000'000'250ULL;

CoreSettings settings() {
  CoreSettings s;
  s.route.service = "greeting";
  s.route.instance = "10.0.0.5:8080";
  s.route.address = wire::IpAddress::v4(10, 0, 0, 5);
  s.route.port = 8080;
  s.route.weight = 50;
  s.route.tags = {"v2", "zone-a"};
  s.incarnation = kIncarnation;
  s.heartbeat_interval = 1000ms;
  s.check_interval = 1000ms;
  s.jitter = 0.1;
  s.healthy_threshold = 2;
  s.unhealthy_threshold = 3;
  s.goodbye_count = 3;
  s.goodbye_spacing = 100ms;
  return s;
}

struct Sent {
  TimePoint at;
  wire::Message message;
  bool is_heartbeat() const { return std::holds_alternative<wire::Heartbeat>(message); }
  bool is_goodbye() const { return std::holds_alternative<wire::Goodbye>(message); }
  const wire::Heartbeat& heartbeat() const { return std::get<wire::Heartbeat>(message); }
  const wire::Goodbye& goodbye() const { return std::get<wire::Goodbye>(message); }
  std::uint64_t seq() const { return is_heartbeat() ? heartbeat().seq : goodbye().seq; }
};

// Drives a WatsonCore in simulated time the way the daemon does: wakes it at next_deadline(), runs
// each check it asks for (taking check_latency), and records every datagram with its time.
class Sim {
 public:
  explicit Sim(CoreSettings s = settings(), HeartbeatSchedule::Uniform u = make_uniform(1))
      : core(std::move(s), std::move(u)) {
    core.set_wall_clock(kWallAtStart, clock.now());
  }

  // The wall clock the simulated shell reports at t (it runs with simulated time).
  std::uint64_t wall_at(TimePoint t) const {
    return kWallAtStart +
           static_cast<std::uint64_t>(std::chrono::duration_cast<milliseconds>(t - t0).count());
  }

  void start() { take(core.start(clock.now())); }

  // Runs until `until`; `passes` decides each check's result from its completion time.
  void run_until(TimePoint until) {
    while (true) {
      std::optional<TimePoint> next = core.next_deadline();
      if (check_done_at && (!next || *check_done_at <= *next)) next = check_done_at;
      if (!next || *next > until) break;
      clock.set(std::max(*next, clock.now()));
      if (check_done_at && *check_done_at <= clock.now()) {
        check_done_at.reset();
        ++checks_completed;
        take(core.on_check_result(passes(clock.now()), clock.now()));
      } else {
        take(core.on_timer(clock.now()));
      }
    }
    clock.set(std::max(until, clock.now()));
  }
  void run_for(Duration d) { run_until(clock.now() + d); }

  void take(Actions a) {
    for (auto& m : a.send) {
      EXPECT_FALSE(wire::validate(m).has_value()) << "core produced an invalid message";
      sent.push_back({clock.now(), std::move(m)});
    }
    if (a.start_check) {
      EXPECT_FALSE(check_done_at.has_value()) << "two checks at once";
      ++checks_started;
      check_done_at = clock.now() + check_latency;
    }
    if (a.finished) finished = true;
  }

  std::vector<Sent> heartbeats() const {
    std::vector<Sent> out;
    for (const auto& s : sent) {
      if (s.is_heartbeat()) out.push_back(s);
    }
    return out;
  }
  std::vector<Sent> goodbyes() const {
    std::vector<Sent> out;
    for (const auto& s : sent) {
      if (s.is_goodbye()) out.push_back(s);
    }
    return out;
  }

  ManualTimeSource clock;
  TimePoint t0 = clock.now();
  WatsonCore core;
  std::function<bool(TimePoint)> passes = [](TimePoint) { return true; };
  Duration check_latency = 5ms;
  std::optional<TimePoint> check_done_at;
  int checks_started = 0;
  int checks_completed = 0;
  bool finished = false;
  std::vector<Sent> sent;
};

TEST(WatsonCore, FirstPassingCheckAnnouncesAtOnceWithEveryField) {
  Sim sim;
  const auto t0 = sim.clock.now();
  sim.start();
  EXPECT_EQ(sim.checks_started, 1);  // the first check starts immediately
  sim.run_for(5ms);
  ASSERT_EQ(sim.sent.size(), 1u);
  ASSERT_TRUE(sim.sent[0].is_heartbeat());
  const auto& hb = sim.sent[0].heartbeat();
  EXPECT_EQ(sim.sent[0].at, t0 + 5ms);
  EXPECT_EQ(hb.route.service, "greeting");
  EXPECT_EQ(hb.route.instance, "10.0.0.5:8080");
  EXPECT_EQ(hb.route.address, wire::IpAddress::v4(10, 0, 0, 5));
  EXPECT_EQ(hb.route.port, 8080);
  EXPECT_EQ(hb.route.weight, 50);
  EXPECT_EQ(hb.route.tags, (std::vector<std::string>{"v2", "zone-a"}));
  EXPECT_EQ(hb.route.state, wire::InstanceState::up);
  EXPECT_EQ(hb.incarnation, kIncarnation);
  EXPECT_EQ(hb.seq, 1u);
  EXPECT_EQ(hb.interval_ms, 1000u);
  EXPECT_TRUE(sim.core.announced());
}

TEST(WatsonCore, FirstFailingCheckSendsNothing) {
  Sim sim;
  sim.passes = [](TimePoint) { return false; };
  sim.start();
  sim.run_for(10s);
  EXPECT_TRUE(sim.sent.empty());
  EXPECT_EQ(sim.core.health(), Health::unhealthy);
  EXPECT_GE(sim.checks_completed, 10);  // it keeps checking
}

TEST(WatsonCore, AnHourOfHeartbeatsKeepsIncarnationSequenceAndJitterBounds) {
  Sim sim;
  sim.start();
  sim.run_for(1h);
  const auto hbs = sim.heartbeats();
  ASSERT_GT(hbs.size(), 3600u);  // gaps are at most 1 s...
  ASSERT_LT(hbs.size(), 4001u);  // ...and at least 0.9 s
  Duration lo = 1h;
  Duration hi = 0s;
  for (std::size_t i = 0; i < hbs.size(); ++i) {
    EXPECT_EQ(hbs[i].heartbeat().incarnation, kIncarnation);
    ASSERT_EQ(hbs[i].heartbeat().seq, i + 1) << "seq must rise by one per datagram";
    if (i == 0) continue;
    const auto gap = hbs[i].at - hbs[i - 1].at;
    lo = std::min(lo, gap);
    hi = std::max(hi, gap);
  }
  EXPECT_GE(lo, 900ms);
  EXPECT_LE(hi, 1000ms);
  EXPECT_LT(lo, 910ms);  // the jitter is really used
  EXPECT_GT(hi, 990ms);
  EXPECT_TRUE(sim.goodbyes().empty());
}

TEST(WatsonCore, ChecksStartOneIntervalApartOrAtOnceAfterASlowOne) {
  Sim sim;
  sim.check_latency = 300ms;
  sim.start();
  sim.run_for(10s + 1ms);
  EXPECT_EQ(sim.checks_started, 11);  // t = 0, 1, ..., 10 s
  Sim slow;
  slow.check_latency = 2500ms;
  slow.start();
  slow.run_for(10s + 1ms);
  EXPECT_EQ(slow.checks_started, 5);  // back to back: t = 0, 2.5, 5, 7.5, 10 s
}

TEST(WatsonCore, OneFailureDoesNotFlapAndFallSaysGoodbyeThreeTimesSpaced) {
  Sim sim;
  TimePoint fail_from = TimePoint::max();
  TimePoint single_failure{};
  sim.passes = [&](TimePoint now) { return now < fail_from && now != single_failure; };
  const auto t0 = sim.clock.now();
  single_failure = t0 + 3s + 5ms;  // the check started at 3 s fails alone
  sim.start();
  sim.run_for(10s);
  EXPECT_TRUE(sim.goodbyes().empty());
  EXPECT_TRUE(sim.core.announced());

  fail_from = sim.clock.now() + 10ms;  // after the check in flight at 10 s (it passes)
  const auto hb_before = sim.heartbeats().size();
  sim.run_for(2s + 100ms);  // two failures: still healthy and heartbeating
  EXPECT_TRUE(sim.goodbyes().empty());
  EXPECT_GT(sim.heartbeats().size(), hb_before);
  sim.run_for(1s + 300ms);  // the third failure, and the goodbyes 100 and 200 ms after it
  const auto byes = sim.goodbyes();
  ASSERT_EQ(byes.size(), 3u);
  EXPECT_EQ(byes[1].at - byes[0].at, 100ms);
  EXPECT_EQ(byes[2].at - byes[1].at, 100ms);
  EXPECT_EQ(byes[0].goodbye().service, "greeting");
  EXPECT_EQ(byes[0].goodbye().instance, "10.0.0.5:8080");
  EXPECT_EQ(byes[0].goodbye().incarnation, kIncarnation);
  // Goodbyes share the heartbeat sequence space: +1 per datagram.
  for (std::size_t i = 0; i < sim.sent.size(); ++i) EXPECT_EQ(sim.sent[i].seq(), i + 1);
  EXPECT_FALSE(sim.core.announced());
  const auto total = sim.sent.size();
  sim.run_for(30s);
  EXPECT_EQ(sim.sent.size(), total) << "nothing is sent while unhealthy";
  EXPECT_FALSE(sim.finished);
}

TEST(WatsonCore, RecoveryAfterRiseResumesHeartbeatsInTheSameIncarnation) {
  Sim sim;
  bool healthy = true;
  sim.passes = [&](TimePoint) { return healthy; };
  sim.start();
  sim.run_for(5s);
  healthy = false;
  sim.run_for(5s);
  ASSERT_EQ(sim.goodbyes().size(), 3u);
  const auto last_seq = sim.sent.back().seq();
  const auto sent_before = sim.sent.size();
  healthy = true;
  auto run_one_check = [&sim] {
    const int done = sim.checks_completed;
    while (sim.checks_completed == done) sim.run_for(10ms);
  };
  run_one_check();  // one pass: rise is 2
  EXPECT_EQ(sim.sent.size(), sent_before);
  run_one_check();  // the second pass
  ASSERT_EQ(sim.sent.size(), sent_before + 1);
  ASSERT_TRUE(sim.sent.back().is_heartbeat());
  EXPECT_EQ(sim.sent.back().heartbeat().incarnation, kIncarnation);
  EXPECT_EQ(sim.sent.back().seq(), last_seq + 1);
  sim.run_for(10s);
  EXPECT_GE(sim.heartbeats().size(), 5u + 10u);
}

TEST(WatsonCore, RecoveryDuringGoodbyesStopsThem) {
  CoreSettings s = settings();
  s.healthy_threshold = 1;
  s.unhealthy_threshold = 1;
  s.goodbye_spacing = 2s;  // longer than a check interval
  Sim sim(s);
  bool healthy = true;
  sim.passes = [&](TimePoint) { return healthy; };
  sim.start();
  sim.run_for(3s);
  healthy = false;
  sim.run_for(1s);
  ASSERT_EQ(sim.goodbyes().size(), 1u);
  healthy = true;
  sim.run_for(5s);
  EXPECT_EQ(sim.goodbyes().size(), 1u) << "the remaining goodbyes are cancelled";
  EXPECT_TRUE(sim.sent.back().is_heartbeat());
}

TEST(WatsonCore, ShutdownSaysGoodbyesThenFinishesAndChecksNoMore) {
  Sim sim;
  sim.start();
  sim.run_for(3s + 500ms);
  const int checks = sim.checks_started;
  const auto now = sim.clock.now();
  sim.take(sim.core.on_shutdown(now));
  ASSERT_EQ(sim.goodbyes().size(), 1u);
  EXPECT_FALSE(sim.finished);
  sim.run_for(10s);
  const auto byes = sim.goodbyes();
  ASSERT_EQ(byes.size(), 3u);
  EXPECT_EQ(byes[0].at, now);
  EXPECT_EQ(byes[2].at, now + 200ms);
  EXPECT_TRUE(sim.finished);
  EXPECT_EQ(sim.checks_started, checks);
  EXPECT_FALSE(sim.core.next_deadline().has_value());
  EXPECT_TRUE(sim.sent.back().is_goodbye()) << "no heartbeat after the goodbyes";
  EXPECT_TRUE(sim.core.on_shutdown(sim.clock.now()).send.empty()) << "twice is harmless";
}

TEST(WatsonCore, ShutdownBeforeAnnouncingFinishesAtOnce) {
  Sim sim;
  sim.passes = [](TimePoint) { return false; };
  sim.start();
  sim.run_for(2s);
  const auto a = sim.core.on_shutdown(sim.clock.now());
  EXPECT_TRUE(a.send.empty());
  EXPECT_TRUE(a.finished);
}

TEST(WatsonCore, ShutdownDuringGoodbyesOfAFallFinishesAfterThem) {
  Sim sim;
  bool healthy = true;
  sim.passes = [&](TimePoint) { return healthy; };
  sim.start();
  sim.run_for(2s);
  healthy = false;
  while (sim.goodbyes().empty()) sim.run_for(10ms);
  sim.take(sim.core.on_shutdown(sim.clock.now()));
  EXPECT_FALSE(sim.finished);
  sim.run_for(1s);
  EXPECT_EQ(sim.goodbyes().size(), 3u);
  EXPECT_TRUE(sim.finished);
}

TEST(WatsonCore, ACheckResultAfterShutdownIsIgnored) {
  Sim sim;
  sim.check_latency = 500ms;
  sim.start();
  sim.run_for(1s + 100ms);  // a check is in flight now
  ASSERT_TRUE(sim.check_done_at.has_value());
  sim.take(sim.core.on_shutdown(sim.clock.now()));
  sim.run_for(5s);
  EXPECT_TRUE(sim.finished);
  EXPECT_EQ(sim.goodbyes().size(), 3u);
  EXPECT_TRUE(sim.sent.back().is_goodbye());
}

TEST(WatsonCore, DrainingIsSentAtOnceAndCarriedUntilUndrained) {
  Sim sim;
  sim.start();
  sim.run_for(2500ms);
  const auto before = sim.sent.size();
  sim.take(sim.core.set_draining(DrainSource::operator_request, true, sim.clock.now()));
  ASSERT_EQ(sim.sent.size(), before + 1) << "a drain is announced without waiting a beat";
  EXPECT_EQ(sim.sent.back().heartbeat().route.state, wire::InstanceState::draining);
  sim.run_for(5s);
  for (std::size_t i = before; i < sim.sent.size(); ++i) {
    EXPECT_EQ(sim.sent[i].heartbeat().route.state, wire::InstanceState::draining);
  }
  // Draining only changes the state: the heartbeats and their sequence go on.
  EXPECT_GE(sim.sent.size(), before + 6);
  for (std::size_t i = 0; i < sim.sent.size(); ++i) EXPECT_EQ(sim.sent[i].seq(), i + 1);

  const auto mid = sim.sent.size();
  sim.take(sim.core.set_draining(DrainSource::operator_request, true, sim.clock.now()));
  EXPECT_EQ(sim.sent.size(), mid) << "no change, nothing extra sent";
  sim.take(sim.core.set_draining(DrainSource::operator_request, false, sim.clock.now()));
  ASSERT_EQ(sim.sent.size(), mid + 1);
  EXPECT_EQ(sim.sent.back().heartbeat().route.state, wire::InstanceState::up);
}

TEST(WatsonCore, DrainsWhileAnySourceSaysSo) {
  Sim sim;
  sim.start();
  sim.run_for(1s);
  const auto now = sim.clock.now();
  sim.take(sim.core.set_draining(DrainSource::drain_file, true, now));
  sim.take(sim.core.set_draining(DrainSource::operator_request, true, now));
  sim.take(sim.core.set_draining(DrainSource::operator_request, false, now));
  EXPECT_TRUE(sim.core.draining()) << "the drain file still exists";
  sim.take(sim.core.set_draining(DrainSource::drain_file, false, now));
  EXPECT_FALSE(sim.core.draining());
  ASSERT_GE(sim.sent.size(), 3u);
  EXPECT_EQ(sim.sent[sim.sent.size() - 2].heartbeat().route.state, wire::InstanceState::draining);
  EXPECT_EQ(sim.sent.back().heartbeat().route.state, wire::InstanceState::up);
}

TEST(WatsonCore, StartDrainingAnnouncesDrainingFromTheFirstHeartbeat) {
  CoreSettings s = settings();
  s.start_draining = true;
  Sim sim(s);
  sim.start();
  sim.run_for(3s);
  ASSERT_FALSE(sim.heartbeats().empty());
  for (const auto& hb : sim.heartbeats()) {
    EXPECT_EQ(hb.heartbeat().route.state, wire::InstanceState::draining);
  }
}

TEST(WatsonCore, DrainingWhileUnhealthySendsNothingButAppliesOnRecovery) {
  Sim sim;
  bool healthy = false;
  sim.passes = [&](TimePoint) { return healthy; };
  sim.start();
  sim.run_for(2s);
  sim.take(sim.core.set_draining(DrainSource::operator_request, true, sim.clock.now()));
  EXPECT_TRUE(sim.sent.empty());
  healthy = true;
  sim.run_for(3s);
  ASSERT_FALSE(sim.sent.empty());
  EXPECT_EQ(sim.sent.front().heartbeat().route.state, wire::InstanceState::draining);
}

TEST(WatsonCore, TheAnnouncedIntervalIsTheConfiguredOne) {
  CoreSettings s = settings();
  s.heartbeat_interval = 50ms;
  s.check_interval = 50ms;
  Sim sim(s);
  sim.check_latency = 1ms;
  sim.start();
  sim.run_for(1s);
  const auto hbs = sim.heartbeats();
  ASSERT_GE(hbs.size(), 20u);
  EXPECT_EQ(hbs[0].heartbeat().interval_ms, 50u);
}

TEST(WatsonCore, DifferentSeedsBeatOutOfStep) {
  Sim a(settings(), make_uniform(1));
  Sim b(settings(), make_uniform(2));
  a.start();
  b.start();
  a.run_for(60s);
  b.run_for(60s);
  const auto ha = a.heartbeats();
  const auto hb = b.heartbeats();
  const auto n = std::min(ha.size(), hb.size());
  ASSERT_GT(n, 50u);
  EXPECT_NE(ha[n - 1].at, hb[n - 1].at);
}

// The watson core hears no datagrams: a replay, a flood or a stranger's datagram cannot reach it.
// What it owes the directory's replay rules is in these fields: one incarnation per process, seq
// from 1 rising by one per datagram (heartbeats and goodbyes alike), and sent_ms from the wall
// clock its shell gives, never from a clock of its own.
TEST(WatsonCore, EveryDatagramCarriesTheIncarnationAndTheShellsWallClock) {
  Sim sim;
  sim.start();
  sim.run_for(10s);
  sim.take(sim.core.on_shutdown(sim.clock.now()));
  sim.run_for(1s);
  ASSERT_GT(sim.heartbeats().size(), 9u);
  ASSERT_FALSE(sim.goodbyes().empty());
  std::uint64_t seq = 0;
  for (const auto& d : sim.sent) {
    const std::uint64_t inc =
        d.is_heartbeat() ? d.heartbeat().incarnation : d.goodbye().incarnation;
    const std::uint64_t sent_ms = d.is_heartbeat() ? d.heartbeat().sent_ms : d.goodbye().sent_ms;
    EXPECT_EQ(inc, kIncarnation);
    EXPECT_EQ(sent_ms, sim.wall_at(d.at)) << "seq " << d.seq();
    EXPECT_EQ(d.seq(), ++seq) << "seq starts at 1 and rises by one per datagram";
  }
}

TEST(WatsonCore, AWallClockSteppedByTheShellShowsInTheNextDatagram) {
  Sim sim;
  sim.start();
  sim.run_for(2s);
  const auto before = sim.heartbeats().back();
  EXPECT_EQ(before.heartbeat().sent_ms, sim.wall_at(before.at));
  // NTP steps the clock 30 s back: the shell passes the new reading, the core follows it.
  sim.core.set_wall_clock(sim.wall_at(sim.clock.now()) - 30'000, sim.clock.now());
  sim.run_for(1s);
  const auto after = sim.heartbeats().back();
  EXPECT_EQ(after.heartbeat().sent_ms, sim.wall_at(after.at) - 30'000);
  EXPECT_EQ(after.heartbeat().incarnation, kIncarnation) << "the incarnation is taken once";
}

TEST(WatsonCore, ANewProcessStartsAtSeqOneWithALaterIncarnation) {
  Sim first;
  first.start();
  first.run_for(5s);
  auto s = settings();
  s.incarnation = kIncarnation + 5'000'000;  // started 5 s later
  Sim second(s);
  second.start();
  second.run_for(1s);
  ASSERT_FALSE(second.heartbeats().empty());
  EXPECT_EQ(second.heartbeats().front().heartbeat().seq, 1u);
  EXPECT_GT(second.heartbeats().front().heartbeat().incarnation,
            first.heartbeats().back().heartbeat().incarnation);
}

TEST(WatsonCore, SentMsIsNeverZeroEvenBeforeTheShellSetsAClock) {
  WatsonCore core(settings(), make_uniform(1));
  EXPECT_GE(core.wall_ms(TimePoint{}), 1u);  // wire::validate refuses 0
}

}  // namespace
}  // namespace baker::watson
