#include "wire/codec.hpp"

#include <msgpack.hpp>
#include <stdexcept>
#include <string>

#include "wire/msgpack_reader.hpp"
#include "wire/validate.hpp"

namespace baker::wire {
namespace {

// msgpack-c's packer writes through any type with write(const char*, size_t).
struct ByteSink {
  Bytes& out;
  void write(const char* p, std::size_t n) { out.insert(out.end(), p, p + n); }
};
struct CountingSink {
  std::size_t n = 0;
  void write(const char*, std::size_t k) { n += k; }
};

template <typename Sink>
class Encoder {
 public:
  explicit Encoder(Sink& sink) : pk_(sink) {}

  void route_fields(const Route& r) {
    pk_.pack(r.service);
    pk_.pack(r.instance);
    pk_.pack_bin(static_cast<std::uint32_t>(r.address.size()));
    pk_.pack_bin_body(reinterpret_cast<const char*>(r.address.bytes.data()),
                      static_cast<std::uint32_t>(r.address.size()));
    pk_.pack(r.port);
    pk_.pack(r.weight);
    pk_.pack(static_cast<std::uint8_t>(r.state));
    pk_.pack_array(static_cast<std::uint32_t>(r.tags.size()));
    for (const auto& t : r.tags) pk_.pack(t);
  }
  void version(const Version& v) {
    pk_.pack(v.incarnation);
    pk_.pack(v.seq);
  }
  void route(const Route& r) {  // the canonical form: digests hash it
    pk_.pack_array(7);
    route_fields(r);
  }
  void snapshot_route(const Route& r, const Version& v) {
    pk_.pack_array(9);
    route_fields(r);
    version(v);
  }
  void op(const DeltaOp& op) {
    if (op.kind == OpKind::remove) {
      pk_.pack_array(6);
      pk_.pack(static_cast<std::uint8_t>(op.kind));
      pk_.pack(op.route.service);
      pk_.pack(op.route.instance);
      version(op.version);
      pk_.pack(static_cast<std::uint8_t>(op.removal));
      return;
    }
    pk_.pack_array(10);
    pk_.pack(static_cast<std::uint8_t>(op.kind));
    route_fields(op.route);
    version(op.version);
  }

  void bin(const std::vector<std::uint8_t>& b) {
    pk_.pack_bin(static_cast<std::uint32_t>(b.size()));
    pk_.pack_bin_body(reinterpret_cast<const char*>(b.data()),
                      static_cast<std::uint32_t>(b.size()));
  }

