// The SQL Server Browser prober: CLNT_UCAST_EX to udp/1434 (or CLNT_UCAST_INST for named
// instances), or CLNT_BCAST_EX to a local broadcast address, then per instance the DAC
// request and a TCP connect to each port it learned. Silence means "no browser or no such
// instance", not an error. Queues its conversations on an Engine; results land in the
// HostReport when Engine::Run returns. Engine's thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/port.h"
#include "probe/engine.h"
#include "probe/local_broadcast.h"
#include "probe/probe_model.h"

namespace berth::probe {

// `instances` empty: ask for all (0x03); otherwise ask for each name (0x04).
void AddSsrpProbe(Engine& engine, const Endpoint& host, const PortSet& ephemeral,
                  const std::vector<std::string>& instances, std::shared_ptr<HostReport> report);

// What one CLNT_BCAST_EX found: the broadcast address's own report (answered, with how many
// responders and which replies were ignored; silent; or error), and one report per responder
// inside the subnet, in address order.
struct SsrpBroadcastResult {
  std::shared_ptr<HostReport> broadcast;
  std::vector<std::shared_ptr<HostReport>> responders;
};

// CLNT_BCAST_EX (0x02) to udp/1434 at `where`'s broadcast address, which the caller has
// checked is local (ChooseBroadcast). Every sender inside `where`'s subnet replying from port
// 1434 becomes a report of its own and is followed up like a unicast target (DAC request,
// TCP connects), at that sender's address only: addresses inside replies are never
// contacted. Replies from outside the subnet, or from another port, are only counted.
std::shared_ptr<SsrpBroadcastResult> AddSsrpBroadcast(Engine& engine, const LocalBroadcast& where,
                                                      const PortSet& ephemeral);

// A TCP connect to `row`'s port on `host`; sets answers/answer_detail of that row.
void AddConnectCheck(Engine& engine, const Endpoint& host, std::shared_ptr<HostReport> report,
                     std::size_t row);

}  // namespace berth::probe
