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
  // A ring that parses has, for each role it holds, a primary key of that role a sender can sign
  // with and a receiver can check; a role it lacks has no primary.
  if (ring->empty()) std::abort();
  bool any = false;
  for (auto role : {baker::wire::Role::announce, baker::wire::Role::publish}) {
    const auto primary = ring->primary_id(role);
    if (primary.has_value() != ring->has_role(role)) std::abort();
    if (!primary) continue;
    any = true;
    const auto* entry = ring->entry(*primary);
    if (*primary == 0 || !entry || !entry->has(role)) std::abort();
    const std::span<const std::uint8_t> bytes(data, size);
    if (!baker::wire::verify_mac(entry->key, bytes, baker::wire::compute_mac(entry->key, bytes))) {
      std::abort();
    }
  }
  if (!any || !ring->primary_id()) std::abort();
  return 0;
}
