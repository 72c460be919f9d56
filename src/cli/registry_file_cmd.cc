// berth export, import, plan, apply: the registry as a berth.toml file.
#include <cstdlib>
#include <memory>

#include <fmt/core.h>

#include "app/registry_file.h"
#include "base/file.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "emit/export_lb.h"
#include "emit/plan_render.h"
#include "emit/registry_render.h"
#include "emit/service_export.h"
#include "registry/berth_toml.h"
#include "registry/plan.h"

namespace berth::cli {
namespace {

struct ExportFlags {
  std::string format = "toml", output, consul_url;
  bool format_given = false;
  bool json = false;
  StoreFlags store;
  ExportOptions options;
  std::vector<std::string> backends;  // haproxy, nginx, envoy
  std::string bind;
};

// --format haproxy|nginx|envoy (emit/export_lb.h): the backends given, else the hosts of each
// group.
Result<std::string> ExportLoadBalancer(const ExportFlags& f, const registry::RegistryDoc& doc) {
  LbOptions lb;
  lb.group = f.options.group;
  lb.backends = f.backends;
  lb.bind = f.bind;
  for (const registry::Group& g : doc.groups) lb.group_hosts[g.name] = g.hosts;
  const LbProgram program = f.format == "haproxy" ? LbProgram::kHaproxy
                            : f.format == "nginx"   ? LbProgram::kNginx
                                                    : LbProgram::kEnvoy;
  std::string text;
  const Sink sink = [&](std::string_view chunk) { text.append(chunk); };
  auto r = program == LbProgram::kHaproxy ? RenderHaproxyExport(doc.services, lb, sink)
           : program == LbProgram::kNginx ? RenderNginxExport(doc.services, lb, sink)
                                          : RenderEnvoyExport(doc.services, lb, sink);
  if (r) return text;
  // A bad --backend or --bind is said as it is; a service left without a backend is said
  // with the flags that give one.
  const auto missing = LbServicesWithoutBackend(doc.services, lb, program);
  if (r.error().code != ErrorCode::kNotFound || missing.empty()) return std::unexpected(r.error());
  std::string names;
  for (const std::string& m : missing) names += (names.empty() ? "" : ", ") + m;
  return Fail(ErrorCode::kNotFound,
              fmt::format("no backend address for {}: give --backend SERVICE=HOST[:PORT] "
                          "(repeat for several), or name the hosts of the service's group "
                          "('berth group add GROUP --host HOST'): each is then a backend on the "
                          "service's port",
                          names));
}

int RunExport(ExportFlags& f) {
  const bool lb = f.format == "haproxy" || f.format == "nginx" || f.format == "envoy";
  if (!lb && (!f.backends.empty() || !f.bind.empty())) {
    return PrintError(fmt::format("--backend and --bind are for --format haproxy, nginx and envoy, not {}",
                                  f.format));
  }
  if (f.json) {
    if (f.format_given && f.format != "json") {
      return PrintError(fmt::format("--json is --format json: give one of --json or --format {}",
                                    f.format));
    }
    if (!f.consul_url.empty()) {
      return PrintError("--json prints the registry; --consul-url registers it with Consul and "
                        "prints no document: give one of them");
    }
    f.format = "json";
    f.format_given = true;
  }
  if (!f.consul_url.empty() && f.format_given && f.format != "consul") {
    return PrintError(fmt::format("--consul-url registers the services with Consul and prints "
                                  "no {} document: give one of --consul-url or --format {}",
                                  f.format, f.format));
  }
  if (!f.consul_url.empty() && !f.output.empty()) {
    return PrintError("--consul-url registers with Consul and writes no file: drop -o/--output");
  }
  if (!f.options.group.empty() && (f.format == "toml" || f.format == "json") &&
      f.consul_url.empty()) {
    return PrintError(fmt::format("--group selects services for k8s, compose, consul, prometheus, "
                                  "services, haproxy, nginx and envoy; --format {} exports the whole registry (so that "
                                  "'berth import' rebuilds it): drop --group, or use 'berth list "
                                  "--group {} --json' to see one group",
                                  f.format, f.options.group));
  }
  auto store = OpenRegistry(f.store, registry::OpenMode::kRead);
  if (!store) return PrintError(store.error());
  if (!f.consul_url.empty()) {
    const char* token = std::getenv("CONSUL_HTTP_TOKEN");
    auto n = app::RegisterServicesWithConsul(**store, f.consul_url, f.options,
                                             token != nullptr ? token : "");
    if (!n) return PrintError(n.error());
    WriteStdout(fmt::format("registered {} service{} with {}\n", *n, *n == 1 ? "" : "s",
                            f.consul_url));
    return 0;
  }
  auto doc = (*store)->Export();
  if (!doc) return PrintError(doc.error());
  std::string text;
  if (f.format == "json") {
    RenderRegistryJson(*doc, [&](std::string_view chunk) { text.append(chunk); });
  } else if (f.format == "toml") {
    text = registry::FormatBerthToml(*doc);
  } else if (lb) {
    auto r = ExportLoadBalancer(f, *doc);
    if (!r) return PrintError(r.error());
    text = std::move(*r);
  } else {
    auto r = RenderServiceExport(f.format, doc->services, f.options,
                                 [&](std::string_view chunk) { text.append(chunk); });
    if (!r) return PrintError(r.error());
  }
  const std::string& output = f.output;
  if (output.empty() || output == "-") {
    WriteStdout(text);
    return 0;
  }
  if (auto w = WriteFileAtomic(output, text); !w) return PrintError(w.error());
  return 0;
}

struct FileFlags {
  std::string file;
  StoreFlags store;
  bool json = false;
  bool prune = false;
};

// plan: 0 no changes, 1 changes, 2 error. apply/import: 0 done, 2 error.
int RunFile(app::FileMode mode, const FileFlags& f) {
  const std::string& file = f.file;
  auto text = ReadWholeFile(file);
  if (!text) return PrintError(text.error());
  auto parsed = registry::ParseBerthToml(*text, file);
  if (!parsed) {
    return PrintError(Wrap(parsed.error(), "", "\nnothing was written"));
  }
  auto store = OpenRegistry(f.store, mode == app::FileMode::kPlan ? registry::OpenMode::kRead
                                                                  : registry::OpenMode::kWrite);
  if (!store) return PrintError(store.error());
  auto view = TakeHostView();
  if (!view) return PrintError(view.error());
  auto plan = app::PlanFile(**store, *view, std::move(*parsed), file, mode);
  if (!plan) return PrintError(Wrap(plan.error(), "", "\nnothing was written"));
  const auto removals = app::Removals(*plan);
  const bool refuse = mode == app::FileMode::kApply && !f.prune && !removals.empty();
  const Sink out = [](std::string_view s) { WriteStdout(s); };
  auto report = [&](PlanOutcome outcome) {
    if (f.json) {
      RenderPlanJson(plan->changes, plan->warnings, outcome, out);
    } else {
      WriteStdout(registry::FormatChanges(plan->changes));
      PrintWarnings(plan->warnings);
    }
  };
  if (mode == app::FileMode::kPlan) {
    report(PlanOutcome::kPlanned);
    return plan->changes.empty() ? 0 : 1;
  }
  if (refuse) {
    report(PlanOutcome::kRefused);
    std::string names;
    for (const registry::Change& c : removals) {
      names += fmt::format("{}{} {}", names.empty() ? "" : ", ", c.what, c.name);
    }
    return PrintError(fmt::format(
        "{} does not name {} entr{} of the registry {} ({}); apply removes entries only with "
        "--prune: add them to the file to keep them, or run 'berth apply --prune {}' to remove "
        "them. Nothing was written",
        file, removals.size(), removals.size() == 1 ? "y" : "ies", (*store)->Location(), names,
        file));
  }
  if (plan->changes.empty()) {
    report(PlanOutcome::kApplied);
    return 0;
  }
  if (auto r = app::CommitPlan(**store, *plan, file, f.prune); !r) {
    return PrintError(Wrap(r.error(), "", "\nnothing was written"));
  }
  report(PlanOutcome::kApplied);
  if (!f.json) {
    WriteStdout(fmt::format("{} {}\n", mode == app::FileMode::kImport ? "imported into" : "applied to",
                            (*store)->Location()));
  }
  return 0;
}

void AddFileCommand(CLI::App& app, int& exit_code, app::FileMode mode, const char* name,
                    const char* help) {
  auto f = std::make_shared<FileFlags>();
  CLI::App* cmd = app.add_subcommand(name, help);
  cmd->add_option("file", f->file, "a berth.toml file (docs/registry.md)")->required();
  cmd->add_flag("--json", f->json, "print the changes as JSON (schema berth.plan/1, docs/registry.md)");
  if (mode == app::FileMode::kApply) {
    cmd->add_flag("--prune", f->prune,
                  "also remove the services, groups and families the file does not name "
                  "(without it, apply refuses a file that would remove any)");
  }
  AddStoreOptions(cmd, f->store);
  cmd->footer(mode == app::FileMode::kPlan
                  ? "Exit status: 0 no changes, 1 changes to make, 2 error."
                  : "Exit status: 0 ok, 2 error (a file with any error writes nothing).");
  cmd->callback([f, mode, &exit_code] { exit_code = RunFile(mode, *f); });
}

}  // namespace

void AddExportCommand(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<ExportFlags>();
  CLI::App* cmd = app.add_subcommand(
      "export",
      "Print the registry as berth.toml (or JSON): 'berth import' of the output rebuilds the "
      "same registry. Or as what other systems need to find services on their static ports: "
      "Kubernetes Services (k8s), Docker Compose ports (compose), Consul definitions (consul), "
      "Prometheus file_sd targets (prometheus), /etc/services lines (services), load-balancer "
      "front ends on the registered ports with checked backends (haproxy, nginx, envoy).");
  CLI::Option* format =
      cmd->add_option("--format", f->format,
                      "toml, json, k8s, compose, consul, prometheus, services, haproxy, nginx, "
                      "envoy")
          ->check(CLI::IsMember({"toml", "json", "k8s", "compose", "consul", "prometheus",
                                 "services", "haproxy", "nginx", "envoy"}))
          ->capture_default_str();
  cmd->add_flag("--json", f->json, "the same as --format json (schema berth.registry/2)");
  cmd->add_option("-o,--output", f->output, "write to this file (atomically) instead of stdout");
  cmd->add_option("--group", f->options.group, "only this group's services (not for toml/json)");
  cmd->add_option("--host", f->options.host, "host part of Prometheus targets")
      ->capture_default_str();
  cmd->add_option("--namespace", f->options.k8s_namespace, "metadata.namespace of k8s Services");
  cmd->add_option("--backend", f->backends,
                  "haproxy, nginx, envoy: where a service's front end sends traffic, SERVICE=HOST[:PORT] "
                  "([IPv6]:PORT; the port defaults to the service's); repeat for several. Without "
                  "one, the hosts of the service's group on its port")
      ->type_name("SERVICE=HOST[:PORT]");
  cmd->add_option("--bind", f->bind,
                  "haproxy, nginx, envoy: the address the front ends listen on (default: every "
                  "IPv4 address)")
      ->type_name("ADDRESS");
  cmd->add_option("--consul-url", f->consul_url,
                  "register the services with this Consul agent (PUT "
                  "/v1/agent/service/register; token from CONSUL_HTTP_TOKEN) instead of printing "
                  "(not with another --format, nor -o)");
  AddStoreOptions(cmd, f->store);
  AddStaleOption(cmd, f->store);
  cmd->footer("Exit status: 0 ok, 2 error. Formats and escaping: docs/enforce.md; haproxy, nginx and envoy: "
              "docs/registry.md.");
  cmd->callback([f, format, &exit_code] {
    f->format_given = format->count() > 0;
    exit_code = RunExport(*f);
  });
}

void AddImportCommand(CLI::App& app, int& exit_code) {
  AddFileCommand(app, exit_code, app::FileMode::kImport, "import",
                 "Add the groups, families and services of a berth.toml file to the registry "
                 "(entries of the same name are replaced, others kept), in one transaction.");
}

void AddPlanCommand(CLI::App& app, int& exit_code) {
  AddFileCommand(app, exit_code, app::FileMode::kPlan, "plan",
                 "Print what 'berth apply --prune FILE' would change: + added, ~ changed, - removed. "
                 "Writes nothing; exits 1 when there is something to change.");
}

void AddApplyCommand(CLI::App& app, int& exit_code) {
  AddFileCommand(app, exit_code, app::FileMode::kApply, "apply",
                 "Make the registry exactly what a berth.toml file describes, in one transaction: "
                 "all of it or nothing. Services without a port keep theirs or get one by the "
                 "allocation rule. Entries the file does not name are removed only with --prune; "
                 "without it, such a file is refused.");
}

}  // namespace berth::cli
