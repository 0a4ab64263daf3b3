#include "wire/auth.hpp"

#include <sodium.h>

#include <array>
#include <cstring>
#include <vector>

namespace baker::wire {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

void Keyring::add(std::uint32_t key_id, const Key& key, bool primary, Roles roles) {
  keys_[key_id] = KeyEntry{key, roles};
  if (!primary) return;
  for (Role r : {Role::announce, Role::publish}) {
    if (holds(roles, r)) primary_[slot(r)] = key_id;
  }
}

const KeyEntry* Keyring::entry(std::uint32_t key_id) const {
  auto it = keys_.find(key_id);
  return it == keys_.end() ? nullptr : &it->second;
}

const Key* Keyring::find(std::uint32_t key_id) const {
  const KeyEntry* e = entry(key_id);
  return e ? &e->key : nullptr;
}

std::optional<std::uint32_t> Keyring::primary_id(Role role) const {
  if (const auto& marked = primary_[slot(role)]) {
    if (const KeyEntry* e = entry(*marked); e && e->has(role)) return marked;
  }
  std::optional<std::uint32_t> only;
  for (const auto& [id, e] : keys_) {
    if (!e.has(role)) continue;
    if (only) return std::nullopt;  // several, none marked
    only = id;
  }
  return only;
}

std::optional<std::uint32_t> Keyring::primary_id() const {
  if (auto id = primary_id(Role::announce)) return id;
  return primary_id(Role::publish);
}

bool Keyring::has_role(Role role) const {
  for (const auto& [id, e] : keys_) {
    if (e.has(role)) return true;
  }
  return false;
}

std::optional<Keyring> Keyring::parse(std::string_view text, std::string* error) {
  KeyringError e;
  auto ring = parse(text, &e);
  if (!ring && error) {
    *error = "key file " + (e.line > 0 ? "line " + std::to_string(e.line) + ": " : std::string()) +
             e.message;
  }
  return ring;
}

std::optional<Keyring> Keyring::parse(std::string_view text, KeyringError* error) {
  Keyring ring;
  int line_no = 0;
  std::array<int, 2> primary_line{};  // by slot(role): the line that marked the role's primary
  auto fail = [&](const std::string& why) {
    if (error) *error = {line_no, why};
    return std::nullopt;
  };
  auto fail_file = [&](const std::string& why) {
    if (error) *error = {0, why};
    return std::nullopt;
  };
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    const auto w = words(line);
    if (w.empty()) continue;
    if (w.size() < 2 || w.size() > 5) {
      return fail("expected '<id> <64 hex digits> [primary] [announce|publish]'");
    }
    std::uint64_t id = 0;
    for (char c : w[0]) {
      if (c < '0' || c > '9' || id > UINT32_MAX) return fail("key id must be 1..4294967295");
      id = id * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (id == 0 || id > UINT32_MAX) return fail("key id must be 1..4294967295");
    if (ring.find(static_cast<std::uint32_t>(id)))
      return fail("duplicate key id " + std::string(w[0]));
    if (w[1].size() != 2 * kKeySize) return fail("key must be exactly 64 hex digits (32 bytes)");
    Key key{};
    for (std::size_t i = 0; i < kKeySize; ++i) {
      const int hi = hex_value(w[1][2 * i]);
      const int lo = hex_value(w[1][2 * i + 1]);
      if (hi < 0 || lo < 0) return fail("key must be hex digits only");
      key[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    bool primary = false;
    Roles roles = 0;
    for (std::size_t k = 2; k < w.size(); ++k) {
      const std::string word(w[k]);
      if (word == "primary") {
        if (primary) return fail("'primary' given twice");
        primary = true;
      } else if (word == "announce" || word == "publish") {
        const Role r = word == "announce" ? Role::announce : Role::publish;
        if (holds(roles, r)) return fail("'" + word + "' given twice");
        roles = static_cast<Roles>(roles | static_cast<Roles>(r));
      } else {
        return fail("unknown word '" + word + "' (expected primary, announce or publish)");
      }
    }
    if (roles == 0) roles = kAllRoles;
    if (primary) {
      for (Role r : {Role::announce, Role::publish}) {
        if (!holds(roles, r)) continue;
        if (primary_line[slot(r)] > 0) {
          return fail("a second primary " + std::string(to_string(r)) +
                      " key (the first is on line " + std::to_string(primary_line[slot(r)]) + ")");
        }
        primary_line[slot(r)] = line_no;
      }
    }
    ring.add(static_cast<std::uint32_t>(id), key, primary, roles);
  }
  if (ring.empty()) return fail_file("holds no key");
  const bool announce_unmarked = ring.has_role(Role::announce) && !ring.primary_id(Role::announce);
  const bool publish_unmarked = ring.has_role(Role::publish) && !ring.primary_id(Role::publish);
  if (announce_unmarked && publish_unmarked) {
    return fail_file("holds several keys but none is marked primary");
  }
  for (Role r : {Role::announce, Role::publish}) {
    if (ring.has_role(r) && !ring.primary_id(r)) {
      return fail_file("holds several " + std::string(to_string(r)) +
                       " keys but none is marked primary");
    }
  }
  return ring;
}

Mac compute_mac(const Key& key, std::span<const std::uint8_t> bytes) noexcept {
  Mac mac{};
  crypto_generichash(mac.data(), mac.size(), bytes.data(), bytes.size(), key.data(), key.size());
  return mac;
}

bool verify_mac(const Key& key, std::span<const std::uint8_t> bytes, const Mac& mac) noexcept {
  const Mac expected = compute_mac(key, bytes);
  return sodium_memcmp(expected.data(), mac.data(), mac.size()) == 0;
}

}  // namespace baker::wire
