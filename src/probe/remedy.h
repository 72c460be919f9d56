// Remedies: for the dynamic services of one host, the exact change that pins each one
// (nfs.conf lines for NFS side daemons, the IPAll settings for a SQL Server instance, the
// per-service setting or the restricted RPC range for MS-RPC). Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probe/probe_model.h"

namespace berth::probe {

struct Remedy {
  Mapper mapper = Mapper::kRpc;
  std::string subject;  // what it pins ("rpc.mountd (100005)", "SQL Server instance SQLEXPRESS")
  std::string text;     // the change, several lines, ready to paste
};

// What berth would register a dynamic service as, for a static-port proposal.
struct StaticPortWish {
  std::string name;                // a valid registry name (docs/probe.md, "Static ports")
  ServiceProto proto = ServiceProto::kTcp;
  std::optional<Port> preferred;   // the port the daemon's convention or IANA gives it
  bool allow_iana = false;         // preferred is this service's own IANA port
};

// nullopt when the service is not dynamic, or cannot be pinned on its own (an MS-RPC
// interface without a port setting of its own: the restricted RPC range pins those), or is
// a SQL Server DAC (it follows its instance).
std::optional<StaticPortWish> WishFor(const ServiceRecord& s);

// A registry label from network text: lowercase, runs of anything outside [a-z0-9] become
// one '-', no '-' at either end, at most 63 characters; "" when nothing is left.
std::string RegistryLabel(std::string_view text);

// Remedies use each service's static_port when it is set, placeholders otherwise; NFS
// daemons without one get berth's pins from core/nfs_ports.h.
std::vector<Remedy> Remedies(const HostReport& report);

}  // namespace berth::probe
