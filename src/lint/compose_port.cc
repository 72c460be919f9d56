#include "lint/compose_port.h"

#include <vector>

#include "lint/line_reader.h"

namespace berth::lint {

std::optional<ComposePort> ParseComposePort(std::string_view s) {
  ComposePort out;
  if (const std::size_t slash = s.find('/'); slash != std::string_view::npos) {
    auto proto = ParseProtocol(s.substr(slash + 1));
    if (!proto) return std::nullopt;
    out.proto = *proto;
    s = s.substr(0, slash);
  }
  std::size_t base = 0;
  if (!s.empty() && s.front() == '[') {
    const std::size_t close = s.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    out.address = std::string(s.substr(1, close - 1));
    base = close + 2;
  }
  std::string_view rest = s.substr(base);
  std::vector<std::string_view> parts;
  std::vector<std::size_t> offsets;
  for (std::size_t start = 0;;) {
    const std::size_t colon = rest.find(':', start);
    parts.push_back(rest.substr(start, colon == std::string_view::npos ? rest.npos : colon - start));
    offsets.push_back(base + start);
    if (colon == std::string_view::npos || parts.size() > 3) break;
    start = colon + 1;
  }
  if (parts.size() > 3 || (base != 0 && parts.size() != 2)) return std::nullopt;
  std::size_t host_index = 0;
  if (parts.size() == 3) {
    out.address = std::string(parts[0]);
    host_index = 1;
  }
  auto container = ParsePortOrRange(parts.back());
  if (!container) return std::nullopt;
  out.container = *container;
  if (parts.size() >= 2 && !parts[host_index].empty()) {
    out.host = ParsePortOrRange(parts[host_index]);
    if (!out.host) return std::nullopt;
    out.host_offset = offsets[host_index];
  }
  if (out.address == "0.0.0.0" || out.address == "::") out.address.clear();
  return out;
}

bool IsSexagesimal(std::string_view s) {
  const std::size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || s[0] == '0') return false;
  for (std::size_t i = 0; i < colon; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  std::size_t i = colon;
  while (i < s.size()) {
    if (s[i] != ':') return false;
    std::size_t j = i + 1;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    const std::size_t n = j - i - 1;
    if (n == 0 || n > 2 || (n == 2 && s[i + 1] > '5')) return false;
    i = j;
  }
  return true;
}

}  // namespace berth::lint
