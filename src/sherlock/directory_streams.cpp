#include "sherlock/directory_streams.hpp"

#include <stdexcept>

namespace baker::sherlock {

DirectoryStreams::DirectoryStreams(std::vector<ReplicaConfig> configs,
                                   std::vector<std::string> view_filter)
    : merged_(std::move(view_filter)) {
  if (configs.empty()) throw std::invalid_argument("DirectoryStreams: no directory");
  const bool merge = configs.size() > 1;
  for (auto& c : configs) {
    streams_.push_back(std::make_unique<Replica>(std::move(c)));
    if (merge) merged_.add_stream(streams_.back()->table());
  }
  live_.assign(streams_.size(), 0);
}

void DirectoryStreams::refresh_live() {
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    const Replica& r = *streams_[i];
    const bool live = r.reachable() && r.epoch() != 0 && !r.directory_warmup();
    live_[i] = live ? 1 : 0;
    if (!single()) merged_.set_live(i, live);
  }
}

Replica::Outgoing DirectoryStreams::start(std::size_t i, TimePoint now) {
  auto out = streams_.at(i)->start(now);
  refresh_live();
  return out;
}

Replica::Outgoing DirectoryStreams::on_message(std::size_t i, wire::Message m, TimePoint now,
                                               Replica::Source source) {
  auto out = streams_.at(i)->on_message(std::move(m), now, source);
  refresh_live();
  return out;
}

std::vector<Replica::Outgoing> DirectoryStreams::on_timer(TimePoint now) {
  std::vector<Replica::Outgoing> out(streams_.size());
  // Every stream looks: each acts only on what is due by its own deadlines.
  for (std::size_t i = 0; i < streams_.size(); ++i) out[i] = streams_[i]->on_timer(now);
  refresh_live();
  return out;
}

std::vector<Replica::Outgoing> DirectoryStreams::stop() {
  std::vector<Replica::Outgoing> out;
  out.reserve(streams_.size());
  for (auto& s : streams_) out.push_back(s->stop());
  return out;
}

std::optional<TimePoint> DirectoryStreams::next_deadline() const {
  std::optional<TimePoint> next;
  for (const auto& s : streams_) {
    const auto d = s->next_deadline();
    if (d && (!next || *d < *next)) next = d;
  }
  return next;
}

}  // namespace baker::sherlock
