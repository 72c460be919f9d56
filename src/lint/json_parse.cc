#include "lint/json_parse.h"

#include <algorithm>
#include <iterator>
#include <string>

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "base/json_text.h"
#include "lint/conf_parse.h"
#include "lint/line_reader.h"
#include "lint/url_parse.h"

namespace berth::lint {
namespace {

using json = nlohmann::json;

// An input iterator over the text that records the last byte the parser read: at each event
// the parser has just read the token's last byte (a string's closing quote) or, for a number,
// the byte after it.
class TrackedInput {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackedInput(const char* p, const char** last) : p_(p), last_(last) {}
  const char& operator*() const {
    *last_ = p_;
    return *p_;
  }
  TrackedInput& operator++() {
    ++p_;
    return *this;
  }
  TrackedInput operator++(int) {
    TrackedInput before = *this;
    ++p_;
    return before;
  }
  bool operator==(const TrackedInput& o) const { return p_ == o.p_; }

 private:
  const char* p_;
  const char** last_;
};

// Where each event happens in the document: the open objects and arrays.
struct Frame {
  bool array = false;
  std::size_t index = 0;  // the next item of an array
  std::string key;        // the current key of an object
};

class PortSax final : public json::json_sax_t {
 public:
  PortSax(std::string_view file, std::string_view text, const char** last)
      : file_(file), text_(text), last_(last) {}

  bool null() override { return Item(); }
  bool boolean(bool) override { return Item(); }
  bool number_integer(json::number_integer_t) override { return Item(); }
  bool number_float(json::number_float_t, const std::string&) override { return Item(); }
  bool binary(json::binary_t&) override { return Item(); }
  bool number_unsigned(json::number_unsigned_t v) override {
    const std::string digits = fmt::format("{}", v);
    // The parser read the byte after the number, unless the number ends the text.
    std::size_t end = Read();
    if (end < text_.size() && text_[end] >= '0' && text_[end] <= '9') ++end;
    if (end >= digits.size() && text_.substr(end - digits.size(), digits.size()) == digits) {
      Declare(digits, end - digits.size(), false);
    }
    return Item();
  }
  bool string(json::string_t& s) override {
    // The parser has read the closing quote; a string with escapes is not a port.
    const std::size_t quote = Read();
    if (quote > s.size() && text_[quote - s.size() - 1] == '"' &&
        text_.substr(quote - s.size(), s.size()) == s) {
      Declare(s, quote - s.size(), true);
      DeclareUrls(s, quote - s.size());
    }
    return Item();
  }
  bool start_object(std::size_t) override {
    frames_.push_back(Frame{});
    return true;
  }
  bool key(json::string_t& k) override {
    frames_.back().key = k;
    return true;
  }
  bool end_object() override {
    frames_.pop_back();
    return Item();
  }
  bool start_array(std::size_t) override {
    Frame array;
    array.array = true;
    frames_.push_back(std::move(array));
    return true;
  }
  bool end_array() override {
    frames_.pop_back();
    return Item();
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) override {
    const LineColumn at = PositionOf(text_, std::min(position, text_.size()) - (position > 0 ? 1 : 0));
    error_ = Error{ErrorCode::kMalformed,
                   fmt::format("invalid JSON at line {} column {}", at.line, at.column)};
    return false;
  }

  std::optional<Error> error() const { return error_; }
  std::vector<PortDecl> Take() { return std::move(out_); }

 private:
  std::size_t Read() const { return static_cast<std::size_t>(*last_ - text_.data()); }

  // A value ended: the enclosing array moves to its next item.
  bool Item() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
    return true;
  }

  std::string Path() const {
    std::string path;
    for (const Frame& f : frames_) {
      if (f.array) {
        path += fmt::format("[{}]", f.index);
      } else {
        if (!path.empty()) path += '.';
        path += f.key;
      }
    }
    return path;
  }

  // The value `value` at byte `offset` of the current key, when that key names a port.
  void Declare(std::string_view value, std::size_t offset, bool quoted) {
    if (frames_.empty() || frames_.back().array || !IsPortKey(frames_.back().key)) return;
    PortDecl d;
    if (auto port = ParsePortNumber(value)) {
      d.ports = PortRange{*port, *port};
      if (*port == 0) d.dynamic = Dynamic::kZero;
    } else if (quoted && value.find("${random.int") != std::string_view::npos) {
      d.dynamic = Dynamic::kRandom;
    } else {
      return;
    }
    d.kind = IsListenKey(Path()) ? DeclKind::kListen : DeclKind::kTarget;
    Place(std::move(d), offset);
  }

