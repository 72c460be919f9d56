// Fuzz target: berth lint's URL reader (ports in RFC 3986 authorities inside configuration
// values). Any input gives ports or none, never a crash, within the bounds; every port's
// offset starts its digits, and its host is part of the value, after any userinfo (no '@')
// and printable ASCII: a host reaches the text output and SARIF.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lint/line_reader.h"
#include "lint/url_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace berth::lint;
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  const auto ports = FindUrlPorts(value);
  if (ports.size() > kMaxUrlsPerValue * kMaxHostsPerUrl) __builtin_trap();
  std::size_t last = 0;
  for (const UrlPort& u : ports) {
    if (u.port_offset < last || u.port_offset + u.port_size > value.size()) __builtin_trap();
    last = u.port_offset + u.port_size;
    const auto port = ParsePortNumber(value.substr(u.port_offset, u.port_size));
    if (!port || *port != u.port) __builtin_trap();
    if (u.host.data() < value.data() || u.host.data() + u.host.size() > value.data() + value.size()) {
      __builtin_trap();
    }
    for (char c : u.host) {
      if (c == '@' || c == '/' || c <= ' ' || c >= 0x7f) __builtin_trap();
    }
    if (u.scheme.empty()) __builtin_trap();
    PortDecl d;
    SetUrlPort(d, u, size % 2 == 0 ? "DATABASE_URL" : "LISTEN_URL");
    if (d.ports.low != u.port || d.ports.high != u.port) __builtin_trap();
  }
  return 0;
}
