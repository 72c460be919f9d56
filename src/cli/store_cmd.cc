// berth store check | status | copy: the registry's storage itself.
#include <memory>

#include <fmt/core.h>

#include "app/store_ops.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "base/text.h"
#include <nlohmann/json.hpp>
#include "emit/registry_render.h"

namespace berth::cli {
namespace {

constexpr std::string_view kRemedy =
    "what to do: stop writing to it, keep a copy of the file, then rebuild it: 'berth export' "
    "may still read the healthy part (berth export > saved.toml; berth import saved.toml "
    "--db NEW), or restore it from a backup; the sqlite3 shell's .recover can salvage more";
constexpr std::string_view kEtcdRemedy =
    "what to do: 'berth export' reads what is healthy (berth export > saved.toml), fix the "
    "file by hand where the problems say, then 'berth apply saved.toml' writes a clean "
    "generation in one step";

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
    const bool etcd = where_to && where_to->kind == registry::StoreKind::kEtcd;
    RenderStoreHealth(where_to ? where_to->url : std::string(), etcd ? "etcd" : "sqlite", problems,
                      kRemedy, form, out);
    return 1;
  }
  auto health = app::CheckStore(**store);
  if (!health) return PrintError(health.error());
  RenderStoreHealth(health->location, health->kind, health->problems,
                    health->kind == "etcd" ? kEtcdRemedy : kRemedy, form, out);
  return health->problems.empty() ? 0 : 1;
}

// Exit 0 when the store answers and every member has a leader, 1 when a member is down or
// leaderless but the registry is readable, 2 when it cannot be read.
int RunStoreStatus(const StoreFlags& where, bool json) {
  const RenderForm form = json ? RenderForm::kJson : RenderForm::kText;
  const Sink out = [](std::string_view s) { WriteStdout(s); };
  auto store = OpenRegistry(where, registry::OpenMode::kRead);
  if (!store) return PrintError(store.error());
  StoreStatusView v;
  v.location = (*store)->Location();
  v.kind = std::string((*store)->Kind());
  auto status = app::GetStoreStatus(**store);
  if (status) {
    v.members = std::move(status->members);
    v.revision = status->revision;
    v.services = status->services;
    v.claims = status->claims;
    v.groups = status->groups;
    v.families = status->families;
  } else {
    v.members = (*store)->Members();
    v.error = status.error().message;
  }
  RenderStoreStatus(v, form, out);
  if (!status) return 2;
  for (const auto& m : v.members) {
    if (!m.answered || !m.has_leader) return 1;
  }
  return 0;
}

int RunStoreCopy(const StoreFlags& from_flags, const StoreFlags& to_flags, bool json) {
  auto from = OpenRegistry(from_flags, registry::OpenMode::kRead);
  if (!from) return PrintError(from.error());
  auto to = OpenRegistry(to_flags, registry::OpenMode::kWrite);
  if (!to) return PrintError(to.error());
  auto copied = app::CopyStore(**from, **to);
  if (!copied) return PrintError(copied.error());
  const std::string text = fmt::format("copied {} services, {} groups and {} families from {} to {}",
                                       copied->services.size(), copied->groups.size(),
                                       copied->families.size(), (*from)->Location(), (*to)->Location());
  if (json) {
    nlohmann::json j{{"copied", {{"families", copied->families.size()},
                                 {"groups", copied->groups.size()},
                                 {"services", copied->services.size()}}},
                     {"from", (*from)->Location()},
                     {"schema", "berth.store-copy/1"},
                     {"to", (*to)->Location()}};
    WriteStdout(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  } else {
    WriteStdout(TerminalSafe(text) + "\n");
  }
  return 0;
}

}  // namespace

void AddStoreCommand(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("store", "The registry's storage itself.");
  cmd->require_subcommand(1);
  auto f = std::make_shared<std::pair<StoreFlags, bool>>();
  CLI::App* check = cmd->add_subcommand(
      "check", "Check the whole registry for corruption (a SQLite file: PRAGMA integrity_check; "
               "etcd: every claim against its service) and say what to do about it. Writes "
               "nothing.");
  AddStoreOptions(check, f->first);
  check->add_flag("--json", f->second, "print the result as JSON (schema berth.store/1)");
  check->footer("Exit status: 0 healthy, 1 problems found, 2 error (cannot read it).");
  check->callback([f, &exit_code] { exit_code = RunStoreCheck(f->first, f->second); });

  auto st = std::make_shared<std::pair<StoreFlags, bool>>();
  CLI::App* status = cmd->add_subcommand(
      "status", "Say what the store is, how each etcd member answers (state, version, "
                "revision, size), and what the registry holds (revision and counts). Writes "
                "nothing.");
  AddStoreOptions(status, st->first);
  AddStaleOption(status, st->first);
  status->add_flag("--json", st->second, "print the status as JSON (schema berth.store-status/1)");
  status->footer("Exit status: 0 every member answers with a leader, 1 a member is down or has no "
                 "leader, 2 the registry cannot be read.");
  status->callback([st, &exit_code] { exit_code = RunStoreStatus(st->first, st->second); });

  struct Copy {
    StoreFlags from, to;
    bool json = false;
  };
  auto cp = std::make_shared<Copy>();
  CLI::App* copy = cmd->add_subcommand(
      "copy", "Make the store --to hold exactly the registry of --from (groups, families and "
              "services with their ports, times and owners; not scan observations), in one "
              "atomic step: for moving from a SQLite file to etcd and back. Afterwards 'berth "
              "export' prints the same file from both.");
  copy->add_option("--from", cp->from.store, "the store to read (a URL: sqlite:///PATH or "
                   "etcd[s]://HOST:PORT[,...]/PREFIX)")->required();
  copy->add_option("--to", cp->to.store, "the store to write (a URL); what it held is replaced")
      ->required();
  // One set of etcd TLS files and user, for whichever of --from and --to is on etcd.
  AddStoreSecurityOptions(copy, cp->from.security);
  copy->add_flag("--json", cp->json, "print what was copied as JSON (schema berth.store-copy/1)");
  copy->footer("Exit status: 0 copied, 2 error (nothing was written to --to).\n"
               "Example: berth store copy --from sqlite:///var/lib/berth/registry.db "
               "--to etcd://10.0.0.5:2379/berth");
  copy->callback([cp, &exit_code] {
    const registry::SecuritySources given = cp->from.security;
    cp->from.security = cp->from.store.starts_with("etcd") ? given : registry::SecuritySources{};
    cp->to.security = cp->to.store.starts_with("etcd") ? given : registry::SecuritySources{};
    exit_code = RunStoreCopy(cp->from, cp->to, cp->json);
  });
}

}  // namespace berth::cli