  // The ports of URLs in string `value` (written without escapes) at byte `offset`, under
  // any key or in an array: "ConnectionStrings.Redis": "redis://cache:6379/0".
  void DeclareUrls(std::string_view value, std::size_t offset) {
    if (frames_.empty() || value.find("://") == std::string_view::npos) return;
    if (!frames_.back().array && IsPortKey(frames_.back().key)) return;  // read by Declare
    const std::string path = Path();
    for (const UrlPort& u : FindUrlPorts(value)) {
      PortDecl d;
      SetUrlPort(d, u, path);
      Place(std::move(d), offset + u.port_offset);
    }
  }

  // Adds `d` at byte `offset`. Declarations come in the order of the text: the position moves
  // forward from the last.
  void Place(PortDecl d, std::size_t offset) {
    while (cursor_ < offset) {
      if (text_[cursor_++] == '\n') {
        ++at_.line;
        at_.column = 1;
      } else {
        ++at_.column;
      }
    }
    d.where = Location{std::string(file_), at_.line, at_.column};
    d.offset = offset;
    d.key_path = Path();
    d.format = ConfigFormat::kJson;
    out_.push_back(std::move(d));
  }

  std::string_view file_;
  std::string_view text_;
  const char** last_;
  std::vector<Frame> frames_;
  std::vector<PortDecl> out_;
  std::optional<Error> error_;
  std::size_t cursor_ = 0;
  LineColumn at_;
};

// The offset after the blanks and comments from `i` on.
std::size_t SkipBlanksAndComments(std::string_view text, std::size_t i) {
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n') {
      ++i;
    } else if (text.substr(i, 2) == "//") {
      i = std::min(text.find('\n', i), text.size());
    } else if (text.substr(i, 2) == "/*") {
      const std::size_t end = text.find("*/", i + 2);
      i = end == std::string_view::npos ? text.size() : end + 2;
    } else {
      break;
    }
  }
  return i;
}

// JSONC's trailing commas (.NET's configuration accepts them, nlohmann does not): a copy of
// `text` in which each comma that only blanks and comments separate from a closing '}' or
// ']' is a blank, so that every other byte keeps its offset. Linear: a comment or a run of
// blanks is looked over at most twice.
std::string WithoutTrailingCommas(std::string_view text) {
  std::string out(text);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '"') {
      for (++i; i < out.size() && out[i] != '"'; ++i) {
        if (out[i] == '\\') ++i;
      }
    } else if (out[i] == '/' && (text.substr(i, 2) == "//" || text.substr(i, 2) == "/*")) {
      i = SkipBlanksAndComments(text, i) - 1;
    } else if (out[i] == ',') {
      const std::size_t next = SkipBlanksAndComments(text, i + 1);
      if (next < out.size() && (out[next] == '}' || out[next] == ']')) out[i] = ' ';
    }
  }
  return out;
}

}  // namespace

Result<std::vector<PortDecl>> ParseJsonPorts(std::string_view file, std::string_view text) {
  BERTH_TRY(CheckDocumentBytes(text, kMaxJsonBytes, "JSON"));
  BERTH_TRY(CheckJsonDepth(text, kMaxJsonDepth, "JSON"));
  const std::string jsonc = WithoutTrailingCommas(text);
  text = jsonc;
  const char* last = text.data();
  PortSax sax(file, text, &last);
  // nlohmann reports a syntax error to the handler; anything else it throws ends here.
  try {
    json::sax_parse(TrackedInput(text.data(), &last), TrackedInput(text.data() + text.size(), &last),
                    &sax, json::input_format_t::json, true, /*ignore_comments=*/true);
  } catch (const json::exception& e) {
    return Fail(ErrorCode::kMalformed, fmt::format("invalid JSON: {}", e.what()));
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kMalformed, "too large to hold in memory");
  }
  if (auto e = sax.error()) return std::unexpected(*e);
  return sax.Take();
}

}  // namespace berth::lint
