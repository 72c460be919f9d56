#include "probe/probe_model.h"

#include <algorithm>

namespace berth::probe {

std::string_view MapperName(Mapper m) {
  switch (m) {
    case Mapper::kRpc: return "rpc";
    case Mapper::kSsrp: return "mssql";
    case Mapper::kEpm: return "msrpc";
  }
  return "?";
}

std::string_view MapperStateName(MapperState s) {
  switch (s) {
    case MapperState::kAnswered: return "answered";
    case MapperState::kSilent: return "silent";
    case MapperState::kRefused: return "refused";
    case MapperState::kError: return "error";
  }
  return "?";
}

bool Interesting(const HostReport& r) {
  return std::any_of(r.mappers.begin(), r.mappers.end(), [](const MapperStatus& m) {
    return m.state != MapperState::kSilent && m.state != MapperState::kRefused;
  });
}

}  // namespace berth::probe
