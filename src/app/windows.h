// Use cases for collected Windows hosts (docs/windows.md): `berth scan --from FILE` on a
// berth.windows/1 document (audit, match to the registry, record the observations under the
// host's name), and `berth remedy --format powershell` (claim each SQL Server instance's port
// through the registry, check the RPC block, plan the dynamic-range, exclusion and firewall
// changes). Never prints. One thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/scan.h"
#include "base/clock.h"
#include "core/windows_host.h"
#include "emit/windows_script.h"
#include "registry/allocator.h"
#include "registry/store.h"

namespace berth::app {

// Reads a collected host from `path` (at most kWindowsMaxBytes). Failure: the file's (not
// found, unreadable) or the reader's (kMalformed, saying what and where).
[[nodiscard]] Result<windows::WindowsHost> LoadWindowsHost(const std::string& path);

// The Windows host a remedy works on, from `path`: a collected host (LoadWindowsHost), or a
// `berth probe --json` document (berth.probe/1), of which the SQL Server instances of the one
// host `host` names (its target, address or computer name; "" when the document holds one
// host) are taken: their names and ports, not their instance ids, dynamic ranges, firewall
// rules or services, which only a collection holds (`from_probe` says so). Failure: the file's,
// kMalformed for a document that is neither, kNotFound when it holds no instance (of `host`),
// kConflict when it holds instances of several hosts and `host` does not choose one.
struct RemedyHost {
  windows::WindowsHost host;
  bool from_probe = false;
};
[[nodiscard]] Result<RemedyHost> LoadRemedyHost(const std::string& path, std::string_view host);

// True when the file at `path` is a collected Windows host (LooksLikeWindowsCollection);
// false for anything else, a directory or an unreadable file.
bool IsWindowsCollection(const std::string& path);

// Audits `host` (windows::AuditWindowsHost, its fixes naming `remedy`), then matches and
// records it as Scan does (observations under the computer name; `request.filter` narrows
// what is shown), as another host than this one: only the groups that list it speak for it.
// With a store, the scan is also written as the host's fleet report, marked collected (at the
// collection's time), with every finding, as an agent writes its report (docs/fleet.md).
[[nodiscard]] Result<ScanResult> ScanWindows(const ScanRequest& request, windows::WindowsHost host,
                                             std::string_view remedy, const ScanRegistry& reg,
                                             const Clock& clock);

struct WindowsRemedyRequest {
  std::string group;                   // "" = the one group that lists the host
  std::optional<PortRange> rpc_block;  // Rpc\Internet Ports; nullopt = leave RPC alone
};

struct WindowsRemedyResult {
  WindowsRemedyPlan plan;
  std::vector<registry::Assignment> claimed;  // what this run claimed (created) or found
};

// Claims, in the group: the RPC block as the range claim rpc.dynamic (the block asked for,
// unless the group holds one already: then that one, and another block is refused);
// mssql.INSTANCE for each SQL Server instance of `host` (the registered port when the name is
// registered; 1433 for the default instance; the instance's current static port when it breaks
// no rule; else the allocator's); the RPC services with a port setting of their own that the
// host runs (windows::kRpcPins: msrpc.drsuapi and msrpc.netlogon on a domain controller,
// msrpc.dfsr, msrpc.wmi on WMI's fixed port 24158). Then plans the rest from the registry. The
// RPC block must hold at least windows::kRpcBlockMinPorts ports from 1025 up, not 1434, lie
// outside the host's dynamic ranges and hold no port claimed in the group; these checks, and
// 24158 being free of other claims, come before the first write, so a refusal leaves the
// registry as it was. Failure: kNotFound when no group lists the host (hint: create it),
// kInvalidArgument for an RPC block that breaks a rule, 24158 claimed by another service or an
// instance registered on 1434, the allocator's and the store's.
[[nodiscard]] Result<WindowsRemedyResult> PlanWindowsRemedy(const windows::WindowsHost& host,
                                                            registry::Store& store,
                                                            const WindowsRemedyRequest& request);

}  // namespace berth::app
