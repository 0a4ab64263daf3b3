#include "directory/delta_log.hpp"

namespace baker::directory {

void DeltaLog::append(wire::SequencedOp op) {
  last_ = op.seq;
  ops_.push_back(std::move(op));
  while (ops_.size() > capacity_) ops_.pop_front();
}

}  // namespace baker::directory
