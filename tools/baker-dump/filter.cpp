#include "baker-dump/filter.hpp"

#include <algorithm>
#include <type_traits>

#include "common/host_port.hpp"

namespace baker::dump {
namespace {

std::optional<TypeMask> type_by_name(std::string_view name) {
  using T = wire::MessageType;
  if (name == "invalid") return kInvalidBit;
  if (name == "heartbeat") return type_bit(T::heartbeat);
  if (name == "goodbye") return type_bit(T::goodbye);
  if (name == "subscribe") return type_bit(T::subscribe);
  if (name == "unsubscribe") return type_bit(T::unsubscribe);
  if (name == "delta") return type_bit(T::delta);
  if (name == "tick") return type_bit(T::tick);
  if (name == "nack") return type_bit(T::nack);
  if (name == "snapshot" || name == "snapshot_chunk") return type_bit(T::snapshot_chunk);
  if (name == "retry_later" || name == "retry-later") return type_bit(T::retry_later);
  return std::nullopt;
}

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

}  // namespace

std::optional<AddressMatch> parse_address_match(std::string_view text) {
  if (auto plain = wire::IpAddress::parse(text)) return AddressMatch{*plain, std::nullopt};
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    if (auto v6 = wire::IpAddress::parse(text.substr(1, text.size() - 2))) {
      return AddressMatch{*v6, std::nullopt};
    }
  }
  HostPortRules rules;
  rules.numeric = true;
  const auto hp = parse_host_port(text, rules);
  if (!hp) return std::nullopt;
  return AddressMatch{*wire::IpAddress::parse(hp->host), hp->port};
}

std::optional<TypeMask> parse_type_list(std::string_view text, std::string* bad) {
  TypeMask mask = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto end = comma == std::string_view::npos ? text.size() : comma;
    const auto name = text.substr(start, end - start);
    const auto bit = type_by_name(name);
    if (!bit) {
      if (bad) *bad = std::string(name);
      return std::nullopt;
    }
    mask |= *bit;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return mask;
}

TypeMask record_types(const Record& r) {
  TypeMask mask = 0;
  if (r.message) mask |= type_bit(wire::type_of(*r.message));
  if (!r.valid()) mask |= kInvalidBit;
  return mask;
}

std::vector<std::string> record_services(const Record& r, bool* all) {
  std::vector<std::string> out;
  *all = false;
  if (!r.message) return out;
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, wire::Heartbeat>) {
          out.push_back(m.route.service);
        } else if constexpr (std::is_same_v<T, wire::Goodbye>) {
          out.push_back(m.service);
        } else if constexpr (std::is_same_v<T, wire::Subscribe>) {
          out = m.services;
          *all = m.services.empty();
        } else if constexpr (std::is_same_v<T, wire::Delta>) {
          for (const auto& op : m.ops) add_unique(out, op.route.service);
        } else if constexpr (std::is_same_v<T, wire::SnapshotChunk>) {
          for (const auto& route : m.routes) add_unique(out, route.service);
        }
      },
      *r.message);
  return out;
}

bool Filter::matches(const Record& r) const {
  if (types != 0 && (record_types(r) & types) == 0) return false;
  if (!services.empty()) {
    bool all = false;
    const auto mine = record_services(r, &all);
    const bool hit = all || std::any_of(mine.begin(), mine.end(), [&](const std::string& s) {
                       return std::find(services.begin(), services.end(), s) != services.end();
                     });
    if (!hit) return false;
  }
  if (!sources.empty() && std::none_of(sources.begin(), sources.end(), [&](const AddressMatch& m) {
        return m.matches(r.source);
      })) {
    return false;
  }
  if (!destinations.empty() &&
      std::none_of(destinations.begin(), destinations.end(),
                   [&](const AddressMatch& m) { return m.matches(r.destination); })) {
    return false;
  }
  return true;
}

bool Filter::matches(const Note& n) const {
  if (types != 0 && (n.types & types) == 0) return false;
  if (!services.empty() && !n.service.empty() &&
      std::find(services.begin(), services.end(), n.service) == services.end()) {
    return false;
  }
  if (!sources.empty() && std::none_of(sources.begin(), sources.end(), [&](const AddressMatch& m) {
        return m.matches(n.sender);
      })) {
    return false;
  }
  if (!destinations.empty() && n.receiver &&
      std::none_of(destinations.begin(), destinations.end(),
                   [&](const AddressMatch& m) { return m.matches(*n.receiver); })) {
    return false;
  }
  return true;
}

}  // namespace baker::dump
