#include "emit/json_writer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace berth {
namespace {

// Strings that stress escaping: quotes, backslashes, every C0 control, DEL, UTF-8 of 2-4
// bytes, the line separators, '/'.
std::vector<std::string> Tricky() {
  std::vector<std::string> out = {"", "plain", "say \"hi\"", "C:\\path\\", "a/b",
                                  "tab\there\nnew\rret\bbs\fff", "del\x7f", "caf\xc3\xa9",
                                  "\xe2\x82\xac \xf0\x9f\x98\x80", "\xe2\x80\xa8\xc2\x85",
                                  "{\"json\": [1, 2]}"};
  std::string c0;
  for (int c = 0; c < 0x20; ++c) c0 += static_cast<char>(c);
  out.push_back(c0);
  return out;
}

TEST(JsonWriter, CompactEscapingIsUnchanged) {
  std::string out;
  JsonWriter::Escape("\"\\\n\t\r\b\f\x01\x1f\x7f/\xc3\xa9", out);
  EXPECT_EQ(out, "\"\\\"\\\\\\n\\t\\r\\u0008\\u000c\\u0001\\u001f\\u007f/\xc3\xa9\"");
  JsonWriter j;
  j.BeginObject().Field("a", 1).Key("b").BeginArray().EndArray().Key("c").BeginObject().EndObject();
  j.Field("d", true).Key("e").Null().EndObject();
  EXPECT_EQ(j.Take(), R"({"a":1,"b":[],"c":{},"d":true,"e":null})");
}

TEST(JsonWriter, InvalidUtf8BecomesReplacementCharacters) {
  const std::string bad[] = {"\x80", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                             "\xf5\x80\x80", "\xf8\x80\x80\x80", "\xff", "\xc3"};
  for (JsonEscaping e : {JsonEscaping::kStrict, JsonEscaping::kNlohmann}) {
    for (const std::string& s : bad) {
      std::string out;
      JsonWriter::Escape("x" + s + "y", out, e);
      std::string want = "\"x";
      for (std::size_t i = 0; i < s.size(); ++i) want += "\xef\xbf\xbd";
      EXPECT_EQ(out, want + "y\"") << nlohmann::json(s).dump(-1, ' ', true,
                                                          nlohmann::json::error_handler_t::replace);
      // The result is valid JSON (nlohmann would throw on the input).
      EXPECT_FALSE(nlohmann::json::parse(out, nullptr, false).is_discarded());
    }
  }
}

TEST(JsonWriter, PrettyNlohmannIsByteIdenticalToDump2) {
  for (const std::string& s : Tricky()) {
    JsonWriter j(JsonLayout::kPretty, JsonEscaping::kNlohmann);
    j.BeginObject();
    j.Field("a", s).Field("b", -7).Field("c", false).Key("d").Null();
    j.Key("e").BeginArray().String(s).Int(1).BeginObject().EndObject().BeginArray().EndArray();
    j.BeginObject().Field(s, s).EndObject().EndArray();
    j.Key("f").BeginArray().EndArray().Key("g").BeginObject().EndObject();
    j.EndObject();
    nlohmann::json want{{"a", s}, {"b", -7}, {"c", false}, {"d", nullptr},
                        {"e", {s, 1, nlohmann::json::object(), nlohmann::json::array(),
                               nlohmann::json{{s, s}}}},
                        {"f", nlohmann::json::array()}, {"g", nlohmann::json::object()}};
    EXPECT_EQ(j.Take(), want.dump(2)) << s;
  }
  JsonWriter top(JsonLayout::kPretty, JsonEscaping::kNlohmann);
  top.BeginArray().EndArray();
  EXPECT_EQ(top.Take(), nlohmann::json::array().dump(2));
}

}  // namespace
}  // namespace berth
