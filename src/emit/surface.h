// The attack-surface comparison behind `berth firewall --surface`: which ports a dynamic-port
// design must open (a whole dynamic range plus the port mappers that point into it) against
// the registered static ports. Pure: the caller supplies the host's range and live mappers.
// Thread-safe (no shared state).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/classify.h"
#include "core/port_mappers.h"
#include "core/service.h"
#include "emit/scan_render.h"

namespace berth {

enum class DynamicDesign : std::uint8_t {
  kWindows,  // SQL Server / MS-RPC style: TCP 49152-65535, TCP 135, UDP 1434
  kHost,     // servers on bind(0) ports from this host's ephemeral range, TCP and UDP
};

struct SurfaceOptions {
  std::string group;                        // "" = every group
  DynamicDesign design = DynamicDesign::kHost;
  PortRange ephemeral = kLinuxEphemeralRange;  // the host's net.ipv4.ip_local_port_range
  std::vector<PortMapper> live_mappers;     // mappers found listening (a scan); kHost adds them
};

struct SurfaceSide {
  PortSet tcp;
  PortSet udp;
  std::uint32_t count() const { return tcp.count() + udp.count(); }
};

struct SurfaceReport {
  std::string group;
  std::string design;   // one line: what the dynamic design exposes and why
  std::size_t services = 0;
  SurfaceSide dynamic_design;
  SurfaceSide static_design;
  std::vector<PortMapper> live_mappers;
};

SurfaceReport CompareSurface(std::span<const Service> services, const SurfaceOptions& options);

void RenderSurfaceText(const SurfaceReport& report, const Sink& sink);
// {"schema":"berth.surface/2","group":…,"dynamic":{"tcp":"…","udp":"…","count":N},"static":{…}}
void RenderSurfaceJson(const SurfaceReport& report, const Sink& sink);

}  // namespace berth
