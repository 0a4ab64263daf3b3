#include "baker-dump/format.hpp"

#include <algorithm>
#include <ctime>
#include <limits>
#include <type_traits>

#include "common/json.hpp"

namespace baker::dump {
namespace {

constexpr std::size_t kOpsShown = 4;          // Delta ops listed on the one-line form
constexpr std::size_t kInvalidHexBytes = 64;  // bytes of an undecodable datagram shown

std::string two(int v) {
  std::string s = std::to_string(v);
  return s.size() < 2 ? "0" + s : s;
}
std::string micros(std::int32_t usec) {
  std::string s = std::to_string(usec);
  return std::string(6 - std::min<std::size_t>(6, s.size()), '0') + s;
}

std::string route_address(const wire::Route& r) {
  return Endpoint{r.address, r.port}.to_string();
}
std::string tags_text(const std::vector<std::string>& tags) {
  if (tags.empty()) return "-";
  std::string s;
  for (const auto& t : tags) s += (s.empty() ? "" : ",") + t;
  return s;
}
std::string key(const wire::Route& r) {
  return r.service + "/" + r.instance;
}
// "greeting/i-1 10.0.0.1:8080 w=100 up tags=v1,zone=a"
std::string route_full(const wire::Route& r) {
  return key(r) + " " + route_address(r) + " w=" + std::to_string(r.weight) + " " +
         std::string(wire::to_string(r.state)) + " tags=" + tags_text(r.tags);
}
// " inc=1796000000000000 seq=42": the watson datagram a directory's record comes from.
std::string version_text(const wire::Version& v) {
  return " inc=" + std::to_string(v.incarnation) + " seq=" + std::to_string(v.seq);
}
// " (goodbye)" / " (expired)" on removes, nothing on the others.
std::string removal_text(const wire::DeltaOp& op) {
  if (op.kind != wire::OpKind::remove) return "";
  return " (" + std::string(wire::to_string(op.removal)) + ")";
}
std::string warmup(std::uint8_t flags) {
  return (flags & wire::kFlagWarmup) ? " warmup" : "";
}

// A watson incarnation (us since 1970) as the UTC time the process started.
Timestamp incarnation_time(std::uint64_t incarnation) {
  return {static_cast<std::int64_t>(incarnation / 1'000'000),
          static_cast<std::int32_t>(incarnation % 1'000'000)};
}
// Capture time minus the sender's sent_ms: the path's delay plus the clocks' offset, ms. Both come
// off the wire (a pcap's time stamps are anyone's too): clamped so the difference cannot overflow.
std::int64_t sent_lag_ms(std::uint64_t sent_ms, Timestamp capture) {
  constexpr std::int64_t kMaxSec = std::numeric_limits<std::int64_t>::max() / 4000;
  constexpr std::int64_t kMaxSent = std::numeric_limits<std::int64_t>::max() / 2;
  const std::int64_t sec = std::clamp(capture.sec, -kMaxSec, kMaxSec);
  const std::int64_t captured = sec * 1000 + capture.usec / 1000;
  const std::int64_t sent = sent_ms > static_cast<std::uint64_t>(kMaxSent)
                                ? kMaxSent
                                : static_cast<std::int64_t>(sent_ms);
  return captured - sent;
}
// " inc=1796000000000000 (2026-11-30T...Z) seq=42 lag=3ms"
std::string sender_text(std::uint64_t incarnation, std::uint64_t seq, std::uint64_t sent_ms,
                        Timestamp capture, bool verbose) {
  std::string s = " inc=" + std::to_string(incarnation) + " (" +
                  format_iso_time(incarnation_time(incarnation)) + ") seq=" + std::to_string(seq) +
                  " lag=" + std::to_string(sent_lag_ms(sent_ms, capture)) + "ms";
  if (verbose) s += " sent_ms=" + std::to_string(sent_ms);
  return s;
}
// Whom a directory datagram is for: " to=group" or " to=<subscriber> nonce=<n>" (answers).
std::string addressee_text(std::uint64_t subscriber_id, std::uint64_t nonce) {
  if (subscriber_id == 0) return " to=group";
  return " to=" + hex_u64(subscriber_id) + (nonce ? " nonce=" + std::to_string(nonce) : "");
}

// Builds one JSON object, fields in insertion order.
class JsonObject {
 public:
  JsonObject& raw(std::string_view k, std::string_view v) {
    s_ += s_.size() > 1 ? "," : "";
    s_ += json_string(k);
    s_ += ':';
    s_ += v;
    return *this;
  }
  JsonObject& str(std::string_view k, std::string_view v) { return raw(k, json_string(v)); }
  JsonObject& num(std::string_view k, std::uint64_t v) { return raw(k, std::to_string(v)); }
  JsonObject& hex(std::string_view k, std::uint64_t v) { return str(k, hex_u64(v)); }
  JsonObject& boolean(std::string_view k, bool v) { return raw(k, v ? "true" : "false"); }
  JsonObject& strings(std::string_view k, const std::vector<std::string>& v) {
    std::string a = "[";
    for (const auto& e : v) a += (a.size() > 1 ? "," : "") + json_string(e);
    return raw(k, a + "]");
  }
  std::string done() { return s_ + "}"; }

