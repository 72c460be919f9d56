// berth firewall: rules that open exactly the registered ports (nft, iptables, ip6tables,
// firewalld, ufw, PowerShell), written atomically or applied with rollback, and the
// attack-surface comparison (--surface). Services come from the registry (--db) or from a
// berth.toml file (--from).
#include <charconv>
#include <chrono>
#include <memory>

#include <fmt/core.h>

#include "app/firewall.h"
#include "base/clock.h"
#include "base/file.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "emit/firewall.h"
#include "emit/surface.h"
#include "host/firewall_apply.h"
#include "host/live_host.h"

namespace berth::cli {
namespace {

struct FirewallFlags {
  std::string format = "nft";
  std::string from;
  StoreFlags store;
  std::string write;
  std::string state_dir = ApplyOptions{}.state_dir;
  std::string dynamic = "host";
  FirewallOptions options;
  std::string policy = "drop";
  bool apply = false;
  bool force = false;
  std::string confirm_within;  // "" = no deadline
  bool confirm = false;
  bool revert_watchdog = false;  // internal: the process --confirm-within starts
  bool rollback = false;
  std::string rollback_to = "previous";
  bool surface = false;
  bool json = false;
};

// The services and groups: from --from (a berth.toml, parsed as `berth import` does) or
// from the registry (--store/--db).
Result<app::FirewallInput> LoadInput(const FirewallFlags& f) {
  if (!f.from.empty()) {
    const std::string text = BERTH_TRY(ReadSmallFile(f.from));
    return app::FirewallInputFromFile(text, f.from);
  }
  auto store = BERTH_TRY(OpenRegistry(f.store, registry::OpenMode::kRead));
  return app::FirewallInputFromStore(*store);
}

// "90", "90s", "2m": 1 second to 1 day.
Result<std::chrono::seconds> ParseDeadline(std::string_view text) {
  std::string_view digits = text;
  long scale = 1;
  if (!digits.empty() && (digits.back() == 's' || digits.back() == 'm')) {
    scale = digits.back() == 'm' ? 60 : 1;
    digits.remove_suffix(1);
  }
  long n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || n <= 0 ||
      n > 86400 / scale) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("--confirm-within '{}': use seconds or minutes such as 60s or 5m "
                            "(at most one day)",
                            text));
  }
  return std::chrono::seconds(n * scale);
}

std::string SessionList(const std::vector<app::InboundSession>& sessions) {
  std::string out;
  for (const app::InboundSession& s : sessions) {
    out += fmt::format("\n  local port {} ({}) <- peer {}", s.local_port,
                       FormatEndpoint(s.local, s.local_port), FormatEndpoint(s.peer, s.peer_port));
  }
  return out;
}

// The tool that loads `format` on this host.
Result<RulesTool> ToolFor(FirewallFormat f) {
  switch (f) {
    case FirewallFormat::kNft: return RulesTool::kNft;
    case FirewallFormat::kIptables: return RulesTool::kIptables;
    case FirewallFormat::kIp6tables: return RulesTool::kIp6tables;
    default:
      return Fail(ErrorCode::kInvalidArgument,
                  fmt::format("--apply and --rollback load nft and iptables rules only; for {} "
                              "write the file with --write and run it with that tool",
                              FirewallFormatName(f)));
  }
}

int Surface(const FirewallFlags& f, std::span<const Service> services) {
  SurfaceOptions o;
  o.group = f.options.group;
  o.design = f.dynamic == "windows" ? DynamicDesign::kWindows : DynamicDesign::kHost;
  std::vector<std::string> warnings;
  LiveHost host;
  auto report = app::CompareSurfaceOnHost(services, o, host, warnings);
  if (!report) return PrintError(report.error());
  const Sink sink = [](std::string_view s) { WriteStdout(s); };
  if (f.json) {
    RenderSurfaceJson(*report, sink);
  } else {
    RenderSurfaceText(*report, sink);
  }
  PrintWarnings(warnings);
  return 0;
}

// Options given that the chosen mode does not use: an error, never silently ignored.
// Returns the message, or "" when the combination is fine.
std::string UnusedOptions(const CLI::App& cmd, const FirewallFlags& f) {
  auto given = [&cmd](const char* name) { return cmd.count(name) > 0; };
  const char* modes[] = {"--apply", "--rollback", "--confirm", "--surface"};
  std::string chosen;
  for (const char* m : modes) {
    if (!given(m)) continue;
    if (!chosen.empty()) {
      return fmt::format("{} and {} cannot be combined: run them one at a time", chosen, m);
    }
    chosen = m;
  }
  struct Needs {
    const char* option;
    const char* mode;  // the option is used only with this mode
  };
  for (const Needs& n : {Needs{"--force", "--apply"}, Needs{"--confirm-within", "--apply"},
                         Needs{"--to", "--rollback"}, Needs{"--dynamic", "--surface"}}) {
    if (given(n.option) && chosen != n.mode) {
      return fmt::format("{} is used only with {}: add {} or remove {}", n.option, n.mode,
                         n.mode, n.option);
    }
  }
  if (f.surface) {
    // --surface compares port sets: it renders, writes and loads no rules.
    for (const char* o : {"--format", "--policy", "--zone", "--write", "--state-dir"}) {
      if (given(o)) {
        return fmt::format("{} does not apply to --surface (it compares ports and writes no "
                           "rules): remove {}, or drop --surface to get rules",
                           o, o);
      }
    }
  }
  return "";
}

