// berth adopt: register a service on the port its running listener holds now.
#include <memory>

#include <fmt/core.h>

#include "app/adopt.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "emit/registry_render.h"
#include "host/live_host.h"

namespace berth::cli {
namespace {

struct AdoptFlags {
  std::string name;
  std::string port;  // decimal text, as for assign
  std::string size;
  std::string proto;
  std::string group;
  bool allow_iana = false;
  std::string owner;
  std::string description;
  std::vector<std::string> tags;
  std::string process;
  std::string unit;
  int pid = 0;
  bool json = false;
  StoreFlags store;
};

int RunAdopt(const AdoptFlags& f) {
  app::AdoptRequest req;
  req.assign.name = f.name;
  if (auto v = ValidateServiceName(f.name); !v) return PrintError(v.error());
  auto port = ParsePortFlag(f.port);
  if (!port) return PrintError(port.error());
  req.assign.port = *port;
  if (!f.size.empty()) {
    auto size = ParseDecimalFlag("--size", f.size, 1, kMaxServiceSize, "number of ports");
    if (!size) return PrintError(size.error());
    req.assign.size = static_cast<std::uint32_t>(*size);
  }
  if (!f.proto.empty()) {
    auto proto = ParseServiceProto(f.proto);
    if (!proto) return PrintError(proto.error());
    req.assign.proto = *proto;
  }
  req.assign.group = f.group;
  req.assign.allow_iana = f.allow_iana;
  req.assign.owner = f.owner;
  req.assign.description = f.description;
  req.assign.tags = f.tags;
  req.expect = {f.process, f.unit, f.pid};

  auto store = OpenRegistry(f.store, registry::OpenMode::kWrite);
  if (!store) return PrintError(store.error());
  LiveHost host;
  std::vector<std::string> warnings;
  auto adopted = app::Adopt(**store, host, req, warnings);
  PrintWarnings(warnings);
  if (!adopted) return PrintError(adopted.error());
  if (adopted->unidentified) {
    PrintWarning(fmt::format("berth cannot see which process holds {}/{} (it is another user's): "
                             "'{}' was registered on your word; run berth as root to see it",
                             FormatRange(PortsOf(adopted->assignment.record.service)),
                             f.proto.empty() ? "tcp" : f.proto, f.name));
  }
  for (const registry::Violation& w : adopted->assignment.warnings) {
    PrintWarning(w.text);
    if (w.hint) fmt::print(stderr, "berth: fix: {}\n", WordRemedy(*w.hint));
  }
  RenderAdoption(adopted->assignment, adopted->holders, f.json ? RenderForm::kJson : RenderForm::kText,
                 [](std::string_view s) { WriteStdout(s); });
  return 0;
}

}  // namespace

void AddAdoptCommand(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<AdoptFlags>();
  CLI::App* cmd = app.add_subcommand(
      "adopt",
      "Register NAME on the port its running listener holds now, which 'berth assign --port' "
      "refuses. The listener on PORT is identified (process, systemd unit, pid) and reported; "
      "with --process, --unit or --pid it must be that one. Every other rule of assign still "
      "applies (group range, not registered to another service, IANA unless --allow-iana); a "
      "port inside an ephemeral range is accepted with a warning (reserve it: berth reserve "
      "--apply). With --size N, the range PORT..PORT+N-1 a running program uses: its listeners "
      "are identified the same way, and the range must obey every rule of 'assign --size'.");
  cmd->add_option("name", f->name, "the service's name: lowercase DNS labels, dots for "
                                    "instances (mssql.instance1)")->required();
  cmd->add_option("--port", f->port, "the port the service listens on now (decimal, 1-65535); "
                                     "with --size, the first port of its range")
      ->type_name("PORT")->required();
  cmd->add_option("--size", f->size, "adopt a range of N consecutive ports from PORT that the "
                                     "program uses now (an RPC block): something must listen on "
                                     "one of them; the rules of 'assign --size' apply (no overlap "
                                     "with any claim, outside every ephemeral range of the group, "
                                     "no IANA port such as 1434 unless --allow-iana)")
      ->type_name("N");
  cmd->add_option("--proto", f->proto, "tcp (default), udp, or both")
      ->check(CLI::IsMember({"tcp", "udp", "both"}));
  cmd->add_option("--group", f->group, "the group of hosts sharing the port space (default: default)");
  cmd->add_flag("--allow-iana", f->allow_iana, "allow a port IANA assigns to another service");
  cmd->add_option("--owner", f->owner, "team or person responsible");
  cmd->add_option("--description", f->description, "what the service is");
  cmd->add_option("--tag", f->tags, "a tag (repeat --tag for several)")->allow_extra_args(false);
  cmd->add_option("--process", f->process, "the listener must be this process (its /proc comm, "
                                           "as 'berth scan' shows it)")->type_name("COMM");
  cmd->add_option("--unit", f->unit, "the listener must run in this systemd unit (web or "
                                     "web.service)")->type_name("UNIT");
  cmd->add_option("--pid", f->pid, "the listener must be held by this process id (a master "
                                   "or any of its workers)")
      ->type_name("PID")->check(CLI::Range(1, 1 << 22));
  cmd->add_flag("--json", f->json, "print the record and the listeners as JSON (docs/registry.md)");
  AddStoreOptions(cmd, f->store);
  cmd->footer("Exit status: 0 registered (or already registered there), 2 error: nothing\n"
              "listens on PORT, or in the range (use 'berth assign NAME --port PORT [--size N]'),\n"
              "a listener is not the one\n"
              "--process/--unit/--pid name, or a rule of assign refuses the port.\n"
              "Examples:\n"
              "  berth adopt web --port 32106              whoever listens on 32106/tcp is web\n"
              "  berth adopt dns --port 5353 --proto both --allow-iana\n"
              "  berth adopt pg --port 5432 --allow-iana --unit postgresql\n"
              "  berth adopt app.rpc --port 10300 --size 64 --process app");
  cmd->callback([f, &exit_code] { exit_code = RunAdopt(*f); });
}

}  // namespace berth::cli
