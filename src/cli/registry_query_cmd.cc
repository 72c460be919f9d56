// berth list, berth show, berth group, berth family: reading the registry and declaring
// groups of hosts and port families.
#include <algorithm>
#include <memory>

#include <fmt/core.h>

#include "app/registry_ops.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "emit/registry_render.h"

namespace berth::cli {
namespace {

struct ListFlags {
  app::ServiceFilter filter;
  bool json = false;
  StoreFlags store;
};

const Sink kStdout = [](std::string_view s) { WriteStdout(s); };

RenderForm Form(bool json) { return json ? RenderForm::kJson : RenderForm::kText; }

int RunList(const ListFlags& f) {
  auto store = OpenRegistry(f.store, registry::OpenMode::kRead);
  if (!store) return PrintError(store.error());
  auto list = app::ListServices(**store, f.filter);
  if (!list) return PrintError(list.error());
  RenderServiceList(list->services, list->revision, Form(f.json), kStdout);
  return 0;
}

int RunShow(const std::string& name, bool json, const StoreFlags& where) {
  auto store = OpenRegistry(where, registry::OpenMode::kRead);
  if (!store) return PrintError(store.error());
  auto detail = app::ShowService(**store, name);
  if (!detail) {
    if (detail.error().code != ErrorCode::kNotFound) return PrintError(detail.error());
    return PrintError(fmt::format("{}: see 'berth list', or 'berth assign {}'",
                                  detail.error().message, name));
  }
  RenderServiceShow(detail->record, detail->observations, Form(json), kStdout);
  return 0;
}

struct GroupFlags {
  std::string name, description, range, ephemeral, reserved, allow;
  std::vector<std::string> hosts;
  StoreFlags store;
  bool json = false;
};

int RunGroupAdd(const GroupFlags& f) {
  if (auto v = ValidateServiceName(f.name); !v) return PrintError("group " + v.error().message);
  app::GroupEdit edit;
  edit.name = f.name;
  edit.description = f.description;
  edit.hosts = f.hosts;
  auto parse_set = [](PortSet& into, const std::string& text, std::string_view flag) -> Result<void> {
    if (text.empty()) return {};
    auto set = PortSet::Parse(text);
    if (!set) return Fail(ErrorCode::kInvalidArgument, fmt::format("{}: {}", flag, set.error().message));
    into = *set;
    return {};
  };
  for (auto r : {parse_set(edit.ephemeral, f.ephemeral, "--ephemeral"),
                 parse_set(edit.reserved, f.reserved, "--reserved"), parse_set(edit.allow, f.allow, "--allow")}) {
    if (!r) return PrintError(r.error());
  }
  if (!f.range.empty()) {
    auto r = ParsePortRange(f.range);
    if (!r || r->low == 0) return PrintError(fmt::format("--range '{}': use LOW-HIGH within 1-65535", f.range));
    edit.range = *r;
  }
  auto store = OpenRegistry(f.store, registry::OpenMode::kWrite);
  if (!store) return PrintError(store.error());
  auto g = app::AddToGroup(**store, edit);
  if (!g) return PrintError(g.error());
  RenderGroupAdded(*g, Form(f.json), kStdout);
  return 0;
}

struct FamilyFlags {
  std::string name, description, skip;
  StoreFlags store;
  bool json = false;
  int base = 0;
  int size = 100;
};

int RunFamilyAdd(const FamilyFlags& f) {
  if (auto v = ValidateServiceName(f.name); !v) return PrintError("family " + v.error().message);
  if (f.name.find('.') != std::string::npos) {
    return PrintError(fmt::format("family '{}': a family name is one label (no dots), since "
                                  "'{}.instance1' names its instances", f.name, f.name));
  }
  if (f.base < 1 || f.base > 65535) return PrintError("--base: use a port 1-65535");
  if (f.size < 1 || f.size > 65535) return PrintError("--size: use 1-65535");
  registry::Family fam{f.name, f.description, static_cast<Port>(f.base),
                       static_cast<std::uint32_t>(f.size), {}};
  if (!f.skip.empty()) {
    auto set = PortSet::Parse(f.skip);
    if (!set) return PrintError(fmt::format("--skip: {}", set.error().message));
    fam.skip = *set;
  }
  auto store = OpenRegistry(f.store, registry::OpenMode::kWrite);
  if (!store) return PrintError(store.error());
  if (auto put = app::AddFamily(**store, fam); !put) return PrintError(put.error());
  RenderFamilyAdded(fam, Form(f.json), kStdout);
  return 0;
}

int RunGroupOrFamilyList(bool groups, bool json, const StoreFlags& where) {
  auto store = OpenRegistry(where, registry::OpenMode::kRead);
  if (!store) return PrintError(store.error());
  auto doc = (*store)->Export();
  if (!doc) return PrintError(doc.error());
  if (groups) {
    RenderGroupList(doc->groups, Form(json), kStdout);
  } else {
    RenderFamilyList(doc->families, Form(json), kStdout);
  }
  return 0;
}

}  // namespace

void AddListCommand(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<ListFlags>();
  CLI::App* cmd = app.add_subcommand("list", "List registered services, sorted by name.");
  cmd->add_option("--group", f->filter.group, "only this group");
  cmd->add_option("--family", f->filter.family, "only this family");
  cmd->add_option("--proto", f->filter.proto,
                  "only services using tcp or udp (both counts for each), or declared both")
      ->check(CLI::IsMember({"tcp", "udp", "both"}));
  cmd->add_option("--owner", f->filter.owner, "only this owner");
  cmd->add_option("--tag", f->filter.tag, "only services with this tag");
  cmd->add_flag("--json", f->json, "print JSON (schema berth.registry/2, docs/registry.md)");
  AddStoreOptions(cmd, f->store);
  AddStaleOption(cmd, f->store);
  cmd->footer("Exit status: 0 ok, 2 error.");
  cmd->callback([f, &exit_code] { exit_code = RunList(*f); });
}

void AddShowCommand(CLI::App& app, int& exit_code) {
  struct Flags {
    std::string name;
    StoreFlags store;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "show", "One service: its port, why that port was chosen, and where scans last saw it listening.");
  cmd->add_option("name", f->name, "service name")->required();
  cmd->add_flag("--json", f->json, "print JSON (schema berth.registry/2)");
  AddStoreOptions(cmd, f->store);
  AddStaleOption(cmd, f->store);
  cmd->footer("Exit status: 0 ok, 2 error (including a name that is not registered).");
  cmd->callback([f, &exit_code] { exit_code = RunShow(f->name, f->json, f->store); });
}

void AddGroupCommand(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "group", "Groups of hosts sharing one port space: a port claimed in a group must be safe on "
               "every host of it.");
  cmd->require_subcommand(1);
  auto f = std::make_shared<GroupFlags>();
  CLI::App* add = cmd->add_subcommand("add", "Create a group or add to it (sets are merged).");
  add->add_option("name", f->name, "group name")->required();
  add->add_option("--host", f->hosts, "a host of the group (repeat --host); this host's live ranges "
                                      "count when its hostname is listed")
      ->allow_extra_args(false);
  add->add_option("--ephemeral", f->ephemeral, "ephemeral ranges of other hosts, e.g. 49152-65535 "
                                               "for Windows, 10000-65535 for FreeBSD");
  add->add_option("--reserved", f->reserved, "reserved ports of other hosts");
  add->add_option("--range", f->range, "where automatic placement looks (default 1024-49151)");
  add->add_option("--allow", f->allow, "listener ports 'berth check' accepts unregistered, e.g. 22");
  add->add_option("--description", f->description, "what the group is");
  add->add_flag("--json", f->json, "print the group as stored (schema berth.registry/2)");
  AddStoreOptions(add, f->store);
  add->callback([f, &exit_code] { exit_code = RunGroupAdd(*f); });
  auto lf = std::make_shared<std::pair<bool, StoreFlags>>();
  CLI::App* list = cmd->add_subcommand("list", "List recorded groups.");
  list->add_flag("--json", lf->first, "print JSON (schema berth.registry/2)");
  AddStoreOptions(list, lf->second);
  AddStaleOption(list, lf->second);
  list->callback([lf, &exit_code] { exit_code = RunGroupOrFamilyList(true, lf->first, lf->second); });
}

