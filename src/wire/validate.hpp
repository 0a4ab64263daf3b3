#pragma once
// The naming and range rules of docs/PROTOCOL.md, usable by config parsers as well as the decoder.
#include <optional>
#include <string_view>

#include "wire/decode_error.hpp"
#include "wire/messages.hpp"

namespace baker::wire {

// Lower-case letters, digits, '_' and '-'; starts with a letter or '_'; 1..100 chars.
bool is_valid_service_name(std::string_view name) noexcept;
// Letters, digits and '_' '-' '.' ':'; 1..64 chars.
bool is_valid_instance_id(std::string_view id) noexcept;
// Printable ASCII without space (0x21..0x7e); 1..64 chars.
bool is_valid_tag(std::string_view tag) noexcept;

// Checks every field of a message against the rules; nullopt when valid. The decoder calls this,
// and senders may call it before encoding so they never put an invalid datagram on the wire.
std::optional<DecodeError> validate(const Route& r) noexcept;
std::optional<DecodeError> validate(const Message& m) noexcept;

}  // namespace baker::wire
