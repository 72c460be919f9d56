// JsonWriter: the one way berth writes JSON. Streaming: it keeps no document in memory, so a
// 220k-socket scan is emitted in constant space. Every string is escaped (control characters
// never appear raw; invalid UTF-8 bytes become U+FFFD) so names from the kernel, /proc, the
// network or the registry stay inert data. Keys are written in the order the caller writes
// them. Not thread-safe. Output goes to a buffer the caller flushes with Take().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/port.h"

namespace berth {

enum class JsonLayout : std::uint8_t {
  kCompact,  // no whitespace: {"a":1,"b":[]}
  kPretty,   // nlohmann's dump(2): two-space indent, "key": value, empty [] and {}
};

enum class JsonEscaping : std::uint8_t {
  // \" \\ \n \r \t; every other C0 character and DEL as \u00xx. The scan, probe, surface and
  // service-export documents use it.
  kStrict,
  // nlohmann::json's dump(): \" \\ \b \f \n \r \t; other C0 characters as \u00xx; DEL kept
  // raw. With kPretty the output is byte-identical to nlohmann's dump(2) for valid UTF-8 (the
  // registry documents, which nlohmann wrote before; where nlohmann throws on invalid UTF-8,
  // each bad byte becomes U+FFFD here).
  kNlohmann,
};

class JsonWriter {
 public:
  explicit JsonWriter(JsonLayout layout = JsonLayout::kCompact,
                      JsonEscaping escaping = JsonEscaping::kStrict)
      : pretty_(layout == JsonLayout::kPretty), escaping_(escaping) {}

  // Precondition for End*: the matching Begin* is open; for a value inside an object: Key().
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view k);
  JsonWriter& String(std::string_view s);
  JsonWriter& Int(std::int64_t v);
  JsonWriter& Double(double v);  // non-finite values are written as null
  JsonWriter& Bool(bool v);
  JsonWriter& Null();

  // Shorthands for "key": value.
  template <class T>
  JsonWriter& Field(std::string_view k, const T& v) {
    Key(k);
    if constexpr (std::is_same_v<T, bool>) return Bool(v);
    else if constexpr (std::is_integral_v<T>) return Int(static_cast<std::int64_t>(v));
    else if constexpr (std::is_floating_point_v<T>) return Double(v);
    else return String(v);
  }
  // "key": ["a", "b"].
  JsonWriter& StringArray(std::string_view k, const std::vector<std::string>& items);
  // Port sets as values, never as comma strings (docs/scan-json.md, "Port lists"):
  // [22, 80, 443], every port of `ports` (for sets of live ports, which are small)...
  JsonWriter& PortList(const PortSet& ports);
  // ...and [[22, 22], [32768, 60999]], each range [low, high] (for configured ranges).
  JsonWriter& PortRanges(const PortSet& ports);

  std::string& buffer() { return out_; }
  // Returns what was written so far and clears it (for chunked output).
  std::string Take() { return std::exchange(out_, {}); }

  // Appends `s` as a quoted JSON string.
  static void Escape(std::string_view s, std::string& out,
                     JsonEscaping escaping = JsonEscaping::kStrict);

 private:
  void BeforeValue();
  void Newline();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
  bool pretty_;
  JsonEscaping escaping_;
};

}  // namespace berth
