// Use cases of `berth firewall`: the services to open (from the registry or a berth.toml
// file), their rules in a format, loading them on this host with a saved copy for rollback,
// and the attack-surface comparison of a dynamic-port design with the static one. Never
// prints. One thread.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "core/host_source.h"
#include "emit/firewall.h"
#include "emit/surface.h"
#include "host/firewall_apply.h"
#include "host/firewall_revert.h"
#include "registry/store.h"

namespace berth::app {

// What the rules are made of: the registered services and the groups (their allow lists).
struct FirewallInput {
  std::vector<Service> services;
  std::vector<registry::Group> groups;
};

// The services and groups of a berth.toml file `text` (named `source`). Failure: the
// parser's; kInvalidArgument for a service without a port yet.
[[nodiscard]] Result<FirewallInput> FirewallInputFromFile(std::string_view text,
                                                          std::string_view source);
[[nodiscard]] Result<FirewallInput> FirewallInputFromStore(registry::Store& store);

// The union of the allow lists of group `group`, or of every group when `group` is "".
PortSet GroupAllow(std::span<const registry::Group> groups, std::string_view group);

// An established inbound TCP connection on this host (a peer connected to a local
// listening port).
struct InboundSession {
  IpAddress local;
  Port local_port = 0;
  IpAddress peer;
  Port peer_port = 0;
};

// The established inbound TCP connections of `host` whose packets the rules of `format`
// (for `services` and `options`) would not admit as a new connection: the sessions an
// --apply would lock out once they end (an SSH session's reconnect). Loopback and
// connections from this host itself are not counted (every format admits them); neither
// is the other address family for iptables / ip6tables. Failure: the host source's.
[[nodiscard]] Result<std::vector<InboundSession>> SessionsLockedOut(
    FirewallFormat format, std::span<const Service> services, const FirewallOptions& options,
    HostSource& host);

// The rules text. Failure: the renderer's.
[[nodiscard]] Result<std::string> FirewallRules(FirewallFormat format,
                                                std::span<const Service> services,
                                                const FirewallOptions& options);

// How to load rules on this host.
struct ApplyRequest {
  bool force = false;  // load even when established inbound sessions would be locked out
  // Restore the previous rules unless ConfirmApply runs within this time.
  std::optional<std::chrono::seconds> confirm_within;
  // The arguments (after the program) that make a new berth process run RunRevertWatchdog
  // for this tool and state directory.
  std::vector<std::string> watchdog_args;
};

struct ApplyOutcome {
  bool applied = false;
  std::vector<InboundSession> locked_out;  // when not applied: the sessions that stopped it
  int watchdog_pid = 0;                    // with confirm_within: the watchdog
};

// Loads `rules` (rendered for `format` from `services` and `options`) with `tool`: refuses
// (applied = false, nothing changed) when established inbound TCP sessions of `host` would
// be locked out and !request.force; then ApplyFirewall, then, with a deadline, the revert
// watchdog. Failure: kConflict when an earlier apply still waits for confirmation (nothing
// changed); ApplyFirewall's and SessionsLockedOut's errors (the history entry is stamped
// with `clock`); when the watchdog cannot start,
// the rules just loaded are rolled back and its error returned.
[[nodiscard]] Result<ApplyOutcome> ApplyRules(RulesTool tool, FirewallFormat format,
                                              std::string_view rules,
                                              std::span<const Service> services,
                                              const FirewallOptions& options,
                                              const ApplyOptions& apply_options,
                                              const ApplyRequest& request, HostSource& host,
                                              const Clock& clock);

// RollbackFirewall, after cancelling a pending confirm-or-revert of `tool` (so its
// watchdog does not roll back a second step). Failure: RollbackFirewall's.
[[nodiscard]] Result<void> RollbackRules(RulesTool tool, const ApplyOptions& options,
                                         RollbackTo to);

// The surface comparison; the host's ephemeral range and the port mappers listening on it
// come from `host`. Warnings of the snapshot go to `warnings`.
[[nodiscard]] Result<SurfaceReport> CompareSurfaceOnHost(std::span<const Service> services,
                                                         SurfaceOptions options, HostSource& host,
                                                         std::vector<std::string>& warnings);

}  // namespace berth::app
