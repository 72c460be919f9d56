// The XML reader (Debian's libxml2): port declarations in .NET's web.config and app.config
// (appSettings <add key="...Port" value="N"/>, IIS's bindingInformation="IP:PORT:HOST"),
// Tomcat's server.xml (<Connector port="8080">) and any XML with attributes or elements named
// port. Input is untrusted: its size is bounded, a document type declaration (the way to
// entities, billion laughs and external files) is refused before libxml2 sees the text, which
// is parsed without network access (XML_PARSE_NONET) and without substituting entities (no
// XML_PARSE_NOENT), libxml2's own limits kept (no XML_PARSE_HUGE); the walk is bounded in
// depth and nodes. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "lint/port_decl.h"

namespace berth::lint {

inline constexpr std::size_t kMaxXmlBytes = 1024 * 1024;
inline constexpr int kMaxXmlDepth = 64;
inline constexpr std::size_t kMaxXmlNodes = 100'000;

// The declarations of `text`: an attribute named port (IsPortKey: port, Port, httpPort) or an
// element named so whose text is a port; the value of an <add key="K" value="N"/> whose key
// K is named port; the port of an IIS bindingInformation ("*:80:", "10.0.0.1:443:host").
// *listen* when IsListenKey takes the name (port, anything with listen) or for a binding, else
// *target*. Each at its value's line and column. Failure: kMalformed for invalid XML (naming
// the line), a DOCTYPE or ENTITY declaration, more than kMaxXmlBytes, nesting deeper than
// kMaxXmlDepth, more than kMaxXmlNodes elements, or a NUL byte.
[[nodiscard]] Result<std::vector<PortDecl>> ParseXmlPorts(std::string_view file,
                                                         std::string_view text);

}  // namespace berth::lint
