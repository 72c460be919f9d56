// Readers of HAProxy's and Apache's configuration (declared in conf_reader.h): the ports their
// front ends bind. Through the one line reader; input is untrusted. Pure; thread-safe.
#include <algorithm>
#include <array>
#include <string>

#include "lint/conf_reader.h"

namespace berth::lint {
namespace {

bool Blank(char c) { return c == ' ' || c == '\t'; }

// The next blank-separated word of `t` at or after `i`; `i` moves past it.
std::string_view NextWord(std::string_view t, std::size_t& i) {
  while (i < t.size() && Blank(t[i])) ++i;
  const std::size_t start = i;
  while (i < t.size() && !Blank(t[i])) ++i;
  return t.substr(start, i - start);
}

// The column (1-based) of `part`, a view into `line`.
int ColumnOf(const Line& line, std::string_view part) {
  return static_cast<int>(part.data() - line.text.data()) + 1;
}

// An address as a declaration keeps it: without brackets, "" for every address ("*", "::",
// "0.0.0.0", Apache's "_default_").
std::string_view PlainAddress(std::string_view a) {
  if (a.size() >= 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
  if (a == "*" || a == "0.0.0.0" || a == "::" || a == "_default_") return {};
  return a;
}

// An Apache declaration of `port_text` (a view into `line`) on `address`.
void AddApache(const Line& line, std::string_view address, std::string_view port_text,
               std::string key, ConfReader& r) {
  auto port = ParsePortNumber(port_text);
  if (!port) return;  // "*" is any port; ${VAR} is not known here
  PortDecl& d = r.Add(line, ColumnOf(line, port_text), std::move(key), PortRange{*port, *port});
  d.address = std::string(PlainAddress(address));
  d.service = "apache";
}

constexpr std::array<std::string_view, 14> kHaproxySections{
    "global", "defaults", "frontend", "backend", "listen", "peers", "resolvers", "userlist",
    "program", "http-errors", "ring", "cache", "mailers", "fcgi-app"};

// One HAProxy address, "[PREFIX@]ADDRESS:PORT[-PORT]": the port is after the last ':'
// (":::80" is IPv6's any address). Sockets that are not IP (unix@, abns@, fd@, sockpair@,
// a path) and ports that are variables give nothing.
void HaproxyAddress(const Line& line, std::string_view a, const std::string& proxy, ConfReader& r) {
  Protocol proto = Protocol::kTcp;
  if (const std::size_t at = a.find('@'); at != std::string_view::npos) {
    const std::string family = AsciiLower(a.substr(0, at));
    if (family.starts_with("udp") || family.starts_with("quic")) proto = Protocol::kUdp;
    else if (family != "ipv4" && family != "ipv6" && !family.starts_with("tcp")) return;
    a.remove_prefix(at + 1);
  }
  if (a.empty() || a.front() == '/') return;
  const std::size_t colon = a.rfind(':');
  if (colon == std::string_view::npos) return;
  const std::string_view port_text = a.substr(colon + 1);
  auto ports = ParsePortOrRange(port_text);
  if (!ports) return;
  PortDecl& d = r.Add(line, ColumnOf(line, port_text), proxy + ".bind", *ports);
  d.proto = proto;
  d.address = std::string(PlainAddress(a.substr(0, colon)));
  d.service = proxy;
  if (ports->low == 0 && ports->high == 0) d.dynamic = Dynamic::kZero;
}

}  // namespace

// haproxy.cfg: `bind ADDRESS[,ADDRESS...] [options]` in `frontend` and `listen` sections, and
// the address on a `frontend NAME ADDRESS` / `listen NAME ADDRESS` line (HAProxy 1.x's form).
// The service is the proxy's name.
void ReadHaproxy(const std::vector<Line>& lines, ConfReader& r) {
  std::string proxy;  // the frontend or listen section we are in, else ""
  for (const Line& line : lines) {
    const std::string_view t = StripComment(line.text);
    std::size_t i = 0;
    const std::string_view keyword = NextWord(t, i);
    if (keyword.empty()) continue;
    const std::string key = AsciiLower(keyword);
    if (std::find(kHaproxySections.begin(), kHaproxySections.end(), key) != kHaproxySections.end()) {
      proxy.clear();
      if (key != "frontend" && key != "listen") continue;
      proxy = std::string(NextWord(t, i));
      if (proxy.empty()) proxy = key;
      const std::string_view legacy = NextWord(t, i);
      if (legacy.empty()) continue;
      for (std::size_t start = 0; start <= legacy.size();) {
        const std::size_t comma = std::min(legacy.find(',', start), legacy.size());
        HaproxyAddress(line, legacy.substr(start, comma - start), proxy, r);
        start = comma + 1;
      }
      continue;
    }
    if (proxy.empty() || key != "bind") continue;
    const std::string_view addresses = NextWord(t, i);
    for (std::size_t start = 0; start < addresses.size();) {
      const std::size_t comma = std::min(addresses.find(',', start), addresses.size());
      HaproxyAddress(line, addresses.substr(start, comma - start), proxy, r);
      start = comma + 1;
    }
  }
}

// Apache: `Listen [ADDRESS:]PORT [PROTOCOL]` and `<VirtualHost ADDRESS:PORT ...>`; a virtual
// host names the ports it answers on, which its server must listen on too. Directives are
// case-insensitive; a comment is a line starting with '#'.
void ReadApache(const std::vector<Line>& lines, ConfReader& r) {
  for (const Line& line : lines) {
    std::string_view t = Trim(line.text);
    if (t.empty() || t.front() == '#') continue;
    std::size_t i = 0;
    const std::string key = AsciiLower(NextWord(t, i));
    if (key == "listen") {
      const std::string_view word = NextWord(t, i);
      const std::size_t colon = word.rfind(':');
      if (colon == std::string_view::npos) AddApache(line, {}, word, "Listen", r);
      else AddApache(line, word.substr(0, colon), word.substr(colon + 1), "Listen", r);
    } else if (key == "<virtualhost") {
      for (std::string_view word = NextWord(t, i); !word.empty(); word = NextWord(t, i)) {
        if (word.back() == '>') word.remove_suffix(1);
        const std::size_t colon = word.rfind(':');
        if (colon == std::string_view::npos || (word.front() == '[' && word[colon - 1] != ']')) {
          continue;  // no port: the server's, declared by Listen
        }
        AddApache(line, word.substr(0, colon), word.substr(colon + 1), "VirtualHost", r);
      }
    }
  }
}

}  // namespace berth::lint
