// berth check, berth reserve, berth range: hold this host to the registry.
#include <memory>

#include <fmt/core.h>

#include "app/host_check.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "base/text.h"
#include "emit/registry_render.h"
#include "host/live_host.h"

namespace berth::cli {
namespace {

struct CheckFlags {
  std::string allow, fail_on = "warning";
  StoreFlags store;
  bool json = false;
  bool no_procs = false;
};

int RunCheck(const CheckFlags& f) {
  PortSet extra;
  if (!f.allow.empty()) {
    auto parsed = PortSet::Parse(f.allow);
    if (!parsed) return PrintError(fmt::format("--allow: {}", parsed.error().message));
    extra = *parsed;
  }
  auto store = OpenRegistry(f.store, registry::OpenMode::kRead);
  if (!store) return PrintError(store.error());
  LiveHost host;
  auto report = app::CheckHost(**store, host, extra, !f.no_procs);
  if (!report) return PrintError(report.error());
  PrintWarnings(report->warnings);
  PrintFindings(report->findings, f.json,
                fmt::format("berth check ({} registered service(s) of this host)", report->services));
  return FindingsExitCode(report->findings, f.fail_on);
}

struct ReserveFlags {
  std::string write;
  StoreFlags store;
  bool apply = false;
  bool json = false;
};

int RunReserve(const ReserveFlags& f) {
  auto store = OpenRegistry(f.store, registry::OpenMode::kRead);
  if (!store) return PrintError(store.error());
  auto plan = app::PlanReserve(**store, LocalHostName());
  if (!plan) return PrintError(plan.error());
  const bool write = f.apply || !f.write.empty();
  ReserveView view{plan->current, plan->merged, plan->file, "/etc/sysctl.d/60-berth.conf", "",
                   false, std::nullopt};
  const RenderForm form = f.json ? RenderForm::kJson : RenderForm::kText;
  const Sink out = [](std::string_view s) { WriteStdout(s); };
  if (!write) {
    RenderReservePlan(view, form, out);
    return 0;
  }
  const std::string path = f.write.empty() ? view.default_path : f.write;
  if (auto w = app::WriteReserveFile(*plan, path); !w) return PrintError(w.error());
  view.written = path;
  if (f.apply) {
    auto set = app::SetReservedNow(*plan);
    if (!set) {
      if (!f.json) WriteStdout(fmt::format("wrote {}\n", TerminalSafe(path)));
      return PrintError(set.error());
    }
    view.applied = true;
    if (set->set) view.set_now = set->value;
  }
  RenderReservePlan(view, form, out);
  return 0;
}

int RunRange(int low, int high, bool json, const StoreFlags& where) {
  if (low < 1 || high > 65535 || low > high) {
    return PrintError(fmt::format("range {} {}: give LOW HIGH with 1 <= LOW <= HIGH <= 65535", low, high));
  }
  auto store = OpenRegistry(where, registry::OpenMode::kRead);
  if (!store) return PrintError(store.error());
  LiveHost host;
  auto report = app::CheckRange(**store, host, low, high);
  if (!report) return PrintError(report.error());
  PrintWarnings(report->warnings);
  PrintFindings(report->findings, json,
                fmt::format("ip_local_port_range {} {} (now {} {})", low, high, report->now.low,
                            report->now.high));
  return FindingsExitCode(report->findings, "warning");
}

}  // namespace

void AddCheckCommand(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<CheckFlags>();
  CLI::App* cmd = app.add_subcommand(
      "check", "Hold this host to the registry: every registered port of its groups is outside "
               "the ephemeral range (inside it, at least reserved in ip_local_reserved_ports) and "
               "listening; no listener is unregistered unless allowed. One finding per service "
               "and kind, one per process for its unregistered ports.");
  cmd->add_option("--allow", f->allow, "listener ports accepted unregistered, e.g. 22,53 "
                                       "(added to the groups' allowlists)");
  cmd->add_option("--fail-on", f->fail_on, "exit 1 when a finding is at least this severe: info, "
                                           "warning, error, or none")
      ->check(CLI::IsMember({"info", "warning", "error", "none"}))->capture_default_str();
  cmd->add_flag("--json", f->json, "print JSON: {\"findings\": [...]}");
  cmd->add_flag("--no-procs", f->no_procs, "do not name the processes (no /proc walk)");
  AddStoreOptions(cmd, f->store);
  cmd->footer("Exit status: 0 no finding at or above --fail-on, 1 findings, 2 error.");
  cmd->callback([f, &exit_code] { exit_code = RunCheck(*f); });
}

void AddReserveCommand(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<ReserveFlags>();
  CLI::App* cmd = app.add_subcommand(
      "reserve", "Compute net.ipv4.ip_local_reserved_ports covering the registry, merged with the "
                 "current value (never dropping an entry). Without options, prints it.");
  cmd->add_option("--write", f->write, "write the sysctl.d file here (default with --apply: "
                                       "/etc/sysctl.d/60-berth.conf)");
  cmd->add_flag("--json", f->json, "print what was computed and done as JSON (schema berth.reserve/1)");
  cmd->add_flag("--apply", f->apply, "also write the file and set the value in this network "
                                     "namespace now (needs root)");
  AddStoreOptions(cmd, f->store);
  cmd->footer("Exit status: 0 ok, 2 error.\n"
              "Example: sudo berth reserve --apply");
  cmd->callback([f, &exit_code] { exit_code = RunReserve(*f); });
}

void AddRangeCommand(CLI::App& app, int& exit_code) {
  struct Flags {
    int low = 0, high = 0;
    bool json = false;
    StoreFlags store;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "range", "Check a proposed net.ipv4.ip_local_port_range LOW HIGH against the registry and "
               "the live listeners: say what it would break before you change it.");
  cmd->add_option("low", f->low, "first port of the proposed range")->required();
  cmd->add_option("high", f->high, "last port of the proposed range")->required();
  cmd->add_flag("--json", f->json, "print JSON: {\"findings\": [...]}");
  AddStoreOptions(cmd, f->store);
  cmd->footer("Exit status: 0 safe, 1 something would break, 2 error.");
  cmd->callback([f, &exit_code] { exit_code = RunRange(f->low, f->high, f->json, f->store); });
}

}  // namespace berth::cli
