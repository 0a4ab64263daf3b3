#include "baker-dump/record.hpp"

namespace baker::dump {

std::string_view to_string(AuthStatus a) noexcept {
  switch (a) {
    case AuthStatus::none:
      return "none";
    case AuthStatus::unverified:
      return "unverified";
    case AuthStatus::ok:
      return "ok";
    case AuthStatus::missing_mac:
      return "missing_mac";
    case AuthStatus::unknown_key:
      return "unknown_key";
    case AuthStatus::bad_mac:
      return "bad_mac";
    case AuthStatus::wrong_role:
      return "wrong_role";
  }
  return "unknown";
}

Record make_record(Timestamp time, const Endpoint& source, const Endpoint& destination,
                   std::span<const std::uint8_t> payload, const wire::Keyring* keys) {
  Record r;
  r.time = time;
  r.source = source;
  r.destination = destination;
  r.payload.assign(payload.begin(), payload.end());

  if (keys != nullptr) {
    auto checked = wire::decode(payload, wire::DecodeOptions{keys});
    if (checked) {
      r.message = std::move(checked.value().message);
      r.key_id = checked.value().key_id;
      r.auth = AuthStatus::ok;
      return r;
    }
    switch (checked.error()) {
      case wire::DecodeError::missing_mac:
        r.auth = AuthStatus::missing_mac;
        break;
      case wire::DecodeError::unknown_key:
        r.auth = AuthStatus::unknown_key;
        break;
      case wire::DecodeError::bad_mac:
        r.auth = AuthStatus::bad_mac;
        break;
      case wire::DecodeError::wrong_role:
        r.auth = AuthStatus::wrong_role;
        break;
      default:
        // Not an authentication question: the bytes themselves are bad; report that below.
        break;
    }
  }
  auto plain = wire::decode(payload, wire::DecodeOptions{nullptr});
  if (plain) {
    r.message = std::move(plain.value().message);
    r.key_id = plain.value().key_id;
    if (keys == nullptr) r.auth = r.key_id != 0 ? AuthStatus::unverified : AuthStatus::none;
  } else {
    r.error = plain.error();
  }
  return r;
}

}  // namespace baker::dump
