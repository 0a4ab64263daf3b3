#pragma once
// A small model of the directory's side of docs/PROTOCOL.md for driving sherlock's Replica in
// tests: a table with sequenced changes, a retransmit log, Deltas/Ticks/snapshots for one
// subscriber (optionally filtered), answers to Subscribe and Nack. Written from the spec, not from
// the real directory, so the replica is tested against the protocol rather than one implementation.
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "routes.hpp"
#include "wire/digest.hpp"
#include "wire/messages.hpp"
#include "wire/packing.hpp"

namespace baker::sherlock::testing {

inline wire::Route make_route(const std::string& service, const std::string& instance, int n = 1,
                              std::uint16_t weight = 100) {
  return baker::testing::make_route(
      service, instance,
      wire::IpAddress::v4(10, 0, static_cast<std::uint8_t>((n >> 8) & 0xff),
                          static_cast<std::uint8_t>(n & 0xff)),
      static_cast<std::uint16_t>(8000 + (n % 1000)), weight, wire::InstanceState::up, {"v1"});
}

class ScriptedDirectory {
 public:
  explicit ScriptedDirectory(std::uint64_t epoch, std::vector<std::string> filter = {})
      : epoch_(epoch), filter_(filter.begin(), filter.end()) {}

  std::uint64_t epoch() const { return epoch_; }
  std::uint64_t seq() const { return seq_; }
  bool warmup = false;
  std::uint32_t lease_ms = 15000;
  std::size_t log_limit = 100000;
  std::size_t budget = wire::kMinDatagramBudget;  // small: more chunks per snapshot
  bool send_empty_filtered_deltas = false;        // a filtered stream's "nothing for you"
  // Subscribes without this cookie get a Challenge carrying it (empty: no address validation).
  wire::Cookie challenge_cookie;
  std::uint64_t subscriber_id = 42;  // the filtered stream's addressee (the replica's id)

  // Changes (each takes the next sequence number when it changes anything). `version`: of the
  // watson datagram that caused it ({0, 0}: unknown); snapshots carry each route's latest.
  void set(const wire::Route& r, wire::Version version = {}) {
    const auto key = std::make_pair(r.service, r.instance);
    const auto it = table_.find(key);
    if (it != table_.end() && it->second == r) {
      versions_[key] = version;  // a refresh: a newer version of the same route, no change
      return;
    }
    const auto kind = it == table_.end() ? wire::OpKind::add : wire::OpKind::update;
    table_[key] = r;
    versions_[key] = version;
    record(wire::DeltaOp{kind, r, version});
  }
  void remove(const std::string& service, const std::string& instance, wire::Version version = {},
              wire::Removal why = wire::Removal::expired) {
    if (table_.erase({service, instance}) == 0) return;
    versions_.erase({service, instance});
    wire::DeltaOp op{wire::OpKind::remove, {}, version, why};
    op.route.service = service;
    op.route.instance = instance;
    record(op);
  }

  // What the directory pushes after a batch of changes: the subscriber's Deltas, then a Tick.
  std::vector<wire::Message> publish() {
    std::vector<wire::Message> out;
    if (seq_ > stream_end_) {
      auto ops = ops_after(stream_end_);
      if (!ops.empty() || filter_.empty() || send_empty_filtered_deltas) {
        for (auto& d :
             wire::split_delta(epoch_, stream(), stream_end_, seq_, flags(), ops, budget)) {
          out.push_back(std::move(d));
        }
        stream_end_ = seq_;
      }
    }
    out.push_back(tick());
    return out;
  }

  // The stream's Tick (nonce 0), or the answer to the request with that nonce.
  wire::Tick tick(std::uint64_t nonce = 0) const {
    const auto routes = view();
    wire::Tick t;
    t.epoch = epoch_;
    t.subscriber_id = nonce != 0 ? subscriber_id : stream().subscriber_id;
    t.nonce = nonce;
    t.seq = seq_;
    t.digest = wire::table_digest(routes);
    t.route_count = static_cast<std::uint32_t>(routes.size());
    t.flags = flags();
    t.lease_ms = lease_ms;
    return t;
  }

