// MS-RPC endpoint mapper prober: see epm_client.h.
#include "probe/epm_client.h"

#include <set>
#include <tuple>

#include <fmt/core.h>

#include "probe/epm_codec.h"
#include "probe/ssrp_client.h"

namespace berth::probe {
namespace {

enum class Stage { kBind, kLookup, kFreeing };

struct EpmWalk {
  Engine* engine = nullptr;
  Endpoint host;
  PortSet ephemeral;
  EpmLimits limits;
  std::shared_ptr<HostReport> report;
  Stage stage = Stage::kBind;
  std::uint32_t call_id = 1;
  std::vector<std::byte> stub;  // fragments of the current response
  std::size_t calls = 0, bytes = 0;
  std::vector<EptEntry> entries;
  bool walked = false;   // the walk reached its end
  std::string problem;
  std::string end_style;
};

Next Lookup(EpmWalk& w, const ContextHandle& handle) {
  w.stage = Stage::kLookup;
  w.stub.clear();
  ++w.calls;
  return Next::Send(EncodeEptLookup(++w.call_id, handle, w.limits.max_ents));
}

// The answer to lookup_handle_free after an abandoned walk: says whether the server let go.
Next HandleFreed(EpmWalk& w, const Pdu& pdu) {
  if (pdu.type == PduType::kResponse && pdu.call_id != w.call_id) return Next::Unmatched();
  if (pdu.type == PduType::kFault) {
    w.problem += fmt::format("; lookup_handle_free fault 0x{:08x}", pdu.status);
  } else if (pdu.type != PduType::kResponse) {
    w.problem += "; lookup_handle_free: unexpected PDU type";
  } else if (auto freed = DecodeHandleFreeStub(pdu.stub); !freed) {
    w.problem += "; lookup_handle_free: " + freed.error().message;
  } else if (freed->released()) {
    w.problem += "; the server released the lookup handle";
  } else {
    w.problem += fmt::format("; lookup_handle_free status 0x{:08x}", freed->status);
  }
  return Next::Done();
}

Next OnPdu(EpmWalk& w, std::span<const std::byte> bytes) {
  auto pdu = DecodePdu(bytes);
  if (!pdu) {
    w.problem = pdu.error().message;
    return Next::Done();
  }
  if (w.stage == Stage::kFreeing) return HandleFreed(w, *pdu);
  if (w.stage == Stage::kBind) {
    if (pdu->type != PduType::kBindAck || pdu->status != 0) {
      w.problem = pdu->type == PduType::kBindNak
                      ? fmt::format("EPM bind rejected (reason {})", pdu->status)
                      : fmt::format("EPM bind not accepted (result {})", pdu->status);
      return Next::Done();
    }
    return Lookup(w, ContextHandle{});
  }
  if (pdu->type == PduType::kFault) {
    w.problem = fmt::format("ept_lookup fault 0x{:08x}", pdu->status);
    return Next::Done();
  }
  if (pdu->type != PduType::kResponse) {
    w.problem = "ept_lookup: unexpected PDU type";
    return Next::Done();
  }
  if (pdu->call_id != w.call_id) return Next::Unmatched();
  w.bytes += pdu->stub.size();
  if (w.bytes > w.limits.max_bytes) {
    w.problem = fmt::format("ept_lookup: answers exceed {} bytes; walk abandoned", w.limits.max_bytes);
    return Next::Done();  // mid-response: the connection closes, which releases the handle
  }
  w.stub.insert(w.stub.end(), pdu->stub.begin(), pdu->stub.end());
  if (!(pdu->flags & kLastFrag)) return Next::Wait();
  auto result = DecodeEptLookupStub(w.stub);
  if (!result) {
    w.problem = result.error().message;
    return Next::Done();
  }
  // Entries first, then the status: samba-dcerpcd puts its last batch and the end-of-list
  // status in one answer.
  for (EptEntry& e : result->entries) w.entries.push_back(std::move(e));
  if (result->status == kEptNoMoreEntries || result->entries.empty() || result->handle_closed()) {
    w.walked = result->status == 0 || result->status == kEptNoMoreEntries;
    if (!w.walked) w.problem = fmt::format("ept_lookup status 0x{:08x}", result->status);
    w.end_style = result->status == kEptNoMoreEntries
                      ? (result->entries.empty() ? "final empty batch with status 0x16c9a0d6"
                                                 : "last batch carried status 0x16c9a0d6")
                      : "handle closed with status 0";
    return Next::Done();  // the server closed the handle: never send it again
  }
  if (result->status != 0) {
    w.problem = fmt::format("ept_lookup status 0x{:08x}", result->status);
    return Next::Done();
  }
  if (w.calls >= w.limits.max_calls) {
    w.problem = fmt::format("ept_lookup: walk abandoned at the cap of {} calls", w.limits.max_calls);
    w.stage = Stage::kFreeing;
    return Next::Send(EncodeEptLookupHandleFree(++w.call_id, result->handle));
  }
  return Lookup(w, result->handle);
}

void Finish(const std::shared_ptr<EpmWalk>& w, const ConversationEnd& end) {
  HostReport& r = *w->report;
  if (w->entries.empty() && !w->walked) {
    if (!w->problem.empty()) r.mappers.push_back({Mapper::kEpm, MapperState::kError, w->problem});
    else if (end.kind == EndKind::kTimeout) r.mappers.push_back({Mapper::kEpm, MapperState::kSilent, "no answer on tcp/135"});
    else if (end.kind == EndKind::kRefused) r.mappers.push_back({Mapper::kEpm, MapperState::kRefused, "tcp/135 refused: no endpoint mapper"});
    else r.mappers.push_back({Mapper::kEpm, MapperState::kError, end.detail.empty() ? "tcp/135 closed the connection" : end.detail});
    return;
  }
  r.mappers.push_back({Mapper::kEpm, w->walked ? MapperState::kAnswered : MapperState::kError,
                       w->walked ? fmt::format("endpoint mapper: {} entries in {} calls ({})", w->entries.size(),
                                               w->calls, w->end_style)
                                 : fmt::format("partial walk, {} entries: {}", w->entries.size(), w->problem)});
  std::set<std::tuple<std::string, Protocol, Port>> checked;
  for (const EptEntry& e : w->entries) {
    if (!e.tower) continue;
    const Tower& t = *e.tower;
    ServiceRecord s;
    s.mapper = Mapper::kEpm;
    s.name = e.annotation;
    s.annotation = e.annotation;
    s.interface_uuid = t.interface_uuid;
    s.interface_version = fmt::format("{}.{}", t.version_major, t.version_minor);
    s.netid = std::string(TowerProtocolName(t.protocol));
    const bool ip = t.protocol == TowerProtocol::kTcp || t.protocol == TowerProtocol::kUdp ||
                    t.protocol == TowerProtocol::kHttp;
    if (ip) {
      s.transport = t.protocol == TowerProtocol::kUdp ? Protocol::kUdp : Protocol::kTcp;
      s.port = t.port;
      s.dynamic = w->ephemeral.contains(t.port);
      // The tower's host is informational: 0.0.0.0 means the target, and any other address
      // is not contacted (only ever the target we were given).
      s.endpoint = t.host == "0.0.0.0" || t.host.empty() ? EndpointHost(w->host) : t.host;
    } else {
      s.endpoint = t.endpoint.empty() ? t.host : t.endpoint;
    }
    r.services.push_back(std::move(s));
    const ServiceRecord& added = r.services.back();
    if (added.transport == Protocol::kTcp && added.port != 0 &&
        checked.emplace(added.interface_uuid, added.transport, added.port).second) {
      AddConnectCheck(*w->engine, w->host, w->report, r.services.size() - 1);
    }
  }
}

}  // namespace

void AddEpmProbe(Engine& engine, const Endpoint& host, const PortSet& ephemeral,
                 std::shared_ptr<HostReport> report, EpmLimits limits) {
  auto w = std::make_shared<EpmWalk>();
  w->engine = &engine;
  w->host = host;
  w->ephemeral = ephemeral;
  w->limits = limits;
  w->limits.max_ents = std::clamp<std::uint32_t>(limits.max_ents, 1, kEptMaxEnts);
  w->report = std::move(report);
  Conversation c;
  c.peer = WithPort(host, kEpmPort);
  c.transport = Transport::kTcp;
  c.first = EncodeEpmBind(w->call_id);
  c.frame = FramePdu;
  c.max_message = kMaxPduSize;
  c.on_message = [w](std::span<const std::byte> pdu) { return OnPdu(*w, pdu); };
  c.on_end = [w](const ConversationEnd& end) { Finish(w, end); };
  engine.Add(std::move(c));
}

}  // namespace berth::probe
