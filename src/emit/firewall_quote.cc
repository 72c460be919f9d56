#include "emit/firewall_quote.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>

#include <fmt/core.h>

namespace berth {
namespace {

// Decodes one UTF-8 sequence at s[i]. Returns its length (1-4) and the code point, or
// length 0 for an invalid or overlong sequence, a surrogate, or a value past U+10FFFF.
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

}  // namespace

std::string CommentText(std::string_view s) {
  return MapText(s, [](std::string& out, char32_t, std::string_view bytes) { out += bytes; });
}

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

Result<Cidr> ParseCidr(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("invalid source '{}': {}; use an address or a CIDR such as "
                            "10.0.0.0/8 or 2001:db8::/32",
                            CommentText(text), why));
  };
  if (text.empty() || text.size() > 64) return bad("empty or too long");
  const std::size_t slash = text.find('/');
  const std::string addr(text.substr(0, slash));
  Cidr out;
  std::array<unsigned char, 16> bytes{};
  int max_prefix = 32;
  if (::inet_pton(AF_INET, addr.c_str(), bytes.data()) == 1) {
    out.family = 4;
  } else if (::inet_pton(AF_INET6, addr.c_str(), bytes.data()) == 1) {
    out.family = 6;
    max_prefix = 128;
  } else {
    return bad("not an IPv4 or IPv6 address");
  }
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || prefix < 0 ||
        prefix > max_prefix) {
      return bad(fmt::format("the prefix length must be 0-{}", max_prefix));
    }
  }
  const int nbytes = max_prefix / 8;
  for (int b = 0; b < nbytes; ++b) {
    const int keep = std::min(8, std::max(0, prefix - b * 8));
    const unsigned mask = keep == 0 ? 0u : (0xFFu << (8 - keep)) & 0xFFu;
    bytes[static_cast<std::size_t>(b)] &= static_cast<unsigned char>(mask);
  }
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(out.family == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  out.text = fmt::format("{}/{}", buf, prefix);
  return out;
}

}  // namespace berth
