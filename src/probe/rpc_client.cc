// ONC RPC prober: see rpc_client.h.
#include "probe/rpc_client.h"

#include <sys/socket.h>

#include <map>
#include <random>
#include <tuple>

#include <fmt/core.h>

#include "probe/rpc_codec.h"

namespace berth::probe {
namespace {

constexpr std::uint32_t kDumpVersions[] = {4, 3, 2};

std::uint32_t NewXid() {
  static std::mt19937 rng{std::random_device{}()};
  return static_cast<std::uint32_t>(rng());
}

Result<std::size_t> FrameRecord(std::span<const std::byte> stream) {
  auto scan = BERTH_TRY(ScanRecord(stream));
  return scan.complete ? scan.consumed : 0;
}

// The decoded REPLY in one framed TCP message or one UDP datagram.
Result<RpcReply> DecodeFramed(std::span<const std::byte> msg, Transport t, std::vector<std::byte>& storage) {
  if (t == Transport::kUdp) return DecodeRpcReply(msg);
  auto scan = BERTH_TRY(ScanRecord(msg));
  storage = std::move(scan.record);
  return DecodeRpcReply(storage);
}

struct RpcbWalk {
  Engine* engine = nullptr;
  Endpoint host;
  PortSet ephemeral;
  std::shared_ptr<HostReport> report;
  std::uint32_t xid = 0;
  std::size_t version_index = 0;
  bool got = false;
  std::vector<RpcbEntry> entries;
  std::string problem;
};

bool SameFamily(const Endpoint& host, std::string_view netid) {
  const bool v6 = netid.ends_with('6');
  return (host.addr.ss_family == AF_INET6) == v6;
}

void AddNullCall(Engine& engine, const Endpoint& host, const RpcbEntry& e, Transport t,
                 std::shared_ptr<HostReport> report, std::vector<std::size_t> rows) {
  const std::uint32_t xid = NewXid();
  auto call = EncodeRpcCall(xid, e.prog, e.vers, kRpcProcNull);
  Conversation c;
  c.peer = WithPort(host, *e.port);
  c.transport = t;
  c.first = t == Transport::kTcp ? EncodeRecord(call) : call;
  c.frame = FrameRecord;
  auto set = [report, rows](bool ok, std::string detail) {
    for (std::size_t i : rows) {
      report->services[i].answers = ok;
      report->services[i].answer_detail = detail;
    }
  };
  c.on_message = [xid, t, set](std::span<const std::byte> msg) {
    std::vector<std::byte> storage;
    auto reply = DecodeFramed(msg, t, storage);
    if (!reply) {
      set(false, reply.error().message);
      return Next::Done();
    }
    if (reply->xid != xid) return Next::Unmatched();  // a late answer to someone else
    if (reply->kind == RpcReplyKind::kSuccess) set(true, "NULL call answered");
    else set(false, fmt::format("NULL call: {}", RpcReplyKindName(reply->kind)));
    return Next::Done();
  };
  c.on_end = [set](const ConversationEnd& end) {
    if (end.kind != EndKind::kDone) set(false, fmt::format("NULL call: {}: {}", EndKindName(end.kind), end.detail));
  };
  engine.Add(std::move(c));
}

void Finish(const std::shared_ptr<RpcbWalk>& w, const ConversationEnd& end) {
  HostReport& r = *w->report;
  if (!w->got) {
    MapperStatus s{Mapper::kRpc, MapperState::kError, w->problem};
    if (w->problem.empty()) {
      switch (end.kind) {
        case EndKind::kTimeout: s = {Mapper::kRpc, MapperState::kSilent, "no answer on tcp/111 (no rpcbind, or filtered)"}; break;
        case EndKind::kRefused: s = {Mapper::kRpc, MapperState::kRefused, "tcp/111 refused the connection: no rpcbind"}; break;
        case EndKind::kClosed: s.detail = "tcp/111 closed the connection without an answer (not ONC RPC v2?)"; break;
        default: s.detail = end.detail;
      }
    }
    r.mappers.push_back(std::move(s));
    return;
  }
  r.mappers.push_back({Mapper::kRpc, MapperState::kAnswered,
                       fmt::format("rpcbind DUMP v{}: {} registrations", kDumpVersions[w->version_index],
                                   w->entries.size())});
  // Key by (program, version, netid): different versions of one program often sit on
  // different ports (nmap's (program, netid) key hides that).
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::string>, bool> seen;
  std::map<std::tuple<std::uint32_t, std::uint32_t, Transport, Port>, std::pair<RpcbEntry, std::vector<std::size_t>>> checks;
  for (const RpcbEntry& e : w->entries) {
    if (!IsInetNetid(e.netid) || !e.port) continue;
    if (!seen.emplace(std::tuple{e.prog, e.vers, e.netid}, true).second) continue;
    ServiceRecord s;
    s.mapper = Mapper::kRpc;
    s.name = std::string(RpcProgramName(e.prog));
    s.program = e.prog;
    s.version = e.vers;
    s.netid = e.netid;
    s.owner = e.owner;
    s.uaddr = e.uaddr;
    s.transport = e.netid.starts_with("tcp") ? Protocol::kTcp : Protocol::kUdp;
    s.port = *e.port;
    s.dynamic = w->ephemeral.contains(s.port);
    const std::size_t row = r.services.size();
    if (SameFamily(w->host, e.netid)) {
      const Transport t = s.transport == Protocol::kTcp ? Transport::kTcp : Transport::kUdp;
      auto& slot = checks[std::tuple{e.prog, e.vers, t, s.port}];
      slot.first = e;
      slot.second.push_back(row);
    } else {
      s.answer_detail = "not checked: registered for the other IP family than the target address";
    }
    r.services.push_back(std::move(s));
  }
  for (auto& [key, value] : checks) {
    AddNullCall(*w->engine, w->host, value.first, std::get<2>(key), w->report, value.second);
  }
}

Conversation DumpConversation(const std::shared_ptr<RpcbWalk>& w) {
  Conversation c;
  c.peer = WithPort(w->host, kRpcbPort);
  c.transport = Transport::kTcp;
  c.first = EncodeRecord(EncodeRpcCall(w->xid, kRpcbProgram, kDumpVersions[0], kRpcbProcDump));
  c.frame = FrameRecord;
  c.max_message = kMaxRpcRecord + 4 * kMaxRpcFragments;
  c.on_message = [w](std::span<const std::byte> msg) {
    std::vector<std::byte> storage;
    auto reply = DecodeFramed(msg, Transport::kTcp, storage);
    if (!reply) {
      w->problem = reply.error().message;
      return Next::Done();
    }
    if (reply->xid != w->xid) return Next::Unmatched();
    const std::uint32_t vers = kDumpVersions[w->version_index];
    if (reply->kind == RpcReplyKind::kSuccess) {
      auto entries = vers == 2 ? DecodePmapDump(reply->results) : DecodeRpcbDump(reply->results);
      if (!entries) {
        w->problem = entries.error().message;
      } else {
        w->entries = std::move(*entries);
        w->got = true;
      }
      return Next::Done();
    }
    const bool try_older = reply->kind == RpcReplyKind::kProgMismatch ||
                           reply->kind == RpcReplyKind::kProcUnavail ||
                           reply->kind == RpcReplyKind::kProgUnavail;
    if (try_older && w->version_index + 1 < std::size(kDumpVersions)) {
      ++w->version_index;
      w->xid = NewXid();
      return Next::Send(EncodeRecord(
          EncodeRpcCall(w->xid, kRpcbProgram, kDumpVersions[w->version_index], kRpcbProcDump)));
    }
    w->problem = fmt::format("rpcbind DUMP v{}: {}", vers, RpcReplyKindName(reply->kind));
    return Next::Done();
  };
  c.on_end = [w](const ConversationEnd& end) { Finish(w, end); };
  return c;
}

}  // namespace

std::string_view RpcProgramName(std::uint32_t program) {
  switch (program) {
    case 100000: return "rpcbind";
    case 100003: return "nfs";
    case 100005: return "mountd";
    case 100011: return "rquotad";
    case 100021: return "nlockmgr";
    case 100024: return "status";
    case 100227: return "nfs_acl";
    default: return "";
  }
}

void AddRpcProbe(Engine& engine, const Endpoint& host, const PortSet& ephemeral,
                 std::shared_ptr<HostReport> report) {
  auto w = std::make_shared<RpcbWalk>();
  w->engine = &engine;
  w->host = host;
  w->ephemeral = ephemeral;
  w->report = std::move(report);
  w->xid = NewXid();
  engine.Add(DumpConversation(w));
}

}  // namespace berth::probe
