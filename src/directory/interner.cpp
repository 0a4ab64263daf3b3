#include "directory/interner.hpp"

namespace baker::directory {
namespace {

// A released id if there is one, else a new one at the end (`grow` adds its table rows).
template <typename Id, typename Grow>
Id take_slot(std::vector<Id>& free, std::size_t size, Grow grow) {
  if (!free.empty()) {
    const Id id = free.back();
    free.pop_back();
    return id;
  }
  grow();
  return static_cast<Id>(size);
}

}  // namespace

ServiceId ServiceNames::acquire(std::string_view name) {
  if (auto it = ids_.find(name); it != ids_.end()) {
    ++refs_[it->second];
    return it->second;
  }
  const ServiceId id = take_slot(free_, names_.size(), [&] {
    names_.push_back(nullptr);
    refs_.push_back(0);
  });
  auto [it, inserted] = ids_.emplace(std::string(name), id);
  names_[id] = &it->first;
  refs_[id] = 1;
  return id;
}

void ServiceNames::release(ServiceId id) {
  if (--refs_[id] != 0) return;
  ids_.erase(ids_.find(*names_[id]));
  names_[id] = nullptr;
  free_.push_back(id);
}

std::optional<ServiceId> ServiceNames::find(std::string_view name) const {
  if (auto it = ids_.find(name); it != ids_.end()) return it->second;
  return std::nullopt;
}

namespace {
// Tags are printable ASCII without spaces, so a space-joined list is an unambiguous key.
std::string join(std::span<const std::string> tags) {
  std::string key;
  for (const auto& t : tags) {
    if (!key.empty()) key.push_back(' ');
    key += t;
  }
  return key;
}
}  // namespace

TagSets::TagSets() {
  entries_.emplace_back();  // kEmpty
}

TagSetId TagSets::acquire(std::span<const std::string> tags) {
  if (tags.empty()) return kEmpty;
  std::string key = join(tags);
  if (auto it = ids_.find(key); it != ids_.end()) {
    ++entries_[it->second].refs;
    return it->second;
  }
  const TagSetId id = take_slot(free_, entries_.size(), [&] { entries_.emplace_back(); });
  auto [it, inserted] = ids_.emplace(std::move(key), id);
  Entry& e = entries_[id];
  e.tags.assign(tags.begin(), tags.end());
  e.key = &it->first;
  e.refs = 1;
  return id;
}

void TagSets::release(TagSetId id) {
  if (id == kEmpty) return;
  Entry& e = entries_[id];
  if (--e.refs != 0) return;
  ids_.erase(ids_.find(*e.key));
  e = Entry{};
  free_.push_back(id);
}

bool TagSets::equals(TagSetId id, std::span<const std::string> tags) const {
  const auto& mine = entries_[id].tags;
  if (mine.size() != tags.size()) return false;
  for (std::size_t i = 0; i < tags.size(); ++i) {
    if (mine[i] != tags[i]) return false;
  }
  return true;
}

}  // namespace baker::directory
