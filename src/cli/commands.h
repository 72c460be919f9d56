// The subcommands of the berth binary. Each Add* registers one subcommand on the app and
// stores its exit code (0 ok, 1 findings at or above --fail-on, 2 error) in `exit_code`
// when it runs. Called once, from main, on one thread.
#pragma once

#include <CLI/CLI.hpp>

namespace berth::cli {

void AddScanCommand(CLI::App& app, int& exit_code);
void AddPressureCommand(CLI::App& app, int& exit_code);

// The registry (src/cli/registry_*.cc, docs/registry.md).
void AddAssignCommand(CLI::App& app, int& exit_code);
void AddAdoptCommand(CLI::App& app, int& exit_code);
void AddReleaseCommand(CLI::App& app, int& exit_code);
void AddListCommand(CLI::App& app, int& exit_code);
void AddShowCommand(CLI::App& app, int& exit_code);
void AddGroupCommand(CLI::App& app, int& exit_code);
void AddFamilyCommand(CLI::App& app, int& exit_code);
void AddExportCommand(CLI::App& app, int& exit_code);
void AddImportCommand(CLI::App& app, int& exit_code);
void AddPlanCommand(CLI::App& app, int& exit_code);
void AddApplyCommand(CLI::App& app, int& exit_code);
void AddStoreCommand(CLI::App& app, int& exit_code);  // berth store check
void AddCheckCommand(CLI::App& app, int& exit_code);
void AddReserveCommand(CLI::App& app, int& exit_code);
void AddRangeCommand(CLI::App& app, int& exit_code);
void AddProbeCommand(CLI::App& app, int& exit_code);
// Rewrites nmap's "-iL" (not a name CLI11 accepts) to "--input-list" in argv, in place.
void RewriteProbeArgs(int argc, char** argv);
void AddFirewallCommand(CLI::App& app, int& exit_code);
// berth pin (src/cli/pin_cmd.cc, docs/pin.md).
void AddPinCommand(CLI::App& app, int& exit_code);
// berth lint (src/cli/lint_cmd.cc, docs/lint.md).
void AddLintCommand(CLI::App& app, int& exit_code);
// berth collect and berth remedy: Windows hosts (src/cli/windows_cmd.cc, docs/windows.md).
void AddCollectCommand(CLI::App& app, int& exit_code);
void AddRemedyCommand(CLI::App& app, int& exit_code);
// berth agent: one host of the fleet (src/cli/agent_cmd.cc, docs/fleet.md).
void AddAgentCommand(CLI::App& app, int& exit_code);
// berth serve: the API, metrics and page (src/cli/serve_cmd.cc, docs/serve.md).
void AddServeCommand(CLI::App& app, int& exit_code);

}  // namespace berth::cli
