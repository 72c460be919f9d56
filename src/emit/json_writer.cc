#include "emit/json_writer.h"

#include <cmath>

#include <fmt/core.h>

#include "base/text.h"

namespace berth {

void JsonWriter::Newline() {
  if (!pretty_) return;
  out_ += '\n';
  out_.append(first_.size() * 2, ' ');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_ += ',';
    first_.back() = false;
    Newline();
  }
}

JsonWriter& JsonWriter::BeginObject() {
  BeforeValue();
  out_ += '{';
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  const bool empty = first_.back();
  first_.pop_back();
  if (!empty) Newline();
  out_ += '}';
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  BeforeValue();
  out_ += '[';
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  const bool empty = first_.back();
  first_.pop_back();
  if (!empty) Newline();
  out_ += ']';
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view k) {
  BeforeValue();
  Escape(k, out_, escaping_);
  out_ += pretty_ ? ": " : ":";
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view s) {
  BeforeValue();
  Escape(s, out_, escaping_);
  return *this;
}

JsonWriter& JsonWriter::Int(std::int64_t v) {
  BeforeValue();
  fmt::format_to(std::back_inserter(out_), "{}", v);
  return *this;
}

JsonWriter& JsonWriter::Double(double v) {
  BeforeValue();
  if (!std::isfinite(v)) {
    out_ += "null";
  } else {
    fmt::format_to(std::back_inserter(out_), "{}", v);
  }
  return *this;
}

JsonWriter& JsonWriter::Bool(bool v) {
  BeforeValue();
  out_ += v ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::StringArray(std::string_view k, const std::vector<std::string>& items) {
  Key(k).BeginArray();
  for (const std::string& item : items) String(item);
  return EndArray();
}

JsonWriter& JsonWriter::PortList(const PortSet& ports) {
  BeginArray();
  for (PortRange r : ports.ranges()) {
    for (std::uint32_t p = r.low; p <= r.high; ++p) Int(p);
  }
  return EndArray();
}

JsonWriter& JsonWriter::PortRanges(const PortSet& ports) {
  BeginArray();
  for (PortRange r : ports.ranges()) BeginArray().Int(r.low).Int(r.high).EndArray();
  return EndArray();
}

void JsonWriter::Escape(std::string_view s, std::string& out, JsonEscaping escaping) {
  const bool nlohmann = escaping == JsonEscaping::kNlohmann;
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Copy a well-formed UTF-8 sequence; replace each byte of anything else with U+FFFD.
      char32_t cp = 0;
      const std::size_t n = DecodeUtf8(s, i, cp);
      if (n > 0) {
        out.append(s.substr(i, n));
        i += n;
      } else {
        out += "\xEF\xBF\xBD";
        ++i;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\t': out += "\\t"; continue;
      case '\r': out += "\\r"; continue;
      case '\b':
        if (nlohmann) { out += "\\b"; continue; }
        break;
      case '\f':
        if (nlohmann) { out += "\\f"; continue; }
        break;
      default: break;
    }
    if (c < 0x20 || (c == 0x7F && !nlohmann)) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

}  // namespace berth
