#pragma once
// Datagram encoding and strict decoding. Layout (docs/PROTOCOL.md, "Envelope"):
//   [version, type, key_id, body]            key_id = 0, unauthenticated
//   [version, type, key_id, body, mac(bin16)] key_id != 0; mac over every byte before its 16 bytes
#include <cstdint>
#include <span>
#include <vector>

#include "wire/auth.hpp"
#include "wire/decode_error.hpp"
#include "wire/limits.hpp"
#include "wire/messages.hpp"
#include "wire/result.hpp"

namespace baker::wire {

using Bytes = std::vector<std::uint8_t>;

struct Decoded {
  Message message;
  std::uint32_t key_id = 0;    // 0: datagram carried no MAC
  bool authenticated = false;  // MAC present and verified with a key of the keyring
};

struct DecodeOptions {
  // nullptr: accept datagrams with or without MAC, verify none (tools such as baker-dump).
  // Otherwise every datagram must carry a MAC made with a key of this ring that holds the
  // message's role (else wrong_role); the MAC is checked before any of the body is parsed.
  const Keyring* keys = nullptr;
  std::size_t max_datagram = kMaxDatagramSize;
};

Result<Decoded, DecodeError> decode(std::span<const std::uint8_t> datagram,
                                    const DecodeOptions& options = {}) noexcept;

// Encodes unauthenticated if keys is null; otherwise with the ring's primary key of the message's
// role (role_of(type_of(m))), appending a MAC. A ring without a key of that role is a
// configuration error that daemons refuse at start-up: here it throws std::logic_error.
// The message is not validated here: see validate().
Bytes encode(const Message& m, const Keyring* keys = nullptr);
// Same, appending to out (cleared first): lets hot senders reuse one buffer.
void encode_into(const Message& m, const Keyring* keys, Bytes& out);

// The canonical encoding of one route, array(7), appended to out: what digests hash (versions are
// not part of it). Snapshot chunks carry the route with its version, array(9).
void encode_route_into(const Route& r, Bytes& out);

// Encoded size of pieces, for packing many ops or routes into datagrams without trial encodes.
std::size_t encoded_size(const Route& r);  // canonical array(7)
// A snapshot route with its version, array(9): always encoded_size(r) + encoded_size(v).
std::size_t encoded_size(const Route& r, const Version& v);
// The version's two fields (incarnation, seq) alone.
std::size_t encoded_size(const Version& v);
std::size_t encoded_size(const DeltaOp& op);

}  // namespace baker::wire
