#pragma once
// One captured Baker datagram, decoded (or not, with the reason) and checked against a keyring.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "baker-dump/frame.hpp"
#include "wire/auth.hpp"
#include "wire/codec.hpp"

namespace baker::dump {

// Capture time, as pcap gives it.
struct Timestamp {
  std::int64_t sec = 0;
  std::int32_t usec = 0;
  friend auto operator<=>(const Timestamp&, const Timestamp&) = default;
};

// What a datagram's authentication tag says.
enum class AuthStatus : std::uint8_t {
  none,         // no MAC, no key file: nothing to check
  unverified,   // carries a MAC, but no key file was given
  ok,           // MAC verified with a key of the key file
  missing_mac,  // key file given, datagram carries no MAC
  unknown_key,  // key file given, datagram's key id is not in it
  bad_mac,      // key file given, MAC does not match: forged or altered
  wrong_role,   // key file given, MAC made by a key of the file that lacks the message's role
};
std::string_view to_string(AuthStatus a) noexcept;
inline bool auth_failed(AuthStatus a) {
  return a == AuthStatus::missing_mac || a == AuthStatus::unknown_key || a == AuthStatus::bad_mac ||
         a == AuthStatus::wrong_role;
}

struct Record {
  Timestamp time;
  Endpoint source;
  Endpoint destination;
  std::vector<std::uint8_t> payload;
  // The message as the bytes say, even when authentication failed (so an operator can see what a
  // forged or mis-keyed datagram claims); empty when it does not decode at all.
  std::optional<wire::Message> message;
  std::optional<wire::DecodeError> error;  // why it does not decode (without keys)
  std::uint32_t key_id = 0;
  AuthStatus auth = AuthStatus::none;

  bool valid() const { return message.has_value() && !auth_failed(auth); }
};

// Decodes like a receiver would: with keys (nullable) the MAC is checked first and a failure
// (missing_mac, unknown_key, bad_mac, wrong_role) is an auth failure; the content is then decoded
// without keys for display. Decode failures keep the wire library's reason.
Record make_record(Timestamp time, const Endpoint& source, const Endpoint& destination,
                   std::span<const std::uint8_t> payload, const wire::Keyring* keys);

}  // namespace baker::dump
