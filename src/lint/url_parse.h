// Ports written inside URLs in configuration values (`DATABASE_URL=postgres://u:pw@db:5432/app`,
// `jdbc:postgresql://db:5432/app`, `url: http://[::1]:8080/health`): the authority of RFC 3986
// (section 3.2: [userinfo "@"] host [":" port]) read from each "scheme://" in a value, and the
// declaration a reader makes of each explicit port. The userinfo (a password) is skipped and
// never kept. Input is untrusted. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "core/port.h"
#include "lint/port_decl.h"

namespace berth::lint {

// A value holds at most this many URLs read ("a://a://a://..." is read this far).
inline constexpr std::size_t kMaxUrlsPerValue = 32;
// A URL names at most this many hosts (`mongodb://h1:27017,h2:27017/db`).
inline constexpr std::size_t kMaxHostsPerUrl = 16;

// One explicit port in a URL's authority.
struct UrlPort {
  std::string_view scheme;   // as written: "postgres", "http" ("jdbc:postgresql" gives "postgresql")
  std::string_view host;     // as written, an IP literal without its brackets; may be empty
  Port port = 0;
  std::size_t port_offset = 0;  // of the port's first digit within the value
  std::size_t port_size = 0;    // its digits
};

// The explicit ports of the URLs in `value`: each "scheme://" (scheme: a letter, then letters,
// digits, '+', '-', '.') followed by an authority that RFC 3986 accepts: a reg-name (unreserved,
// percent-encoded and sub-delimiter characters, and `${VAR}` placeholders), an IPv4 address or
// an IP literal in brackets (`[::1]`, `[fe80::1%25eth0]`), then ":" and 1 to 5 digits up to
// 65535. The authority ends at '/', '?', '#', ';' (JDBC's properties) or a character no
// authority holds (a blank, a quote, '<'); ',' separates hosts (`h1:1,h2:2`, as PostgreSQL's
// and MongoDB's drivers take them). A host without a port gives nothing: the scheme's default
// port is not invented. An authority that is not RFC 3986's (`host:${PORT}`, an unbracketed
// IPv6 address, a port past 65535) gives nothing. In order of the value; at most
// kMaxUrlsPerValue URLs and kMaxHostsPerUrl hosts each.
std::vector<UrlPort> FindUrlPorts(std::string_view value);

// A key whose URL a server listens on: a listen key (IsListenKey: `LISTEN_URL`), one with
// "bind" (`bind_url`), ASP.NET Core's `urls`/`ASPNETCORE_URLS` and Kestrel's endpoints
// (`Kestrel.Endpoints.Http.Url`). Other keys' URLs are a client's.
bool ListenUrlKey(std::string_view key);

// Makes `d` the declaration of `u`, found under key `key` (the key's name or path, as the
// reader passes it to IsListenKey for port keys): a server's *listen* when ListenUrlKey, its address
// empty for a wildcard (0.0.0.0, ::, *, ASP.NET's +, an empty host); else a client's *target*, its address
// the host. Port 0 is dynamic (Dynamic::kZero). Sets kind, ports, dynamic, address and in_url; the
// caller sets the position, the key path, the format and the service.
void SetUrlPort(PortDecl& d, const UrlPort& u, std::string_view key);

}  // namespace berth::lint
