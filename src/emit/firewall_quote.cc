#include "emit/firewall_quote.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>

#include <fmt/core.h>

namespace berth {
namespace {

}  // namespace

std::string SafeToken(std::string_view s, std::size_t max_len) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max_len) break;
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '/' || c == '+' || c == '-';
    out += ok ? c : '_';
  }
  return out;
}

std::string ShellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : CommentText(s)) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

std::string PowerShellQuote(std::string_view s) {
  std::string out = "'";
  out += MapText(s, [](std::string& o, char32_t cp, std::string_view bytes) {
    // PowerShell's tokenizer treats all four of these as a single quote.
    if (cp == U'\'' || cp == 0x2018 || cp == 0x2019 || cp == 0x201A || cp == 0x201B) o += bytes;
    o += bytes;
  });
  out += '\'';
  return out;
}

std::string XmlEscape(std::string_view s) {
  return MapText(s, [](std::string& o, char32_t cp, std::string_view bytes) {
    switch (cp) {
      case U'&': o += "&amp;"; break;
      case U'<': o += "&lt;"; break;
      case U'>': o += "&gt;"; break;
      case U'"': o += "&quot;"; break;
      case U'\'': o += "&apos;"; break;
      default:
        // U+FFFE/U+FFFF are not XML characters.
        if (cp == 0xFFFE || cp == 0xFFFF) {
          o += "\\uFFFE";
        } else {
          o += bytes;
        }
    }
  });
}

std::string YamlQuote(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = DecodeUtf8(s, i, cp);
    if (n == 0) {
      out += "\\uFFFD";  // invalid UTF-8: YAML streams must be valid Unicode
      ++i;
      continue;
    }
    i += n;
    if (cp == U'"') {
      out += "\\\"";
    } else if (cp == U'\\') {
      out += "\\\\";
    } else if (cp >= 0x20 && cp < 0x7F) {
      out += static_cast<char>(cp);
    } else if (cp <= 0xFF) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(cp));
    } else if (cp <= 0xFFFF) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(cp));
    } else {
      out += fmt::format("\\U{:08x}", static_cast<unsigned>(cp));
    }
  }
  out += '"';
  return out;
}

}  // namespace berth
