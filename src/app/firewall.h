// Use cases of `berth firewall`: the services to open (from the registry or a berth.toml
// file), their rules in a format, loading them on this host with a saved copy for rollback,
// and the attack-surface comparison of a dynamic-port design with the static one. Never
// prints. One thread.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/host_source.h"
#include "emit/firewall.h"
#include "emit/surface.h"
#include "host/firewall_apply.h"
#include "registry/store.h"

namespace berth::app {

// The services of a berth.toml file `text` (named `source`). Failure: the parser's;
// kInvalidArgument for a service without a port yet.
[[nodiscard]] Result<std::vector<Service>> ServicesFromFile(std::string_view text,
                                                            std::string_view source);
[[nodiscard]] Result<std::vector<Service>> ServicesFromStore(registry::Store& store);

// The rules text. Failure: the renderer's.
[[nodiscard]] Result<std::string> FirewallRules(FirewallFormat format,
                                                std::span<const Service> services,
                                                const FirewallOptions& options);

// The surface comparison; the host's ephemeral range and the port mappers listening on it
// come from `host`. Warnings of the snapshot go to `warnings`.
[[nodiscard]] Result<SurfaceReport> CompareSurfaceOnHost(std::span<const Service> services,
                                                         SurfaceOptions options, HostSource& host,
                                                         std::vector<std::string>& warnings);

}  // namespace berth::app
