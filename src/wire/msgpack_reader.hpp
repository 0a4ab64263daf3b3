#pragma once
// A bounded pull reader for the msgpack subset Baker uses. Decoding does not go through msgpack-c's
// object unpacker because that allocates every array up front from its declared length, so a few
// bytes claiming huge arrays could make a receiver allocate gigabytes. This reader allocates
// nothing, never reads past the span, and reports the first problem as a DecodeError.
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

#include "wire/decode_error.hpp"

namespace baker::wire {

class MsgpackReader {
 public:
  explicit MsgpackReader(std::span<const std::uint8_t> bytes)
      : p_(bytes.data()), end_(p_ + bytes.size()) {}

  std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }
  const std::uint8_t* position() const { return p_; }
  std::optional<DecodeError> error() const { return error_; }
  bool failed() const { return error_.has_value(); }

  // Each read returns a value on success; on failure it records the first error and returns 0/{}.
  std::uint64_t read_uint();
  std::uint32_t read_array_header();
  std::string_view read_str();
  std::span<const std::uint8_t> read_bin();
  // Whether the next item is nil, without consuming it.
  bool peek_nil() const { return p_ < end_ && *p_ == 0xc0; }

  void fail(DecodeError e) {
    if (!error_) error_ = e;
    p_ = end_;
  }

 private:
  bool take(std::size_t n, const std::uint8_t** out);
  std::uint64_t be(std::size_t n);
  std::span<const std::uint8_t> read_sized(bool str);  // a str or bin: length prefix, then bytes
  // Classifies a byte that is valid msgpack but of the wrong kind, vs. one that is never valid.
  void fail_unexpected(std::uint8_t marker);

  const std::uint8_t* p_;
  const std::uint8_t* end_;
  std::optional<DecodeError> error_;
};

}  // namespace baker::wire
