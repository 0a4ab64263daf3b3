// libFuzzer target for the cluster key file (wire::Keyring::parse), which every daemon and
// baker-dump read at start and on SIGHUP.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "wire/auth.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto ring = baker::wire::Keyring::parse(text, &error);
  if (!ring) {
    if (error.empty()) std::abort();
    return 0;
  }
  // A ring that parses has a primary key a sender can sign with and a receiver can check.
  const auto primary = ring->primary_id();
  if (ring->empty() || !primary || *primary == 0) std::abort();
  const auto* key = ring->find(*primary);
  if (!key) std::abort();
  const std::span<const std::uint8_t> bytes(data, size);
  if (!baker::wire::verify_mac(*key, bytes, baker::wire::compute_mac(*key, bytes))) std::abort();
  return 0;
}
