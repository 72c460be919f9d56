// Text from outside (the kernel, /proc, the network, files, the registry) made safe to show:
// UTF-8 decoding, and forms in which no control character survives. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace berth {

// Decodes one UTF-8 sequence at s[i]. Returns its length (1-4) and the code point, or
// length 0 for an invalid or overlong sequence, a surrogate, or a value past U+10FFFF.
std::size_t DecodeUtf8(std::string_view s, std::size_t i, char32_t& cp);

// Appends "\xNN" for the byte `b`.
void AppendHexByte(std::string& out, unsigned char b);

// Calls keep(cp, bytes) for each valid, printable character and escapes the rest as \xNN.
// Control characters (C0, DEL, C1) and line separators are never kept.
template <class Keep>
std::string MapText(std::string_view s, Keep keep) {
  std::string out;
  out.reserve(s.size() + 2);
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = DecodeUtf8(s, i, cp);
    if (n == 0) {
      AppendHexByte(out, static_cast<unsigned char>(s[i]));
      ++i;
      continue;
    }
    const bool control = cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
                         cp == 0x2028 || cp == 0x2029;
    if (control) {
      for (std::size_t k = 0; k < n; ++k) AppendHexByte(out, static_cast<unsigned char>(s[i + k]));
    } else {
      keep(out, cp, s.substr(i, n));
    }
    i += n;
  }
  return out;
}


// Text for a single-line comment: printable ASCII and valid UTF-8 are kept; control bytes,
// DEL, invalid UTF-8, and the Unicode line/paragraph separators (U+0085, U+2028, U+2029)
// become "\xNN" text, so the result never ends the comment. Also a safe plain-text form.
std::string CommentText(std::string_view s);

inline constexpr std::size_t kTerminalMaxChars = 256;    // one field: a name, an owner
inline constexpr std::size_t kTerminalMaxLine = 4096;    // one line of prose or a message

// Text from outside (the kernel, /proc, the registry, a file, the command line) made safe
// for a terminal, the one form every text output and every echoed input uses: C0 controls
// (line breaks too), DEL, C1 controls (U+0080-U+009F as UTF-8, and the raw bytes
// 0x80-0x9F, which are invalid UTF-8), any other invalid UTF-8 and U+2028/U+2029 become
// "\xNN" text. Past `max_chars` characters the rest is cut and counted:
// "…(N bytes more)".
std::string TerminalSafe(std::string_view s, std::size_t max_chars = kTerminalMaxChars);

// TerminalSafe on each line of `s` (at most `max_line_chars` characters a line), the
// line breaks kept: for messages of several lines.
std::string TerminalSafeLines(std::string_view s, std::size_t max_line_chars = kTerminalMaxLine);

// `line` (one line, already safe to show) broken at spaces so that no line is wider than
// `width` characters (UTF-8 code points) where a space allows it; continuation lines start
// with `indent` spaces. A word longer than the room is kept whole on a line of its own. Width
// 0 (or one too small to hold the indent and a few characters): `line` unchanged. No
// trailing newline is added.
std::string WrapLine(std::string_view line, std::size_t width, std::size_t indent);

}  // namespace berth
