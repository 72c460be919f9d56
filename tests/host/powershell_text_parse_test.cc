// Dates and encodings as PowerShell writes them.
#include "host/powershell_text_parse.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(PowerShellDate, BothEditionsForms) {
  EXPECT_EQ(ParsePowerShellDate("/Date(1764712800000)/"), 1764712800000);
  EXPECT_EQ(ParsePowerShellDate("/Date(1764712800000+0100)/"), 1764712800000);  // offset: same instant
  EXPECT_EQ(ParsePowerShellDate("/Date(-5)/"), -5);
  EXPECT_EQ(ParsePowerShellDate("2025-12-02T22:00:00.0000000Z"), 1764712800000);
  EXPECT_EQ(ParsePowerShellDate("2025-12-02T23:00:00.5+01:00"), 1764712800500);
  EXPECT_EQ(ParsePowerShellDate("2025-12-02T22:00:00"), 1764712800000);
  EXPECT_EQ(ParsePowerShellDate("1970-01-01T00:00:00Z"), 0);
}

TEST(PowerShellDate, AnythingElseIsNone) {
  for (const char* bad : {"", "/Date()/", "/Date(12a)/", "/Date(1234567890123456)/", "2025-13-01T00:00:00Z",
                          "2025-12-02 22:00:00", "2025-12-02T22:00:00.Z", "2025-12-02T22:00:00+1:00",
                          "2025-12-02T22:00:00Zjunk", "yesterday"}) {
    EXPECT_EQ(ParsePowerShellDate(bad), std::nullopt) << bad;
  }
}

TEST(PowerShellText, Encodings) {
  EXPECT_EQ(DecodePowerShellText("\xEF\xBB\xBF{}", "f").value(), "{}");
  EXPECT_EQ(DecodePowerShellText("{}", "f").value(), "{}");
  // UTF-16LE: "é€😀" (2-, 3- and 4-byte UTF-8, the last a surrogate pair).
  const std::string utf16("\xFF\xFE\xE9\x00\xAC\x20\x3D\xD8\x00\xDE", 10);
  EXPECT_EQ(DecodePowerShellText(utf16, "f").value(), "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  const std::string lone_low("\xFF\xFE\x00\xDE", 4);
  EXPECT_FALSE(DecodePowerShellText(lone_low, "f"));
}

}  // namespace
}  // namespace berth
