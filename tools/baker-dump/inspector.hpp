#pragma once
// The whole of baker-dump without I/O: frames in, output lines out. The shell (main.cpp) reads
// pcap or a socket and prints what this returns.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "baker-dump/analysis.hpp"
#include "baker-dump/filter.hpp"
#include "baker-dump/format.hpp"
#include "baker-dump/frame.hpp"
#include "baker-dump/record.hpp"
#include "wire/auth.hpp"

namespace baker::dump {

struct InspectorOptions {
  bool json = false;
  FormatOptions format;
  Filter filter;
  const wire::Keyring* keys = nullptr;  // check MACs (auth failures) when set
};

struct Counters {
  std::uint64_t frames = 0;     // frames handed in (on_frame)
  std::uint64_t datagrams = 0;  // UDP datagrams looked at (decoded or not)
  std::uint64_t valid = 0;      // decoded and, with a key file, authenticated
  std::uint64_t invalid = 0;    // failed to decode
  std::uint64_t auth_failed = 0;
  std::uint64_t shown = 0;
  std::uint64_t filtered_out = 0;
  std::array<std::uint64_t, 10> by_type{};  // valid datagrams, index = wire::MessageType
  std::array<std::uint64_t, wire::kDecodeErrorCount> invalid_by_reason{};
  std::array<std::uint64_t, 7> auth_by_reason{};  // index = AuthStatus
  static_assert(sizeof(auth_by_reason) / sizeof(std::uint64_t) ==
                static_cast<std::size_t>(AuthStatus::wrong_role) + 1);
  std::array<std::uint64_t, kFrameSkipCount> skipped{};
};

class Inspector {
 public:
  explicit Inspector(InspectorOptions options) : options_(std::move(options)) {}

  // One captured frame of the given link type (pcap's DLT). Returns the lines to print.
  std::vector<std::string> on_frame(Timestamp time, int linktype,
                                    std::span<const std::uint8_t> frame);
  // One datagram read from a socket (no capture: no link or IP header).
  std::vector<std::string> on_datagram(Timestamp time, const Endpoint& source,
                                       const Endpoint& destination,
                                       std::span<const std::uint8_t> payload);
  // End of input: notes still pending (incomplete snapshots).
  std::vector<std::string> finish(Timestamp now);

  const Counters& counters() const { return counters_; }
  const AnalysisStats& analysis() const { return analyzer_.stats(); }
  // Multi-line, for stderr.
  std::string summary_text() const;
  // One line: {"summary":{...}}.
  std::string summary_json() const;

 private:
  void emit(const Note& n, std::vector<std::string>& out);

  InspectorOptions options_;
  Analyzer analyzer_;
  Counters counters_;
};

}  // namespace baker::dump
