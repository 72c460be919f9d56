// Docker Compose's short port syntax, [HOST_IP:][HOST_PORTS:]CONTAINER_PORTS[/PROTO], and the
// YAML 1.1 base-60 trap it falls into unquoted. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/port.h"

namespace berth::lint {

struct ComposePort {
  std::string address;             // "" for every address (also 0.0.0.0 and ::)
  std::optional<PortRange> host;   // nullopt: Docker picks the host port
  std::size_t host_offset = 0;     // of the host port text within the entry
  PortRange container{};
  Protocol proto = Protocol::kTcp;
};

// "8080:80", "127.0.0.1:8443:443/tcp", "[::1]:7000-7001:7000-7001", "9000". nullopt for
// anything else (a variable such as ${PORT}, a bad protocol, a reversed range).
std::optional<ComposePort> ParseComposePort(std::string_view s);

// True when YAML 1.1 (PyYAML, docker-compose v1) reads the plain scalar `s` as a base-60
// integer: digits, then ":" groups of one or two digits below 60 ("22:22" is 1342).
bool IsSexagesimal(std::string_view s);

}  // namespace berth::lint
