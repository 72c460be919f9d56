// ByteReader: the one way libberth reads untrusted bytes (netlink replies, probe replies,
// recorded dumps). Every read checks what remains, advances, and fails with kMalformed
// naming the field; endianness is explicit. A reader is a cheap view: not thread-safe,
// copy it to fork a sub-reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include <fmt/core.h>

#include "base/error.h"

namespace berth {

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::byte> bytes, std::string_view what = "input")
      : bytes_(bytes), what_(what) {}

  std::size_t remaining() const { return bytes_.size() - pos_; }
  std::size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }

  [[nodiscard]] Result<std::span<const std::byte>> Bytes(std::size_t n, std::string_view field) {
    if (n > remaining()) return Short(n, field);
    auto out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  [[nodiscard]] Result<void> Skip(std::size_t n, std::string_view field) {
    if (n > remaining()) return Short(n, field);
    pos_ += n;
    return {};
  }
  [[nodiscard]] Result<std::uint8_t> U8(std::string_view field) {
    if (remaining() < 1) return Short(1, field);
    return std::to_integer<std::uint8_t>(bytes_[pos_++]);
  }
  [[nodiscard]] Result<std::uint16_t> U16Be(std::string_view f) { return Int<std::uint16_t>(f, true); }
  [[nodiscard]] Result<std::uint16_t> U16Le(std::string_view f) { return Int<std::uint16_t>(f, false); }
  [[nodiscard]] Result<std::uint32_t> U32Be(std::string_view f) { return Int<std::uint32_t>(f, true); }
  [[nodiscard]] Result<std::uint32_t> U32Le(std::string_view f) { return Int<std::uint32_t>(f, false); }
  [[nodiscard]] Result<std::uint64_t> U64Le(std::string_view f) { return Int<std::uint64_t>(f, false); }

 private:
  template <class T>
  Result<T> Int(std::string_view field, bool big_endian) {
    if (remaining() < sizeof(T)) return Short(sizeof(T), field);
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      const std::size_t shift = 8 * (big_endian ? sizeof(T) - 1 - i : i);
      v = static_cast<T>(v | static_cast<T>(std::to_integer<T>(bytes_[pos_ + i]) << shift));
    }
    pos_ += sizeof(T);
    return v;
  }

  std::unexpected<Error> Short(std::size_t need, std::string_view field) const {
    return Fail(ErrorCode::kMalformed,
                fmt::format("{}: {} needs {} bytes at offset {}, {} left", what_, field, need,
                            pos_, remaining()));
  }

  std::span<const std::byte> bytes_;
  std::size_t pos_ = 0;
  std::string_view what_;
};

}  // namespace berth