 private:
  std::string s_ = "{";
};

void route_json(JsonObject& o, const wire::Route& r) {
  o.str("service", r.service)
      .str("instance", r.instance)
      .str("address", r.address.to_string())
      .num("port", r.port)
      .num("weight", r.weight)
      .str("state", wire::to_string(r.state))
      .strings("tags", r.tags);
}

void time_json(JsonObject& o, Timestamp t) {
  o.str("time", format_iso_time(t)).raw("ts", std::to_string(t.sec) + "." + micros(t.usec));
}

std::string message_body(const wire::Message& message, Timestamp capture,
                         const FormatOptions& options) {
  return std::visit(
      [&](const auto& m) -> std::string {
        using T = std::decay_t<decltype(m)>;
        const bool v = options.verbose;
        if constexpr (std::is_same_v<T, wire::Heartbeat>) {
          std::string s = "heartbeat " + key(m.route) +
                          sender_text(m.incarnation, m.seq, m.sent_ms, capture, v) + " " +
                          std::string(wire::to_string(m.route.state)) +
                          " w=" + std::to_string(m.route.weight) + " " + route_address(m.route);
          if (v) {
            s +=
                " interval=" + std::to_string(m.interval_ms) + "ms tags=" + tags_text(m.route.tags);
          }
          return s;
        } else if constexpr (std::is_same_v<T, wire::Goodbye>) {
          return "goodbye " + m.service + "/" + m.instance +
                 sender_text(m.incarnation, m.seq, m.sent_ms, capture, v);
        } else if constexpr (std::is_same_v<T, wire::Subscribe>) {
          std::string services;
          for (const auto& s : m.services) services += (services.empty() ? "" : ",") + s;
          std::string s =
              "subscribe sub=" + hex_u64(m.subscriber_id) + " nonce=" + std::to_string(m.nonce) +
              " cookie=" + std::to_string(m.cookie.size()) + "B" +
              " last_epoch=" + hex_u64(m.last_epoch) + " last_seq=" + std::to_string(m.last_seq) +
              " services=" + (services.empty() ? "*" : services);
          if (m.flags & wire::kFlagMulticastMember) s += " multicast";
          if (v) s += " flags=" + std::to_string(m.flags);
          return s;
        } else if constexpr (std::is_same_v<T, wire::Unsubscribe>) {
          return "unsubscribe sub=" + hex_u64(m.subscriber_id) +
                 " nonce=" + std::to_string(m.nonce);
        } else if constexpr (std::is_same_v<T, wire::Delta>) {
          std::string s = "delta epoch=" + hex_u64(m.epoch) +
                          addressee_text(m.subscriber_id, m.nonce) + " (" +
                          std::to_string(m.from_seq) + "," + std::to_string(m.to_seq) +
                          "] ops=" + std::to_string(m.ops.size());
          if (v) {
            s += warmup(m.flags) + " flags=" + std::to_string(m.flags);
            return s;  // ops follow on their own lines
          }
          if (!m.ops.empty()) {
            s += " [";
            for (std::size_t i = 0; i < m.ops.size() && i < kOpsShown; ++i) {
              s += (i ? ", " : "") + std::string(wire::to_string(m.ops[i].kind)) + " " +
                   key(m.ops[i].route) + removal_text(m.ops[i]);
            }
            if (m.ops.size() > kOpsShown) {
              s += ", ... " + std::to_string(m.ops.size() - kOpsShown) + " more";
            }
            s += "]";
          }
          return s + warmup(m.flags);
        } else if constexpr (std::is_same_v<T, wire::Tick>) {
          std::string s =
              "tick epoch=" + hex_u64(m.epoch) + addressee_text(m.subscriber_id, m.nonce) +
              " seq=" + std::to_string(m.seq) + " routes=" + std::to_string(m.route_count) +
              " digest=" + hex_u64(m.digest) + " lease=" + std::to_string(m.lease_ms) + "ms" +
              warmup(m.flags);
          if (v) s += " flags=" + std::to_string(m.flags);
          return s;
        } else if constexpr (std::is_same_v<T, wire::Nack>) {
          return "nack sub=" + hex_u64(m.subscriber_id) + " nonce=" + std::to_string(m.nonce) +
                 " epoch=" + hex_u64(m.epoch) + " " + std::to_string(m.first_missing) + ".." +
                 std::to_string(m.last_missing);
        } else if constexpr (std::is_same_v<T, wire::SnapshotChunk>) {
          std::string s =
              "snapshot epoch=" + hex_u64(m.epoch) + addressee_text(m.subscriber_id, m.nonce) +
              " seq=" + std::to_string(m.seq) + " chunk " +
              std::to_string(std::uint64_t{m.index} + 1) + "/" + std::to_string(m.count) +
              " routes=" + std::to_string(m.routes.size()) + warmup(m.flags);
          if (v) s += " flags=" + std::to_string(m.flags);
          return s;
        } else if constexpr (std::is_same_v<T, wire::RetryLater>) {
          return "retry_later epoch=" + hex_u64(m.epoch) +
                 addressee_text(m.subscriber_id, m.nonce) + " delay=" + std::to_string(m.delay_ms) +
                 "ms";
        } else if constexpr (std::is_same_v<T, wire::Challenge>) {
          std::string s = "challenge" + addressee_text(m.subscriber_id, m.nonce) +
                          " cookie=" + std::to_string(m.cookie.size()) + "B";
          if (v) s += " cookie_hex=" + hex_bytes(m.cookie, wire::kMaxCookieSize);
          return s;
        }
      },
      message);
}

// Indented lines under a verbose Delta or snapshot line.
std::string detail_lines(const wire::Message& message) {
  std::string s;
  if (const auto* d = std::get_if<wire::Delta>(&message)) {
    for (const auto& op : d->ops) {
      s += "\n    " + std::string(wire::to_string(op.kind)) + " " +
           (op.kind == wire::OpKind::remove ? key(op.route) : route_full(op.route)) +
           version_text(op.version) + removal_text(op);
    }
  } else if (const auto* c = std::get_if<wire::SnapshotChunk>(&message)) {
    for (std::size_t i = 0; i < c->routes.size(); ++i) {
      s += "\n    " + route_full(c->routes[i]) +
           version_text(i < c->versions.size() ? c->versions[i] : wire::Version{});
    }
  }
  return s;
}

void addressee_json(JsonObject& o, std::uint64_t subscriber_id, std::uint64_t nonce) {
  o.hex("subscriber", subscriber_id).num("nonce", nonce);
}
void version_json(JsonObject& o, const wire::Version& v) {
  o.num("incarnation", v.incarnation)
      .str("incarnation_time", format_iso_time(incarnation_time(v.incarnation)))
      .num("seq", v.seq);
}
void sender_json(JsonObject& o, std::uint64_t incarnation, std::uint64_t seq, std::uint64_t sent_ms,
                 Timestamp capture) {
  o.num("incarnation", incarnation)
      .str("incarnation_time", format_iso_time(incarnation_time(incarnation)))
      .num("seq", seq)
      .num("sent_ms", sent_ms)
      .raw("sent_lag_ms", std::to_string(sent_lag_ms(sent_ms, capture)));
}

void message_json(JsonObject& o, const wire::Message& message, Timestamp capture) {
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, wire::Heartbeat>) {
          route_json(o, m.route);
          sender_json(o, m.incarnation, m.seq, m.sent_ms, capture);
          o.num("interval_ms", m.interval_ms);
        } else if constexpr (std::is_same_v<T, wire::Goodbye>) {
          o.str("service", m.service).str("instance", m.instance);
          sender_json(o, m.incarnation, m.seq, m.sent_ms, capture);
        } else if constexpr (std::is_same_v<T, wire::Subscribe>) {
          addressee_json(o, m.subscriber_id, m.nonce);
          o.str("cookie", hex_bytes(m.cookie, wire::kMaxCookieSize))
              .strings("services", m.services)
              .hex("last_epoch", m.last_epoch)
              .num("last_seq", m.last_seq)
              .num("flags", m.flags)
              .boolean("multicast_member", (m.flags & wire::kFlagMulticastMember) != 0);
        } else if constexpr (std::is_same_v<T, wire::Unsubscribe>) {
          addressee_json(o, m.subscriber_id, m.nonce);
        } else if constexpr (std::is_same_v<T, wire::Delta>) {
          o.hex("epoch", m.epoch);
          addressee_json(o, m.subscriber_id, m.nonce);
          o.num("from_seq", m.from_seq)
              .num("to_seq", m.to_seq)
              .num("flags", m.flags)
              .boolean("warmup", (m.flags & wire::kFlagWarmup) != 0);
          std::string ops = "[";
          for (const auto& op : m.ops) {
            JsonObject e;
            e.str("op", wire::to_string(op.kind));
            if (op.kind == wire::OpKind::remove) {
              e.str("service", op.route.service).str("instance", op.route.instance);
              version_json(e, op.version);
              e.str("removal", wire::to_string(op.removal));
            } else {
              route_json(e, op.route);
              version_json(e, op.version);
            }
            ops += (ops.size() > 1 ? "," : "") + e.done();
          }
          o.raw("ops", ops + "]");
        } else if constexpr (std::is_same_v<T, wire::Tick>) {
          o.hex("epoch", m.epoch);
          addressee_json(o, m.subscriber_id, m.nonce);
          o.num("seq", m.seq)
              .hex("digest", m.digest)
              .num("route_count", m.route_count)
              .num("flags", m.flags)
              .boolean("warmup", (m.flags & wire::kFlagWarmup) != 0)
              .num("lease_ms", m.lease_ms);
        } else if constexpr (std::is_same_v<T, wire::Nack>) {
          addressee_json(o, m.subscriber_id, m.nonce);
          o.hex("epoch", m.epoch)
              .num("first_missing", m.first_missing)
              .num("last_missing", m.last_missing);
        } else if constexpr (std::is_same_v<T, wire::SnapshotChunk>) {
          o.hex("epoch", m.epoch);
          addressee_json(o, m.subscriber_id, m.nonce);
          o.num("seq", m.seq)
              .num("index", m.index)
              .num("count", m.count)
              .num("flags", m.flags)
              .boolean("warmup", (m.flags & wire::kFlagWarmup) != 0);
          std::string routes = "[";
          for (std::size_t i = 0; i < m.routes.size(); ++i) {
            JsonObject e;
            route_json(e, m.routes[i]);
            version_json(e, i < m.versions.size() ? m.versions[i] : wire::Version{});
            routes += (routes.size() > 1 ? "," : "") + e.done();
          }
          o.raw("routes", routes + "]");
        } else if constexpr (std::is_same_v<T, wire::RetryLater>) {
          o.hex("epoch", m.epoch);
          addressee_json(o, m.subscriber_id, m.nonce);
          o.num("delay_ms", m.delay_ms);
        } else if constexpr (std::is_same_v<T, wire::Challenge>) {
          addressee_json(o, m.subscriber_id, m.nonce);
          o.str("cookie", hex_bytes(m.cookie, wire::kMaxCookieSize));
        }
      },
      message);
}

