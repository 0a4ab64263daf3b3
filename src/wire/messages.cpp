#include "wire/messages.hpp"

#include "wire/decode_error.hpp"

namespace baker::wire {

MessageType type_of(const Message& m) noexcept {
  return static_cast<MessageType>(m.index() + 1);  // variant order follows the type numbers
}

std::string_view to_string(MessageType t) noexcept {
  switch (t) {
    case MessageType::heartbeat:
      return "heartbeat";
    case MessageType::goodbye:
      return "goodbye";
    case MessageType::subscribe:
      return "subscribe";
    case MessageType::unsubscribe:
      return "unsubscribe";
    case MessageType::delta:
      return "delta";
    case MessageType::tick:
      return "tick";
    case MessageType::nack:
      return "nack";
    case MessageType::snapshot_chunk:
      return "snapshot";
    case MessageType::retry_later:
      return "retry_later";
  }
  return "unknown";
}

std::string_view to_string(OpKind k) noexcept {
  switch (k) {
    case OpKind::add:
      return "add";
    case OpKind::update:
      return "update";
    case OpKind::remove:
      return "remove";
  }
  return "unknown";
}

std::string_view to_string(InstanceState s) noexcept {
  return s == InstanceState::draining ? "draining" : "up";
}

std::string_view to_string(DecodeError e) noexcept {
  switch (e) {
    case DecodeError::empty:
      return "empty";
    case DecodeError::too_large:
      return "too_large";
    case DecodeError::truncated:
      return "truncated";
    case DecodeError::malformed:
      return "malformed";
    case DecodeError::trailing_bytes:
      return "trailing_bytes";
    case DecodeError::limit_exceeded:
      return "limit_exceeded";
    case DecodeError::wrong_type:
      return "wrong_type";
    case DecodeError::wrong_field_count:
      return "wrong_field_count";
    case DecodeError::unknown_version:
      return "unknown_version";
    case DecodeError::unknown_type:
      return "unknown_type";
    case DecodeError::missing_mac:
      return "missing_mac";
    case DecodeError::unknown_key:
      return "unknown_key";
    case DecodeError::bad_mac:
      return "bad_mac";
    case DecodeError::invalid_service:
      return "invalid_service";
    case DecodeError::invalid_instance:
      return "invalid_instance";
    case DecodeError::invalid_address:
      return "invalid_address";
    case DecodeError::invalid_port:
      return "invalid_port";
    case DecodeError::invalid_tag:
      return "invalid_tag";
    case DecodeError::invalid_value:
      return "invalid_value";
  }
  return "unknown";
}

}  // namespace baker::wire
