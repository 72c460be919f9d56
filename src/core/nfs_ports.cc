#include "core/nfs_ports.h"

#include <array>

#include <fmt/core.h>

namespace berth {
namespace {

constexpr std::array kDaemons{kNfsMountd, kNfsStatd, kNfsLockd, kNfsd};

}  // namespace

std::span<const NfsDaemon> NfsDaemons() { return kDaemons; }

const NfsDaemon* FindNfsDaemon(std::uint32_t rpc_program) {
  for (const NfsDaemon& d : kDaemons) {
    if (d.rpc_program == rpc_program) return &d;
  }
  return nullptr;
}

std::string NfsConfLines(const NfsDaemon& d, Port port) {
  std::string out = fmt::format("[{}]\nport={}\n", d.section, port);
  if (!d.second.key.empty()) {
    out += fmt::format("{}={}\n", d.second.key, d.second.port != 0 ? d.second.port : port);
  }
  return out;
}

}  // namespace berth
