// berth store check: is the registry file healthy?
#include <memory>

#include <fmt/core.h>

#include "app/store_ops.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"

namespace berth::cli {
namespace {

constexpr std::string_view kRemedy =
    "what to do: stop writing to it, keep a copy of the file, then rebuild it: 'berth export' "
    "may still read the healthy part (berth export > saved.toml; berth import saved.toml "
    "--db NEW), or restore it from a backup; the sqlite3 shell's .recover can salvage more";

int RunStoreCheck(const StoreFlags& where) {
  auto store = OpenRegistry(where, registry::OpenMode::kRead);
  if (!store) {
    if (store.error().code != ErrorCode::kMalformed) return PrintError(store.error());
    WriteStdout(fmt::format("{}\n{}\n", store.error().message, kRemedy));
    return 1;
  }
  auto health = app::CheckStore(**store);
  if (!health) return PrintError(health.error());
  if (health->problems.empty()) {
    WriteStdout(fmt::format("{}: ok (SQLite integrity_check found no problem)\n", health->location));
    return 0;
  }
  std::string out = fmt::format("{}: corrupt: SQLite integrity_check reports {} problem{}:\n",
                                health->location, health->problems.size(),
                                health->problems.size() == 1 ? "" : "s");
  for (const std::string& p : health->problems) out += fmt::format("  {}\n", p);
  out += fmt::format("berth refuses to write to it; {}\n", kRemedy);
  WriteStdout(out);
  return 1;
}

}  // namespace

void AddStoreCommand(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("store", "The registry's storage itself.");
  cmd->require_subcommand(1);
  auto f = std::make_shared<StoreFlags>();
  CLI::App* check = cmd->add_subcommand(
      "check", "Check the whole registry file for corruption (SQLite's PRAGMA integrity_check) "
               "and say what to do about it. Writes nothing.");
  AddStoreOptions(check, *f);
  check->footer("Exit status: 0 healthy, 1 problems found, 2 error (cannot read it).");
  check->callback([f, &exit_code] { exit_code = RunStoreCheck(*f); });
}

}  // namespace berth::cli
