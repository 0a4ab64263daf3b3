#pragma once
// Service names and tag sets are shared by many routes: each is stored once and routes hold a
// 32-bit id. Ids are reference-counted and reused, so a table that churns does not grow.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace baker::directory {

using ServiceId = std::uint32_t;
using TagSetId = std::uint32_t;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

class ServiceNames {
 public:
  // Interns name (if new) and takes a reference.
  ServiceId acquire(std::string_view name);
  void acquire(ServiceId id) { ++refs_[id]; }
  void release(ServiceId id);
  std::optional<ServiceId> find(std::string_view name) const;
  const std::string& name(ServiceId id) const { return *names_[id]; }
  std::size_t size() const { return ids_.size(); }
  std::size_t id_limit() const { return names_.size(); }  // every id is below this

 private:
  std::unordered_map<std::string, ServiceId, StringHash, std::equal_to<>> ids_;
  std::vector<const std::string*> names_;  // points at ids_'s keys (node-based: stable)
  std::vector<std::uint32_t> refs_;
  std::vector<ServiceId> free_;
};

// Tag sets (a route's whole tag list) by value; id 0 is the empty set and is never freed.
class TagSets {
 public:
  static constexpr TagSetId kEmpty = 0;
  TagSets();
  TagSetId acquire(std::span<const std::string> tags);
  void release(TagSetId id);
  const std::vector<std::string>& tags(TagSetId id) const { return entries_[id].tags; }
  bool equals(TagSetId id, std::span<const std::string> tags) const;
  std::size_t size() const { return ids_.size() + 1; }

 private:
  struct Entry {
    std::vector<std::string> tags;
    const std::string* key = nullptr;
    std::uint32_t refs = 0;
  };
  std::unordered_map<std::string, TagSetId, StringHash, std::equal_to<>> ids_;
  std::vector<Entry> entries_;
  std::vector<TagSetId> free_;
};

}  // namespace baker::directory
