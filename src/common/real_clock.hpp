#pragma once
// The real time and entropy sources. Shells only: cores take `now` and seeds from their shell
// (tools/check-layers fails a core source that reads a clock or the OS entropy).
#include <cstdint>
#include <random>

#include "common/clock.hpp"

namespace baker {

class RealTimeSource final : public TimeSource {
 public:
  TimePoint now() const override { return Clock::now(); }
};

// The wall clock (CLOCK_REALTIME), since 1970: watson incarnations and datagram timestamps.
inline std::uint64_t unix_time_us() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}
inline std::uint64_t unix_time_ms() {
  return unix_time_us() / 1000;
}

// A non-zero random 64-bit id (process epochs, subscriber ids) from the OS entropy source.
inline std::uint64_t random_nonzero_u64() {
  std::random_device rd;
  std::uint64_t v = 0;
  while (v == 0) v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return v;
}

}  // namespace baker