  // The snapshot answering the request with that nonce.
  std::vector<wire::SnapshotChunk> snapshot(std::uint64_t nonce) const {
    std::vector<wire::Version> versions;
    for (const auto& [key, r] : table_) {
      if (shown(r.service)) versions.push_back(versions_.at(key));
    }
    return wire::split_snapshot(epoch_, {subscriber_id, nonce}, seq_, flags(), view(), versions,
                                budget);
  }
  // The live stream's addressee: the shared stream (0) or the filtered subscriber's own.
  wire::Addressee stream() const { return {filter_.empty() ? 0 : subscriber_id, 0}; }

  // Answers a datagram from the subscriber as docs/PROTOCOL.md says.
  std::vector<wire::Message> answer(const wire::Message& m) {
    std::vector<wire::Message> out;
    if (const auto* s = std::get_if<wire::Subscribe>(&m)) {
      ++subscribes;
      last_subscribe = *s;
      if (!challenge_cookie.empty() && s->cookie != challenge_cookie) {
        ++challenges;
        out.push_back(wire::Challenge{s->subscriber_id, s->nonce, challenge_cookie});
        return out;
      }
      if (s->last_epoch != epoch_ || s->last_seq < log_floor_ || s->last_seq > seq_) {
        append_snapshot(s->nonce, out);
      } else if (s->last_seq == seq_) {
        out.push_back(tick(s->nonce));
      } else {
        append_deltas(s->last_seq, s->nonce, out);
      }
    } else if (const auto* n = std::get_if<wire::Nack>(&m)) {
      ++nacks;
      nacked.emplace_back(n->first_missing, n->last_missing);
      if (n->epoch != epoch_) return out;
      if (n->first_missing - 1 < log_floor_) {
        append_snapshot(n->nonce, out);
      } else {
        append_deltas(n->first_missing - 1, n->nonce, out);
      }
    } else if (std::holds_alternative<wire::Unsubscribe>(m)) {
      ++unsubscribes;
    }
    return out;
  }

  // The routes this subscriber should hold, and their digest.
  std::vector<wire::Route> view() const {
    std::vector<wire::Route> out;
    for (const auto& [key, r] : table_) {
      if (shown(r.service)) out.push_back(r);
    }
    return out;
  }
  std::uint64_t digest() const { return wire::table_digest(view()); }

  int subscribes = 0;
  int nacks = 0;
  int snapshots = 0;
  int unsubscribes = 0;
  int challenges = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> nacked;
  wire::Subscribe last_subscribe;

 private:
  std::uint8_t flags() const { return warmup ? wire::kFlagWarmup : 0; }
  bool shown(const std::string& service) const {
    return filter_.empty() || filter_.count(service) > 0;
  }
  void record(wire::DeltaOp op) {
    log_.push_back({++seq_, std::move(op)});
    while (log_.size() > log_limit) {
      log_floor_ = log_.front().seq;
      log_.erase(log_.begin());
    }
  }
  std::vector<wire::SequencedOp> ops_after(std::uint64_t after) const {
    std::vector<wire::SequencedOp> ops;
    for (const auto& s : log_) {
      if (s.seq > after && shown(s.op.route.service)) ops.push_back(s);
    }
    return ops;
  }
  void append_deltas(std::uint64_t after, std::uint64_t nonce, std::vector<wire::Message>& out) {
    if (after < seq_) {
      const auto ops = ops_after(after);
      for (auto& d :
           wire::split_delta(epoch_, {subscriber_id, nonce}, after, seq_, flags(), ops, budget)) {
        out.push_back(std::move(d));
      }
    }
    out.push_back(tick(nonce));
  }
  void append_snapshot(std::uint64_t nonce, std::vector<wire::Message>& out) {
    ++snapshots;
    for (auto& c : snapshot(nonce)) out.push_back(std::move(c));
    // A subscriber just given a snapshot continues its stream from here.
    stream_end_ = std::max(stream_end_, seq_);
  }

  std::uint64_t epoch_;
  std::set<std::string> filter_;
  std::map<std::pair<std::string, std::string>, wire::Route> table_;
  std::map<std::pair<std::string, std::string>, wire::Version> versions_;  // of table_'s routes
  std::vector<wire::SequencedOp> log_;
  std::uint64_t seq_ = 0;
  std::uint64_t log_floor_ = 0;   // ops at or below this sequence are no longer in the log
  std::uint64_t stream_end_ = 0;  // where the last Delta pushed to the subscriber ended
};

}  // namespace baker::sherlock::testing
