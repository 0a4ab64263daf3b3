#pragma once
// Text (tcpdump-like, one line per datagram) and JSON (one object per line) renderings of records
// and notes. The layouts are documented in tools/baker-dump/README.md.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "baker-dump/analysis.hpp"
#include "baker-dump/record.hpp"

namespace baker::dump {

struct FormatOptions {
  bool verbose = false;  // every field; Delta ops and snapshot routes one per indented line
};

// "12:00:01.123456" in local time (set TZ for another zone), as tcpdump prints it.
std::string format_time(Timestamp t);
// "2023-11-23T12:00:01.123456Z" (UTC), for JSON.
std::string format_iso_time(Timestamp t);
std::string hex_u64(std::uint64_t v);  // lower-case, no padding: "1a2b"
std::string hex_bytes(std::span<const std::uint8_t> bytes, std::size_t max);

// Text: "TIME SRC > DST BODY"; the body alone (no time or addresses) is format_body.
std::string format_text(const Record& r, const FormatOptions& options);
std::string format_body(const Record& r, const FormatOptions& options);
std::string format_json(const Record& r);

// Text: "!! KIND: ..."; JSON: {"note": KIND, ...}.
std::string format_text(const Note& n);
std::string format_json(const Note& n);

}  // namespace baker::dump
