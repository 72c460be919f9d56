#include "base/text.h"

#include <algorithm>

#include <fmt/core.h>

namespace berth {

std::size_t DecodeUtf8(std::string_view s, std::size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1Fu, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0Fu, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

void AppendHexByte(std::string& out, unsigned char b) { out += fmt::format("\\x{:02x}", b); }

std::string CommentText(std::string_view s) {
  return MapText(s, [](std::string& out, char32_t, std::string_view bytes) { out += bytes; });
}

std::string TerminalSafe(std::string_view s, std::size_t max_chars) {
  std::string out;
  out.reserve(std::min(s.size(), max_chars) + 2);
  std::size_t chars = 0;
  std::size_t i = 0;
  for (; i < s.size() && chars < max_chars; ++chars) {
    // Printable ASCII, nearly all of any text, in one append: a character a byte.
    std::size_t run = i;
    while (run < s.size() && run - i < max_chars - chars &&
           static_cast<unsigned char>(s[run]) >= 0x20 && static_cast<unsigned char>(s[run]) < 0x7F) {
      ++run;
    }
    if (run > i) {
      out.append(s.substr(i, run - i));
      chars += run - i - 1;  // the loop counts one more
      i = run;
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = DecodeUtf8(s, i, cp);
    if (n == 0) {  // invalid UTF-8, including a lone C1 byte 0x80-0x9F
      AppendHexByte(out, static_cast<unsigned char>(s[i]));
      ++i;
      continue;
    }
    const bool control = cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
                         cp == 0x2028 || cp == 0x2029;
    if (control) {
      for (std::size_t k = 0; k < n; ++k) AppendHexByte(out, static_cast<unsigned char>(s[i + k]));
    } else {
      out += s.substr(i, n);
    }
    i += n;
  }
  if (i < s.size()) out += fmt::format("\u2026({} bytes more)", s.size() - i);
  return out;
}

std::string TerminalSafeLines(std::string_view s, std::size_t max_line_chars) {
  std::string out;
  for (;;) {
    const std::size_t nl = s.find('\n');
    out += TerminalSafe(s.substr(0, nl), max_line_chars);
    if (nl == std::string_view::npos) return out;
    out += '\n';
    s.remove_prefix(nl + 1);
  }
}

namespace {

std::size_t Columns(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

}  // namespace

std::string WrapLine(std::string_view line, std::size_t width, std::size_t indent) {
  if (width == 0 || width < indent + 20 || Columns(line) <= width) return std::string(line);
  std::string out;
  std::size_t used = 0;  // columns on the current output line
  std::size_t lead = 0;  // keep the line's own leading spaces on its first line
  while (lead < line.size() && line[lead] == ' ') ++lead;
  out.append(line.substr(0, lead));
  used = lead;
  bool first_word = true;
  std::size_t at = lead;
  while (at < line.size()) {
    std::size_t end = line.find(' ', at);
    if (end == std::string_view::npos) end = line.size();
    const std::string_view word = line.substr(at, end - at);
    std::size_t spaces = 0;  // the run of spaces after the word, kept inside a line
    while (end + spaces < line.size() && line[end + spaces] == ' ') ++spaces;
    const std::size_t cols = Columns(word);
    if (!first_word && used + 1 + cols > width) {
      out += '\n';
      out.append(indent, ' ');
      used = indent;
    } else if (!first_word) {
      out += ' ';
      ++used;
    }
    out.append(word);
    used += cols;
    first_word = false;
    // Runs of several spaces (column gaps) are kept as they were, when they fit.
    if (spaces > 1 && used + spaces < width) {
      out.append(spaces - 1, ' ');
      used += spaces - 1;
    }
    at = end + spaces;
  }
  return out;
}

}  // namespace berth
