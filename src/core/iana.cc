#include "core/iana.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <vector>

namespace berth {
namespace {

struct Row {
  std::uint16_t port;
  std::uint8_t proto;  // 0 tcp, 1 udp
  const char* service;
  const char* description;
};

constexpr Row kRows[] = {
#include "core/iana_table.inc"
};

IanaEntry ToEntry(const Row& r) {
  return {r.port, r.proto == 0 ? Protocol::kTcp : Protocol::kUdp, r.service, r.description};
}

}  // namespace

std::optional<IanaEntry> IanaLookup(Port port, Protocol proto) {
  const std::uint8_t p = proto == Protocol::kTcp ? 0 : 1;
  auto it = std::lower_bound(std::begin(kRows), std::end(kRows), std::pair{port, p},
                             [](const Row& r, std::pair<std::uint16_t, std::uint8_t> key) {
                               return std::pair{r.port, r.proto} < key;
                             });
  if (it == std::end(kRows) || it->port != port || it->proto != p) return std::nullopt;
  return ToEntry(*it);
}

std::vector<IanaEntry> IanaFindService(std::string_view service) {
  std::vector<IanaEntry> out;
  for (const Row& r : kRows) {
    if (service == r.service) out.push_back(ToEntry(r));
  }
  return out;
}

std::string_view IanaVersion() { return BERTH_IANA_VERSION; }
std::size_t IanaRowCount() { return std::size(kRows); }

}  // namespace berth
