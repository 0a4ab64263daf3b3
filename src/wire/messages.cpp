#include "wire/messages.hpp"

#include <array>

#include "wire/decode_error.hpp"

namespace baker::wire {
namespace {

// Names indexed by the enum's value; the static_asserts keep each table as long as its enum.
constexpr std::array<std::string_view, 10> kMessageTypeNames = {
    "unknown", "heartbeat", "goodbye", "subscribe", "unsubscribe",
    "delta",   "tick",      "nack",    "snapshot",  "retry_later"};
static_assert(kMessageTypeNames.size() == static_cast<std::size_t>(MessageType::retry_later) + 1);

constexpr std::array<std::string_view, 3> kOpKindNames = {"add", "update", "remove"};
static_assert(kOpKindNames.size() == static_cast<std::size_t>(OpKind::remove) + 1);

constexpr std::array<std::string_view, kDecodeErrorCount> kDecodeErrorNames = {
    "empty",           "too_large",    "truncated",         "malformed",       "trailing_bytes",
    "limit_exceeded",  "wrong_type",   "wrong_field_count", "unknown_version", "unknown_type",
    "missing_mac",     "unknown_key",  "bad_mac",           "invalid_service", "invalid_instance",
    "invalid_address", "invalid_port", "invalid_tag",       "invalid_value"};
static_assert(static_cast<int>(DecodeError::invalid_value) == 18 && kDecodeErrorCount == 19,
              "a DecodeError was added: name it in kDecodeErrorNames");

template <std::size_t N, typename E>
std::string_view name_of(const std::array<std::string_view, N>& names, E value) {
  const auto i = static_cast<std::size_t>(value);
  return i < N ? names[i] : "unknown";
}

}  // namespace

MessageType type_of(const Message& m) noexcept {
  return static_cast<MessageType>(m.index() + 1);  // variant order follows the type numbers
}

std::string_view to_string(MessageType t) noexcept {
  return name_of(kMessageTypeNames, t);
}

std::string_view to_string(OpKind k) noexcept {
  return name_of(kOpKindNames, k);
}

std::string_view to_string(InstanceState s) noexcept {
  return s == InstanceState::draining ? "draining" : "up";
}

std::string_view to_string(DecodeError e) noexcept {
  return name_of(kDecodeErrorNames, e);
}

}  // namespace baker::wire
