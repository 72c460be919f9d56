// Terminal styles (ANSI SGR) and StyledText, a buffered writer to a Sink that wraps text in a
// style only when colour is on. Shared by the text renderers that colour their output (scan,
// findings). Not thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/sink.h"

namespace berth {

inline constexpr std::string_view kReset = "\033[0m";
inline constexpr std::string_view kBold = "\033[1m";
inline constexpr std::string_view kDim = "\033[2m";
inline constexpr std::string_view kRed = "\033[31m";
inline constexpr std::string_view kYellow = "\033[33m";
inline constexpr std::string_view kCyan = "\033[36m";

class StyledText {
 public:
  // `sink` must outlive this writer; what is buffered is flushed at the latest on destruction.
  StyledText(const Sink& sink, bool color) : sink_(sink), color_(color) {}
  StyledText(const StyledText&) = delete;
  StyledText& operator=(const StyledText&) = delete;
  ~StyledText() { Flush(); }

  bool color() const { return color_; }
  void Put(std::string_view s) {
    if (s.size() >= 1 << 16) {  // a block of a large table: to the sink without a copy
      Flush();
      sink_(s);
      return;
    }
    buf_.append(s);
    if (buf_.size() >= 1 << 16) Flush();
  }
  // `s` in `style` when colour is on and a style is given; plain `s` otherwise.
  void Styled(std::string_view style, std::string_view s) {
    if (color_ && !style.empty()) {
      buf_.append(style);
      buf_.append(s);
      buf_.append(kReset);
      if (buf_.size() >= 1 << 16) Flush();
    } else {
      Put(s);
    }
  }
  // Appends `s` in `style` to `out` under the same rule (for table cells).
  void AppendStyled(std::string& out, std::string_view style, std::string_view s) const {
    if (color_ && !style.empty()) {
      out.append(style).append(s).append(kReset);
    } else {
      out.append(s);
    }
  }
  void Flush() {
    if (!buf_.empty()) sink_(buf_);
    buf_.clear();
  }

 private:
  const Sink& sink_;
  bool color_;
  std::string buf_;
};

}  // namespace berth
