// The SQL Server Browser prober: CLNT_UCAST_EX to udp/1434 (or CLNT_UCAST_INST for named
// instances), then per instance the DAC request and a TCP connect to each port it learned.
// Silence means "no browser or no such instance", not an error. Queues its conversations
// on an Engine; results land in the HostReport when Engine::Run returns. Engine's thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/port.h"
#include "probe/engine.h"
#include "probe/probe_model.h"

namespace berth::probe {

// `instances` empty: ask for all (0x03); otherwise ask for each name (0x04).
void AddSsrpProbe(Engine& engine, const Endpoint& host, const PortSet& ephemeral,
                  const std::vector<std::string>& instances, std::shared_ptr<HostReport> report);

// A TCP connect to `row`'s port on `host`; sets answers/answer_detail of that row.
void AddConnectCheck(Engine& engine, const Endpoint& host, std::shared_ptr<HostReport> report,
                     std::size_t row);

}  // namespace berth::probe
