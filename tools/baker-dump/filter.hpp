#pragma once
// Display filters: which datagrams and notes are printed (analysis always sees every datagram, so
// a filter never invents gaps).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "baker-dump/analysis.hpp"
#include "baker-dump/record.hpp"

namespace baker::dump {

// An address, optionally with a port: "10.0.0.1", "10.0.0.1:7400", "::1", "[::1]:7400".
struct AddressMatch {
  wire::IpAddress address;
  std::optional<std::uint16_t> port;
  bool matches(const Endpoint& e) const {
    return e.address == address && (!port || *port == e.port);
  }
};
std::optional<AddressMatch> parse_address_match(std::string_view text);

// "heartbeat,delta": message type names as printed (heartbeat goodbye subscribe unsubscribe delta
// tick nack snapshot retry_later) plus "invalid" (decode and authentication failures). nullopt on
// an unknown name, with *bad set to it.
std::optional<TypeMask> parse_type_list(std::string_view text, std::string* bad);

struct Filter {
  TypeMask types = 0;                 // 0 = every type
  std::vector<std::string> services;  // empty = every service
  std::vector<AddressMatch> sources;  // empty = every sender
  std::vector<AddressMatch> destinations;

  bool matches(const Record& r) const;
  // Notes carry the types and sender of the stream they are about; a note without a service
  // (Delta streams, directory restarts) passes a service filter.
  bool matches(const Note& n) const;
};

// The type bits a record counts as: its message type, plus kInvalidBit when it fails to decode or
// to authenticate.
TypeMask record_types(const Record& r);
// Services a record concerns: a heartbeat's or goodbye's service, a Subscribe's list, the services
// of a Delta's ops or a snapshot's routes. `all` is set for a Subscribe to every service.
std::vector<std::string> record_services(const Record& r, bool* all);

}  // namespace baker::dump
