// Loading generated firewall rules on this host (`berth firewall --apply`) and putting the
// previous rules back (`--rollback`). nft and iptables-restore/ip6tables-restore only: the
// rules are checked first (nft -c, iptables-restore --test), the current rules saved in the
// state directory, then loaded; a failed load restores what was saved. Runs in the calling
// process's network namespace. Not safe to run concurrently against one state directory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/process.h"

namespace berth {

enum class RulesTool : std::uint8_t { kNft, kIptables, kIp6tables };

std::string_view RulesToolName(RulesTool tool);  // "nft", "iptables", "ip6tables"

struct ApplyOptions {
  std::string state_dir = "/var/lib/berth/firewall";  // <tool>.rules, <tool>.previous
  std::string nft_table = "berth";  // the nft rules replace only table inet <nft_table>
};

// Checks, saves the current ruleset and loads `rules`. Failure: kUnavailable when the tool is missing on this host;
// kMalformed when the tool rejects the rules (its message included, nothing changed);
// kInternal when loading failed (the previous rules were restored, message says if not).
[[nodiscard]] Result<void> ApplyFirewall(RulesTool tool, std::string_view rules,
                                         const ApplyOptions& options);

// Loads the rules saved by the last ApplyFirewall. Failure: kNotFound when nothing was
// saved; kInternal with the tool's message when loading fails.
[[nodiscard]] Result<void> RollbackFirewall(RulesTool tool, const ApplyOptions& options);

}  // namespace berth