  void body(const Heartbeat& m) {
    pk_.pack_array(11);
    route_fields(m.route);
    pk_.pack(m.incarnation);
    pk_.pack(m.seq);
    pk_.pack(m.interval_ms);
    pk_.pack(m.sent_ms);
  }
  void body(const Goodbye& m) {
    pk_.pack_array(5);
    pk_.pack(m.service);
    pk_.pack(m.instance);
    pk_.pack(m.incarnation);
    pk_.pack(m.seq);
    pk_.pack(m.sent_ms);
  }
  void body(const Subscribe& m) {
    pk_.pack_array(7);
    pk_.pack(m.subscriber_id);
    pk_.pack(m.nonce);
    bin(m.cookie);
    pk_.pack_array(static_cast<std::uint32_t>(m.services.size()));
    for (const auto& s : m.services) pk_.pack(s);
    pk_.pack(m.last_epoch);
    pk_.pack(m.last_seq);
    pk_.pack(m.flags);
  }
  void body(const Unsubscribe& m) {
    pk_.pack_array(2);
    pk_.pack(m.subscriber_id);
    pk_.pack(m.nonce);
  }
  void body(const Delta& m) {
    pk_.pack_array(7);
    pk_.pack(m.epoch);
    pk_.pack(m.subscriber_id);
    pk_.pack(m.nonce);
    pk_.pack(m.from_seq);
    pk_.pack(m.to_seq);
    pk_.pack(m.flags);
    pk_.pack_array(static_cast<std::uint32_t>(m.ops.size()));
    for (const auto& o : m.ops) op(o);
  }
  void body(const Tick& m) {
    pk_.pack_array(8);
    pk_.pack(m.epoch);
    pk_.pack(m.subscriber_id);
    pk_.pack(m.nonce);
    pk_.pack(m.seq);
    pk_.pack(m.digest);
    pk_.pack(m.route_count);
    pk_.pack(m.flags);
    pk_.pack(m.lease_ms);
  }
  void body(const Nack& m) {
    pk_.pack_array(5);
    pk_.pack(m.subscriber_id);
    pk_.pack(m.nonce);
    pk_.pack(m.epoch);
    pk_.pack(m.first_missing);
    pk_.pack(m.last_missing);
  }
  void body(const SnapshotChunk& m) {
    pk_.pack_array(8);
    pk_.pack(m.epoch);
    pk_.pack(m.subscriber_id);
    pk_.pack(m.nonce);
    pk_.pack(m.seq);
    pk_.pack(m.index);
    pk_.pack(m.count);
    pk_.pack(m.flags);
    pk_.pack_array(static_cast<std::uint32_t>(m.routes.size()));
    for (std::size_t i = 0; i < m.routes.size(); ++i) {
      snapshot_route(m.routes[i], i < m.versions.size() ? m.versions[i] : Version{});
    }
  }
  void body(const RetryLater& m) {
    pk_.pack_array(4);
    pk_.pack(m.epoch);
    pk_.pack(m.subscriber_id);
    pk_.pack(m.nonce);
    pk_.pack(m.delay_ms);
  }
  void body(const Challenge& m) {
    pk_.pack_array(3);
    pk_.pack(m.subscriber_id);
    pk_.pack(m.nonce);
    bin(m.cookie);
  }

  void envelope_head(MessageType t, std::uint32_t key_id) {
    pk_.pack_array(key_id == 0 ? 4 : 5);
    pk_.pack(kProtocolVersion);
    pk_.pack(static_cast<std::uint8_t>(t));
    pk_.pack(key_id);
  }
  void mac_head() { pk_.pack_bin(kMacSize); }

 private:
  msgpack::packer<Sink> pk_;
};

// ---- decoding ----

class BodyDecoder {
 public:
  explicit BodyDecoder(MsgpackReader& r) : r_(r) {}

  template <typename T>
  T uint_at_most(std::uint64_t max, DecodeError if_over) {
    const std::uint64_t v = r_.read_uint();
    if (v > max) r_.fail(if_over);
    return static_cast<T>(v);
  }
  bool expect_fields(std::uint32_t n) {
    const std::uint32_t got = r_.read_array_header();
    if (r_.failed()) return false;
    if (got != n) r_.fail(DecodeError::wrong_field_count);
    return !r_.failed();
  }
  std::string str() { return std::string(r_.read_str()); }

  void address(IpAddress& a) {
    const auto b = r_.read_bin();
    if (r_.failed()) return;
    if (b.size() == 4) {
      a.family = IpAddress::Family::v4;
    } else if (b.size() == 16) {
      a.family = IpAddress::Family::v6;
    } else {
      r_.fail(DecodeError::invalid_address);
      return;
    }
    std::memcpy(a.bytes.data(), b.data(), b.size());
  }
  void tags(std::vector<std::string>& out) {
    const std::uint32_t n = r_.read_array_header();
    if (r_.failed()) return;
    if (n > kMaxTags) return r_.fail(DecodeError::invalid_tag);
    out.reserve(n);
    for (std::uint32_t i = 0; i < n && !r_.failed(); ++i) out.push_back(str());
  }
  void route_tail(Route& r) {  // address, port, weight, state, tags
    address(r.address);
    r.port = uint_at_most<std::uint16_t>(65535, DecodeError::invalid_port);
    r.weight = uint_at_most<std::uint16_t>(kMaxWeight, DecodeError::invalid_value);
    r.state = uint_at_most<InstanceState>(1, DecodeError::invalid_value);
    tags(r.tags);
  }
  void route_fields(Route& r) {
    r.service = str();
    r.instance = str();
    route_tail(r);
  }
  void version(Version& v) {
    v.incarnation = r_.read_uint();
    v.seq = r_.read_uint();
  }

