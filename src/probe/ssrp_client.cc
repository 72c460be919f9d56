// SQL Server Browser prober: see ssrp_client.h.
#include "probe/ssrp_client.h"

#include <netinet/in.h>

#include <cstring>
#include <map>

#include <fmt/core.h>

#include "probe/ssrp_codec.h"

namespace berth::probe {
namespace {

struct Lookup {
  Engine* engine = nullptr;
  Endpoint host;
  PortSet ephemeral;
  std::shared_ptr<HostReport> report;
  std::size_t pending = 0;   // requests not ended yet
  bool answered = false;
  std::vector<std::string> problems;
  std::vector<std::string> seen;  // instance names already added
};

void AddDac(const std::shared_ptr<Lookup>& l, const std::string& instance) {
  auto request = EncodeSsrpDac(instance);
  if (!request) return;  // a name longer than 32 bytes cannot be asked about
  Conversation c;
  c.peer = WithPort(l->host, kSsrpPort);
  c.transport = Transport::kUdp;
  c.first = std::move(*request);
  c.max_message = kMaxSsrpReply;
  c.on_message = [l, instance](std::span<const std::byte> msg) {
    auto port = DecodeSsrpDacResponse(msg);
    if (!port) return Next::Unmatched();  // not a DAC reply: keep waiting for one
    ServiceRecord s;
    s.mapper = Mapper::kSsrp;
    s.name = instance;
    s.instance = instance;
    s.dac = true;
    s.transport = Protocol::kTcp;
    s.port = *port;
    s.dynamic = l->ephemeral.contains(*port);
    l->report->services.push_back(std::move(s));
    AddConnectCheck(*l->engine, l->host, l->report, l->report->services.size() - 1);
    return Next::Done();
  };
  c.on_end = [](const ConversationEnd&) {};  // silence: no DAC listening for that instance
  l->engine->Add(std::move(c));
}

void AddInstance(const std::shared_ptr<Lookup>& l, const SqlInstance& inst) {
  for (const std::string& n : l->seen) {
    if (n == inst.instance_name) return;
  }
  l->seen.push_back(inst.instance_name);
  ServiceRecord s;
  s.mapper = Mapper::kSsrp;
  s.name = inst.instance_name;
  s.instance = inst.instance_name;
  s.server_name = inst.server_name;
  s.sql_version = inst.version;
  s.transport = Protocol::kTcp;
  if (inst.tcp_port) {
    s.port = *inst.tcp_port;
    s.dynamic = l->ephemeral.contains(s.port);
  } else {
    s.endpoint = inst.np;
    s.answer_detail = "no TCP port: named pipe only";
  }
  l->report->services.push_back(std::move(s));
  if (inst.tcp_port) AddConnectCheck(*l->engine, l->host, l->report, l->report->services.size() - 1);
  AddDac(l, inst.instance_name);
}

void Ended(const std::shared_ptr<Lookup>& l, const ConversationEnd& end) {
  if (end.kind == EndKind::kRefused) l->problems.push_back("refused");
  else if (end.kind == EndKind::kError) l->problems.push_back(end.detail);
  if (--l->pending > 0) return;
  HostReport& r = *l->report;
  if (l->answered) {
    r.mappers.push_back({Mapper::kSsrp, MapperState::kAnswered, fmt::format("SQL Server Browser: {} instances", l->seen.size())});
  } else if (!l->problems.empty() && l->problems.front() == "refused") {
    r.mappers.push_back({Mapper::kSsrp, MapperState::kRefused, "udp/1434 port unreachable: no SQL Server Browser"});
  } else if (!l->problems.empty()) {
    r.mappers.push_back({Mapper::kSsrp, MapperState::kError, l->problems.front()});
  } else {
    r.mappers.push_back({Mapper::kSsrp, MapperState::kSilent, "no answer on udp/1434: no SQL Server Browser, or no such instance"});
  }
}

// One CLNT_BCAST_EX: its responders by address (host order), and what it ignored.
struct Broadcast {
  Engine* engine = nullptr;
  LocalBroadcast where;
  PortSet ephemeral;
  std::shared_ptr<SsrpBroadcastResult> result;
  std::map<std::uint32_t, std::shared_ptr<Lookup>> responders;
  std::size_t outside = 0;     // replies from outside the subnet
  std::size_t other_port = 0;  // replies from inside it, but not from udp/1434
};

std::string Replies(std::size_t n) { return fmt::format("{} repl{}", n, n == 1 ? "y" : "ies"); }

void BroadcastReply(const std::shared_ptr<Broadcast>& b, const Endpoint& from, std::span<const std::byte> msg) {
  sockaddr_in v4{};
  std::memcpy(&v4, &from.addr, sizeof v4);  // the broadcast socket is IPv4
  const std::uint32_t address = ntohl(v4.sin_addr.s_addr);
  if (!InSubnet(b->where, address)) {
    ++b->outside;
    return;
  }
  if (ntohs(v4.sin_port) != kSsrpPort) {
    ++b->other_port;
    return;
  }
  std::shared_ptr<Lookup>& l = b->responders[address];
  if (!l) {
    l = std::make_shared<Lookup>();
    l->engine = b->engine;
    l->host = WithPort(from, 0);
    l->ephemeral = b->ephemeral;
    l->report = std::make_shared<HostReport>();
    l->report->target = l->report->address = EndpointHost(from);
    l->report->broadcast = b->result->broadcast->broadcast;
    l->report->interface = b->where.interface;
    l->pending = 1;  // the broadcast itself: ends with it
  }
  auto found = DecodeSsrpResponse(msg);
  if (!found) {
    l->problems.push_back(found.error().message);
    return;
  }
  l->answered = true;
  for (const SqlInstance& inst : *found) AddInstance(l, inst);  // a repeated reply adds nothing
}

void BroadcastEnded(const std::shared_ptr<Broadcast>& b, const ConversationEnd& end) {
  for (auto& [address, l] : b->responders) {  // in address order, however they raced
    Ended(l, {EndKind::kDone, "", end.seconds});
    b->result->responders.push_back(l->report);
  }
  HostReport& r = *b->result->broadcast;
  if (end.kind == EndKind::kTimeout) {
    r.mappers.push_back({Mapper::kSsrp, MapperState::kSilent, end.detail});
    return;
  }
  if (end.kind != EndKind::kDone) {
    r.mappers.push_back({Mapper::kSsrp, MapperState::kError, end.detail});
    return;
  }
  // A responder whose replies were all malformed counts too: its own report says why.
  std::string detail = fmt::format("CLNT_BCAST_EX on {}: {} responder{} in {}", b->where.interface,
                                   b->responders.size(), b->responders.size() == 1 ? "" : "s",
                                   SubnetText(b->where));
  if (b->outside > 0) detail += fmt::format("; {} from outside it ignored", Replies(b->outside));
  if (b->other_port > 0) detail += fmt::format("; {} not from udp/{} ignored", Replies(b->other_port), kSsrpPort);
  if (!end.detail.empty()) detail += "; " + end.detail;  // replies over the cap
  r.mappers.push_back({Mapper::kSsrp, MapperState::kAnswered, std::move(detail)});
}

}  // namespace

std::shared_ptr<SsrpBroadcastResult> AddSsrpBroadcast(Engine& engine, const LocalBroadcast& where,
                                                      const PortSet& ephemeral) {
  auto b = std::make_shared<Broadcast>();
  b->engine = &engine;
  b->where = where;
  b->ephemeral = ephemeral;
  b->result = std::make_shared<SsrpBroadcastResult>();
  auto own = std::make_shared<HostReport>();
  own->target = own->address = own->broadcast = Ipv4Text(where.broadcast);
  own->interface = where.interface;
  b->result->broadcast = own;
  Conversation c;
  c.peer = *MakeEndpoint(own->address, kSsrpPort);  // dotted IPv4 from Ipv4Text
  c.transport = Transport::kUdp;
  c.broadcast = true;
  c.first = EncodeSsrpBcastEx();
  c.max_message = kMaxSsrpReply;
  c.on_reply = [b](const Endpoint& from, std::span<const std::byte> msg) { BroadcastReply(b, from, msg); };
  c.on_end = [b](const ConversationEnd& end) { BroadcastEnded(b, end); };
  engine.Add(std::move(c));
  return b->result;
}

void AddConnectCheck(Engine& engine, const Endpoint& host, std::shared_ptr<HostReport> report, std::size_t row) {
  Conversation c;
  c.peer = WithPort(host, report->services[row].port);
  c.transport = Transport::kTcp;
  c.on_end = [report, row](const ConversationEnd& end) {
    ServiceRecord& s = report->services[row];
    s.answers = end.kind == EndKind::kDone;
    s.answer_detail = end.kind == EndKind::kDone ? "TCP connect succeeded"
                                                 : fmt::format("TCP connect: {}", EndKindName(end.kind));
  };
  engine.Add(std::move(c));
}

void AddSsrpProbe(Engine& engine, const Endpoint& host, const PortSet& ephemeral,
                  const std::vector<std::string>& instances, std::shared_ptr<HostReport> report) {
  auto l = std::make_shared<Lookup>();
  l->engine = &engine;
  l->host = host;
  l->ephemeral = ephemeral;
  l->report = std::move(report);
  std::vector<std::vector<std::byte>> requests;
  if (instances.empty()) {
    requests.push_back(EncodeSsrpUcastEx());
  } else {
    for (const std::string& name : instances) {
      if (auto r = EncodeSsrpInst(name)) requests.push_back(std::move(*r));
    }
  }
  l->pending = requests.size();
  for (auto& request : requests) {
    Conversation c;
    c.peer = WithPort(host, kSsrpPort);
    c.transport = Transport::kUdp;
    c.first = std::move(request);
    c.max_message = kMaxSsrpReply;
    c.on_message = [l](std::span<const std::byte> msg) {
      auto found = DecodeSsrpResponse(msg);
      if (!found) {
        l->problems.push_back(found.error().message);
        return Next::Done();
      }
      l->answered = true;
      for (const SqlInstance& inst : *found) AddInstance(l, inst);
      return Next::Done();
    };
    c.on_end = [l](const ConversationEnd& end) { Ended(l, end); };
    engine.Add(std::move(c));
  }
  if (requests.empty()) Ended(l, {EndKind::kError, "no valid instance name", 0});
}

}  // namespace berth::probe
