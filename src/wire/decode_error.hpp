#pragma once
#include <cstdint>
#include <string_view>

namespace baker::wire {

// Why a datagram was rejected. Receivers count these by value (metrics label = to_string()).
enum class DecodeError : std::uint8_t {
  empty,              // zero-length datagram
  too_large,          // longer than the decoder's size limit
  truncated,          // msgpack ended before the message did
  malformed,          // bytes are not valid msgpack (reserved byte, bad structure)
  trailing_bytes,     // bytes left after the envelope
  limit_exceeded,     // a msgpack string, array, map or nesting depth over the parser's bounds
  wrong_type,         // a field has the wrong msgpack type (e.g. string where an integer belongs)
  wrong_field_count,  // envelope or body array has the wrong number of elements
  unknown_version,    // protocol version other than kProtocolVersion
  unknown_type,       // message type not defined in this version
  missing_mac,        // receiver requires authentication; datagram carries none
  unknown_key,        // key id not in the receiver's keyring
  bad_mac,            // authentication tag does not match: forged or altered
  invalid_service,    // service name breaks the naming rule
  invalid_instance,   // instance id empty, too long or with forbidden characters
  invalid_address,    // address is not 4 or 16 bytes
  invalid_port,       // port outside 1..65535
  invalid_tag,        // too many tags, or a tag empty/too long/not printable ASCII
  invalid_value,  // any other field out of its range (weight, interval, state, op, seq order...)
  wrong_role,     // MAC made with a key the receiver holds, but not for this message's role
};

inline constexpr int kDecodeErrorCount = static_cast<int>(DecodeError::wrong_role) + 1;

std::string_view to_string(DecodeError e) noexcept;

}  // namespace baker::wire
