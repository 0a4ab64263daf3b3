#pragma once
// How the fuzz targets that take more than one kind of input read their bytes, shared with
// make_corpus so that the seeds it writes mean what the targets read.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace baker::fuzz {

// haproxy_reply_fuzz: the first byte (modulo kHaproxySelectors) chooses what reads the rest.
enum class HaproxyInput : std::uint8_t {
  servers_state,  // parse_servers_state
  stat,           // parse_stat
  show_info,      // parse_show_info
  show_proc,      // parse_show_proc
  prompt_split,   // split_prompt_replies (the second byte chooses where the bytes are cut)
  classify,       // classify_reply to command kind `selector - classify` (haproxy::CommandKind)
};
inline constexpr int kCommandKinds = 8;  // haproxy::CommandKind's values
inline constexpr int kHaproxySelectors = static_cast<int>(HaproxyInput::classify) + kCommandKinds;

// dump_frame_fuzz: a capture, as records of [link index][time step][length: 2 bytes, big endian]
// [frame]; the last frame is cut where the input ends. The link index (modulo the table's size)
// picks a link-layer type. The time step (signed, in seconds) moves the capture clock, which real
// captures do not always move forward; kAbsoluteTime instead sets it from the 12 bytes that follow
// (seconds: 8, microseconds: 4, big endian, any value: a pcapng file can hold any).
inline constexpr int kFuzzLinktypes[] = {1, 113, 276, 12, 0, 108, 228, 229, 14, 101, 147};
inline constexpr std::size_t kFuzzLinktypeCount = std::size(kFuzzLinktypes);
inline constexpr std::int8_t kAbsoluteTime = -128;
inline constexpr std::int64_t kFuzzCaptureStart = 1700000000;  // the clock before the first step

inline void append_frame(std::vector<std::uint8_t>& out, std::uint8_t link_index,
                         std::int8_t time_step, std::span<const std::uint8_t> frame) {
  out.push_back(link_index);
  out.push_back(static_cast<std::uint8_t>(time_step));
  out.push_back(static_cast<std::uint8_t>(frame.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(frame.size()));
  out.insert(out.end(), frame.begin(), frame.end());
}

}  // namespace baker::fuzz
