#include "wire/auth.hpp"

#include <sodium.h>

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

void Keyring::add(std::uint32_t key_id, const Key& key, bool primary) {
  keys_[key_id] = key;
  if (primary) primary_ = key_id;
}

const Key* Keyring::find(std::uint32_t key_id) const {
  auto it = keys_.find(key_id);
  return it == keys_.end() ? nullptr : &it->second;
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
  int primary_line = 0;
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
    if (w.size() < 2 || w.size() > 3) return fail("expected '<id> <64 hex digits> [primary]'");
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
    if (w.size() == 3) {
      if (w[2] != "primary") return fail("third word may only be 'primary'");
      if (primary_line > 0) {
        return fail("a second key marked primary (the first is on line " +
                    std::to_string(primary_line) + ")");
      }
      primary = true;
      primary_line = line_no;
    }
    ring.add(static_cast<std::uint32_t>(id), key, primary);
  }
  if (ring.empty()) return fail_file("holds no key");
  if (primary_line == 0) {
    if (ring.size() > 1) return fail_file("holds several keys but none is marked primary");
    ring.primary_ = ring.keys_.begin()->first;
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
