// libFuzzer target for baker-dump's reading of capture data: link-layer frames -> IP -> UDP
// (parse_frame), then what the Inspector does with each (decode, MAC check, sequence analysis,
// text and JSON output). The input is a capture of several frames (fuzz_inputs.hpp), so the
// stateful analysis sees streams, not single datagrams.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "baker-dump/inspector.hpp"
#include "fuzz_inputs.hpp"

namespace {

using namespace baker;

void check(bool property) {
  if (!property) std::abort();
}

const wire::Keyring& keys() {
  static const wire::Keyring ring = [] {
    wire::Keyring k;
    wire::Key key{};
    key.fill(0x42);
    k.add(1, key, true);
    return k;
  }();
  return ring;
}

struct Frame {
  int linktype = 0;
  dump::Timestamp time;
  std::span<const std::uint8_t> bytes;
};

std::vector<Frame> read_capture(std::span<const std::uint8_t> in) {
  std::vector<Frame> frames;
  dump::Timestamp clock{fuzz::kFuzzCaptureStart, 0};
  while (in.size() >= 2) {
    Frame f;
    f.linktype = fuzz::kFuzzLinktypes[in[0] % fuzz::kFuzzLinktypeCount];
    const auto step = static_cast<std::int8_t>(in[1]);
    in = in.subspan(2);
    if (step == fuzz::kAbsoluteTime) {
      if (in.size() < 12) break;
      std::uint64_t sec = 0;
      std::uint32_t usec = 0;
      for (int i = 0; i < 8; ++i) sec = (sec << 8) | in[i];
      for (int i = 8; i < 12; ++i) usec = (usec << 8) | in[i];
      clock = {static_cast<std::int64_t>(sec), static_cast<std::int32_t>(usec)};
      in = in.subspan(12);
    } else if (clock.sec > INT64_MIN + 128 && clock.sec < INT64_MAX - 128) {
      clock.sec += step;
    }
    f.time = clock;
    if (in.size() < 2) break;
    const std::size_t length =
        std::min<std::size_t>((std::size_t{in[0]} << 8) | in[1], in.size() - 2);
    f.bytes = in.subspan(2, length);
    in = in.subspan(2 + length);
    frames.push_back(f);
  }
  return frames;
}

// The datagram parse_frame finds lies inside the frame it was found in.
void check_frame(const Frame& f) {
  const auto r = dump::parse_frame(f.linktype, f.bytes);
  if (const auto* d = std::get_if<dump::UdpDatagram>(&r.value)) {
    check(d->payload.empty() ||
          (d->payload.data() >= f.bytes.data() &&
           d->payload.data() + d->payload.size() <= f.bytes.data() + f.bytes.size()));
  } else {
    check(dump::to_string(std::get<dump::FrameSkip>(r.value)) != "unknown");
  }
}

void inspect(const std::vector<Frame>& frames, dump::InspectorOptions options) {
  dump::Inspector inspector(std::move(options));
  dump::Timestamp last{fuzz::kFuzzCaptureStart, 0};
  for (const auto& f : frames) {
    for (const auto& line : inspector.on_frame(f.time, f.linktype, f.bytes)) check(!line.empty());
    last = f.time;
  }
  inspector.finish(last);
  const auto& c = inspector.counters();
  check(c.frames == frames.size());
  check(c.valid + c.invalid + c.auth_failed == c.datagrams);
  check(c.shown + c.filtered_out == c.datagrams);
  inspector.summary_text();
  inspector.summary_json();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto frames = read_capture({data, size});
  for (const auto& f : frames) check_frame(f);
  dump::InspectorOptions text;
  text.format.verbose = true;
  text.keys = &keys();
  inspect(frames, text);
  dump::InspectorOptions json;
  json.json = true;
  json.filter.types = dump::type_bit(wire::MessageType::heartbeat) | dump::kInvalidBit;
  inspect(frames, json);
  return 0;
}
