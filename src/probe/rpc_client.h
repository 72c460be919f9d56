// The ONC RPC prober: DUMP over TCP 111 (record marking; v4, then v3, then v2), keyed by
// (program, version, netid), `local` netids dropped, then one NULL call per registered
// TCP/UDP port to confirm it answers. Queues its conversations on an Engine; results land in
// the HostReport when Engine::Run returns. Same thread as the Engine.
#pragma once

#include <memory>

#include "core/port.h"
#include "probe/engine.h"
#include "probe/probe_model.h"

namespace berth::probe {

// `host` is the target's address with any port. `report` must outlive Engine::Run.
void AddRpcProbe(Engine& engine, const Endpoint& host, const PortSet& ephemeral,
                 std::shared_ptr<HostReport> report);

// A name for well-known programs ("mountd"); "" when unknown.
std::string_view RpcProgramName(std::uint32_t program);

}  // namespace berth::probe
