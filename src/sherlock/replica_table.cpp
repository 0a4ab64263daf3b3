#include "sherlock/replica_table.hpp"

#include <algorithm>

#include "wire/digest.hpp"

namespace baker::sherlock {

ReplicaTable::ReplicaTable(std::vector<std::string> view_filter)
    : filter_(view_filter.begin(), view_filter.end()) {}

bool ReplicaTable::shown(std::string_view service) const {
  return filter_.empty() || filter_.find(service) != filter_.end();
}

void ReplicaTable::mark_changed(const std::string& service) {
  if (shown(service)) changed_.insert(service);
}

bool ReplicaTable::upsert(wire::Route r) {
  auto sit = services_.find(r.service);
  if (sit == services_.end()) sit = services_.emplace(r.service, Instances{}).first;
  auto& instances = sit->second;
  auto it = instances.find(r.instance);
  if (it != instances.end()) {
    if (it->second.route == r) return false;
    digest_ -= it->second.digest;
    it->second.digest = wire::route_digest(r);
    digest_ += it->second.digest;
    it->second.route = std::move(r);
  } else {
    const auto d = wire::route_digest(r);
    std::string instance = r.instance;
    instances.emplace(std::move(instance), Entry{std::move(r), d});
    digest_ += d;
    ++size_;
  }
  mark_changed(sit->first);
  return true;
}

bool ReplicaTable::remove(std::string_view service, std::string_view instance) {
  const auto sit = services_.find(service);
  if (sit == services_.end()) return false;
  const auto it = sit->second.find(instance);
  if (it == sit->second.end()) return false;
  digest_ -= it->second.digest;
  --size_;
  sit->second.erase(it);
  mark_changed(sit->first);
  if (sit->second.empty()) services_.erase(sit);
  return true;
}

void ReplicaTable::apply(const wire::DeltaOp& op) {
  if (op.kind == wire::OpKind::remove) {
    remove(op.route.service, op.route.instance);
  } else {
    upsert(op.route);
  }
}

void ReplicaTable::Staged::add(std::vector<wire::Route> routes) {
  auto service = services_.end();  // routes of one service tend to come together
  for (auto& r : routes) {
    if (service == services_.end() || service->first != r.service) {
      service = services_.try_emplace(r.service).first;
    }
    const auto d = wire::route_digest(r);
    std::string instance = r.instance;
    auto [it, inserted] = service->second.try_emplace(std::move(instance), Entry{std::move(r), d});
    if (inserted) {
      ++size_;
    } else {  // the same route twice in one snapshot: the later one wins
      digest_ -= it->second.digest;
      it->second = Entry{std::move(r), d};
    }
    digest_ += d;
  }
}

void ReplicaTable::replace(std::vector<wire::Route> routes) {
  Staged staged;
  staged.add(std::move(routes));
  replace(std::move(staged));
}

void ReplicaTable::replace(Staged staged) {
  // Report only services that really differ, so a resync that finds little changed does not make
  // the sink reconfigure everything.
  const auto same = [](const Instances& a, const Instances& b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](const auto& x, const auto& y) {
             return x.first == y.first && x.second.digest == y.second.digest &&
                    x.second.route == y.second.route;
           });
  };
  for (const auto& [name, instances] : services_) {
    const auto it = staged.services_.find(name);
    if (it == staged.services_.end() || !same(instances, it->second)) mark_changed(name);
  }
  for (const auto& [name, instances] : staged.services_) {
    if (services_.find(name) == services_.end()) mark_changed(name);
  }
  services_ = std::move(staged.services_);
  digest_ = staged.digest_;
  size_ = staged.size_;
}

void ReplicaTable::merge(std::vector<wire::Route> routes) {
  for (auto& r : routes) upsert(std::move(r));
}

void ReplicaTable::merge(Staged staged) {
  for (auto& [name, instances] : staged.services_) {
    for (auto& [instance, entry] : instances) upsert(std::move(entry.route));
  }
}

const wire::Route* ReplicaTable::find(std::string_view service, std::string_view instance) const {
  const auto sit = services_.find(service);
  if (sit == services_.end()) return nullptr;
  const auto it = sit->second.find(instance);
  return it == sit->second.end() ? nullptr : &it->second.route;
}

std::vector<wire::Route> ReplicaTable::all_routes() const {
  std::vector<wire::Route> out;
  out.reserve(size_);
  for (const auto& [service, instances] : services_) {
    for (const auto& [instance, entry] : instances) out.push_back(entry.route);
  }
  return out;
}

std::vector<std::string> ReplicaTable::take_changes() {
  std::vector<std::string> out(changed_.begin(), changed_.end());
  changed_.clear();
  for (const auto& service : out) {
    const auto sit = services_.find(service);
    if (sit == services_.end()) {
      view_.erase(service);
      continue;
    }
    auto& list = view_[service];
    list.clear();
    list.reserve(sit->second.size());
    for (const auto& [instance, entry] : sit->second) list.push_back(entry.route);
  }
  return out;
}

}  // namespace baker::sherlock
