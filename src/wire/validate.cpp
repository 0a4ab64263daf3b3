#include "wire/validate.hpp"

#include "wire/limits.hpp"

namespace baker::wire {
namespace {

bool is_lower_or_underscore(char c) {
  return (c >= 'a' && c <= 'z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::optional<DecodeError> check_epoch_seq(std::uint64_t epoch) {
  if (epoch == 0) return DecodeError::invalid_value;
  return std::nullopt;
}

// A watson datagram: its incarnation and its wall-clock stamp are never 0.
std::optional<DecodeError> check_sender(std::uint64_t incarnation, std::uint64_t sent_ms) {
  if (incarnation == 0 || sent_ms == 0) return DecodeError::invalid_value;
  return std::nullopt;
}

// Directory -> sherlock: group traffic (subscriber 0) answers no request (nonce 0); an answer
// (`answer`) is always unicast and always names the request.
std::optional<DecodeError> check_addressee(std::uint64_t subscriber_id, std::uint64_t nonce,
                                           bool answer) {
  if (subscriber_id == 0 && nonce != 0) return DecodeError::invalid_value;
  if (answer && (subscriber_id == 0 || nonce == 0)) return DecodeError::invalid_value;
  return std::nullopt;
}

struct Validator {
  std::optional<DecodeError> operator()(const Heartbeat& m) const {
    if (auto e = validate(m.route)) return e;
    if (m.interval_ms < kMinIntervalMs || m.interval_ms > kMaxIntervalMs) {
      return DecodeError::invalid_value;
    }
    return check_sender(m.incarnation, m.sent_ms);
  }
  std::optional<DecodeError> operator()(const Goodbye& m) const {
    if (!is_valid_service_name(m.service)) return DecodeError::invalid_service;
    if (!is_valid_instance_id(m.instance)) return DecodeError::invalid_instance;
    return check_sender(m.incarnation, m.sent_ms);
  }
  std::optional<DecodeError> operator()(const Subscribe& m) const {
    if (m.subscriber_id == 0 || m.nonce == 0) return DecodeError::invalid_value;
    if (m.cookie.size() > kMaxCookieSize) return DecodeError::limit_exceeded;
    if (m.services.size() > kMaxServicesPerSubscribe) return DecodeError::limit_exceeded;
    for (const auto& s : m.services) {
      if (!is_valid_service_name(s)) return DecodeError::invalid_service;
    }
    if (m.flags & ~kFlagMulticastMember) return DecodeError::invalid_value;
    if (m.last_epoch == 0 && m.last_seq != 0) return DecodeError::invalid_value;
    return std::nullopt;
  }
  std::optional<DecodeError> operator()(const Unsubscribe& m) const {
    if (m.subscriber_id == 0 || m.nonce == 0) return DecodeError::invalid_value;
    return std::nullopt;
  }
  std::optional<DecodeError> operator()(const Delta& m) const {
    if (m.to_seq <= m.from_seq) return DecodeError::invalid_value;
    if (auto e = check_addressee(m.subscriber_id, m.nonce, false)) return e;
    if (m.flags & ~kFlagWarmup) return DecodeError::invalid_value;
    if (m.ops.size() > m.to_seq - m.from_seq) return DecodeError::invalid_value;
    for (const auto& op : m.ops) {
      if (op.kind == OpKind::remove) {
        if (!is_valid_service_name(op.route.service)) return DecodeError::invalid_service;
        if (!is_valid_instance_id(op.route.instance)) return DecodeError::invalid_instance;
        if (op.removal != Removal::expired && op.removal != Removal::goodbye) {
          return DecodeError::invalid_value;
        }
      } else if (auto e = validate(op.route)) {
        return e;
      }
    }
    return check_epoch_seq(m.epoch);
  }
  std::optional<DecodeError> operator()(const Tick& m) const {
    if (m.flags & ~kFlagWarmup) return DecodeError::invalid_value;
    if (m.lease_ms > kMaxLeaseMs) return DecodeError::invalid_value;
    if (auto e = check_addressee(m.subscriber_id, m.nonce, false)) return e;
    return check_epoch_seq(m.epoch);
  }
  std::optional<DecodeError> operator()(const Nack& m) const {
    if (m.subscriber_id == 0 || m.nonce == 0) return DecodeError::invalid_value;
    if (m.first_missing == 0 || m.last_missing < m.first_missing) {
      return DecodeError::invalid_value;
    }
    return check_epoch_seq(m.epoch);
  }
  std::optional<DecodeError> operator()(const SnapshotChunk& m) const {
    if (m.count == 0 || m.count > kMaxSnapshotChunks || m.index >= m.count) {
      return DecodeError::invalid_value;
    }
    if (m.flags & ~kFlagWarmup) return DecodeError::invalid_value;
    if (auto e = check_addressee(m.subscriber_id, m.nonce, true)) return e;
    // One version per route, or none at all (a chunk built without them: all unknown).
    if (!m.versions.empty() && m.versions.size() != m.routes.size()) {
      return DecodeError::invalid_value;
    }
    for (const auto& r : m.routes) {
      if (auto e = validate(r)) return e;
    }
    return check_epoch_seq(m.epoch);
  }
  std::optional<DecodeError> operator()(const RetryLater& m) const {
    if (m.delay_ms > kMaxRetryDelayMs) return DecodeError::invalid_value;
    if (auto e = check_addressee(m.subscriber_id, m.nonce, true)) return e;
    return check_epoch_seq(m.epoch);
  }
  std::optional<DecodeError> operator()(const Challenge& m) const {
    if (m.subscriber_id == 0 || m.nonce == 0) return DecodeError::invalid_value;
    if (m.cookie.empty()) return DecodeError::invalid_value;
    if (m.cookie.size() > kMaxCookieSize) return DecodeError::limit_exceeded;
    return std::nullopt;
  }
};

}  // namespace

bool is_valid_service_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxServiceNameLength) return false;
  if (!is_lower_or_underscore(name.front())) return false;
  for (char c : name) {
    if (!is_lower_or_underscore(c) && !is_digit(c) && c != '-') return false;
  }
  return true;
}

bool is_valid_instance_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > kMaxInstanceIdLength) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
                    c == '-' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

bool is_valid_tag(std::string_view tag) noexcept {
  if (tag.empty() || tag.size() > kMaxTagLength) return false;
  for (char c : tag) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::optional<DecodeError> validate(const Route& r) noexcept {
  if (!is_valid_service_name(r.service)) return DecodeError::invalid_service;
  if (!is_valid_instance_id(r.instance)) return DecodeError::invalid_instance;
  if (r.port == 0) return DecodeError::invalid_port;
  if (r.weight > kMaxWeight) return DecodeError::invalid_value;
  if (r.state != InstanceState::up && r.state != InstanceState::draining) {
    return DecodeError::invalid_value;
  }
  if (r.tags.size() > kMaxTags) return DecodeError::invalid_tag;
  for (const auto& t : r.tags) {
    if (!is_valid_tag(t)) return DecodeError::invalid_tag;
  }
  return std::nullopt;
}

std::optional<DecodeError> validate(const Message& m) noexcept {
  return std::visit(Validator{}, m);
}

}  // namespace baker::wire
