#include "emit/surface.h"

#include <fmt/core.h>

#include "emit/firewall_quote.h"
#include "emit/json_writer.h"

namespace berth {
namespace {

void AddMapper(SurfaceSide& side, const PortMapper& m) {
  (m.proto == Protocol::kTcp ? side.tcp : side.udp).Add(m.port);
}

std::string Ranges(const PortSet& s) { return s.empty() ? std::string("none") : s.Format(); }

}  // namespace

SurfaceReport CompareSurface(std::span<const Service> services, const SurfaceOptions& options) {
  SurfaceReport r;
  r.group = options.group;
  r.live_mappers = options.live_mappers;
  for (const Service& s : services) {
    if (!options.group.empty() && s.group != options.group) continue;
    ++r.services;
    if (Covers(s.proto, Protocol::kTcp)) r.static_design.tcp.Add(PortsOf(s));
    if (Covers(s.proto, Protocol::kUdp)) r.static_design.udp.Add(PortsOf(s));
  }
  SurfaceSide& dyn = r.dynamic_design;
  if (options.design == DynamicDesign::kWindows) {
    dyn.tcp.Add(kIanaDynamicRange);
    AddMapper(dyn, kMsRpcEndpointMapper);
    AddMapper(dyn, kSqlServerBrowser);
    r.design = fmt::format("Windows dynamic ports: TCP {}-{} plus the RPC endpoint mapper (TCP {}) "
                           "and the SQL Server Browser (UDP {})",
                           kIanaDynamicRange.low, kIanaDynamicRange.high,
                           kMsRpcEndpointMapper.port, kSqlServerBrowser.port);
  } else {
    dyn.tcp.Add(options.ephemeral);
    dyn.udp.Add(options.ephemeral);
    r.design = fmt::format("servers on bind(0) ports: this host's ephemeral range {}-{} "
                           "(TCP and UDP), plus the port mappers listening here",
                           options.ephemeral.low, options.ephemeral.high);
  }
  for (const PortMapper& m : options.live_mappers) AddMapper(dyn, m);
  return r;
}

void RenderSurfaceText(const SurfaceReport& r, const Sink& sink) {
  sink(fmt::format("Attack surface for {} ({} registered service{})\n",
                   r.group.empty() ? std::string("every group") : "group " + CommentText(r.group),
                   r.services, r.services == 1 ? "" : "s"));
  sink(fmt::format("dynamic design: {}\n\n", r.design));
  sink(fmt::format("{:<16} {:>9} {:>9} {:>9}\n", "design", "TCP", "UDP", "total"));
  auto row = [&](std::string_view name, const SurfaceSide& s) {
    sink(fmt::format("{:<16} {:>9} {:>9} {:>9}\n", name, s.tcp.count(), s.udp.count(), s.count()));
  };
  row("dynamic", r.dynamic_design);
  row("static (berth)", r.static_design);
  sink(fmt::format("\ndynamic TCP: {}\ndynamic UDP: {}\nstatic TCP:  {}\nstatic UDP:  {}\n",
                   Ranges(r.dynamic_design.tcp), Ranges(r.dynamic_design.udp),
                   Ranges(r.static_design.tcp), Ranges(r.static_design.udp)));
  std::string live;
  for (const PortMapper& m : r.live_mappers) {
    live += fmt::format("{}{} {}/{}", live.empty() ? "" : ", ", m.name, m.port, ProtocolName(m.proto));
  }
  sink(fmt::format("live port mappers: {}\n", live.empty() ? std::string("none found") : live));
  const std::uint32_t d = r.dynamic_design.count(), s = r.static_design.count();
  if (s > 0 && d > s) {
    sink(fmt::format("\nThe static design opens {} port{} instead of {} ({:.0f}x fewer).\n", s,
                     s == 1 ? "" : "s", d, static_cast<double>(d) / s));
  }
}

void RenderSurfaceJson(const SurfaceReport& r, const Sink& sink) {
  JsonWriter w(JsonLayout::kPretty);
  w.BeginObject().Field("schema", "berth.surface/2").Field("group", r.group);
  w.Field("services", r.services).Field("design", r.design);
  auto side = [&](std::string_view key, const SurfaceSide& s) {
    w.Key(key).BeginObject();
    w.Key("tcp").PortRanges(s.tcp).Key("udp").PortRanges(s.udp);
    w.Field("tcp_count", s.tcp.count()).Field("udp_count", s.udp.count()).Field("count", s.count());
    w.EndObject();
  };
  side("dynamic", r.dynamic_design);
  side("static", r.static_design);
  w.Key("live_mappers").BeginArray();
  for (const PortMapper& m : r.live_mappers) {
    w.BeginObject().Field("name", m.name).Field("proto", ProtocolName(m.proto)).Field("port", m.port);
    w.EndObject();
  }
  w.EndArray().EndObject();
  sink(w.Take() + "\n");
}

}  // namespace berth
