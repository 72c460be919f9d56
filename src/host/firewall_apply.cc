#include "host/firewall_apply.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <sstream>

#include <fmt/core.h>

#include "base/file.h"
#include "base/process.h"

namespace berth {
namespace {

struct Tool {
  std::string_view name;           // file prefix in the state dir
  std::vector<std::string> save;   // prints the current ruleset
  std::vector<std::string> check;  // + file
  std::vector<std::string> load;   // + file
  std::string_view bin;            // iptables / ip6tables (empty for nft)
};

Tool ToolFor(RulesTool t, const ApplyOptions& o) {
  switch (t) {
    case RulesTool::kIptables:
      return {"iptables", {"iptables-save", "-t", "filter"},
              {"iptables-restore", "--test", "--noflush"}, {"iptables-restore", "--noflush"},
              "iptables"};
    case RulesTool::kIp6tables:
      return {"ip6tables", {"ip6tables-save", "-t", "filter"},
              {"ip6tables-restore", "--test", "--noflush"}, {"ip6tables-restore", "--noflush"},
              "ip6tables"};
    case RulesTool::kNft:
      break;
  }
  return {"nft", {"nft", "list", "table", "inet", o.nft_table}, {"nft", "-c", "-f"},
          {"nft", "-f"}, ""};
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

// What an iptables restore file of berth's chain holds when there was no chain: the
// rollback then removes the chain and its jump.
constexpr std::string_view kNoChain = "# berth: no BERTH-INPUT chain\n";

// The jump lines from INPUT to berth's chain in `save` (iptables-save output).
int JumpCount(const std::string& save, const ApplyOptions& o) {
  int n = 0;
  std::istringstream in(save);
  for (std::string line; std::getline(in, line);) {
    if (line == fmt::format("-A INPUT -j {}", o.iptables_chain)) ++n;
  }
  return n;
}

// The ruleset to restore later. nft: a script that recreates berth's table as it is now,
// or only deletes it when there was none. iptables: a --noflush restore file of berth's
// chain and jump, or kNoChain.
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
  const std::string decl = fmt::format(":{} ", o.iptables_chain);
  const std::string rule = fmt::format("-A {} ", o.iptables_chain);
  std::string chain;
  bool found = false;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(decl)) found = true;
    if (line.starts_with(rule)) chain += line + "\n";
  }
  if (!found) return std::string(kNoChain);
  return fmt::format("*filter\n:{0} - [0:0]\n{1}-I INPUT 1 -j {0}\nCOMMIT\n", o.iptables_chain,
                     chain);
}

// iptables: one jump from INPUT to berth's chain, whatever a reload added.
Result<void> DedupeJump(const Tool& tool, const ApplyOptions& o) {
  for (int guard = 0; guard < 64; ++guard) {
    ToolResult save = BERTH_TRY(RunTool(tool.save));
    if (save.exit_code != 0 || JumpCount(save.out, o) <= 1) return {};
    ToolResult d = BERTH_TRY(RunTool({std::string(tool.bin), "-t", "filter", "-D", "INPUT", "-j",
                                      std::string(o.iptables_chain)}));
    if (d.exit_code != 0) {
      return Fail(ErrorCode::kInternal, fmt::format("{} -D INPUT -j {} failed: {}", tool.bin,
                                                    o.iptables_chain, Trim(d.err)));
    }
  }
  return {};
}

// iptables: removes berth's jump and chain, nothing else.
Result<void> RemoveChain(const Tool& tool, const ApplyOptions& o) {
  for (int guard = 0; guard < 64; ++guard) {
    ToolResult save = BERTH_TRY(RunTool(tool.save));
    if (save.exit_code != 0 || JumpCount(save.out, o) == 0) break;
    ToolResult d = BERTH_TRY(RunTool({std::string(tool.bin), "-t", "filter", "-D", "INPUT", "-j",
                                      std::string(o.iptables_chain)}));
    if (d.exit_code != 0) break;
  }
  const std::string bin(tool.bin);
  (void)BERTH_TRY(RunTool({bin, "-t", "filter", "-F", std::string(o.iptables_chain)}));
  (void)BERTH_TRY(RunTool({bin, "-t", "filter", "-X", std::string(o.iptables_chain)}));
  return {};
}

// Loads a saved ruleset file (or, for iptables, kNoChain: removes berth's chain).
Result<void> LoadSaved(RulesTool t, const Tool& tool, const std::string& path,
                       const ApplyOptions& o) {
  if (t != RulesTool::kNft) {
    const std::string text = BERTH_TRY(ReadSmallFile(path));
    if (text == kNoChain) return RemoveChain(tool, o);
  }
  ToolResult load = BERTH_TRY(RunWithFile(tool.load, path));
  if (load.exit_code != 0) {
    return Fail(ErrorCode::kInternal,
                fmt::format("{} {} failed: {}", tool.load[0], path, Trim(load.err)));
  }
  if (t != RulesTool::kNft) BERTH_TRY(DedupeJump(tool, o));
  return {};
}

