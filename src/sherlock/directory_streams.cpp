#include "sherlock/directory_streams.hpp"

#include <stdexcept>

namespace baker::sherlock {

DirectoryStreams::DirectoryStreams(std::vector<ReplicaConfig> configs,
                                   std::vector<std::string> view_filter, Duration stagger)
    : merged_(std::move(view_filter)), stagger_(stagger) {
  if (configs.empty()) throw std::invalid_argument("DirectoryStreams: no directory");
  const bool merge = configs.size() > 1;
  for (auto& c : configs) {
    streams_.push_back(std::make_unique<Replica>(std::move(c)));
    if (merge) merged_.add_stream(streams_.back()->table());
  }
  live_.assign(streams_.size(), 0);
  deferred_.assign(streams_.size(), std::nullopt);
}

void DirectoryStreams::refresh_live() {
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    const Replica& r = *streams_[i];
    const bool live = r.reachable() && r.epoch() != 0 && !r.directory_warmup();
    live_[i] = live ? 1 : 0;
    if (!single()) merged_.set_live(i, live);
  }
}

bool DirectoryStreams::any_synced(bool live_only) const {
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    if (streams_[i]->synced() && (!live_only || live(i))) return true;
  }
  return false;
}

bool DirectoryStreams::any_snapshot() const {
  for (const auto& s : streams_) {
    if (s->epoch() != 0) return true;
  }
  return false;
}

Replica::Outgoing DirectoryStreams::start(std::size_t i, TimePoint now) {
  if (i > 0 && !any_snapshot() && stagger_ > Duration::zero()) {
    deferred_.at(i) = now + stagger_;
    return {};
  }
  auto out = streams_.at(i)->start(now);
  refresh_live();
  return out;
}

void DirectoryStreams::start_deferred(TimePoint now, bool all_due,
                                      std::vector<Replica::Outgoing>& out) {
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    if (!deferred_[i] || (!all_due && now < *deferred_[i])) continue;
    deferred_[i].reset();
    auto sent = streams_[i]->start(now);
    out[i].insert(out[i].end(), sent.begin(), sent.end());
  }
}

Replica::Outgoing DirectoryStreams::on_message(std::size_t i, wire::Message m, TimePoint now,
                                               Replica::Source source) {
  auto out = streams_.at(i)->on_message(std::move(m), now, source);
  refresh_live();
  return out;
}

std::vector<Replica::Outgoing> DirectoryStreams::take_deferred(TimePoint now) {
  std::vector<Replica::Outgoing> out(streams_.size());
  if (any_snapshot()) start_deferred(now, true, out);
  return out;
}

std::vector<Replica::Outgoing> DirectoryStreams::on_timer(TimePoint now) {
  std::vector<Replica::Outgoing> out(streams_.size());
  // Every stream looks: each acts only on what is due by its own deadlines.
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    if (!deferred_[i]) out[i] = streams_[i]->on_timer(now);
  }
  start_deferred(now, any_snapshot(), out);
  refresh_live();
  return out;
}

std::vector<Replica::Outgoing> DirectoryStreams::stop() {
  std::vector<Replica::Outgoing> out;
  out.reserve(streams_.size());
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    out.push_back(deferred_[i] ? Replica::Outgoing{} : streams_[i]->stop());
    deferred_[i].reset();
  }
  return out;
}

std::optional<TimePoint> DirectoryStreams::next_deadline() const {
  std::optional<TimePoint> next;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    const auto d = deferred_[i] ? deferred_[i] : streams_[i]->next_deadline();
    if (d && (!next || *d < *next)) next = d;
  }
  return next;
}

}  // namespace baker::sherlock
