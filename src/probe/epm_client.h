// The MS-RPC endpoint mapper prober: over TCP 135, bind to EPM v3 with NDR 2.0, walk
// ept_lookup (RPC_C_EP_ALL_ELTS, max_ents 500) following the entry handle, joining
// multi-fragment responses, until the handle closes, a batch is empty or the status is
// non-zero (both end-of-walk styles); capped in calls and bytes, with lookup_handle_free
// when a walk is abandoned. A closed handle is never sent again. Towers saying 0.0.0.0
// mean the target itself; no other address from a reply is ever contacted. Engine's thread.
#pragma once

#include <memory>

#include "core/port.h"
#include "probe/engine.h"
#include "probe/probe_model.h"

namespace berth::probe {

struct EpmLimits {
  std::uint32_t max_ents = 500;
  std::size_t max_calls = 1000;
  std::size_t max_bytes = 4 << 20;
};

void AddEpmProbe(Engine& engine, const Endpoint& host, const PortSet& ephemeral,
                 std::shared_ptr<HostReport> report, EpmLimits limits = {});

}  // namespace berth::probe
