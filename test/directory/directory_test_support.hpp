#pragma once
// Helpers shared by the directory unit tests: message builders, a replica that applies what the
// directory sends (as sherlock would), and filters over Actions.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "directory/directory_core.hpp"
#include "wire/digest.hpp"

namespace baker::directory::testing {

using namespace std::chrono_literals;

inline Endpoint endpoint(std::uint8_t last, std::uint16_t port) {
  return Endpoint{wire::IpAddress::v4(127, 0, 0, last), port};
}
inline const Endpoint kWatson = endpoint(9, 9000);

// The wall clock of tests that turn the timestamp rules on (DirectoryCore::set_wall_clock): the
// directory starts at this many ms since 1970 (a day in 2026). Cores that never get a wall clock
// apply no timestamp rule, so the stamp below is only a valid, non-zero value for them.
inline constexpr std::uint64_t kWallAtStart = 1'796'000'000'000ULL;
inline constexpr std::uint64_t kDefaultSentMs = kWallAtStart + 60'000;

// The same datagram with another sent_ms (a watson's clock, a capture replayed later).
template <typename M>
M stamped(M m, std::uint64_t sent_ms) {
  m.sent_ms = sent_ms;
  return m;
}

inline wire::Heartbeat heartbeat(const std::string& service, const std::string& instance,
                                 std::uint64_t seq, std::uint64_t epoch = 7,
                                 std::uint32_t interval_ms = 1000, std::uint16_t port = 8080) {
  wire::Heartbeat h;
  h.route.service = service;
  h.route.instance = instance;
  h.route.address = wire::IpAddress::v4(10, 0, 0, 1);
  h.route.port = port;
  h.route.weight = 100;
  h.incarnation = epoch;
  h.seq = seq;
  h.interval_ms = interval_ms;
  h.sent_ms = kDefaultSentMs;
  return h;
}

// Every request a test sends carries a nonce newer than the last, as a sherlock's do.
inline std::uint64_t next_nonce() {
  static std::uint64_t nonce = 0;
  return ++nonce;
}

inline wire::Subscribe subscribe(std::uint64_t id, std::vector<std::string> services = {},
                                 std::uint64_t last_epoch = 0, std::uint64_t last_seq = 0,
                                 std::uint8_t flags = 0) {
  return wire::Subscribe{id, next_nonce(), {}, std::move(services), last_epoch, last_seq, flags};
}

inline wire::Nack nack(std::uint64_t id, std::uint64_t epoch, std::uint64_t first_missing,
                       std::uint64_t last_missing) {
  return wire::Nack{id, next_nonce(), epoch, first_missing, last_missing};
}

inline wire::Unsubscribe unsubscribe(std::uint64_t id) {
  return wire::Unsubscribe{id, next_nonce()};
}

inline wire::Goodbye goodbye(const std::string& service, const std::string& instance,
                             std::uint64_t incarnation, std::uint64_t seq) {
  wire::Goodbye g;
  g.service = service;
  g.instance = instance;
  g.incarnation = incarnation;
  g.seq = seq;
  g.sent_ms = kDefaultSentMs;
  return g;
}

template <typename T>
std::vector<T> messages_of(const Actions& actions, const Endpoint* to);

// What a sherlock does at an address it has not proven yet: Subscribe, and on the Challenge
// Subscribe again at once with its cookie and the next nonce. Returns the second answer.
inline Actions subscribe_with_cookie(DirectoryCore& core, wire::Subscribe s, const Endpoint& from,
                                     TimePoint now) {
  const Actions first = core.on_datagram(s, from, now);
  const auto challenges = messages_of<wire::Challenge>(first, &from);
  if (challenges.empty()) return first;
  s.cookie = challenges.front().cookie;
  s.nonce = next_nonce();
  return core.on_datagram(s, from, now);
}

template <typename T>
std::vector<T> messages_of(const Actions& actions, const Endpoint* to) {
  std::vector<T> out;
  for (const auto& a : actions) {
    if (const auto* m = std::get_if<T>(&a.message)) {
      if (to) {
        bool hit = false;
        for (const auto& e : a.to) hit = hit || e == *to;
        if (!hit) continue;
      }
      out.push_back(*m);
    }
  }
  return out;
}

template <typename T>
std::vector<T> messages_of(const Actions& actions) {
  return messages_of<T>(actions, nullptr);
}

template <typename T>
std::vector<T> group_messages_of(const Actions& actions) {
  std::vector<T> out;
  for (const auto& a : actions) {
    if (const auto* m = std::get_if<T>(&a.message); m && a.to_group) out.push_back(*m);
  }
  return out;
}

// The receiver side of PROTOCOL.md's sequencing rules, kept minimal: enough to check that what
// the directory sends reconstructs its table.
struct Replica {
  std::uint64_t epoch = 0;
  std::uint64_t applied = 0;
  std::map<std::pair<std::string, std::string>, wire::Route> routes;
  std::map<std::pair<std::string, std::string>, wire::Version> versions;  // of routes
  std::vector<wire::SnapshotChunk> chunks;
  bool gap = false;

  void apply(const wire::Delta& d) {
    if (d.epoch != epoch || d.to_seq <= applied) return;
    if (d.from_seq > applied) {
      gap = true;
      return;
    }
    for (const auto& op : d.ops) {
      const auto key = std::make_pair(op.route.service, op.route.instance);
      if (op.kind == wire::OpKind::remove) {
        routes.erase(key);
        versions.erase(key);
      } else {
        routes[key] = op.route;
        versions[key] = op.version;
      }
    }
    applied = d.to_seq;
  }
  // Returns true when the snapshot is complete (and applied).
  bool apply(const wire::SnapshotChunk& c) {
    chunks.push_back(c);
    if (chunks.size() < c.count) return false;
    if (!(c.flags & wire::kFlagWarmup)) routes.clear(), versions.clear();
    for (const auto& ch : chunks) {
      for (std::size_t k = 0; k < ch.routes.size(); ++k) {
        const wire::Route& r = ch.routes[k];
        routes[{r.service, r.instance}] = r;
        versions[{r.service, r.instance}] =
            k < ch.versions.size() ? ch.versions[k] : wire::Version{};
      }
    }
    epoch = c.epoch;
    applied = c.seq;
    chunks.clear();
    return true;
  }
  void apply_all(const Actions& actions, const Endpoint& me, bool member = false) {
    for (const auto& a : actions) {
      bool mine = member && a.to_group;
      for (const auto& e : a.to) mine = mine || e == me;
      if (!mine) continue;
      if (const auto* d = std::get_if<wire::Delta>(&a.message)) apply(*d);
      if (const auto* c = std::get_if<wire::SnapshotChunk>(&a.message)) apply(*c);
    }
  }
  std::uint64_t digest() const {
    std::uint64_t sum = 0;
    for (const auto& [k, r] : routes) sum += wire::route_digest(r);
    return sum;
  }
};

}  // namespace baker::directory::testing
