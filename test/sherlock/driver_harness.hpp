#pragma once
// The HAProxy driver core run against the in-memory fake CLI in simulated time (the driver's
// tests and the status page's).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "haproxy_fake.hpp"
#include "sherlock/haproxy_driver.hpp"

namespace baker::sherlock::haproxy::testing {

// Runs the driver against the fake in simulated time: every session it asks for is answered at
// once (or fails, when the test says the socket is gone).
class DriverHarness {
 public:
  explicit DriverHarness(DriverSettings settings = {}) : driver(std::move(settings)) {}

  // Runs sessions until the driver has nothing more to do now. Returns how many ran.
  int run_due() {
    int n = 0;
    while (auto s = driver.on_timer(clock.now())) {
      ++n;
      sessions.push_back(*s);
      if (s->fresh_connection && new_worker_on_connect) {
        haproxy.stopping = false;  // a new connection reaches the current worker
        new_worker_on_connect = false;
      }
      if (socket_down) {
        driver.on_failure("connection refused", clock.now());
        continue;
      }
      std::vector<std::string> lines;
      for (const auto& c : s->commands) lines.push_back(c.text);
      driver.on_replies(haproxy.run(lines), clock.now());
      if (n > 100) ADD_FAILURE() << "driver does not settle";
      if (n > 100) break;
    }
    return n;
  }
  // Advances simulated time to the driver's next wake-up (at most `limit`) and runs what is due.
  void advance(Duration by) {
    const auto until = clock.now() + by;
    for (int guard = 0;; ++guard) {
      if (guard > 100000) {
        ADD_FAILURE() << "driver keeps waking up without time passing";
        break;
      }
      run_due();
      const auto at = driver.next_deadline();
      if (!at || *at > until) break;
      if (*at > clock.now()) clock.set(*at);
    }
    clock.set(until);
    run_due();
  }
  void set(const std::map<std::string, std::vector<wire::Route>>& all,
           const std::vector<std::string>& changed) {
    driver.set_routes(all, changed, clock.now());
  }
  std::vector<std::string> last_lines() const {
    std::vector<std::string> out;
    for (const auto& c : sessions.back().commands) out.push_back(c.text);
    return out;
  }

  ManualTimeSource clock;
  FakeHaproxy haproxy;
  HaproxyDriver driver;
  std::vector<Session> sessions;
  bool socket_down = false;
  bool new_worker_on_connect = false;
};

}  // namespace baker::sherlock::haproxy::testing
