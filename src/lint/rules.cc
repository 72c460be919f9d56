#include "lint/rules.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include <fmt/core.h>

#include "core/classify.h"
#include "core/fix_commands.h"
#include "core/port_mappers.h"
#include "lint/line_reader.h"
#include "lint/rule_parts.h"

namespace berth::lint {

bool OnHost(const PortDecl& d) {
  return !d.isolated && d.mapper == Mapper::kNone && !d.host_port &&
         (d.kind == DeclKind::kListen || d.kind == DeclKind::kPublish ||
          d.kind == DeclKind::kDerived);
}

bool Serves(const PortDecl& d) {
  return d.mapper == Mapper::kNone && !d.host_port &&
         (d.kind == DeclKind::kListen || d.kind == DeclKind::kPublish ||
          d.kind == DeclKind::kDerived);
}

std::string RangeText(PortRange r) {
  return r.low == r.high ? fmt::format("{}", r.low) : fmt::format("{}-{}", r.low, r.high);
}

const Service* Registered(const PortDecl& d, const RuleContext& ctx) {
  if (d.service.empty()) return nullptr;
  auto it = ctx.registry.find(d.service);
  return it == ctx.registry.end() ? nullptr : &it->second;
}

std::string AssignName(const PortDecl& d) {
  if (!d.service.empty()) return d.service;
  std::string_view file = d.where.file;
  file = file.substr(file.rfind('/') + 1);
  file = file.substr(0, file.find('.'));
  const std::string name = SuggestServiceName(file);
  return name.empty() ? std::string("service") : name;
}

std::string PortSetting(const PortDecl& d) {
  return d.in_url ? "the port of the URL in " + d.key_path : d.key_path;
}

std::string PortAdvice(const PortDecl& d, const RuleContext& ctx) {
  // A derived port is not the service's own: the registry's port for the service is not it.
  if (d.kind == DeclKind::kDerived) return "a port below 32768 that nothing else uses";
  if (const Service* s = Registered(d, ctx)) {
    return fmt::format("{} (the registry's port for {})", s->port, s->name);
  }
  return fmt::format("a static port below 32768 that nothing else uses ('berth assign {}' "
                     "prints one and records it)", AssignName(d));
}

LintFinding Make(LintRule rule, const PortDecl& d) {
  LintFinding f;
  f.rule = rule;
  f.severity = LintRuleSeverity(rule);
  f.where = d.where;
  f.key_path = d.key_path;
  f.proto = d.proto;
  if (d.dynamic == Dynamic::kNo && d.mapper == Mapper::kNone && !(d.ports.low == 0 && d.ports.high == 0)) {
    f.ports.Add(d.ports);
  }
  return f;
}

namespace {

// What berth probe found for the instance a client names (lint --probe), or null.
const ProbedInstance* Probed(const PortDecl& d, const RuleContext& ctx) {
  if (ctx.probed.empty() || d.instance.empty()) return nullptr;
  auto it = ctx.probed.find(ProbedKey(d.address, d.instance));
  return it == ctx.probed.end() ? nullptr : &it->second;
}

std::string Derivation(const PortDecl& d) {
  return d.kind == DeclKind::kDerived ? fmt::format(" ({})", d.derived_from) : std::string();
}

// Rewrites the declared port to `port`: only a single port on the host's side, read where
// the declaration points (an implicit port, such as nginx's 80 for an address alone, fails
// the expected-text check when applied).
std::optional<Edit> PortEdit(const PortDecl& d, Port port) {
  if (d.isolated || d.ports.low != d.ports.high || d.mapper != Mapper::kNone || d.host_port ||
      (d.kind != DeclKind::kListen && d.kind != DeclKind::kPublish) ||
      (d.dynamic != Dynamic::kNo && d.dynamic != Dynamic::kZero)) {
    return std::nullopt;
  }
  return Edit{d.offset, fmt::format("{}", d.ports.low), fmt::format("{}", port)};
}

std::optional<Edit> RegistryEdit(const PortDecl& d, const RuleContext& ctx) {
  const Service* s = Registered(d, ctx);
  if (s == nullptr || !Covers(s->proto, d.proto) || ctx.several_ports.contains(d.service)) {
    return std::nullopt;
  }
  return PortEdit(d, s->port);
}

void DynamicRule(const PortDecl& d, const RuleContext& ctx, std::vector<LintFinding>& out) {
  if (d.dynamic == Dynamic::kNo || !Serves(d)) return;
  LintFinding f = Make(LintRule::kDynamicPort, d);
  switch (d.dynamic) {
    case Dynamic::kZero:
      f.why = "port 0: the kernel gives the server a random port from the ephemeral range, a "
              "new one at every start, so no client, firewall or monitor can know it";
      f.fix = fmt::format("set {} to {}", PortSetting(d), PortAdvice(d, ctx));
      f.edit = RegistryEdit(d, ctx);
      break;
    case Dynamic::kRandom:
      f.why = "a random port at every start: no client, firewall or monitor can know it";
      f.fix = fmt::format("set {} to {}", PortSetting(d), PortAdvice(d, ctx));
      break;
    case Dynamic::kUnpublished:
      f.ports = PortSet{};
      f.why = fmt::format("only the container port {} is given: Docker publishes it on a random "
                          "host port from the ephemeral range, a new one at every start",
                          RangeText(d.ports));
      f.fix = fmt::format("publish it on a fixed host port: \"HOSTPORT:{}\" with HOSTPORT {}",
                          RangeText(d.ports), PortAdvice(d, ctx));
      break;
    case Dynamic::kNo: break;
  }
  out.push_back(std::move(f));
}

void EphemeralRule(const PortDecl& d, const RuleContext& ctx, std::vector<LintFinding>& out) {
  if (d.dynamic != Dynamic::kNo || !Serves(d)) return;
  const bool linux_range = d.ports.overlaps(kLinuxEphemeralRange);
  const PortSet in_group = ctx.group_ephemeral.Intersect(d.ports);
  const bool windows_range = d.windows && d.ports.overlaps(kIanaDynamicRange);
  if (!linux_range && in_group.empty() && !windows_range) return;
  LintFinding f = Make(LintRule::kEphemeralPort, d);
  std::string where;
  if (linux_range) {
    where = fmt::format("the Linux ephemeral range {}-{}", kLinuxEphemeralRange.low,
                        kLinuxEphemeralRange.high);
  } else if (!in_group.empty()) {
    where = fmt::format("the ephemeral ranges of group {}'s hosts ({})", ctx.group,
                        ctx.group_ephemeral.Format());
  } else {
    where = fmt::format("the Windows ephemeral range {}-{}", kIanaDynamicRange.low,
                        kIanaDynamicRange.high);
  }
  f.why = fmt::format("port {}{} is inside {}: an outbound connection can take it before the "
                      "server starts, and firewalls see a dynamic port",
                      RangeText(d.ports), Derivation(d), where);
  const std::string reserve =
      linux_range || !in_group.empty()
          ? fmt::format("sysctl -w net.ipv4.ip_local_reserved_ports={} (berth reserve)", RangeText(d.ports))
          : fmt::format("netsh int ipv4 add excludedportrange protocol={} startport={} numberofports={}",
                        ProtocolName(d.proto), d.ports.low, d.ports.size());
  if (d.kind == DeclKind::kDerived) {
    f.fix = fmt::format("set {} explicitly to {} (or move the port it is derived from, or turn "
                        "it off); until then reserve it on every host: {}",
                        PortSetting(d), PortAdvice(d, ctx), reserve);
  } else {
    f.fix = fmt::format("set {} to {}; until then reserve it on every host: {}", PortSetting(d),
                        PortAdvice(d, ctx), reserve);
    f.edit = RegistryEdit(d, ctx);
  }
  out.push_back(std::move(f));
}

// A server on a port mapper's port: the configuration runs the mapper itself.
void PortMapperRule(const PortDecl& d, std::vector<LintFinding>& out) {
  if (!OnHost(d) || d.dynamic != Dynamic::kNo) return;
  for (const PortMapper& m : kPortMappers) {
    if (!m.audited || m.proto != d.proto || !d.ports.contains(m.port)) continue;
    LintFinding f = Make(LintRule::kPortMapper, d);
    f.ports = PortSet{PortRange{m.port, m.port}};
    f.why = fmt::format("{}/{} is the {}: clients ask it for the dynamic ports of other "
                        "services, so those ports cannot be known in advance or closed",
                        m.port, ProtocolName(m.proto), m.what);
    f.fix = PortMapperFix(m);
    out.push_back(std::move(f));
  }
}

// How the client that `d` is names a port instead of the instance.
std::string ClientPortForm(const PortDecl& d, const std::string& port) {
  if (d.format == ConfigFormat::kFreetds) {
    return fmt::format("port = {} in place of instance = {}", port, d.instance);
  }
  if (d.format == ConfigFormat::kOdbc) {
    return fmt::format("Server = tcp:{},{} (Microsoft's driver), or Port = {} in the DSN (FreeTDS)",
                       d.address, port, port);
  }
  if (d.key_path == "sqlserver") return fmt::format("sqlserver://{}:{} (go-mssqldb)", d.address, port);
  if (d.key_path == "pymssql") return fmt::format("server='{}', port={} (pymssql)", d.address, port);
  return fmt::format("Server=tcp:{},{} (JDBC: jdbc:sqlserver://{}:{})", d.address, port,
                     d.address, port);
}

void MapperRule(const PortDecl& d, const RuleContext& ctx, std::vector<LintFinding>& out) {
  if (d.mapper == Mapper::kRpcbind) {
    LintFinding f = Make(LintRule::kPortMapperClient, d);
    f.ports = PortSet{PortRange{111, 111}};
    f.why = fmt::format("{} depends on rpcbind ({}={}): its RPC services register dynamic "
                        "ports with the ONC RPC port mapper on 111, so 111 and those ports stay "
                        "open",
                        d.service, d.key_path, d.instance);
    f.fix = PortMapperFix(kRpcbindTcp);
    out.push_back(std::move(f));
  }
  if (d.mapper == Mapper::kSqlBrowser) {
    LintFinding f = Make(LintRule::kPortMapperClient, d);
    f.proto = Protocol::kUdp;
    f.ports = PortSet{PortRange{1434, 1434}};
    f.why = fmt::format("the named instance {} without a port: the client asks the SQL Server "
                        "Browser (UDP 1434) for the port at every connection, so the Browser and "
                        "the instance's dynamic port must stay open",
                        d.instance);
    const Service* s = Registered(d, ctx);
    const ProbedInstance* p = s == nullptr ? Probed(d, ctx) : nullptr;
    // The port to write: the registry's, else one berth probe saw that does not move (the
    // registry's static port it reported, or a port outside the dynamic range). A dynamic
    // port seen by the probe is the instance's port until its next start only.
    std::optional<Port> known;
    std::string whose;
    if (s != nullptr) {
      known = s->port;
      whose = fmt::format(", the registry's port for {}", s->name);
    } else if (p != nullptr && p->registered) {
      known = *p->registered;
      whose = fmt::format(", the registry's port for {}\\{} as berth probe reported it ({})",
                          p->target, p->instance, ctx.probe_file);
    } else if (p != nullptr && !p->dynamic) {
      known = p->port;
      whose = fmt::format(", the static port {}\\{} listens on (berth probe, {})", p->target,
                          p->instance, ctx.probe_file);
    }
    const std::string port = known ? fmt::format("{}", *known) : "PORT";
    // Only connection strings carry their server value: the other forms (go-mssqldb, pymssql,
    // odbc.ini, freetds.conf) change in more than one place.
    const bool editable = d.key_path != "jdbc:jtds" && !d.text.empty();
    const std::string assign = fmt::format(
        "where PORT is the one 'berth assign {} --allow-iana' prints and records, set as the "
        "instance's TCP port (SQL Server Configuration Manager, IPAll, TCP Port{})",
        d.service, editable ? "; then lint --fix writes it here" : "");
    if (known) {
      f.fix = fmt::format("connect to the port: {}{}", ClientPortForm(d, port), whose);
    } else if (p != nullptr) {
      f.fix = fmt::format("{}\\{} listens on dynamic port {} now (berth probe, {}), which moves "
                          "when the instance restarts: give it a static port first, then connect "
                          "to that: {}, {}",
                          p->target, p->instance, p->port, ctx.probe_file,
                          ClientPortForm(d, port), assign);
    } else {
      f.fix = fmt::format("connect to the port: {}, {}", ClientPortForm(d, port), assign);
    }
    if (known && editable) {
      const char sep = d.key_path == "jdbc:sqlserver" ? ':' : ',';
      f.edit = Edit{d.text_offset, d.text, fmt::format("{}{}{}", d.text, sep, *known)};
    }
    out.push_back(std::move(f));
  }
  if (d.host_port) {
    LintFinding f = Make(LintRule::kSqlClientHostPort, d);
    f.ports.Add(d.ports);
    f.why = "SqlClient reads Server=HOST:PORT as a host name with a colon: the connection "
            "fails; the port goes after a comma";
    f.fix = fmt::format("Server=tcp:{},{}", d.address, RangeText(d.ports));
    if (!d.text.empty()) {
      f.edit = Edit{d.text_offset, d.text, fmt::format("{},{}", d.address, RangeText(d.ports))};
    }
    out.push_back(std::move(f));
  }
}

void RegistryRule(const PortDecl& d, const RuleContext& ctx, std::vector<LintFinding>& out) {
  const Service* s = Registered(d, ctx);
  // A port inside a container's or pod's own namespace is not the one the registry holds.
  if (s == nullptr || d.isolated || d.dynamic != Dynamic::kNo || d.kind == DeclKind::kDerived ||
      d.kind == DeclKind::kTarget || d.kind == DeclKind::kInternal || !Serves(d) ||
      !Covers(s->proto, d.proto) || d.ports.contains(s->port)) {
    return;
  }
  LintFinding f = Make(LintRule::kRegistryMismatch, d);
  f.why = fmt::format("the registry gives {} port {}/{}, this file declares {}", s->name,
                      s->port, ServiceProtoName(s->proto), RangeText(d.ports));
  f.fix = fmt::format("set {} to {} (or move the service in the registry)", PortSetting(d), s->port);
  f.edit = RegistryEdit(d, ctx);
  out.push_back(std::move(f));
}

void SexagesimalRule(const PortDecl& d, std::vector<LintFinding>& out) {
  if (!d.sexagesimal) return;
  LintFinding f = Make(LintRule::kSexagesimal, d);
  f.why = "an unquoted HOST:CONTAINER with a container port below 60: YAML 1.1 parsers "
          "(docker-compose v1, PyYAML) read it as a base-60 number, not two ports";
  f.fix = "quote the entry: \"HOST:CONTAINER\"";
  if (!d.text.empty()) f.edit = Edit{d.text_offset, d.text, "\"" + d.text + "\""};
  out.push_back(std::move(f));
}

bool AddressesOverlap(const std::string& a, const std::string& b) {
  return a.empty() || b.empty() || a == b;
}

std::string Identity(const PortDecl& d) { return d.service.empty() ? d.where.file : d.service; }

void CollisionRule(std::span<const PortDecl> decls, std::vector<LintFinding>& out) {
  std::vector<const PortDecl*> host;
  for (const PortDecl& d : decls) {
    if (OnHost(d) && d.dynamic == Dynamic::kNo) host.push_back(&d);
  }
  std::sort(host.begin(), host.end(), [](const PortDecl* a, const PortDecl* b) {
    return std::tuple(a->proto, a->ports.low) < std::tuple(b->proto, b->ports.low);
  });
  std::vector<std::vector<const PortDecl*>> others(host.size());
  for (std::size_t i = 0; i < host.size(); ++i) {
    for (std::size_t j = i + 1; j < host.size() && host[j]->proto == host[i]->proto &&
                                host[j]->ports.low <= host[i]->ports.high;
         ++j) {
      if (Identity(*host[i]) == Identity(*host[j])) continue;
      if (!AddressesOverlap(host[i]->address, host[j]->address)) continue;
      others[i].push_back(host[j]);
      others[j].push_back(host[i]);
    }
  }
  for (std::size_t i = 0; i < host.size(); ++i) {
    if (others[i].empty()) continue;
    const PortDecl& d = *host[i];
    LintFinding f = Make(LintRule::kPortCollision, d);
    std::string names;
    for (const PortDecl* o : others[i]) {
      f.related.push_back(o->where);
      if (!names.empty()) names += ", ";
      names += fmt::format("{} ({}:{})", Identity(*o), o->where.file, o->where.line);
    }
    f.why = fmt::format("{} {}/{}{} is also declared by {}: only one of them can bind it",
                        Identity(d), RangeText(d.ports), ProtocolName(d.proto), Derivation(d),
                        names);
    f.fix = fmt::format("give each service its own port: 'berth assign {}' hands out one that "
                        "no other registered service holds", AssignName(d));
    out.push_back(std::move(f));
  }
}

}  // namespace

std::vector<LintFinding> ApplyRules(std::span<const PortDecl> decls, const RuleContext& given) {
  RuleContext ctx = given;
  std::map<std::string, std::set<Port>, std::less<>> ports;
  for (const PortDecl& d : decls) {
    if (d.service.empty() || !Serves(d) || d.isolated || d.kind == DeclKind::kDerived) continue;
    std::set<Port>& p = ports[d.service];
    p.insert(d.dynamic == Dynamic::kNo ? d.ports.low : 0);
    if (d.ports.high != d.ports.low || p.size() > 1) ctx.several_ports.insert(d.service);
  }
  std::vector<LintFinding> out;
  for (const PortDecl& d : decls) {
    DynamicRule(d, ctx, out);
    EphemeralRule(d, ctx, out);
    MapperRule(d, ctx, out);
    PortMapperRule(d, out);
    RegistryRule(d, ctx, out);
    SexagesimalRule(d, out);
    IanaOtherServiceRule(d, ctx, out);
    ConventionalPortRule(d, ctx, out);
    NodePortRangeRule(d, ctx, out);
  }
  CollisionRule(decls, out);
  std::stable_sort(out.begin(), out.end(), [](const LintFinding& a, const LintFinding& b) {
    return std::tuple(a.where.file, a.where.line, a.where.column, LintRuleName(a.rule)) <
           std::tuple(b.where.file, b.where.line, b.where.column, LintRuleName(b.rule));
  });
  return out;
}

std::string ProbedKey(std::string_view host, std::string_view instance) {
  return AsciiLower(host) + "\\" + AsciiLower(instance);
}

}  // namespace berth::lint
