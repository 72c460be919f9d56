#include "emit/firewall_quote.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(CommentText, KeepsPrintableAndUtf8EscapesControls) {
  EXPECT_EQ(CommentText("a \"b\" $(c) `d`; é"), "a \"b\" $(c) `d`; é");
  EXPECT_EQ(CommentText(std::string_view("x\ny\rz\0w", 7)), "x\\x0ay\\x0dz\\x00w");
  EXPECT_EQ(CommentText("\xe2\x80\xa8"), "\\xe2\\x80\\xa8");  // U+2028 ends a line somewhere
  EXPECT_EQ(CommentText("\xc2\x85"), "\\xc2\\x85");          // NEL
  EXPECT_EQ(CommentText("\xff\xc3"), "\\xff\\xc3");          // invalid UTF-8
  EXPECT_EQ(CommentText("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
}

TEST(ShellQuote, SingleQuotesWithEscapedQuote) {
  EXPECT_EQ(ShellQuote("it's $(x)"), "'it'\\''s $(x)'");
  EXPECT_EQ(ShellQuote("a\nb"), "'a\\x0ab'");
}

TEST(PowerShellQuote, DoublesEveryQuoteCharacter) {
  EXPECT_EQ(PowerShellQuote("it's $x `y"), "'it''s $x `y'");
  // U+2019 RIGHT SINGLE QUOTATION MARK also closes a PowerShell single-quoted string.
  EXPECT_EQ(PowerShellQuote("a\xe2\x80\x99" "b"), "'a\xe2\x80\x99\xe2\x80\x99" "b'");
  EXPECT_EQ(PowerShellQuote(std::string_view("\0", 1)), "'\\x00'");
}

TEST(XmlEscape, EscapesMarkupAndControls) {
  EXPECT_EQ(XmlEscape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
  EXPECT_EQ(XmlEscape("a\nb"), "a\\x0ab");
}

TEST(YamlQuote, PureAsciiDoubleQuoted) {
  EXPECT_EQ(YamlQuote("a \"b\" \\ c"), "\"a \\\"b\\\" \\\\ c\"");
  EXPECT_EQ(YamlQuote("x\ny"), "\"x\\x0ay\"");
  EXPECT_EQ(YamlQuote("é"), "\"\\xe9\"");
  EXPECT_EQ(YamlQuote("\xe2\x80\x99"), "\"\\u2019\"");
  EXPECT_EQ(YamlQuote("\xf0\x9f\x98\x80"), "\"\\U0001f600\"");
  EXPECT_EQ(YamlQuote("\xff"), "\"\\uFFFD\"");
}

TEST(SafeToken, ReplacesEverythingElse) {
  EXPECT_EQ(SafeToken("db\"; drop", 64), "db___drop");
  EXPECT_EQ(SafeToken("abcdef", 3), "abc");
}

TEST(ParseCidr, CanonicalForms) {
  EXPECT_EQ(ParseCidr("10.1.2.3/8")->text, "10.0.0.0/8");
  EXPECT_EQ(ParseCidr("192.0.2.7")->text, "192.0.2.7/32");
  EXPECT_EQ(ParseCidr("192.0.2.7/0")->text, "0.0.0.0/0");
  EXPECT_EQ(ParseCidr("2001:db8::1/32")->text, "2001:db8::/32");
  EXPECT_EQ(ParseCidr("2001:db8::1/32")->family, 6);
  EXPECT_EQ(ParseCidr("fe80::1/127")->text, "fe80::/127");
  EXPECT_EQ(ParseCidr("::1")->text, "::1/128");
}

TEST(ParseCidr, RejectsInjection) {
  for (std::string_view bad : {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/8; drop", "any",
                               "10.0.0.0/8 . 22", "1.2.3.4\n", "$(id)", "10.0.0.0/-1",
                               "::/129", "10.0.0.0/08x"}) {
    auto r = ParseCidr(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace berth
