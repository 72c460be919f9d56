#include "app/firewall.h"

#include <fmt/core.h>

#include "registry/berth_toml.h"

namespace berth::app {

Result<std::vector<Service>> ServicesFromFile(std::string_view text, std::string_view source) {
  registry::RegistryDoc doc = BERTH_TRY(registry::ParseBerthToml(text, source));
  for (const Service& s : doc.services) {
    if (s.port == 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: service '{}' has no port yet: assign it first ('berth "
                              "import' then 'berth firewall')",
                              source, s.name));
    }
  }
  return std::move(doc.services);
}

Result<std::vector<Service>> ServicesFromStore(registry::Store& store) {
  std::vector<registry::ServiceRecord> records = BERTH_TRY(store.ListServices());
  std::vector<Service> out;
  out.reserve(records.size());
  for (registry::ServiceRecord& r : records) out.push_back(std::move(r.service));
  return out;
}

Result<std::string> FirewallRules(FirewallFormat format, std::span<const Service> services,
                                  const FirewallOptions& options) {
  std::string rules;
  BERTH_TRY(RenderFirewall(format, services, options, [&rules](std::string_view s) { rules += s; }));
  return rules;
}

Result<SurfaceReport> CompareSurfaceOnHost(std::span<const Service> services, SurfaceOptions o,
                                           HostSource& host, std::vector<std::string>& warnings) {
  HostQuery query;
  query.resolve_owners = false;
  HostSnapshot snap = BERTH_TRY(host.Take(query));
  o.ephemeral = snap.config.ephemeral;
  for (const PortMapper& m : kPortMappers) {
    for (const SocketRecord& s : snap.sockets) {
      if (s.is_server() && s.proto == m.proto && s.local_port == m.port) {
        o.live_mappers.push_back(m);
        break;
      }
    }
  }
  warnings.insert(warnings.end(), snap.warnings.begin(), snap.warnings.end());
  return CompareSurface(services, o);
}

}  // namespace berth::app
