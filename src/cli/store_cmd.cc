// berth store check: is the registry file healthy?
#include <memory>

#include <fmt/core.h>

#include "app/store_ops.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "base/text.h"
#include "emit/registry_render.h"

namespace berth::cli {
namespace {

constexpr std::string_view kRemedy =
    "what to do: stop writing to it, keep a copy of the file, then rebuild it: 'berth export' "
    "may still read the healthy part (berth export > saved.toml; berth import saved.toml "
    "--db NEW), or restore it from a backup; the sqlite3 shell's .recover can salvage more";

int RunStoreCheck(const StoreFlags& where, bool json) {
  const RenderForm form = json ? RenderForm::kJson : RenderForm::kText;
  const Sink out = [](std::string_view s) { WriteStdout(s); };
  auto store = OpenRegistry(where, registry::OpenMode::kRead);
  if (!store) {
    if (store.error().code != ErrorCode::kMalformed) return PrintError(store.error());
    // Too damaged to open: the one problem is the reason it cannot be opened.
    if (!json) {
      WriteStdout(fmt::format("{}\n{}\n", TerminalSafeLines(store.error().message), kRemedy));
      return 1;
    }
    auto where_to = ResolveStore(where);
    const std::vector<std::string> problems{store.error().message};
    RenderStoreHealth(where_to ? where_to->url : std::string(), problems, kRemedy, form, out);
    return 1;
  }
  auto health = app::CheckStore(**store);
  if (!health) return PrintError(health.error());
  RenderStoreHealth(health->location, health->problems, kRemedy, form, out);
  return health->problems.empty() ? 0 : 1;
}

}  // namespace

void AddStoreCommand(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("store", "The registry's storage itself.");
  cmd->require_subcommand(1);
  auto f = std::make_shared<std::pair<StoreFlags, bool>>();
  CLI::App* check = cmd->add_subcommand(
      "check", "Check the whole registry file for corruption (SQLite's PRAGMA integrity_check) "
               "and say what to do about it. Writes nothing.");
  AddStoreOptions(check, f->first);
  check->add_flag("--json", f->second, "print the result as JSON (schema berth.store/1)");
  check->footer("Exit status: 0 healthy, 1 problems found, 2 error (cannot read it).");
  check->callback([f, &exit_code] { exit_code = RunStoreCheck(f->first, f->second); });
}

}  // namespace berth::cli
