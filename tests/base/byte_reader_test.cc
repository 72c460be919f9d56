#include "base/byte_reader.h"

#include <gtest/gtest.h>

#include <array>

namespace berth {
namespace {

TEST(ByteReader, ReadsBothEndiannessesAndAdvances) {
  const std::array<std::byte, 8> b{std::byte{0x12}, std::byte{0x34}, std::byte{0x56},
                                   std::byte{0x78}, std::byte{0x9a}, std::byte{0xbc},
                                   std::byte{0xde}, std::byte{0xf0}};
  ByteReader r(b);
  EXPECT_EQ(*r.U16Be("a"), 0x1234);
  EXPECT_EQ(*r.U16Le("b"), 0x7856);
  EXPECT_EQ(*r.U32Be("c"), 0x9abcdef0u);
  EXPECT_TRUE(r.empty());
}

TEST(ByteReader, ShortInputFailsNamingTheFieldAndDoesNotAdvance) {
  const std::array<std::byte, 3> b{};
  ByteReader r(b, "test reply");
  auto v = r.U32Le("length");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, ErrorCode::kMalformed);
  EXPECT_NE(v.error().message.find("test reply: length needs 4 bytes at offset 0, 3 left"),
            std::string::npos);
  EXPECT_EQ(r.remaining(), 3u);
  EXPECT_FALSE(r.Bytes(4, "x"));
  EXPECT_TRUE(r.Skip(3, "x"));
  EXPECT_FALSE(r.U8("y"));
}

TEST(ByteReader, HugeLengthsDoNotOverflow) {
  const std::array<std::byte, 4> b{};
  ByteReader r(b);
  EXPECT_FALSE(r.Bytes(static_cast<std::size_t>(-1), "x"));
  EXPECT_FALSE(r.Skip(static_cast<std::size_t>(-1), "x"));
}

}  // namespace
}  // namespace berth
