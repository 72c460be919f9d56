#include "lint/url_parse.h"

#include <optional>
#include <string>

#include "lint/conf_parse.h"
#include "lint/line_reader.h"

namespace berth::lint {
namespace {

bool Alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool Digit(char c) { return c >= '0' && c <= '9'; }
bool HexDigit(char c) { return Digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool SchemeChar(char c) { return Alpha(c) || Digit(c) || c == '+' || c == '-' || c == '.'; }
bool Unreserved(char c) { return Alpha(c) || Digit(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

// A reg-name's characters (RFC 3986: unreserved, '%', sub-delims) less ',' (it separates
// hosts here), ';' (JDBC's properties follow it), '\'', '(' and ')' (a quote or a parenthesis
// around the URL in code and prose); plus '{' and '}' of a `${VAR}` placeholder.
bool RegNameChar(char c) {
  return Unreserved(c) || c == '%' || c == '!' || c == '$' || c == '&' || c == '*' || c == '+' ||
         c == '=' || c == '{' || c == '}';
}

// What an authority may hold: a host's characters, ':' '@' '[' ']' and the separator ','.
bool AuthorityChar(char c) { return RegNameChar(c) || c == ':' || c == '@' || c == '[' || c == ']' || c == ','; }

// Every '%' starts "%" HEXDIG HEXDIG.
bool PercentEncodingValid(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    if (i + 2 >= s.size() || !HexDigit(s[i + 1]) || !HexDigit(s[i + 2])) return false;
  }
  return true;
}

bool RegName(std::string_view s) {
  for (char c : s) {
    if (!RegNameChar(c)) return false;
  }
  return PercentEncodingValid(s);
}

// An IP literal's inside: an IPv6 address with an optional zone ("%25" ZoneID, RFC 6874) or an
// IPvFuture ("v" HEX "." ...). Checked loosely (the characters), never resolved.
bool IpLiteral(std::string_view s) {
  if (s.empty()) return false;
  if (s.front() == 'v' || s.front() == 'V') {
    const std::size_t dot = s.find('.');
    if (dot == std::string_view::npos || dot < 2 || dot + 1 >= s.size()) return false;
    for (std::size_t i = 1; i < dot; ++i) {
      if (!HexDigit(s[i])) return false;
    }
    for (char c : s.substr(dot + 1)) {
      if (!RegNameChar(c) && c != ':') return false;
    }
    return true;
  }
  const std::size_t zone = s.find('%');
  const std::string_view address = s.substr(0, zone);
  if (address.find(':') == std::string_view::npos) return false;
  for (char c : address) {
    if (!HexDigit(c) && c != ':' && c != '.') return false;
  }
  if (zone == std::string_view::npos) return true;
  const std::string_view id = s.substr(zone);
  if (!id.starts_with("%25") || id.size() == 3) return false;
  for (char c : id) {
    if (!Unreserved(c) && c != '%') return false;
  }
  return PercentEncodingValid(id);
}

struct HostPortText {
  std::string_view host;
  std::string_view port;     // empty when the authority gives none
  std::size_t port_offset = 0;  // within the piece
};

// host [":" port] as RFC 3986 writes it, or nullopt.
std::optional<HostPortText> SplitAuthorityHost(std::string_view s) {
  HostPortText hp;
  std::size_t after = 0;  // where ":" port may start
  if (!s.empty() && s.front() == '[') {
    const std::size_t close = s.find(']');
    if (close == std::string_view::npos || !IpLiteral(s.substr(1, close - 1))) return std::nullopt;
    hp.host = s.substr(1, close - 1);
    after = close + 1;
  } else {
    const std::size_t colon = s.find(':');
    hp.host = s.substr(0, colon);
    if (!RegName(hp.host)) return std::nullopt;
    after = colon == std::string_view::npos ? s.size() : colon;
  }
  if (after == s.size()) return hp;
  if (s[after] != ':') return std::nullopt;
  hp.port = s.substr(after + 1);
  hp.port_offset = after + 1;
  for (char c : hp.port) {
    if (!Digit(c)) return std::nullopt;
  }
  return hp;
}

}  // namespace

std::vector<UrlPort> FindUrlPorts(std::string_view value) {
  std::vector<UrlPort> out;
  std::size_t urls = 0;
  for (std::size_t at = value.find("://"); at != std::string_view::npos && urls < kMaxUrlsPerValue;
       at = value.find("://", at + 3)) {
    // The scheme: back over its characters (each scan stops at the ':' or '/' of the "://"
    // before, so the whole value is read once), from its first letter.
    std::size_t s = at;
    while (s > 0 && SchemeChar(value[s - 1])) --s;
    while (s < at && !Alpha(value[s])) ++s;
    if (s == at) continue;
    ++urls;
    const std::size_t start = at + 3;
    std::size_t end = start;
    while (end < value.size() && AuthorityChar(value[end])) ++end;
    std::string_view authority = value.substr(start, end - start);
    // The userinfo runs to the last '@' (a password with an unescaped '@' still leaves the
    // host after it); it is skipped, never kept.
    std::size_t hosts_at = start;
    if (const std::size_t user = authority.rfind('@'); user != std::string_view::npos) {
      hosts_at += user + 1;
      authority.remove_prefix(user + 1);
    }
    std::vector<UrlPort> found;
    bool valid = true;
    std::size_t piece_at = hosts_at;
    for (std::size_t n = 0; valid && n < kMaxHostsPerUrl; ++n) {
      const std::size_t comma = authority.find(',');
      const std::string_view piece = authority.substr(0, comma);
      const auto hp = SplitAuthorityHost(piece);
      if (!hp) {
        valid = false;
      } else if (!hp->port.empty()) {
        const std::optional<Port> port = ParsePortNumber(hp->port);
        if (!port) {
          valid = false;
        } else {
          found.push_back(UrlPort{value.substr(s, at - s), hp->host, *port,
                                  piece_at + hp->port_offset, hp->port.size()});
        }
      }
      if (comma == std::string_view::npos) break;
      authority.remove_prefix(comma + 1);
      piece_at += comma + 1;
    }
    if (valid) out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

bool ListenUrlKey(std::string_view key) {
  const std::string k = AsciiLower(key);
  // ASP.NET Core's listen URLs: the "urls" host setting (ASPNETCORE_URLS in the environment)
  // and Kestrel's endpoints ("Kestrel": {"Endpoints": {"Http": {"Url": ...}}}).
  const bool aspnet = k == "urls" || k.ends_with("aspnetcore_urls") ||
                      (k.starts_with("kestrel") && k.find("endpoints") != std::string::npos);
  return aspnet || IsListenKey(key) || k.find("bind") != std::string::npos;
}

void SetUrlPort(PortDecl& d, const UrlPort& u, std::string_view key) {
  const bool listen = ListenUrlKey(key);
  d.kind = listen ? DeclKind::kListen : DeclKind::kTarget;
  d.in_url = true;
  d.ports = PortRange{u.port, u.port};
  d.dynamic = u.port == 0 ? Dynamic::kZero : Dynamic::kNo;
  const bool wildcard = u.host.empty() || u.host == "0.0.0.0" || u.host == "::" || u.host == "*" ||
                        u.host == "+";  // ASP.NET's every address
  d.address = listen && wildcard ? std::string() : std::string(u.host);
}

}  // namespace berth::lint