std::string chunk_list(const std::vector<std::uint32_t>& indexes) {
  std::string s;
  for (auto i : indexes) s += (s.empty() ? "" : ",") + std::to_string(std::uint64_t{i} + 1);
  return s;
}

// "heartbeat greeting/i-1 from 127.0.0.1:40001" / "delta 127.0.0.1:7400 > 127.0.0.1:5000"
std::string note_subject(const Note& n) {
  switch (n.stream) {
    case StreamKind::heartbeat:  // one stream per directory: name it
      return "heartbeat " + n.service + "/" + n.instance + " from " + n.sender.to_string() +
             (n.receiver ? " to " + n.receiver->to_string() : "");
    case StreamKind::delta:
    case StreamKind::snapshot:
      return std::string(to_string(n.stream)) + " " + n.sender.to_string() + " > " +
             (n.receiver ? n.receiver->to_string() : "?");
    case StreamKind::directory:
      return "directory " + n.sender.to_string();
    case StreamKind::frame:
      break;
  }
  return n.sender.to_string();
}

std::string arrived(const Note& n) {
  if (n.stream == StreamKind::heartbeat) return "seq " + std::to_string(n.to_seq);
  return "(" + std::to_string(n.from_seq) + "," + std::to_string(n.to_seq) + "]";
}

