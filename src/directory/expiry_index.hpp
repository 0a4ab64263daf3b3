#pragma once
// Deadlines of every route in a binary min-heap with lazy invalidation: a heartbeat only moves the
// route's own deadline (O(1)); the heap entry is re-queued when it surfaces and the route turns
// out to have been refreshed (O(log n), about once per miss_limit heartbeats). Entries of freed
// or re-used records are recognised by generation and dropped when they surface.
#include <cstdint>
#include <vector>

#include "directory/route_table.hpp"

namespace baker::directory {

class ExpiryIndex {
 public:
  struct Entry {
    std::int64_t deadline = 0;
    RouteIndex index = kNoRoute;
    std::uint32_t generation = 0;
  };

  void push(const Entry& e);
  bool empty() const { return heap_.empty(); }
  const Entry& top() const { return heap_.front(); }
  Entry pop();
  std::size_t size() const { return heap_.size(); }
  std::size_t capacity_bytes() const { return heap_.capacity() * sizeof(Entry); }
  // Heap pushes and pops so far: lets tests show the cost per event is bounded.
  std::uint64_t operations() const { return operations_; }

 private:
  std::vector<Entry> heap_;
  std::uint64_t operations_ = 0;
};

}  // namespace baker::directory
