#pragma once
// Every message a Baker datagram can carry. docs/PROTOCOL.md is the specification of each field.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "wire/address.hpp"

namespace baker::wire {

enum class MessageType : std::uint8_t {
  heartbeat = 1,
  goodbye = 2,
  subscribe = 3,
  unsubscribe = 4,
  delta = 5,
  tick = 6,
  nack = 7,
  snapshot_chunk = 8,
  retry_later = 9,
  challenge = 10,
};

enum class InstanceState : std::uint8_t { up = 0, draining = 1 };

// Whom a directory datagram is for: the subscriber (0 = the multicast group) and the nonce of the
// Subscribe or Nack it answers (0 = not an answer: the live stream, periodic Ticks).
struct Addressee {
  std::uint64_t subscriber_id = 0;
  std::uint64_t nonce = 0;
  friend bool operator==(const Addressee&, const Addressee&) = default;
};

// Flags carried by Delta, Tick and SnapshotChunk.
inline constexpr std::uint8_t kFlagWarmup =
    0x01;  // directory still warming up: merge, never replace
// Flags carried by Subscribe.
inline constexpr std::uint8_t kFlagMulticastMember = 0x01;  // subscriber hears the multicast group

// One routable instance of a service, as the directory's table and every replica hold it.
struct Route {
  std::string service{};
  std::string instance{};
  IpAddress address{};
  std::uint16_t port = 0;
  std::uint16_t weight = 100;
  InstanceState state = InstanceState::up;
  std::vector<std::string> tags{};
  friend bool operator==(const Route&, const Route&) = default;
};

// watson -> directory, every interval while the instance is healthy.
struct Heartbeat {
  Route route{};
  std::uint64_t incarnation = 0;  // the watson process: its start, us since 1970; never 0
  std::uint64_t seq = 0;          // +1 per datagram sent by this incarnation, from 1
  std::uint32_t interval_ms = 1000;
  std::uint64_t sent_ms = 0;  // sender's wall clock when sent, ms since 1970: freshness
  friend bool operator==(const Heartbeat&, const Heartbeat&) = default;
};

// watson -> directory: the instance leaves now.
struct Goodbye {
  std::string service{};
  std::string instance{};
  std::uint64_t incarnation = 0;
  std::uint64_t seq = 0;
  std::uint64_t sent_ms = 0;
  friend bool operator==(const Goodbye&, const Goodbye&) = default;
};

// An address-validation cookie: opaque to the sherlock, checked by the directory that made it.
using Cookie = std::vector<std::uint8_t>;

// sherlock -> directory: start or renew a subscription (lease).
struct Subscribe {
  std::uint64_t subscriber_id = 0;      // random per sherlock process start, never 0
  std::uint64_t nonce = 0;              // > every nonce this subscriber sent before; echoed back
  Cookie cookie{};                      // from the directory's last Challenge; empty = none yet
  std::vector<std::string> services{};  // empty = every service
  std::uint64_t last_epoch = 0;         // directory epoch the replica follows; 0 = none
  std::uint64_t last_seq = 0;           // last sequence applied in last_epoch
  std::uint8_t flags = 0;               // kFlagMulticastMember
  friend bool operator==(const Subscribe&, const Subscribe&) = default;
};

struct Unsubscribe {
  std::uint64_t subscriber_id = 0;
  std::uint64_t nonce = 0;
  friend bool operator==(const Unsubscribe&, const Unsubscribe&) = default;
};

// directory -> sherlock: the answer to a Subscribe from an address that has not proven it
// receives. Subscribe again with this cookie.
struct Challenge {
  std::uint64_t subscriber_id = 0;
  std::uint64_t nonce = 0;  // the Subscribe's
  Cookie cookie{};
  friend bool operator==(const Challenge&, const Challenge&) = default;
};

enum class OpKind : std::uint8_t { add = 0, update = 1, remove = 2 };

// Which watson datagram a directory's record of a route comes from: its sender's incarnation and
// that datagram's seq. Ordered: a replica merging several directories keeps, per instance, the
// record with the highest version (docs/PROTOCOL.md, "Several directories").
struct Version {
  std::uint64_t incarnation = 0;  // 0 = unknown: older than any real record
  std::uint64_t seq = 0;
  friend auto operator<=>(const Version&, const Version&) = default;
};

// Why a directory removed a route.
enum class Removal : std::uint8_t {
  expired = 0,  // no heartbeat for its miss limit (or dropped by the directory's own rules)
  goodbye = 1,  // the watson said goodbye: `version` is the Goodbye's
};

// One change to the table. For remove only route.service and route.instance are meaningful
// (and only they, the version and the reason are encoded).
struct DeltaOp {
  OpKind kind = OpKind::add;
  Route route{};
  Version version{};                  // add/update: the heartbeat's; remove: see Removal
  Removal removal = Removal::expired;  // remove only
  friend bool operator==(const DeltaOp&, const DeltaOp&) = default;
};

// directory -> sherlock: the changes with sequence numbers in (from_seq, to_seq], in order.
// A filtered stream may carry fewer ops than the range has sequence numbers.
struct Delta {
  std::uint64_t epoch = 0;
  std::uint64_t subscriber_id = 0;  // whom it is for; 0 = the multicast group
  std::uint64_t nonce = 0;          // the Subscribe or Nack it answers; 0 = the live stream
  std::uint64_t from_seq = 0;       // exclusive
  std::uint64_t to_seq = 0;         // inclusive, > from_seq
  std::uint8_t flags = 0;           // kFlagWarmup
  std::vector<DeltaOp> ops{};
  friend bool operator==(const Delta&, const Delta&) = default;
};

// directory -> sherlock, periodically and after each burst: where the stream is, and what the
// receiver's table should hash to.
struct Tick {
  std::uint64_t epoch = 0;
  std::uint64_t subscriber_id = 0;  // 0 = the multicast group
  std::uint64_t nonce = 0;          // the Subscribe or Nack it answers; 0 = periodic
  std::uint64_t seq = 0;            // latest sequence number
  std::uint64_t digest = 0;         // table_digest() of the routes this receiver should hold
  std::uint32_t route_count = 0;    // how many routes that is
  std::uint8_t flags = 0;           // kFlagWarmup
  std::uint32_t lease_ms = 0;       // subscription lease; renew well before it runs out
  friend bool operator==(const Tick&, const Tick&) = default;
};

// sherlock -> directory: sequences first_missing..last_missing (inclusive) never arrived.
struct Nack {
  std::uint64_t subscriber_id = 0;
  std::uint64_t nonce = 0;  // same counter as Subscribe's
  std::uint64_t epoch = 0;
  std::uint64_t first_missing = 0;
  std::uint64_t last_missing = 0;
  friend bool operator==(const Nack&, const Nack&) = default;
};

// directory -> sherlock: chunk `index` of `count` of the table as of sequence `seq`.
struct SnapshotChunk {
  std::uint64_t epoch = 0;
  std::uint64_t subscriber_id = 0;  // never 0: snapshots are unicast
  std::uint64_t nonce = 0;          // the Subscribe or Nack it answers, never 0
  std::uint64_t seq = 0;
  std::uint32_t index = 0;
  std::uint32_t count = 1;
  std::uint8_t flags = 0;  // kFlagWarmup: merge into the replica instead of replacing it
  std::vector<Route> routes{};
  // versions[i] is the version of routes[i]. Decoded chunks always have one per route; a chunk
  // built with fewer encodes the missing ones as {0, 0} (unknown).
  std::vector<Version> versions{};
  friend bool operator==(const SnapshotChunk&, const SnapshotChunk&) = default;
};

// directory -> sherlock: over the resync budget; ask again after delay_ms.
struct RetryLater {
  std::uint64_t epoch = 0;
  std::uint64_t subscriber_id = 0;
  std::uint64_t nonce = 0;  // the Subscribe or Nack it answers, never 0
  std::uint32_t delay_ms = 0;
  friend bool operator==(const RetryLater&, const RetryLater&) = default;
};

using Message = std::variant<Heartbeat, Goodbye, Subscribe, Unsubscribe, Delta, Tick, Nack,
                             SnapshotChunk, RetryLater, Challenge>;

// Which keys may authenticate a message (docs/PROTOCOL.md, "Roles"): announce = watson ->
// directory, publish = directory <-> sherlock.
enum class Role : std::uint8_t { announce = 1, publish = 2 };
Role role_of(MessageType t) noexcept;
std::string_view to_string(Role r) noexcept;

MessageType type_of(const Message& m) noexcept;
std::string_view to_string(MessageType t) noexcept;
std::string_view to_string(OpKind k) noexcept;
std::string_view to_string(Removal r) noexcept;
std::string_view to_string(InstanceState s) noexcept;

}  // namespace baker::wire
