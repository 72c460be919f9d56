// berth assign and berth release: claim and free static ports in the registry.
#include <memory>

#include <fmt/core.h>

#include "app/registry_ops.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "emit/registry_render.h"

namespace berth::cli {
namespace {

struct AssignFlags {
  std::vector<std::string> names;
  std::string proto;
  std::string port;  // decimal text: CLI11 would read 0x50 as 80
  std::string size;
  std::string family;
  std::string group;
  bool allow_iana = false;
  std::string owner;
  std::string description;
  std::vector<std::string> tags;
  bool json = false;
  bool explain = false;
  StoreFlags store;
};

int RunAssign(const AssignFlags& f) {
  registry::AssignRequest base;
  if (!f.proto.empty()) {
    auto proto = ParseServiceProto(f.proto);
    if (!proto) return PrintError(proto.error());
    base.proto = *proto;
  }
  if (!f.port.empty()) {
    auto port = ParsePortFlag(f.port);
    if (!port) return PrintError(port.error().message + " (without --port, berth chooses one)");
    if (f.names.size() > 1) return PrintError("--port with several names: give one name per explicit port");
    base.port = *port;
  }
  if (!f.size.empty()) {
    auto size = ParseDecimalFlag("--size", f.size, 1, kMaxServiceSize, "number of ports");
    if (!size) return PrintError(size.error());
    base.size = static_cast<std::uint32_t>(*size);
  }
  for (const std::string& n : f.names) {
    if (auto v = ValidateServiceName(n); !v) return PrintError(v.error());
  }
  base.family = f.family;
  base.group = f.group;
  base.allow_iana = f.allow_iana;
  base.owner = f.owner;
  base.description = f.description;
  base.tags = f.tags;

  std::vector<registry::AssignRequest> requests;
  for (const std::string& name : f.names) {
    requests.push_back(base);
    requests.back().name = name;
  }
  auto store = OpenRegistry(f.store, registry::OpenMode::kWrite);
  if (!store) return PrintError(store.error());
  auto host = TakeHostView();
  if (!host) return PrintError(host.error());
  const auto steps = app::Assign(**store, std::move(*host), requests);
  if (f.explain) {
    for (const registry::Assignment& a : steps.done) {
      RenderAssignExplanation(a, [](std::string_view s) { fmt::print(stderr, "{}", s); });
    }
  }
  std::string out;
  RenderAssignments(steps.done, f.names.size(), f.json ? RenderForm::kJson : RenderForm::kText,
                    [&out](std::string_view s) { out += s; });
  if (steps.failed) {
    if (!f.json) WriteStdout(out);
    return PrintError(*steps.failed);
  }
  WriteStdout(out);
  for (const registry::Assignment& a : steps.done) {
    for (const registry::Violation& w : a.warnings) PrintWarning(w.text);
  }
  return 0;
}

int RunRelease(const std::vector<std::string>& names, bool missing_ok, bool json,
               const StoreFlags& where) {
  auto store = OpenRegistry(where, registry::OpenMode::kWrite);
  if (!store) return PrintError(store.error());
  const auto steps = app::Release(**store, names, missing_ok);
  if (!steps.failed || !json) {
    RenderReleased(steps.done, json ? RenderForm::kJson : RenderForm::kText,
                   [](std::string_view s) { WriteStdout(s); });
  }
  if (!steps.failed) return 0;
  if (steps.failed->code == ErrorCode::kNotFound) {
    return PrintError(steps.failed->message + " (see 'berth list'; --missing-ok makes this not an error)");
  }
  return PrintError(*steps.failed);
}

}  // namespace

void AddAssignCommand(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<AssignFlags>();
  CLI::App* cmd = app.add_subcommand(
      "assign",
      "Give each NAME a static port and print it. Idempotent: a registered name gets its port "
      "back. A new port is in the group's range (1024-49151 by default), outside the ephemeral "
      "range of every host of the group, not claimed, not listening here, and not IANA-assigned; "
      "it is placed by a stable hash of the name (docs/registry.md).");
  cmd->add_option("names", f->names, "service names: lowercase DNS labels, dots for instances "
                                     "(mssql.instance1)")->required();
  cmd->add_option("--proto", f->proto, "tcp (default), udp, or both (claims the port for both)")
      ->check(CLI::IsMember({"tcp", "udp", "both"}));
  cmd->add_option("--port", f->port, "this exact port (decimal, 1-65535): every rule is checked "
                                     "and each one it breaks is explained (a port the service "
                                     "listens on now: berth adopt)")
      ->type_name("PORT");
  cmd->add_option("--size", f->size, "claim a range of N consecutive ports (an RPC dynamic "
                                     "block): each port passes every rule a single port must, "
                                     "none overlaps another claim; with --port, the first one")
      ->type_name("N");
  cmd->add_option("--family", f->family, "take the next free port of this family's block "
                                         "(default: the family named by the name's first label, if any)");
  cmd->add_option("--group", f->group, "the group of hosts sharing the port space (default: default)");
  cmd->add_flag("--allow-iana", f->allow_iana, "allow ports IANA assigns to other services");
  cmd->add_option("--owner", f->owner, "team or person responsible");
  cmd->add_option("--description", f->description, "what the service is");
  cmd->add_option("--tag", f->tags, "a tag (repeat --tag for several)")->allow_extra_args(false);
  cmd->add_flag("--json", f->json, "print the record (one name) or {\"services\": [...]} as JSON (schema berth.registry/2, docs/registry.md)");
  cmd->add_flag("--explain", f->explain, "say on stderr why each port was chosen");
  AddStoreOptions(cmd, f->store);
  cmd->footer("Exit status: 0 ok, 2 error (all names or none: a failing name leaves the\n"
              "registry as it was).\n"
              "Examples:\n"
              "  berth assign web                       prints e.g. 23517\n"
              "  berth assign dns --proto both\n"
              "  berth family add mssql --base 1433 --size 10\n"
              "  berth assign mssql.instance1 mssql.instance2 --allow-iana\n"
              "  berth assign legacy --port 8080\n"
              "  berth assign rpc.dynamic --size 256 --group win\n"
              "                              prints a range, e.g. 5000-5255");
  cmd->callback([f, &exit_code] { exit_code = RunAssign(*f); });
}

void AddReleaseCommand(CLI::App& app, int& exit_code) {
  struct Flags {
    std::vector<std::string> names;
    bool missing_ok = false;
    bool json = false;
    StoreFlags store;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("release", "Remove services from the registry and free their ports.");
  cmd->add_option("names", f->names, "registered service names")->required();
  cmd->add_flag("--missing-ok", f->missing_ok, "a name that is not registered is not an error");
  cmd->add_flag("--json", f->json, "print the released services as JSON (schema berth.registry/2, docs/registry.md)");
  AddStoreOptions(cmd, f->store);
  cmd->footer("Exit status: 0 ok, 2 error (all names or none).");
  cmd->callback([f, &exit_code] { exit_code = RunRelease(f->names, f->missing_ok, f->json, f->store); });
}

}  // namespace berth::cli
