#pragma once
// Cluster keys, their roles, and the datagram authentication tag (keyed BLAKE2b-128, libsodium).
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "wire/limits.hpp"
#include "wire/messages.hpp"

namespace baker::wire {

using Key = std::array<std::uint8_t, kKeySize>;
using Mac = std::array<std::uint8_t, kMacSize>;

// A set of Role values, as a bitmask (Role's values are its bits).
using Roles = std::uint8_t;
inline constexpr Roles kAllRoles =
    static_cast<Roles>(static_cast<Roles>(Role::announce) | static_cast<Roles>(Role::publish));
constexpr bool holds(Roles roles, Role r) noexcept {
  return (roles & static_cast<Roles>(r)) != 0;
}

// Why a key file did not parse: the line (1-based; 0 when the file as a whole is wrong, e.g. it
// holds no key) and what is wrong with it.
struct KeyringError {
  int line = 0;
  std::string message;
};

// One key of a ring and what it may authenticate.
struct KeyEntry {
  Key key{};
  Roles roles = kAllRoles;
  bool has(Role r) const noexcept { return holds(roles, r); }
};

// Several keys at once so a cluster can rotate: senders use the primary key of the message's role,
// receivers accept any key of the ring that holds that role (docs/PROTOCOL.md, "Roles").
class Keyring {
 public:
  // key_id must be 1..2^32-1 (0 means "unauthenticated" on the wire). `primary` makes the key the
  // primary of each of its roles.
  void add(std::uint32_t key_id, const Key& key, bool primary = false, Roles roles = kAllRoles);
  const Key* find(std::uint32_t key_id) const;
  // The key and its roles; nullptr if the ring has no such id.
  const KeyEntry* entry(std::uint32_t key_id) const;
  // The key a sender of `role` uses: the one marked primary for it, else the role's only key.
  std::optional<std::uint32_t> primary_id(Role role) const;
  // For log lines: the announce primary if the ring has announce keys, else the publish one.
  std::optional<std::uint32_t> primary_id() const;
  bool has_role(Role role) const;
  bool empty() const { return keys_.empty(); }
  std::size_t size() const { return keys_.size(); }

  // Parses a key file: one key per line, "<id> <64 hex digits> [primary] [announce|publish]" (the
  // words after the key in any order, each at most once; no role word = both roles); '#' starts
  // a comment. Each role needs one primary: the key marked primary among that role's keys, or the
  // role's only key. On error returns nullopt and sets *error (the line and what is wrong).
  static std::optional<Keyring> parse(std::string_view text, KeyringError* error);
  // The same, with the error as one message ("key file line 3: ...").
  static std::optional<Keyring> parse(std::string_view text, std::string* error);

 private:
  static std::size_t slot(Role r) { return r == Role::announce ? 0 : 1; }
  std::map<std::uint32_t, KeyEntry> keys_;
  std::array<std::optional<std::uint32_t>, 2> primary_;  // marked primaries, by slot(role)
};

Mac compute_mac(const Key& key, std::span<const std::uint8_t> bytes) noexcept;
bool verify_mac(const Key& key, std::span<const std::uint8_t> bytes, const Mac& mac) noexcept;

}  // namespace baker::wire