int Run(FirewallFlags& f) {
  auto format = ParseFirewallFormat(f.format);
  if (!format) return PrintError(format.error());
  f.options.policy = f.policy == "accept" ? FirewallPolicy::kAccept : FirewallPolicy::kDrop;
  ApplyOptions apply_options;
  apply_options.state_dir = f.state_dir;
  apply_options.nft_table = std::string(kNftTable);
  apply_options.iptables_chain = std::string(kIptablesChain);
  if (f.confirm || f.revert_watchdog) {
    auto tool = ToolFor(*format);
    if (!tool) return PrintError(tool.error());
    if (f.revert_watchdog) {
      // Detached, output on /dev/null: the outcome is in the state directory.
      return RunRevertWatchdog(*tool, apply_options) ? 0 : 2;
    }
    if (auto r = ConfirmApply(*tool, apply_options); !r) return PrintError(r.error());
    fmt::print(stderr, "berth: confirmed: the {} rules stay loaded\n", RulesToolName(*tool));
    if (f.json) RenderFirewallResultJson({.action = "confirm", .format = f.format}, kStdoutSink);
    return 0;
  }
  if (f.rollback) {
    auto tool = ToolFor(*format);
    if (!tool) return PrintError(tool.error());
    const RollbackTo to =
        f.rollback_to == "pre-berth" ? RollbackTo::kPreBerth : RollbackTo::kPrevious;
    if (auto r = app::RollbackRules(*tool, apply_options, to); !r) return PrintError(r.error());
    fmt::print(stderr, "berth: restored the {} rules {}\n", RulesToolName(*tool),
               to == RollbackTo::kPreBerth ? "of before berth's first --apply"
                                           : "saved before the last --apply");
    if (f.json) {
      RenderFirewallResultJson({.action = "rollback", .format = f.format,
                                .restored = to == RollbackTo::kPreBerth ? "pre-berth" : "previous"},
                               kStdoutSink);
    }
    return 0;
  }
  auto input = LoadInput(f);
  if (!input) return PrintError(input.error());
  const std::vector<Service>& services = input->services;
  if (f.surface) return Surface(f, services);
  f.options.allow = app::GroupAllow(input->groups, f.options.group);

  auto rendered = app::FirewallRules(*format, services, f.options);
  if (!rendered) return PrintError(rendered.error());
  const std::string& rules = *rendered;
  FirewallResultView result{.action = f.apply ? "apply" : !f.write.empty() ? "write" : "print",
                            .format = f.format, .rules = &rules, .written = f.write};
  if (f.apply) {
    auto tool = ToolFor(*format);
    if (!tool) return PrintError(tool.error());
    app::ApplyRequest request;
    request.force = f.force;
    if (!f.confirm_within.empty()) {
      auto within = ParseDeadline(f.confirm_within);
      if (!within) return PrintError(within.error());
      request.confirm_within = *within;
      request.watchdog_args = {"firewall", "--revert-watchdog", "--format", f.format,
                               "--state-dir", f.state_dir};
    }
    LiveHost host;
    auto outcome = app::ApplyRules(*tool, *format, rules, services, f.options, apply_options,
                                   request, host, SystemClock());
    if (!outcome) return PrintError(outcome.error());
    if (!outcome->applied) {
      return PrintError(Error{
          ErrorCode::kConflict,
          fmt::format("refusing to load the {} rules: they would drop new connections to the "
                      "port of these established inbound sessions (yours, if you are logged "
                      "in through one):{}\nadd the port to the group's allow list ('berth "
                      "group add GROUP --allow PORT'), or pass --force to load anyway; nothing "
                      "was changed",
                      RulesToolName(*tool), SessionList(outcome->locked_out))});
    }
    result.applied = true;
    result.watchdog_pid = outcome->watchdog_pid;
    if (request.confirm_within) result.confirm_within_seconds = request.confirm_within->count();
    if (outcome->watchdog_pid > 0) {
      fmt::print(stderr,
                 "berth: loaded the {} rules; they are restored to the previous ones in {}s "
                 "unless 'berth firewall --confirm --format {} --state-dir {}' runs first "
                 "(watchdog pid {})\n",
                 RulesToolName(*tool), request.confirm_within->count(), f.format, f.state_dir,
                 outcome->watchdog_pid);
    } else {
      fmt::print(stderr, "berth: loaded the {} rules; the previous ones are kept for --rollback\n",
                 RulesToolName(*tool));
    }
  }
  if (!f.write.empty()) {
    const mode_t mode = *format == FirewallFormat::kFirewalld || *format == FirewallFormat::kUfw
                            ? 0755 : 0644;
    if (auto w = WriteFileAtomic(f.write, rules, mode); !w) return PrintError(w.error());
  } else if (!f.apply && !f.json) {
    WriteStdout(rules);
  }
  if (f.json) RenderFirewallResultJson(result, kStdoutSink);
  return 0;
}

}  // namespace

void AddFirewallCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<FirewallFlags>();
  CLI::App* cmd = app.add_subcommand(
      "firewall",
      "Firewall rules that open exactly the registered ports (per protocol, optionally only "
      "from each service's source CIDRs) and drop everything else inbound; or, with "
      "--surface, the attack surface of a dynamic-port design against the static one.");
  cmd->add_option("--format", flags->format,
                  "nft (one table, interval sets), iptables / ip6tables (iptables-restore "
                  "input), firewalld (sh script: service XML + zone commands), ufw (sh script), "
                  "powershell (New-NetFirewallRule script)")
      ->check(CLI::IsMember({"nft", "iptables", "ip6tables", "firewalld", "ufw", "powershell"}))
      ->capture_default_str();
  AddStoreOptions(cmd, flags->store);
  cmd->add_option("--from", flags->from,
                  "take the services from this berth.toml (as 'berth export --format toml' "
                  "writes it) instead of the registry");
  cmd->add_option("--group", flags->options.group, "only this group's services (default: all)");
  cmd->add_option("--policy", flags->policy, "what happens to other inbound traffic")
      ->check(CLI::IsMember({"drop", "accept"}))
      ->capture_default_str();
  cmd->add_option("--zone", flags->options.zone, "firewalld zone")->capture_default_str();
  cmd->add_option("--write", flags->write, "write to PATH atomically (temp file + rename), not stdout");
  cmd->add_flag("--apply", flags->apply,
                "load the rules on this host (nft -f, iptables-restore) after checking them; "
                "the current rules are saved for --rollback (needs root)");
  cmd->add_flag("--force", flags->force,
                "with --apply: load even when established inbound TCP sessions (an SSH login) "
                "are on ports the rules would close");
  cmd->add_option("--confirm-within", flags->confirm_within,
                  "with --apply: restore the previous rules after this time (60s, 5m) unless "
                  "'berth firewall --confirm' runs first");
  cmd->add_flag("--confirm", flags->confirm,
                "keep the rules of the last --apply --confirm-within of this --format");
  cmd->add_flag("--revert-watchdog", flags->revert_watchdog)->group("");
  cmd->add_flag("--rollback", flags->rollback,
                "load the rules saved by the last --apply of this --format");
  cmd->add_option("--to", flags->rollback_to,
                  "with --rollback: previous (one step back; repeat to go further, up to 10 "
                  "applies) or pre-berth (the rules before berth's first --apply)")
      ->check(CLI::IsMember({"previous", "pre-berth"}))
      ->capture_default_str();
  cmd->add_option("--state-dir", flags->state_dir,
                  "where --apply keeps the rules, the history of the last 10 applies and the "
                  "pre-berth rules")
      ->capture_default_str();
  cmd->add_flag("--surface", flags->surface,
                "compare the ports a dynamic-port design exposes with the registered ones");
  cmd->add_option("--dynamic", flags->dynamic,
                  "the dynamic design for --surface: host (this host's ephemeral range, TCP and "
                  "UDP, plus live port mappers) or windows (TCP 49152-65535, TCP 135, UDP 1434)")
      ->check(CLI::IsMember({"host", "windows"}))
      ->capture_default_str();
  cmd->add_flag("--json", flags->json, "print the result as JSON: the rules and what was done "
                                       "(schema berth.firewall/1), or with --surface the "
                                       "comparison (schema berth.surface/2)");
  cmd->footer(
      "Exit status: 0 ok, 2 error.\n"
      "Examples:\n"
      "  berth firewall --group db --format nft > berth.nft\n"
      "  sudo berth firewall --format nft --apply --confirm-within 60s\n"
      "  sudo berth firewall --format nft --confirm\n"
      "  sudo berth firewall --format nft --rollback\n"
      "  sudo berth firewall --format iptables --rollback --to pre-berth\n"
      "  berth firewall --from berth.toml --format powershell --write berth.ps1\n"
      "  berth firewall --surface --dynamic windows");
  cmd->callback([flags, cmd, &exit_code] {
    if (const std::string unused = UnusedOptions(*cmd, *flags); !unused.empty()) {
      exit_code = PrintError(unused);
      return;
    }
    exit_code = Run(*flags);
  });
}

}  // namespace berth::cli