  void cookie(Cookie& out) {
    const auto b = r_.read_bin();
    if (r_.failed()) return;
    if (b.size() > kMaxCookieSize) return r_.fail(DecodeError::limit_exceeded);
    out.assign(b.begin(), b.end());
  }

  void body(Heartbeat& m) {
    if (!expect_fields(11)) return;
    route_fields(m.route);
    m.incarnation = r_.read_uint();
    m.seq = r_.read_uint();
    m.interval_ms = uint_at_most<std::uint32_t>(UINT32_MAX, DecodeError::invalid_value);
    m.sent_ms = r_.read_uint();
  }
  void body(Goodbye& m) {
    if (!expect_fields(5)) return;
    m.service = str();
    m.instance = str();
    m.incarnation = r_.read_uint();
    m.seq = r_.read_uint();
    m.sent_ms = r_.read_uint();
  }
  void body(Subscribe& m) {
    if (!expect_fields(7)) return;
    m.subscriber_id = r_.read_uint();
    m.nonce = r_.read_uint();
    cookie(m.cookie);
    const std::uint32_t n = r_.read_array_header();
    if (n > kMaxServicesPerSubscribe) return r_.fail(DecodeError::limit_exceeded);
    m.services.reserve(n);
    for (std::uint32_t i = 0; i < n && !r_.failed(); ++i) m.services.push_back(str());
    m.last_epoch = r_.read_uint();
    m.last_seq = r_.read_uint();
    m.flags = uint_at_most<std::uint8_t>(255, DecodeError::invalid_value);
  }
  void body(Unsubscribe& m) {
    if (!expect_fields(2)) return;
    m.subscriber_id = r_.read_uint();
    m.nonce = r_.read_uint();
  }
  void body(Delta& m) {
    if (!expect_fields(7)) return;
    m.epoch = r_.read_uint();
    m.subscriber_id = r_.read_uint();
    m.nonce = r_.read_uint();
    m.from_seq = r_.read_uint();
    m.to_seq = r_.read_uint();
    m.flags = uint_at_most<std::uint8_t>(255, DecodeError::invalid_value);
    const std::uint32_t n = r_.read_array_header();
    if (r_.failed()) return;
    m.ops.reserve(n);
    for (std::uint32_t i = 0; i < n && !r_.failed(); ++i) {
      DeltaOp& op = m.ops.emplace_back();
      const std::uint32_t fields = r_.read_array_header();
      if (r_.failed()) return;
      op.kind = uint_at_most<OpKind>(2, DecodeError::invalid_value);
      if (r_.failed()) return;
      if (fields != (op.kind == OpKind::remove ? 6u : 10u)) {
        return r_.fail(DecodeError::wrong_field_count);
      }
      op.route.service = str();
      op.route.instance = str();
      if (op.kind != OpKind::remove) route_tail(op.route);
      version(op.version);
      if (op.kind == OpKind::remove) {
        op.removal = uint_at_most<Removal>(1, DecodeError::invalid_value);
      }
    }
  }
  void body(Tick& m) {
    if (!expect_fields(8)) return;
    m.epoch = r_.read_uint();
    m.subscriber_id = r_.read_uint();
    m.nonce = r_.read_uint();
    m.seq = r_.read_uint();
    m.digest = r_.read_uint();
    m.route_count = uint_at_most<std::uint32_t>(UINT32_MAX, DecodeError::invalid_value);
    m.flags = uint_at_most<std::uint8_t>(255, DecodeError::invalid_value);
    m.lease_ms = uint_at_most<std::uint32_t>(UINT32_MAX, DecodeError::invalid_value);
  }
  void body(Nack& m) {
    if (!expect_fields(5)) return;
    m.subscriber_id = r_.read_uint();
    m.nonce = r_.read_uint();
    m.epoch = r_.read_uint();
    m.first_missing = r_.read_uint();
    m.last_missing = r_.read_uint();
  }
  void body(SnapshotChunk& m) {
    if (!expect_fields(8)) return;
    m.epoch = r_.read_uint();
    m.subscriber_id = r_.read_uint();
    m.nonce = r_.read_uint();
    m.seq = r_.read_uint();
    m.index = uint_at_most<std::uint32_t>(UINT32_MAX, DecodeError::invalid_value);
    m.count = uint_at_most<std::uint32_t>(UINT32_MAX, DecodeError::invalid_value);
    m.flags = uint_at_most<std::uint8_t>(255, DecodeError::invalid_value);
    const std::uint32_t n = r_.read_array_header();
    if (r_.failed()) return;
    m.routes.reserve(n);
    m.versions.reserve(n);
    for (std::uint32_t i = 0; i < n && !r_.failed(); ++i) {
      if (!expect_fields(9)) return;
      route_fields(m.routes.emplace_back());
      version(m.versions.emplace_back());
    }
  }
  void body(RetryLater& m) {
    if (!expect_fields(4)) return;
    m.epoch = r_.read_uint();
    m.subscriber_id = r_.read_uint();
    m.nonce = r_.read_uint();
    m.delay_ms = uint_at_most<std::uint32_t>(UINT32_MAX, DecodeError::invalid_value);
  }
  void body(Challenge& m) {
    if (!expect_fields(3)) return;
    m.subscriber_id = r_.read_uint();
    m.nonce = r_.read_uint();
    cookie(m.cookie);
  }