std::string span_text(std::uint64_t first, std::uint64_t last) {
  return first == last ? std::to_string(first)
                       : std::to_string(first) + ".." + std::to_string(last);
}

}  // namespace

std::string format_time(Timestamp t) {
  const std::time_t secs = static_cast<std::time_t>(t.sec);
  std::tm tm{};
  localtime_r(&secs, &tm);
  return two(tm.tm_hour) + ":" + two(tm.tm_min) + ":" + two(tm.tm_sec) + "." + micros(t.usec);
}

std::string format_iso_time(Timestamp t) {
  const std::time_t secs = static_cast<std::time_t>(t.sec);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  // tm_year + 1900 in 64 bits: a pcapng time stamp can put the year past INT_MAX.
  return std::to_string(std::int64_t{tm.tm_year} + 1900) + "-" + two(tm.tm_mon + 1) + "-" +
         two(tm.tm_mday) + "T" + two(tm.tm_hour) + ":" + two(tm.tm_min) + ":" + two(tm.tm_sec) +
         "." + micros(t.usec) + "Z";
}

std::string hex_u64(std::uint64_t v) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), digits[v & 0xf]);
    v >>= 4;
  } while (v != 0);
  return s;
}

std::string hex_bytes(std::span<const std::uint8_t> bytes, std::size_t max) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
    s += digits[bytes[i] >> 4];
    s += digits[bytes[i] & 0xf];
  }
  return s;
}

