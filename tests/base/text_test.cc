#include "base/text.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

// True when `s` is valid UTF-8 with no C0 control (line breaks allowed when `lines`), no
// DEL and no C1 control.
bool TerminalClean(std::string_view s, bool lines = false) {
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = DecodeUtf8(s, i, cp);
    if (n == 0) return false;
    if ((cp < 0x20 && !(lines && cp == '\n')) || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return false;
    if (cp == 0x2028 || cp == 0x2029) return false;
    i += n;
  }
  return true;
}

TEST(TerminalSafe, EscapesC0AndDel) {
  EXPECT_EQ(TerminalSafe("o\x1b]0;PWNED\x07\x1b[2J"), "o\\x1b]0;PWNED\\x07\\x1b[2J");
  EXPECT_EQ(TerminalSafe("a\nb\x7f"), "a\\x0ab\\x7f");
  EXPECT_EQ(TerminalSafe("caf\xc3\xa9"), "caf\xc3\xa9");
}

// Before: U+009B (CSI, UTF-8 C2 9B) passed through and a terminal read it as ESC [.
TEST(TerminalSafe, EscapesC1AsUtf8AndAsRawBytes) {
  EXPECT_EQ(TerminalSafe("x\xc2\x9b" "2Jy"), "x\\xc2\\x9b2Jy");
  EXPECT_EQ(TerminalSafe("x\x9b" "2J"), "x\\x9b2J");
  EXPECT_EQ(TerminalSafe("\xc2\x85"), "\\xc2\\x85");
  EXPECT_EQ(TerminalSafe("\xe2\x80\xa8|\xe2\x80\xa9"), "\\xe2\\x80\\xa8|\\xe2\\x80\\xa9");
  EXPECT_EQ(TerminalSafe("\xff\xfe\xc3"), "\\xff\\xfe\\xc3");
  EXPECT_TRUE(TerminalClean(TerminalSafe("\xc2\x9b\x9b\xc2\x80\x80\x1b\x7f")));
}

// Before: a 10 MB value was echoed whole.
TEST(TerminalSafe, TruncatesLongTextAndSaysHowMuchWasCut) {
  const std::string big(10'000'000, 'a');
  const std::string out = TerminalSafe(big);
  EXPECT_EQ(out, std::string(kTerminalMaxChars, 'a') + "\xe2\x80\xa6(" +
                     std::to_string(big.size() - kTerminalMaxChars) + " bytes more)");
  EXPECT_EQ(TerminalSafe("abcdef", 3), "abc\xe2\x80\xa6(3 bytes more)");
  EXPECT_EQ(TerminalSafe("abc", 3), "abc");
}

TEST(TerminalSafe, LinesKeepLineBreaksOnly) {
  EXPECT_EQ(TerminalSafeLines("one\x1b[2J\ntwo\r\n"), "one\\x1b[2J\ntwo\\x0d\n");
  EXPECT_TRUE(TerminalClean(TerminalSafeLines("a\n\x1b\xc2\x9b\n"), true));
}

TEST(WrapLine, BreaksAtSpacesUnderTheIndentAndKeepsLongWordsWhole) {
  EXPECT_EQ(WrapLine("short line", 40, 4), "short line");
  EXPECT_EQ(WrapLine("a long line that does not fit", 0, 4), "a long line that does not fit");
  const std::string row = "  --port PORTS   only sockets on these ports, a comma list of ports and ranges";
  const std::string wrapped = WrapLine(row, 40, 17);
  EXPECT_EQ(wrapped,
            "  --port PORTS   only sockets on these\n"
            "                 ports, a comma list of\n"
            "                 ports and ranges");
  for (std::size_t at = 0, nl; at < wrapped.size(); at = nl + 1) {
    nl = std::min(wrapped.find('\n', at), wrapped.size());
    EXPECT_LE(nl - at, 40u) << wrapped;
  }
  // A word wider than the room (a URL, a command) stays whole on a line of its own.
  EXPECT_EQ(WrapLine("see https://example.invalid/a/very/long/path/that/never/fits/anywhere now", 30, 2),
            "see\n  https://example.invalid/a/very/long/path/that/never/fits/anywhere\n  now");
  // UTF-8 counts by characters, not bytes: 24 two-byte letters fit a width of 30.
  const std::string accents = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 "
                              "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 "
                              "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
  EXPECT_EQ(WrapLine(accents, 30, 0), accents);
}

}  // namespace
}  // namespace berth
