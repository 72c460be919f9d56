// A streaming JSON writer: keeps no document in memory, so a 220k-socket scan is emitted
// in constant space. Escapes every string per RFC 8259 (control characters as \u00XX;
// invalid UTF-8 bytes become U+FFFD) so names from the kernel or /proc stay inert data.
// Not thread-safe. Output goes to a buffer the caller flushes with Take().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace berth {

class JsonWriter {
 public:
  explicit JsonWriter(bool pretty = false) : pretty_(pretty) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view k);
  JsonWriter& String(std::string_view s);
  JsonWriter& Int(std::int64_t v);
  JsonWriter& Double(double v);
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

  std::string& buffer() { return out_; }
  // Returns what was written so far and clears it (for chunked output).
  std::string Take() { return std::exchange(out_, {}); }

  static void Escape(std::string_view s, std::string& out);

 private:
  void BeforeValue();
  void Newline();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
  bool pretty_;
};

}  // namespace berth