std::string HistoryDir(const Tool& tool, const ApplyOptions& o) {
  return fmt::format("{}/{}.history", o.state_dir, tool.name);
}

std::string PreBerthPath(const Tool& tool, const ApplyOptions& o) {
  return fmt::format("{}/{}.pre-berth", o.state_dir, tool.name);
}

// The history entries ("<seq>-<unix time>.rules"), oldest first.
Result<std::vector<std::string>> HistoryEntries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return std::unexpected(ErrnoError(errno, "open " + dir));
  }
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() > 6 && name.ends_with(".rules") && name[0] >= '0' && name[0] <= '9') {
      out.push_back(name);
    }
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());  // the sequence number is zero-padded
  return out;
}

void RemoveHistory(const Tool& tool, const ApplyOptions& o) {
  const std::string dir = HistoryDir(tool, o);
  if (auto entries = HistoryEntries(dir)) {
    for (const std::string& e : *entries) ::unlink((dir + "/" + e).c_str());
  }
  ::unlink(PreBerthPath(tool, o).c_str());
}

}  // namespace

std::string_view RulesToolName(RulesTool t) { return ToolFor(t, ApplyOptions{}).name; }

Result<void> ApplyFirewall(RulesTool which, std::string_view rules, const ApplyOptions& options) {
  if (options.nft_table.empty() || options.nft_table.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument, "nft table name: use a-z, 0-9 and '_'");
  }
  const Tool tool = ToolFor(which, options);
  const std::string history = HistoryDir(tool, options);
  BERTH_TRY(MakeStateDir(history));
  const std::string rules_path = fmt::format("{}/{}.rules", options.state_dir, tool.name);
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
  std::vector<std::string> entries = BERTH_TRY(HistoryEntries(history));
  unsigned long seq = 1;
  if (!entries.empty()) seq = std::stoul(entries.back().substr(0, entries.back().find('-'))) + 1;
  const std::string previous_path =
      fmt::format("{}/{:06}-{}.rules", history, seq, options.now_unix);
  // The state before berth's first apply (the first after a rollback to it) is kept apart
  // from the history, so pruning never loses it.
  const std::string pre_berth = PreBerthPath(tool, options);
  if (::access(pre_berth.c_str(), F_OK) != 0) {
    BERTH_TRY(WriteFileAtomic(pre_berth, previous, 0600));
  }
  BERTH_TRY(WriteFileAtomic(previous_path, previous, 0600));

  ToolResult load = BERTH_TRY(RunWithFile(tool.load, rules_path));
  if (load.exit_code == 0) {
    if (which != RulesTool::kNft) BERTH_TRY(DedupeJump(tool, options));
    entries.push_back(previous_path.substr(history.size() + 1));
    while (entries.size() > kApplyHistory) {
      ::unlink((history + "/" + entries.front()).c_str());
      entries.erase(entries.begin());
    }
    return {};
  }
  std::string restored = "the previous rules were restored";
  if (!LoadSaved(which, tool, previous_path, options)) restored = "restoring the previous rules failed too";
  ::unlink(previous_path.c_str());
  return Fail(ErrorCode::kInternal, fmt::format("{} {} failed ({}): {}", tool.load[0], rules_path,
                                                restored, Trim(load.err)));
}

Result<void> RollbackFirewall(RulesTool which, const ApplyOptions& options, RollbackTo to) {
  const Tool tool = ToolFor(which, options);
  const std::string history = HistoryDir(tool, options);
  if (to == RollbackTo::kPreBerth) {
    const std::string pre_berth = PreBerthPath(tool, options);
    if (::access(pre_berth.c_str(), F_OK) != 0) {
      return Fail(ErrorCode::kNotFound,
                  fmt::format("nothing to roll back: no {} (berth has not applied {} rules "
                              "since the last full rollback)",
                              pre_berth, tool.name));
    }
    BERTH_TRY(LoadSaved(which, tool, pre_berth, options));
    RemoveHistory(tool, options);
    return {};
  }
  std::vector<std::string> entries = BERTH_TRY(HistoryEntries(history));
  if (entries.empty()) {
    // berth before the history kept one level: <tool>.previous.
    const std::string legacy = fmt::format("{}/{}.previous", options.state_dir, tool.name);
    if (::access(legacy.c_str(), F_OK) == 0) {
      BERTH_TRY(LoadSaved(which, tool, legacy, options));
      ::unlink(legacy.c_str());
      return {};
    }
    return Fail(ErrorCode::kNotFound,
                fmt::format("nothing to roll back: {} holds no saved {} rules", history,
                            tool.name));
  }
  const std::string newest = history + "/" + entries.back();
  BERTH_TRY(LoadSaved(which, tool, newest, options));
  ::unlink(newest.c_str());
  return {};
}

}  // namespace berth
