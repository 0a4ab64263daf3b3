#include "wire/msgpack_reader.hpp"

namespace baker::wire {

bool MsgpackReader::take(std::size_t n, const std::uint8_t** out) {
  if (error_) return false;
  if (remaining() < n) {
    fail(DecodeError::truncated);
    return false;
  }
  *out = p_;
  p_ += n;
  return true;
}

std::uint64_t MsgpackReader::be(std::size_t n) {
  const std::uint8_t* q = nullptr;
  if (!take(n, &q)) return 0;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | q[i];
  return v;
}

void MsgpackReader::fail_unexpected(std::uint8_t marker) {
  fail(marker == 0xc1 ? DecodeError::malformed : DecodeError::wrong_type);
}

std::uint64_t MsgpackReader::read_uint() {
  const std::uint8_t* q = nullptr;
  if (!take(1, &q)) return 0;
  const std::uint8_t m = *q;
  if (m <= 0x7f) return m;
  switch (m) {
    case 0xcc:
      return be(1);
    case 0xcd:
      return be(2);
    case 0xce:
      return be(4);
    case 0xcf:
      return be(8);
    default:
      fail_unexpected(m);
      return 0;
  }
}

std::uint32_t MsgpackReader::read_array_header() {
  const std::uint8_t* q = nullptr;
  if (!take(1, &q)) return 0;
  const std::uint8_t m = *q;
  std::uint64_t n = 0;
  if ((m & 0xf0) == 0x90) {
    n = m & 0x0f;
  } else if (m == 0xdc) {
    n = be(2);
  } else if (m == 0xdd) {
    n = be(4);
  } else {
    fail_unexpected(m);
    return 0;
  }
  // Every element takes at least one byte: a count beyond what is left is a lie (truncated).
  if (!error_ && n > remaining()) {
    fail(DecodeError::truncated);
    return 0;
  }
  return static_cast<std::uint32_t>(n);
}

std::span<const std::uint8_t> MsgpackReader::read_sized(bool str) {
  const std::uint8_t* q = nullptr;
  if (!take(1, &q)) return {};
  const std::uint8_t m = *q;
  // str: fixstr a0..bf, str8/16/32 d9..db; bin: bin8/16/32 c4..c6. The 8/16/32 markers are
  // consecutive in both families, so the length's width follows from the marker's offset.
  const std::uint8_t first = str ? 0xd9 : 0xc4;
  std::size_t n = 0;
  if (str && (m & 0xe0) == 0xa0) {
    n = m & 0x1f;
  } else if (m >= first && m <= first + 2) {
    n = be(std::size_t{1} << (m - first));
  } else {
    fail_unexpected(m);
    return {};
  }
  const std::uint8_t* s = nullptr;
  if (!take(n, &s)) return {};
  return {s, n};
}

std::string_view MsgpackReader::read_str() {
  const auto s = read_sized(true);
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

std::span<const std::uint8_t> MsgpackReader::read_bin() {
  return read_sized(false);
}

}  // namespace baker::wire
