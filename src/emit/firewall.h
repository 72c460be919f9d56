// Firewall rules from the registry: nftables, iptables-restore (IPv4 and IPv6), firewalld,
// ufw and Windows PowerShell, each allowing exactly the registered ports of a group per
// protocol, optionally only from the service's source CIDRs, plus the group's allow list
// (ports such as SSH that are open without a registered service). Pure: text goes to a Sink.
// Thread-safe (no shared state). docs/enforce.md describes each format.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/service.h"
#include "emit/scan_render.h"

namespace berth {

enum class FirewallFormat : std::uint8_t { kNft, kIptables, kIp6tables, kFirewalld, kUfw, kPowershell };
enum class FirewallPolicy : std::uint8_t { kDrop, kAccept };

// "nft", "iptables", "ip6tables", "firewalld", "ufw", "powershell".
std::string_view FirewallFormatName(FirewallFormat f);
// Failure: kInvalidArgument listing the formats.
[[nodiscard]] Result<FirewallFormat> ParseFirewallFormat(std::string_view text);

struct FirewallOptions {
  std::string group;  // "" = every group
  FirewallPolicy policy = FirewallPolicy::kDrop;  // what happens to everything else inbound
  std::string zone = "public";                    // firewalld zone
  // The allow lists (registry::Group::allow) of the selected groups: ports held by no
  // registered service that must stay reachable (SSH, RDP). Opened for TCP and UDP from any
  // source, since an allow list names ports, not protocols.
  PortSet allow;
};

// What the rules open, independent of the format: ports open to any source, and ports
// open only to given sources (canonical CIDR -> ports), per protocol (index: Protocol).
struct FirewallPlan {
  std::string group;                           // as selected ("" = all)
  std::vector<const Service*> services;        // selected, sorted by name
  PortSet allow;                               // the groups' allow lists (also in `any`)
  PortSet any[2];
  std::map<std::string, PortSet> v4_sources[2];
  std::map<std::string, PortSet> v6_sources[2];
};

// Selects the group's services and merges their ports. Failure: kInvalidArgument for a
// service whose name fails ValidateServiceName, whose port is 0, or whose source is not a
// CIDR; kNotFound when the group has no services and no allow list. `services` must outlive the plan.
[[nodiscard]] Result<FirewallPlan> PlanFirewall(std::span<const Service> services,
                                                const FirewallOptions& options);

// Renders the plan's rules in `format`. Failure: as PlanFirewall.
[[nodiscard]] Result<void> RenderFirewall(FirewallFormat format, std::span<const Service> services,
                                          const FirewallOptions& options, const Sink& sink);

// The per-format renderers (firewall_<format>.cc), for tests and the benchmark.
void RenderNft(const FirewallPlan& plan, const FirewallOptions& options, const Sink& sink);
void RenderIptables(const FirewallPlan& plan, const FirewallOptions& options, int family,
                    const Sink& sink);
void RenderFirewalld(const FirewallPlan& plan, const FirewallOptions& options, const Sink& sink);
void RenderUfw(const FirewallPlan& plan, const FirewallOptions& options, const Sink& sink);
void RenderPowershell(const FirewallPlan& plan, const FirewallOptions& options, const Sink& sink);

// Splits a set into iptables/ufw multiport lists ("a,b:c") of at most 15 port slots each
// (a range takes two).
std::vector<std::string> MultiportBatches(const PortSet& ports);

// The nftables table berth owns ("inet berth"); `--apply` replaces only this table.
inline constexpr std::string_view kNftTable = "berth";

// The iptables / ip6tables chain berth owns, jumped to from INPUT; `--apply` loads it with
// `iptables-restore --noflush` and touches nothing else of the filter table.
inline constexpr std::string_view kIptablesChain = "BERTH-INPUT";

// Shared by the renderers: "# name proto/port group=… owner=… description=… tags=…" text
// (CommentText applied), without the comment marker.
std::string ServiceSummary(const Service& s);

// "allow=22,3389 (group allow list, tcp and udp)" for a plan with an allow list, else "".
std::string AllowSummary(const FirewallPlan& plan);

// The name berth gives the allow list's rules (firewalld service, PowerShell rule prefix):
// "berth-_allow", which no service can take ('_' never appears in a service name).
inline constexpr std::string_view kAllowRuleName = "berth-_allow";

// What `berth firewall --json` reports (every mode but --surface, which has its own document):
// {"action": "print"|"write"|"apply"|"rollback"|"confirm", "applied": bool,
//  "confirm_within_seconds": N|null, "format", "restored": "previous"|"pre-berth"|null,
//  "rules": text|null, "schema": "berth.firewall/1", "watchdog_pid": N|null,
//  "written": path|null}. Pretty, keys alphabetical.
inline constexpr std::string_view kFirewallSchema = "berth.firewall/1";
struct FirewallResultView {
  std::string_view action{};
  std::string_view format{};
  const std::string* rules = nullptr;  // the ruleset rendered (print, write, apply)
  std::string written{};               // --write PATH, "" when none
  bool applied = false;
  long long confirm_within_seconds = 0;  // 0: no confirm-or-revert
  int watchdog_pid = 0;
  std::string_view restored{};           // rollback: "previous" or "pre-berth"
};
void RenderFirewallResultJson(const FirewallResultView& v, const Sink& sink);

}  // namespace berth
