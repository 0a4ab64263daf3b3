#include "wire/messages.hpp"

#include <array>

#include "common/enum_names.hpp"
#include "wire/decode_error.hpp"

namespace baker::wire {
namespace {

constexpr std::array<std::string_view, 11> kMessageTypeNames = {
    "unknown", "heartbeat", "goodbye",  "subscribe",   "unsubscribe", "delta",
    "tick",    "nack",      "snapshot", "retry_later", "challenge"};
static_assert(names_every_value(kMessageTypeNames, MessageType::challenge));

constexpr std::array<std::string_view, 3> kOpKindNames = {"add", "update", "remove"};
static_assert(names_every_value(kOpKindNames, OpKind::remove));

constexpr auto kDecodeErrorNames = std::to_array<std::string_view>(
    {"empty",           "too_large",    "truncated",         "malformed",       "trailing_bytes",
     "limit_exceeded",  "wrong_type",   "wrong_field_count", "unknown_version", "unknown_type",
     "missing_mac",     "unknown_key",  "bad_mac",           "invalid_service", "invalid_instance",
     "invalid_address", "invalid_port", "invalid_tag",       "invalid_value",   "wrong_role"});
static_assert(kDecodeErrorNames.size() == kDecodeErrorCount);

}  // namespace

MessageType type_of(const Message& m) noexcept {
  return static_cast<MessageType>(m.index() + 1);  // variant order follows the type numbers
}

Role role_of(MessageType t) noexcept {
  return t == MessageType::heartbeat || t == MessageType::goodbye ? Role::announce : Role::publish;
}

std::string_view to_string(Role r) noexcept {
  return r == Role::announce ? "announce" : "publish";
}

std::string_view to_string(MessageType t) noexcept {
  return enum_name(kMessageTypeNames, t);
}

std::string_view to_string(OpKind k) noexcept {
  return enum_name(kOpKindNames, k);
}

std::string_view to_string(Removal r) noexcept {
  return r == Removal::goodbye ? "goodbye" : "expired";
}

std::string_view to_string(InstanceState s) noexcept {
  return s == InstanceState::draining ? "draining" : "up";
}

std::string_view to_string(DecodeError e) noexcept {
  return enum_name(kDecodeErrorNames, e);
}

}  // namespace baker::wire
