// The YAML reader (yaml-cpp, which keeps each node's position): Docker Compose files
// (`ports:` short and long syntax, `expose:`), Kubernetes manifests with several documents
// (containerPort, hostPort, nodePort, a Service's port and targetPort), and other YAML
// (Spring's application.yml: keys named port). Input is untrusted: its size is bounded by
// the caller, yaml-cpp bounds nesting, and this reader bounds the nodes it visits (aliases
// included, so an alias bomb stops) and the depth it walks. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "lint/port_decl.h"

namespace berth::lint {

inline constexpr std::size_t kMaxYamlNodes = 100'000;  // visited, aliases counted each time
inline constexpr int kMaxYamlDepth = 64;
inline constexpr std::size_t kMaxYamlDocuments = 10'000;

// The declarations of every document in `text`. A document is read as Compose when it has a
// `services` mapping and `compose_name` is true or a service has image, build or ports; as
// Kubernetes when it has apiVersion and kind; else as plain YAML. Failure: kMalformed naming
// the line and column for invalid YAML, nesting past yaml-cpp's limit or kMaxYamlDepth, more
// than kMaxYamlNodes nodes or kMaxYamlDocuments documents, or a NUL byte.
[[nodiscard]] Result<std::vector<PortDecl>> ParseYamlPorts(std::string_view file,
                                                          std::string_view text,
                                                          bool compose_name);

}  // namespace berth::lint