void AddFamilyCommand(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "family", "Families: named port blocks (mssql from 1433) where each new instance takes the "
                "next free port.");
  cmd->require_subcommand(1);
  auto f = std::make_shared<FamilyFlags>();
  CLI::App* add = cmd->add_subcommand("add", "Create or replace a family.");
  add->add_option("name", f->name, "family name: one label, e.g. mssql")->required();
  add->add_option("--base", f->base, "first port of the block")->required();
  add->add_option("--size", f->size, "ports in the block")->capture_default_str();
  add->add_option("--skip", f->skip, "ports of the block never handed out, e.g. 1434");
  add->add_option("--description", f->description, "what the family is");
  add->add_flag("--json", f->json, "print the family as stored (schema berth.registry/2)");
  AddStoreOptions(add, f->store);
  add->callback([f, &exit_code] { exit_code = RunFamilyAdd(*f); });
  auto lf = std::make_shared<std::pair<bool, StoreFlags>>();
  CLI::App* list = cmd->add_subcommand("list", "List families.");
  list->add_flag("--json", lf->first, "print JSON (schema berth.registry/2)");
  AddStoreOptions(list, lf->second);
  AddStaleOption(list, lf->second);
  list->callback([lf, &exit_code] { exit_code = RunGroupOrFamilyList(false, lf->first, lf->second); });
}

}  // namespace berth::cli
