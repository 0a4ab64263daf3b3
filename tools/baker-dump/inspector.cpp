#include "baker-dump/inspector.hpp"

#include "common/json.hpp"

namespace baker::dump {
namespace {

constexpr wire::MessageType kAllTypes[] = {
    wire::MessageType::heartbeat,   wire::MessageType::goodbye,
    wire::MessageType::subscribe,   wire::MessageType::unsubscribe,
    wire::MessageType::delta,       wire::MessageType::tick,
    wire::MessageType::nack,        wire::MessageType::snapshot_chunk,
    wire::MessageType::retry_later,
};

std::string type_name(wire::MessageType t) {
  return std::string(wire::to_string(t));
}

}  // namespace

void Inspector::emit(const Note& n, std::vector<std::string>& out) {
  if (!options_.filter.matches(n)) return;
  out.push_back(options_.json ? format_json(n) : format_text(n));
}

std::vector<std::string> Inspector::on_frame(Timestamp time, int linktype,
                                             std::span<const std::uint8_t> frame) {
  ++counters_.frames;
  const FrameResult parsed = parse_frame(linktype, frame);
  if (const auto* d = std::get_if<UdpDatagram>(&parsed.value)) {
    return on_datagram(time, d->source, d->destination, d->payload);
  }
  const FrameSkip why = std::get<FrameSkip>(parsed.value);
  ++counters_.skipped[static_cast<std::size_t>(why)];
  std::vector<std::string> out;
  // Only UDP-looking frames get a note; other protocols are just counted.
  if (parsed.has_addresses && (why == FrameSkip::ip_fragment || why == FrameSkip::truncated ||
                               why == FrameSkip::malformed)) {
    Note n;
    n.kind = NoteKind::skipped;
    n.stream = StreamKind::frame;
    n.time = time;
    n.sender = parsed.source;
    n.receiver = parsed.destination;
    n.reason = std::string(to_string(why));
    n.types = kInvalidBit;
    emit(n, out);
  }
  return out;
}

std::vector<std::string> Inspector::on_datagram(Timestamp time, const Endpoint& source,
                                                const Endpoint& destination,
                                                std::span<const std::uint8_t> payload) {
  ++counters_.datagrams;
  const Record r = make_record(time, source, destination, payload, options_.keys);
  if (r.valid()) {
    ++counters_.valid;
    ++counters_.by_type[static_cast<std::size_t>(wire::type_of(*r.message))];
  } else if (auth_failed(r.auth)) {
    ++counters_.auth_failed;
    ++counters_.auth_by_reason[static_cast<std::size_t>(r.auth)];
  } else {
    ++counters_.invalid;
    if (r.error) ++counters_.invalid_by_reason[static_cast<std::size_t>(*r.error)];
  }
  std::vector<std::string> out;
  // Analysis sees every datagram, filtered or not: a display filter must not invent gaps.
  const auto notes = analyzer_.observe(r);
  if (options_.filter.matches(r)) {
    ++counters_.shown;
    out.push_back(options_.json ? format_json(r) : format_text(r, options_.format));
  } else {
    ++counters_.filtered_out;
  }
  for (const auto& n : notes) emit(n, out);
  return out;
}

std::vector<std::string> Inspector::finish(Timestamp now) {
  std::vector<std::string> out;
  for (const auto& n : analyzer_.finish(now)) emit(n, out);
  return out;
}

std::string Inspector::summary_text() const {
  const Counters& c = counters_;
  const AnalysisStats& a = analyzer_.stats();
  std::string s = "baker-dump: " + std::to_string(c.datagrams) + " datagrams (" +
                  std::to_string(c.valid) + " valid, " + std::to_string(c.invalid) + " invalid, " +
                  std::to_string(c.auth_failed) + " failed authentication), " +
                  std::to_string(c.shown) + " shown, " + std::to_string(c.filtered_out) +
                  " filtered out\n";
  std::string types;
  for (auto t : kAllTypes) {
    const auto n = c.by_type[static_cast<std::size_t>(t)];
    if (n) types += (types.empty() ? "" : ", ") + type_name(t) + " " + std::to_string(n);
  }
  if (!types.empty()) s += "  by type: " + types + "\n";
  std::string invalid;
  for (int i = 0; i < wire::kDecodeErrorCount; ++i) {
    if (c.invalid_by_reason[i]) {
      invalid += (invalid.empty() ? "" : ", ") +
                 std::string(wire::to_string(static_cast<wire::DecodeError>(i))) + " " +
                 std::to_string(c.invalid_by_reason[i]);
    }
  }
  if (!invalid.empty()) s += "  invalid: " + invalid + "\n";
  std::string auth;
  for (std::size_t i = 0; i < c.auth_by_reason.size(); ++i) {
    if (c.auth_by_reason[i]) {
      auth += (auth.empty() ? "" : ", ") + std::string(to_string(static_cast<AuthStatus>(i))) +
              " " + std::to_string(c.auth_by_reason[i]);
    }
  }
  if (!auth.empty()) s += "  failed authentication: " + auth + "\n";
  s += "  sequence: " + std::to_string(a.gaps) + " gaps (" + std::to_string(a.missing) +
       " missing, " + std::to_string(a.still_missing) + " never filled), " +
       std::to_string(a.reorders) + " reordered, " + std::to_string(a.retransmits) +
       " retransmits, " + std::to_string(a.duplicates) + " duplicates, " +
       std::to_string(a.restarts) + " restarts, " + std::to_string(a.old_epoch) + " old-epoch, " +
       std::to_string(a.old_incarnation) + " old-incarnation, " + std::to_string(a.replays) +
       " replayed\n";
  s += "  snapshots: " + std::to_string(a.snapshots_complete) + " complete, " +
       std::to_string(a.snapshots_incomplete) + " incomplete\n";
  std::string skipped;
  for (int i = 0; i < kFrameSkipCount; ++i) {
    if (c.skipped[i]) {
      skipped += (skipped.empty() ? "" : ", ") + std::string(to_string(static_cast<FrameSkip>(i))) +
                 " " + std::to_string(c.skipped[i]);
    }
  }
  if (!skipped.empty()) {
    s += "  skipped frames: " + skipped + " (of " + std::to_string(c.frames) + ")\n";
  }
  return s;
}

std::string Inspector::summary_json() const {
  const Counters& c = counters_;
  const AnalysisStats& a = analyzer_.stats();
  auto field = [](std::string& s, std::string_view k, std::uint64_t v) {
    s += (s.size() > 1 ? "," : "") + json_string(k) + ":" + std::to_string(v);
  };
  std::string by_type = "{";
  for (auto t : kAllTypes) field(by_type, type_name(t), c.by_type[static_cast<std::size_t>(t)]);
  by_type += "}";
  std::string invalid = "{";
  for (int i = 0; i < wire::kDecodeErrorCount; ++i) {
    if (c.invalid_by_reason[i]) {
      field(invalid, wire::to_string(static_cast<wire::DecodeError>(i)), c.invalid_by_reason[i]);
    }
  }
  invalid += "}";
  std::string auth = "{";
  for (std::size_t i = 0; i < c.auth_by_reason.size(); ++i) {
    if (c.auth_by_reason[i])
      field(auth, to_string(static_cast<AuthStatus>(i)), c.auth_by_reason[i]);
  }
  auth += "}";
  std::string skipped = "{";
  for (int i = 0; i < kFrameSkipCount; ++i) {
    if (c.skipped[i]) field(skipped, to_string(static_cast<FrameSkip>(i)), c.skipped[i]);
  }
  skipped += "}";
  std::string s = "{";
  field(s, "frames", c.frames);
  field(s, "datagrams", c.datagrams);
  field(s, "valid", c.valid);
  field(s, "invalid", c.invalid);
  field(s, "auth_failed", c.auth_failed);
  field(s, "shown", c.shown);
  field(s, "filtered_out", c.filtered_out);
  s += ",\"by_type\":" + by_type + ",\"invalid_by_reason\":" + invalid +
       ",\"auth_by_reason\":" + auth + ",\"skipped\":" + skipped;
  field(s, "gaps", a.gaps);
  field(s, "missing", a.missing);
  field(s, "still_missing", a.still_missing);
  field(s, "reorders", a.reorders);
  field(s, "retransmits", a.retransmits);
  field(s, "duplicates", a.duplicates);
  field(s, "restarts", a.restarts);
  field(s, "old_epoch", a.old_epoch);
  field(s, "old_incarnation", a.old_incarnation);
  field(s, "replays", a.replays);
  field(s, "snapshots_complete", a.snapshots_complete);
  field(s, "snapshots_incomplete", a.snapshots_incomplete);
  return "{\"summary\":" + s + "}}";
}

}  // namespace baker::dump
