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
