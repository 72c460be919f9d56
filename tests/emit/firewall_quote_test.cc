#include "emit/firewall_quote.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

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

// Random bytes through the quoting functions, read back by the real interpreters.
namespace berth {
namespace {

std::vector<std::string> RandomStrings(int n) {
  std::uint32_t x = 2463534242u;  // xorshift: the same strings every run
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  const std::string_view alphabet[] = {"'", "\"", "`", "$", "(", ")", "\\", "\n", ";", "&",
                                       "|", "a", " ", "\xe2\x80\x99", "\xe2\x80\x98", "\xc3\xa9",
                                       "\xff", std::string_view("\0", 1), "\r", "#", "{", "}",
                                       "\xe2\x80\xa8", "%", "!", "*", "~"};
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string s;
    const std::uint32_t len = next() % 24;
    for (std::uint32_t k = 0; k < len; ++k) s += alphabet[next() % std::size(alphabet)];
    out.push_back(s);
  }
  return out;
}

TEST(QuoteRoundTrip, ShellGivesBackTheCommentText) {
  const auto strings = RandomStrings(300);
  std::string script = "printf '%s\\0'";
  for (const std::string& s : strings) script += " " + ShellQuote(s);
  auto r = test::Run({"sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> got;
  std::string cur;
  for (char c : r.out) {
    if (c == '\0') {
      got.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  ASSERT_EQ(got.size(), strings.size());
  for (std::size_t i = 0; i < strings.size(); ++i) EXPECT_EQ(got[i], CommentText(strings[i]));
}

TEST(QuoteRoundTrip, YamlGivesBackTheText) {
  const auto strings = RandomStrings(300);
  std::string doc;
  for (const std::string& s : strings) doc += "- " + YamlQuote(s) + "\n";
  auto r = test::Run({"python3", "-c",
                      "import sys,json,yaml\n"
                      "sys.stdout.write(json.dumps(yaml.safe_load(sys.stdin.read())))\n"},
                     doc);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto got = nlohmann::json::parse(r.out);
  ASSERT_EQ(got.size(), strings.size());
  for (std::size_t i = 0; i < strings.size(); ++i) {
    // Invalid UTF-8 bytes become U+FFFD; everything else comes back exactly.
    const std::string want =
        nlohmann::json::parse(nlohmann::json(strings[i]).dump(-1, ' ', false,
                                                              nlohmann::json::error_handler_t::replace))
            .get<std::string>();
    EXPECT_EQ(got[i].get<std::string>(), want) << i;
  }
}

}  // namespace
}  // namespace berth
