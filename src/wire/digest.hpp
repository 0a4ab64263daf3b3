#pragma once
// The table digest carried by Tick: order-independent, updatable in O(1) per change.
#include <cstdint>
#include <span>

#include "wire/messages.hpp"

namespace baker::wire {

// SipHash-2-4 (fixed public key) of the route's canonical msgpack encoding.
std::uint64_t route_digest(const Route& r);

// Digest of a set of routes = sum mod 2^64 of route_digest over the set; add on insert,
// subtract on removal, both on update.
std::uint64_t table_digest(std::span<const Route> routes);

}  // namespace baker::wire