std::string format_body(const Record& r, const FormatOptions& options) {
  std::string s;
  if (r.message) {
    s = message_body(*r.message, r.time, options);
  } else {
    s = "invalid " + std::string(wire::to_string(*r.error)) +
        " len=" + std::to_string(r.payload.size());
    if (options.verbose) {
      s += " hex=" + hex_bytes(r.payload, kInvalidHexBytes) +
           (r.payload.size() > kInvalidHexBytes ? "..." : "");
    }
  }
  if (auth_failed(r.auth)) {
    s += " [auth " + std::string(to_string(r.auth)) + " key=" + std::to_string(r.key_id) + "]";
  }
  if (options.verbose && r.message) {
    s += " len=" + std::to_string(r.payload.size()) + " key=" + std::to_string(r.key_id) +
         " auth=" + std::string(to_string(r.auth));
    s += detail_lines(*r.message);
  }
  return s;
}

std::string format_text(const Record& r, const FormatOptions& options) {
  return format_time(r.time) + " " + r.source.to_string() + " > " + r.destination.to_string() +
         " " + format_body(r, options);
}

std::string format_json(const Record& r) {
  JsonObject o;
  time_json(o, r.time);
  o.str("src", r.source.to_string()).str("dst", r.destination.to_string());
  if (r.message) o.str("directory", Analyzer::directory_of(r).to_string());
  o.num("len", r.payload.size())
      .str("type", r.message ? wire::to_string(wire::type_of(*r.message)) : "invalid")
      .boolean("valid", r.valid())
      .num("key_id", r.key_id)
      .str("auth", to_string(r.auth));
  if (r.error) o.str("error", wire::to_string(*r.error));
  if (r.message) {
    message_json(o, *r.message, r.time);
  } else {
    o.str("hex", hex_bytes(r.payload, kInvalidHexBytes))
        .boolean("hex_truncated", r.payload.size() > kInvalidHexBytes);
  }
  return o.done();
}

