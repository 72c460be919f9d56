// Loading generated firewall rules on this host (`berth firewall --apply`) and putting
// earlier rules back (`--rollback`). nft and iptables-restore/ip6tables-restore only, and
// only berth's own table (nft) or chain and its jump from INPUT (iptables, loaded with
// --noflush): nothing else of the ruleset is read back or replaced. The rules are checked
// first (nft -c, iptables-restore --test), berth's current rules saved in the state
// directory's history (the last kApplyHistory applies, plus the state before berth's first
// apply), then loaded; a failed load restores what was saved. Runs in the calling
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

// The state directory holds, per tool: <tool>.rules (the last rules loaded),
// <tool>.history/<seq>-<unix time>.rules (berth's rules before each apply, newest last)
// and <tool>.pre-berth (before berth's first apply).
struct ApplyOptions {
  std::string state_dir = "/var/lib/berth/firewall";
  std::string nft_table = "berth";  // the nft rules replace only table inet <nft_table>
  std::string iptables_chain = "BERTH-INPUT";  // iptables: only this chain and its jump
  std::int64_t now_unix = 0;                    // recorded in the history's file names
};

// How many applies the history keeps (older ones are pruned; pre-berth is kept apart).
inline constexpr std::size_t kApplyHistory = 10;

enum class RollbackTo : std::uint8_t {
  kPrevious,  // one step: the rules before the last apply (repeatable, kApplyHistory deep)
  kPreBerth,  // the rules before berth's first apply; the history is emptied
};

// Checks, saves the current ruleset and loads `rules`. Failure: kUnavailable when the tool is missing on this host;
// kMalformed when the tool rejects the rules (its message included, nothing changed);
// kInternal when loading failed (the previous rules were restored, message says if not).
[[nodiscard]] Result<void> ApplyFirewall(RulesTool tool, std::string_view rules,
                                         const ApplyOptions& options);

// Loads saved rules and drops them from the history. Failure: kNotFound when nothing is
// saved; kInternal with the tool's message when loading fails (the history is kept).
[[nodiscard]] Result<void> RollbackFirewall(RulesTool tool, const ApplyOptions& options,
                                            RollbackTo to = RollbackTo::kPrevious);

}  // namespace berth
