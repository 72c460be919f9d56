// berth: keep servers on fixed, documented ports, and prove it.
#include <fmt/core.h>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/meta.h"
#include "cli/output.h"
#include "core/iana.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  CLI::App app{
      "berth keeps server applications on fixed, documented ports, and proves it.\n"
      "A server on a random port from the ephemeral range moves on every restart; berth finds\n"
      "such servers and the port mappers that hide them, and says how to pin each one.",
      "berth"};
  app.formatter(berth::cli::WrappingFormatter(berth::cli::TerminalWidth()));
  app.set_version_flag("-V,--version", fmt::format("berth {} (IANA registry: {})", BERTH_VERSION,
                                                berth::IanaVersion()));
  app.require_subcommand(1);
  app.footer("Run 'berth COMMAND --help' for a command's options.\n"
             "Exit status: 0 ok, 1 findings, 2 error.");
  int exit_code = 0;
  berth::cli::AddScanCommand(app, exit_code);
  berth::cli::AddPressureCommand(app, exit_code);
  berth::cli::AddAssignCommand(app, exit_code);
  berth::cli::AddAdoptCommand(app, exit_code);
  berth::cli::AddReleaseCommand(app, exit_code);
  berth::cli::AddListCommand(app, exit_code);
  berth::cli::AddShowCommand(app, exit_code);
  berth::cli::AddGroupCommand(app, exit_code);
  berth::cli::AddFamilyCommand(app, exit_code);
  berth::cli::AddExportCommand(app, exit_code);
  berth::cli::AddImportCommand(app, exit_code);
  berth::cli::AddPlanCommand(app, exit_code);
  berth::cli::AddApplyCommand(app, exit_code);
  berth::cli::AddStoreCommand(app, exit_code);
  berth::cli::AddCheckCommand(app, exit_code);
  berth::cli::AddReserveCommand(app, exit_code);
  berth::cli::AddRangeCommand(app, exit_code);
  berth::cli::AddProbeCommand(app, exit_code);
  berth::cli::AddFirewallCommand(app, exit_code);
  berth::cli::AddLintCommand(app, exit_code);
  berth::cli::AddPinCommand(app, exit_code);
  berth::cli::AddCollectCommand(app, exit_code);
  berth::cli::AddRemedyCommand(app, exit_code);
  berth::cli::AddAgentCommand(app, exit_code);
  berth::cli::AddServeCommand(app, exit_code);
  berth::cli::AddCompletionCommand(app, exit_code);
  berth::cli::RewriteProbeArgs(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return berth::cli::PrintParseError(app, argc, argv, e);
  } catch (const std::exception& e) {
    return berth::cli::PrintError(fmt::format("internal error: {}", e.what()));
  }
  return exit_code;
}
