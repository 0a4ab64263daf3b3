// libFuzzer target for the wire decoder. Besides "never crash, never leak, no UB" it checks a
// property: whatever decodes re-encodes to bytes that decode to the same message; and with keys
// split by role, whatever authenticates was MAC'd with a key holding the message's role.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "wire/codec.hpp"
#include "wire/validate.hpp"

namespace {

const baker::wire::Keyring& keys() {
  static const baker::wire::Keyring ring = [] {
    baker::wire::Keyring k;
    baker::wire::Key key{};
    key.fill(0x42);
    k.add(1, key, true);
    return k;
  }();
  return ring;
}

// A directory's ring: key 1 announce (the same bytes as keys()'s), key 2 publish.
const baker::wire::Keyring& split_keys() {
  static const baker::wire::Keyring ring = [] {
    baker::wire::Keyring k;
    baker::wire::Key a{}, p{};
    a.fill(0x42);
    p.fill(0x43);
    k.add(1, a, true, static_cast<baker::wire::Roles>(baker::wire::Role::announce));
    k.add(2, p, true, static_cast<baker::wire::Roles>(baker::wire::Role::publish));
    return k;
  }();
  return ring;
}

void check_round_trip(const baker::wire::Message& m, const baker::wire::Keyring* k) {
  const auto again = baker::wire::decode(baker::wire::encode(m, k), {k});
  if (!again.ok() || !(again.value().message == m)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  if (auto d = baker::wire::decode(bytes); d.ok()) {
    if (baker::wire::validate(d.value().message)) std::abort();  // decode validated it
    check_round_trip(d.value().message, nullptr);
    check_round_trip(d.value().message, &keys());
  }
  if (auto d = baker::wire::decode(bytes, {&keys()}); d.ok()) {
    if (!d.value().authenticated) std::abort();
  }
  if (auto d = baker::wire::decode(bytes, {&split_keys()}); d.ok()) {
    const auto* key = split_keys().entry(d.value().key_id);
    const auto role = baker::wire::role_of(baker::wire::type_of(d.value().message));
    if (!d.value().authenticated || !key || !key->has(role)) std::abort();
    check_round_trip(d.value().message, &split_keys());
  }
  return 0;
}
