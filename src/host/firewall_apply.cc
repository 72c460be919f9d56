#include "host/firewall_apply.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/core.h>

#include "base/file.h"
#include "base/process.h"

namespace berth {
namespace {

struct Tool {
  std::string_view name;          // file prefix in the state dir
  std::vector<std::string> save;  // prints the current ruleset
  std::vector<std::string> check; // + file
  std::vector<std::string> load;  // + file
};

Tool ToolFor(RulesTool t, const ApplyOptions& o) {
  switch (t) {
    case RulesTool::kIptables:
      return {"iptables", {"iptables-save", "-t", "filter"}, {"iptables-restore", "--test"},
              {"iptables-restore"}};
    case RulesTool::kIp6tables:
      return {"ip6tables", {"ip6tables-save", "-t", "filter"}, {"ip6tables-restore", "--test"},
              {"ip6tables-restore"}};
    case RulesTool::kNft:
      break;
  }
  return {"nft", {"nft", "list", "table", "inet", o.nft_table}, {"nft", "-c", "-f"},
          {"nft", "-f"}};
}

Result<ToolResult> RunWithFile(std::vector<std::string> argv, const std::string& file) {
  argv.push_back(file);
  return RunTool(argv);
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<void> MakeStateDir(const std::string& dir) {
  for (std::size_t i = 1; i <= dir.size(); ++i) {
    if (i < dir.size() && dir[i] != '/') continue;
    const std::string part = dir.substr(0, i);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      return std::unexpected(ErrnoError(errno, "create state directory " + part));
    }
  }
  return {};
}

// The ruleset to restore later. For nft: a script that recreates berth's table as it is
// now, or only deletes it when there was none.
Result<std::string> SaveCurrent(RulesTool t, const Tool& tool, const ApplyOptions& o) {
  ToolResult r = BERTH_TRY(RunTool(tool.save));
  if (t == RulesTool::kNft) {
    std::string script = fmt::format("table inet {0}\ndelete table inet {0}\n", o.nft_table);
    if (r.exit_code == 0) script += r.out;  // missing table: exit 1, nothing to recreate
    return script;
  }
  if (r.exit_code != 0) {
    return Fail(ErrorCode::kUnavailable,
                fmt::format("{} failed: {}", tool.save[0], Trim(r.err)));
  }
  return r.out;
}

}  // namespace

std::string_view RulesToolName(RulesTool t) { return ToolFor(t, ApplyOptions{}).name; }

Result<void> ApplyFirewall(RulesTool which, std::string_view rules, const ApplyOptions& options) {
  if (options.nft_table.empty() || options.nft_table.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument, "nft table name: use a-z, 0-9 and '_'");
  }
  const Tool tool = ToolFor(which, options);
  BERTH_TRY(MakeStateDir(options.state_dir));
  const std::string rules_path = fmt::format("{}/{}.rules", options.state_dir, tool.name);
  const std::string previous_path = fmt::format("{}/{}.previous", options.state_dir, tool.name);
  BERTH_TRY(WriteFileAtomic(rules_path, rules, 0600));

  auto check = RunWithFile(tool.check, rules_path);
  if (!check && check.error().code == ErrorCode::kNotFound) {
    return Fail(ErrorCode::kUnavailable, check.error().message);
  }
  if (!check) return std::unexpected(check.error());
  if (check->exit_code != 0) {
    return Fail(ErrorCode::kMalformed, fmt::format("{} rejected {}: {}", tool.check[0],
                                                   rules_path, Trim(check->err)));
  }
  const std::string previous = BERTH_TRY(SaveCurrent(which, tool, options));
  BERTH_TRY(WriteFileAtomic(previous_path, previous, 0600));

  ToolResult load = BERTH_TRY(RunWithFile(tool.load, rules_path));
  if (load.exit_code == 0) return {};
  std::string restored = "the previous rules were restored";
  auto back = RunWithFile(tool.load, previous_path);
  if (!back || back->exit_code != 0) restored = "restoring the previous rules failed too";
  return Fail(ErrorCode::kInternal, fmt::format("{} {} failed ({}): {}", tool.load[0], rules_path,
                                                restored, Trim(load.err)));
}

Result<void> RollbackFirewall(RulesTool which, const ApplyOptions& options) {
  const Tool tool = ToolFor(which, options);
  const std::string previous_path = fmt::format("{}/{}.previous", options.state_dir, tool.name);
  auto saved = ReadSmallFile(previous_path);
  if (!saved) {
    return Fail(ErrorCode::kNotFound,
                fmt::format("nothing to roll back: {} ({})", previous_path, saved.error().message));
  }
  ToolResult load = BERTH_TRY(RunWithFile(tool.load, previous_path));
  if (load.exit_code != 0) {
    return Fail(ErrorCode::kInternal,
                fmt::format("{} {} failed: {}", tool.load[0], previous_path, Trim(load.err)));
  }
  return {};
}

}  // namespace berth