std::string format_text(const Note& n) {
  std::string s = "!! ";
  const std::string subject = note_subject(n);
  // Watson incarnations are times (decimal, us since 1970); directory epochs are random (hex).
  const bool watson = n.stream == StreamKind::heartbeat;
  const std::string epoch =
      watson ? " inc=" + std::to_string(n.epoch) : " epoch=" + hex_u64(n.epoch);
  switch (n.kind) {
    case NoteKind::gap:
      return s + "gap: " + subject + epoch + " seq " + span_text(n.first, n.last) + " missing";
    case NoteKind::reorder:
      return s + "reorder: " + subject + epoch + " " + arrived(n) + " arrived after " +
             std::to_string(n.highest) +
             (n.stream == StreamKind::delta ? ", fills " + span_text(n.first, n.last) : "");
    case NoteKind::retransmit:
      return s + "retransmit: " + subject + epoch + " " + arrived(n) + " fills " +
             span_text(n.first, n.last);
    case NoteKind::duplicate:
      if (n.stream == StreamKind::snapshot) {
        return s + "duplicate: " + subject + epoch + " seq=" + std::to_string(n.seq) + " chunk " +
               std::to_string(std::uint64_t{n.index} + 1) + "/" + std::to_string(n.count);
      }
      return s + "duplicate: " + subject + epoch + " " + arrived(n) + " (highest " +
             std::to_string(n.highest) + ")" + (n.answers_nack ? ", answers a nack" : "");
    case NoteKind::restart:
      if (watson) {
        return s + "restart: " + subject + " incarnation " + std::to_string(n.old_epoch) + " -> " +
               std::to_string(n.epoch) + " (started " + format_iso_time(incarnation_time(n.epoch)) +
               ")";
      }
      return s + "restart: " + subject + " epoch " + hex_u64(n.old_epoch) + " -> " +
             hex_u64(n.epoch);
    case NoteKind::old_incarnation:
      return s + "old incarnation: " + subject + epoch + " seq " + std::to_string(n.to_seq) +
             " (newest " + std::to_string(n.old_epoch) + "; a directory refuses it)";
    case NoteKind::replay:
      return s + "replay/duplicate: " + subject + epoch + " seq " + std::to_string(n.to_seq) +
             " not newer than " + std::to_string(n.highest) + " (a directory drops it)";
    case NoteKind::old_epoch:
      return s + "old-epoch: " + subject + epoch + " (current " + hex_u64(n.old_epoch) + ")";
    case NoteKind::snapshot_incomplete:
      return s + "snapshot incomplete: " + n.sender.to_string() + " > " +
             (n.receiver ? n.receiver->to_string() : "?") + epoch +
             " seq=" + std::to_string(n.seq) + " got " + std::to_string(n.received) + "/" +
             std::to_string(n.count) + " chunks, missing " + chunk_list(n.missing_chunks) +
             (n.count - n.received > n.missing_chunks.size() ? ",..." : "");
    case NoteKind::skipped:
      return s + "skipped: " + n.reason + " " +
             (n.sender.port ? n.sender.to_string() : n.sender.address.to_string()) + " > " +
             (n.receiver
                  ? (n.receiver->port ? n.receiver->to_string() : n.receiver->address.to_string())
                  : "?");
  }
  return s;
}

std::string format_json(const Note& n) {
  JsonObject o;
  o.str("note", to_string(n.kind));
  time_json(o, n.time);
  o.str("stream", to_string(n.stream)).str("sender", n.sender.to_string());
  if (n.receiver) o.str("receiver", n.receiver->to_string());
  if (const auto dir = Analyzer::directory_of(n)) o.str("directory", dir->to_string());
  if (n.stream == StreamKind::heartbeat) o.str("service", n.service).str("instance", n.instance);
  if (n.stream == StreamKind::heartbeat) {
    o.num("incarnation", n.epoch);
  } else if (n.kind != NoteKind::skipped) {
    o.hex("epoch", n.epoch);
  }
  switch (n.kind) {
    case NoteKind::gap:
      o.num("first_missing", n.first).num("last_missing", n.last);
      break;
    case NoteKind::reorder:
    case NoteKind::retransmit:
    case NoteKind::duplicate:
      if (n.stream == StreamKind::snapshot) {
        o.num("seq", n.seq).num("index", n.index).num("count", n.count);
        break;
      }
      if (n.stream == StreamKind::heartbeat) {
        o.num("seq", n.to_seq);
      } else {
        o.num("from_seq", n.from_seq).num("to_seq", n.to_seq);
      }
      o.num("highest", n.highest);
      if (n.kind == NoteKind::duplicate) {
        o.boolean("answers_nack", n.answers_nack);
      } else {
        o.num("filled_first", n.first).num("filled_last", n.last);
      }
      break;
    case NoteKind::restart:
      if (n.stream == StreamKind::heartbeat) {
        o.num("old_incarnation", n.old_epoch);
      } else {
        o.hex("old_epoch", n.old_epoch);
      }
      break;
    case NoteKind::old_incarnation:
      o.num("seq", n.to_seq).num("newest_incarnation", n.old_epoch);
      break;
    case NoteKind::replay:
      o.num("seq", n.to_seq).num("highest", n.highest);
      break;
    case NoteKind::old_epoch:
      o.hex("current_epoch", n.old_epoch);
      break;
    case NoteKind::snapshot_incomplete: {
      o.num("seq", n.seq).num("count", n.count).num("received", n.received);
      std::string list = "[";
      for (auto i : n.missing_chunks) list += (list.size() > 1 ? "," : "") + std::to_string(i);
      o.raw("missing_indexes", list + "]");
      break;
    }
    case NoteKind::skipped:
      o.str("reason", n.reason);
      break;
  }
  return o.done();
}

}  // namespace baker::dump
