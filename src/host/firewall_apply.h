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

#include "core/error.h"

namespace berth {

enum class RulesTool : std::uint8_t { kNft, kIptables, kIp6tables };

std::string_view RulesToolName(RulesTool tool);  // "nft", "iptables", "ip6tables"

struct ApplyOptions {
  std::string state_dir = "/var/lib/berth/firewall";  // <tool>.rules, <tool>.previous
  std::string nft_table = "berth";  // the nft rules replace only table inet <nft_table>
};

// The result of running a tool: exit status (-1 when killed or not started), its output.
struct ToolResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv (PATH lookup, no shell) with stdin from `stdin_path` ("" = /dev/null).
// Failure: kNotFound when the program is missing; otherwise the exit code is in the result.
[[nodiscard]] Result<ToolResult> RunTool(const std::vector<std::string>& argv,
                                         const std::string& stdin_path = "");

// Checks, saves the current ruleset and loads `rules`. Failure: kUnavailable when the tool is missing on this host;
// kMalformed when the tool rejects the rules (its message included, nothing changed);
// kInternal when loading failed (the previous rules were restored, message says if not).
[[nodiscard]] Result<void> ApplyFirewall(RulesTool tool, std::string_view rules,
                                         const ApplyOptions& options);

// Loads the rules saved by the last ApplyFirewall. Failure: kNotFound when nothing was
// saved; kInternal with the tool's message when loading fails.
[[nodiscard]] Result<void> RollbackFirewall(RulesTool tool, const ApplyOptions& options);

}  // namespace berth
