#include "directory/expiry_index.hpp"

#include <algorithm>

namespace baker::directory {
namespace {
struct Later {
  bool operator()(const ExpiryIndex::Entry& a, const ExpiryIndex::Entry& b) const {
    return a.deadline > b.deadline;
  }
};
}  // namespace

void ExpiryIndex::push(const Entry& e) {
  ++operations_;
  heap_.push_back(e);
  std::push_heap(heap_.begin(), heap_.end(), Later{});
}

ExpiryIndex::Entry ExpiryIndex::pop() {
  ++operations_;
  std::pop_heap(heap_.begin(), heap_.end(), Later{});
  const Entry e = heap_.back();
  heap_.pop_back();
  return e;
}

}  // namespace baker::directory
