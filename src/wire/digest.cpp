#include "wire/digest.hpp"

#include <sodium.h>

#include "wire/codec.hpp"

namespace baker::wire {
namespace {
// A fixed, public SipHash key: the digest detects divergence, it is not a secret.
constexpr unsigned char kDigestKey[crypto_shorthash_KEYBYTES] = {
    'b', 'a', 'k', 'e', 'r', '-', 'd', 'i', 'g', 'e', 's', 't', '-', 'v', '1', '!'};
}  // namespace

std::uint64_t route_digest(const Route& r) {
  thread_local Bytes bytes;
  bytes.clear();
  encode_route_into(r, bytes);
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, bytes.data(), bytes.size(), kDigestKey);
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | out[i];
  return v;
}

std::uint64_t table_digest(std::span<const Route> routes) {
  std::uint64_t sum = 0;
  for (const auto& r : routes) sum += route_digest(r);
  return sum;
}

}  // namespace baker::wire
