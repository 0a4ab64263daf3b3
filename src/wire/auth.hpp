#pragma once
// Cluster keys and the datagram authentication tag (keyed BLAKE2b-128 from libsodium).
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "wire/limits.hpp"

namespace baker::wire {

using Key = std::array<std::uint8_t, kKeySize>;
using Mac = std::array<std::uint8_t, kMacSize>;

// Why a key file did not parse: the line (1-based; 0 when the file as a whole is wrong, e.g. it
// holds no key) and what is wrong with it.
struct KeyringError {
  int line = 0;
  std::string message;
};

// Several keys at once so a cluster can rotate: senders use the primary, receivers accept any.
class Keyring {
 public:
  // key_id must be 1..2^32-1 (0 means "unauthenticated" on the wire).
  void add(std::uint32_t key_id, const Key& key, bool primary = false);
  const Key* find(std::uint32_t key_id) const;
  std::optional<std::uint32_t> primary_id() const { return primary_; }
  bool empty() const { return keys_.empty(); }
  std::size_t size() const { return keys_.size(); }

  // Parses a key file: one key per line, "<id> <64 hex digits> [primary]"; '#' starts a comment.
  // Exactly one key may be marked primary; with a single key it is primary implicitly. On error
  // returns nullopt and sets *error (the line and what is wrong with it).
  static std::optional<Keyring> parse(std::string_view text, KeyringError* error);
  // The same, with the error as one message ("key file line 3: ...").
  static std::optional<Keyring> parse(std::string_view text, std::string* error);

 private:
  std::map<std::uint32_t, Key> keys_;
  std::optional<std::uint32_t> primary_;
};

Mac compute_mac(const Key& key, std::span<const std::uint8_t> bytes) noexcept;
bool verify_mac(const Key& key, std::span<const std::uint8_t> bytes, const Mac& mac) noexcept;

}  // namespace baker::wire
