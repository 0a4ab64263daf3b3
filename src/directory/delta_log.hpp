#pragma once
// The retransmit log: the most recent changes, in sequence order, to answer NACKs and
// Subscribes that are only a little behind.
#include <cstdint>
#include <deque>

#include "wire/packing.hpp"

namespace baker::directory {

class DeltaLog {
 public:
  explicit DeltaLog(std::size_t capacity) : capacity_(capacity) {}

  // op.seq must be last_seq() + 1; the oldest change falls out when the log is full.
  void append(wire::SequencedOp op);
  std::uint64_t last_seq() const { return last_; }
  std::uint64_t first_seq() const { return last_ - ops_.size() + 1; }  // oldest held
  std::size_t size() const { return ops_.size(); }
  // True if every change after `after_seq` (up to last_seq) is still held.
  bool covers(std::uint64_t after_seq) const {
    return after_seq <= last_ && after_seq + 1 >= first_seq();
  }
  // Calls f(op) for each held change with after_seq < seq <= through_seq, in order.
  template <typename F>
  void for_range(std::uint64_t after_seq, std::uint64_t through_seq, F&& f) const {
    if (ops_.empty() || through_seq <= after_seq) return;
    const std::uint64_t first = first_seq();
    const std::uint64_t from = after_seq + 1 < first ? first : after_seq + 1;
    for (std::uint64_t s = from; s <= through_seq && s <= last_; ++s) f(ops_[s - first]);
  }

 private:
  std::deque<wire::SequencedOp> ops_;
  std::size_t capacity_;
  std::uint64_t last_ = 0;
};

}  // namespace baker::directory