 private:
  MsgpackReader& r_;
};

Message make_message(MessageType t) {
  switch (t) {
    case MessageType::heartbeat:
      return Heartbeat{};
    case MessageType::goodbye:
      return Goodbye{};
    case MessageType::subscribe:
      return Subscribe{};
    case MessageType::unsubscribe:
      return Unsubscribe{};
    case MessageType::delta:
      return Delta{};
    case MessageType::tick:
      return Tick{};
    case MessageType::nack:
      return Nack{};
    case MessageType::snapshot_chunk:
      return SnapshotChunk{};
    case MessageType::retry_later:
      return RetryLater{};
    case MessageType::challenge:
      return Challenge{};
  }
  return Heartbeat{};
}

Result<Decoded, DecodeError> decode_unchecked(std::span<const std::uint8_t> dg,
                                              const DecodeOptions& opt) {
  if (dg.empty()) return DecodeError::empty;
  if (dg.size() > opt.max_datagram) return DecodeError::too_large;

  MsgpackReader env(dg);
  const std::uint32_t fields = env.read_array_header();
  if (env.failed()) return *env.error();
  if (fields != 4 && fields != 5) return DecodeError::wrong_field_count;
  const std::uint64_t version = env.read_uint();
  if (env.failed()) return *env.error();
  if (version != kProtocolVersion) return DecodeError::unknown_version;
  const std::uint64_t type = env.read_uint();
  if (env.failed()) return *env.error();
  if (type < 1 || type > static_cast<std::uint64_t>(MessageType::challenge)) {
    return DecodeError::unknown_type;
  }
  const std::uint64_t key_id = env.read_uint();
  if (env.failed()) return *env.error();
  if (key_id > UINT32_MAX) return DecodeError::invalid_value;

  Decoded out{make_message(static_cast<MessageType>(type))};
  out.key_id = static_cast<std::uint32_t>(key_id);
  std::span<const std::uint8_t> body = dg.subspan(dg.size() - env.remaining());

  constexpr std::size_t kMacField = 2 + kMacSize;  // bin8 marker, length, tag
  if (fields == 4) {
    if (key_id != 0) return DecodeError::wrong_field_count;
    if (opt.keys) return DecodeError::missing_mac;
  } else {
    if (key_id == 0) return DecodeError::invalid_value;
    const std::uint8_t* mac_field =
        body.size() >= kMacField ? dg.data() + dg.size() - kMacField : nullptr;
    const bool mac_at_end = mac_field && mac_field[0] == 0xc4 && mac_field[1] == kMacSize;
    // A keyed receiver checks the MAC before it parses any of the body, whatever its shape:
    // forged datagrams cost one hash, and a datagram whose end is not a MAC field carries none.
    if (opt.keys && !mac_at_end) return DecodeError::missing_mac;
    if (opt.keys) {
      const KeyEntry* key = opt.keys->entry(out.key_id);
      if (!key) return DecodeError::unknown_key;
      Mac mac;
      std::memcpy(mac.data(), mac_field + 2, kMacSize);
      if (!verify_mac(key->key, dg.first(dg.size() - kMacSize), mac)) return DecodeError::bad_mac;
      // Checked after the MAC, so wrong_role always means a key holder sent it (a misconfigured
      // or compromised host), never a stranger.
      if (!key->has(role_of(static_cast<MessageType>(type)))) return DecodeError::wrong_role;
      out.authenticated = true;
    }
  }

  MsgpackReader r(body);
  BodyDecoder d(r);
  std::visit([&](auto& m) { d.body(m); }, out.message);
  if (fields == 5) {
    const auto mac = r.read_bin();
    if (!r.failed() && mac.size() != kMacSize) return DecodeError::wrong_type;
  }
  if (r.failed()) return *r.error();
  if (r.remaining() != 0) return DecodeError::trailing_bytes;
  if (fields == 5 && opt.keys && !out.authenticated) return DecodeError::bad_mac;  // unreachable
  if (auto bad = validate(out.message)) return *bad;
  return out;
}

}  // namespace

Result<Decoded, DecodeError> decode(std::span<const std::uint8_t> datagram,
                                    const DecodeOptions& options) noexcept {
  try {
    return decode_unchecked(datagram, options);
  } catch (...) {  // only std::bad_alloc can get here; never let it cross the API
    return DecodeError::too_large;
  }
}

void encode_into(const Message& m, const Keyring* keys, Bytes& out) {
  out.clear();
  const Key* key = nullptr;
  std::uint32_t key_id = 0;
  if (keys) {
    const Role role = role_of(type_of(m));
    const auto id = keys->primary_id(role);
    if (!id) {
      throw std::logic_error("keyring holds no " + std::string(to_string(role)) +
                             " key to authenticate a " + std::string(to_string(type_of(m))));
    }
    key_id = *id;
    key = keys->find(key_id);
  }
  ByteSink sink{out};
  Encoder<ByteSink> enc(sink);
  enc.envelope_head(type_of(m), key_id);
  std::visit([&](const auto& msg) { enc.body(msg); }, m);
  if (key) {
    enc.mac_head();
    const Mac mac = compute_mac(*key, out);
    out.insert(out.end(), mac.begin(), mac.end());
  }
}

Bytes encode(const Message& m, const Keyring* keys) {
  Bytes out;
  out.reserve(128);
  encode_into(m, keys, out);
  return out;
}

void encode_route_into(const Route& r, Bytes& out) {
  ByteSink sink{out};
  Encoder<ByteSink>(sink).route(r);
}

std::size_t encoded_size(const Route& r) {
  CountingSink c;
  Encoder<CountingSink>(c).route(r);
  return c.n;
}

std::size_t encoded_size(const Route& r, const Version& v) {
  CountingSink c;
  Encoder<CountingSink>(c).snapshot_route(r, v);
  return c.n;
}

std::size_t encoded_size(const Version& v) {
  CountingSink c;
  Encoder<CountingSink>(c).version(v);
  return c.n;
}

std::size_t encoded_size(const DeltaOp& op) {
  CountingSink c;
  Encoder<CountingSink>(c).op(op);
  return c.n;
}

}  // namespace baker::wire
