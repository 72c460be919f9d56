// The JSON reader (nlohmann's SAX parser, its positions recovered from how far it has read):
// keys named port in any JSON document (appsettings.json's "Port": 5000, a config.json's
// "server": {"port": 8080}), read as other YAML is (lint/yaml_parse.h). Input is untrusted:
// its size and nesting are bounded before the parser sees it, and the parser keeps no tree.
// Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "lint/port_decl.h"

namespace berth::lint {

inline constexpr std::size_t kMaxJsonBytes = 1024 * 1024;
inline constexpr int kMaxJsonDepth = 64;

// The declarations of `text`: each key named port (lint/conf_parse.h's IsPortKey) whose value
// is a port number or a string of one, at its value's line and column; *listen* for a key
// path IsListenKey takes (port, server.port, anything with listen), else *target*; 0 is
// dynamic. Comments (// and /* */) and trailing commas, which .NET's configuration allows,
// are accepted. Failure:
// kMalformed for invalid JSON (naming the byte), more than kMaxJsonBytes, nesting deeper than
// kMaxJsonDepth, or a NUL byte.
[[nodiscard]] Result<std::vector<PortDecl>> ParseJsonPorts(std::string_view file,
                                                          std::string_view text);

}  // namespace berth::lint
