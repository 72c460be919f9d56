// berth lint: dynamic, ephemeral and colliding ports and port-mapper clients in configuration
// files, before they ship (docs/lint.md).
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include <fmt/core.h>

#include "app/lint.h"
#include "base/text.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "emit/lint_render.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0"
#endif

namespace berth::cli {
namespace {

struct LintFlags {
  app::LintRequest request;
  bool no_gitignore = false;
  bool json = false;
  bool sarif = false;
  StoreFlags store;
  bool no_registry = false;
  bool fix = false;
  bool diff = false;
  std::string fail_on = "warning";
  std::string color = "auto";
};

// The diff as it goes to a terminal: every line made TerminalSafe around its tabs (a file
// line may hold escape sequences). Sets `changed` when that altered a byte: such a diff no
// longer applies, and the caller says so.
std::string DiffForTerminal(std::string_view diff, bool& changed) {
  std::string out;
  for (std::string_view rest = diff; !rest.empty();) {
    const std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    for (std::size_t start = 0;;) {
      const std::size_t tab = line.find('\t', start);
      const std::string_view piece = line.substr(start, tab == std::string_view::npos ? tab : tab - start);
      const std::string safe = TerminalSafe(piece, piece.size() + 1);
      changed = changed || safe != piece;
      out += safe;
      if (tab == std::string_view::npos) break;
      out += '\t';
      start = tab + 1;
    }
    out += '\n';
  }
  return out;
}

// --diff: what --fix would write, as a unified diff on stdout; findings are not printed.
int RunDiff(const app::LintReport& report) {
  for (const lint::FileError& e : report.errors) {
    (void)PrintError(fmt::format("{}: {}", e.file, e.error.message));
  }
  const app::FixDiff diff = app::DiffLintFixes(report.findings);
  for (const lint::FileError& e : diff.errors) {
    (void)PrintError(fmt::format("--diff: {}: {}", e.file, e.error.message));
  }
  if (::isatty(STDOUT_FILENO) == 1) {
    bool changed = false;
    WriteStdout(DiffForTerminal(diff.text, changed));
    if (changed) {
      PrintWarning("the diff holds control bytes or invalid UTF-8, shown escaped here: redirect "
                   "it to a file or a pipe for a diff that applies");
    }
  } else {
    WriteStdout(diff.text);
  }
  fmt::print(stderr, "berth lint: --diff: {} edit{} in {} file{}{}; apply with patch -p1, or "
                     "write them with --fix\n",
             diff.applied, diff.applied == 1 ? "" : "s", diff.files, diff.files == 1 ? "" : "s",
             diff.skipped == 0 ? std::string()
                               : fmt::format(" ({} skipped: the file changed, or two edits "
                                             "overlap)", diff.skipped));
  return report.errors.empty() && diff.errors.empty() ? -1 : 2;
}

// 1 when a finding is at least `fail_on`, else 0.
int ExitStatus(const app::LintReport& report, std::string_view fail_on) {
  if (fail_on == "none") return 0;
  auto threshold = ParseSeverity(fail_on);
  for (const lint::LintFinding& finding : report.findings) {
    if (threshold && finding.severity >= *threshold) return 1;
  }
  return 0;
}

int Run(LintFlags& f) {
  if (f.json && f.sarif) return PrintError("--json and --sarif together: give one of them");
  if (f.diff && (f.fix || f.json || f.sarif)) {
    return PrintError(fmt::format("--diff prints what --fix would write, as a patch: not with {}",
                                  f.fix ? "--fix (give one of them)" : f.json ? "--json" : "--sarif"));
  }
  if (f.no_registry && !f.request.group.empty()) {
    return PrintError("--group names a group of the registry, which --no-registry leaves out");
  }
  f.request.gitignore = !f.no_gitignore;
  std::unique_ptr<registry::Store> store;
  std::string registry_where;
  if (!f.no_registry) {
    // The registry only adds its ports to the fixes: one that cannot be used is a warning,
    // unless the command line or the environment named it.
    auto env = [](const char* name) {
      const char* v = std::getenv(name);
      return v != nullptr && *v != '\0';
    };
    const bool named = !f.store.store.empty() || !f.store.db.empty() || env("BERTH_STORE") ||
                       env("BERTH_DB");
    auto where = ResolveStore(f.store);
    auto opened = where ? OpenRegistry(f.store, registry::OpenMode::kRead)
                        : Result<std::unique_ptr<registry::Store>>(std::unexpected(where.error()));
    if (opened) {
      store = std::move(*opened);
      registry_where = store->Location();
    } else if (named || (where && where->chosen)) {
      return PrintError(Wrap(opened.error(), "the registry: "));
    } else {
      PrintWarning(fmt::format("registry not used ({}); linting without it. --no-registry skips it",
                               opened.error().message));
    }
  }
  auto report = app::Lint(f.request, store.get());
  if (!report) return PrintError(report.error());
  if (f.diff) {
    if (report->registry_error) {
      PrintWarning(fmt::format("registry not used ({}); the diff has no registry port",
                               report->registry_error->message));
    }
    if (const int failed = RunDiff(*report); failed >= 0) return failed;
    return ExitStatus(*report, f.fail_on);
  }
  bool fix_failed = false;
  if (f.fix) {
    const app::FixOutcome fixed = app::ApplyLintFixes(report->findings);
    for (const lint::FileError& e : fixed.errors) {
      (void)PrintError(fmt::format("--fix: {}: {}", e.file, e.error.message));
    }
    fix_failed = !fixed.errors.empty();
    fmt::print(stderr, "berth lint: --fix wrote {} edit{} in {} file{}{}\n", fixed.applied,
               fixed.applied == 1 ? "" : "s", fixed.files, fixed.files == 1 ? "" : "s",
               fixed.skipped == 0 ? std::string()
                                  : fmt::format(" ({} skipped: the file changed, or two edits "
                                                "overlap; run again)", fixed.skipped));
    // What is printed and the exit status are about the files as they are now.
    report = app::Lint(f.request, store.get());
    if (!report) return PrintError(report.error());
  }
  if (report->registry_error) {
    PrintWarning(fmt::format("registry not used ({}); the lint itself is complete",
                             report->registry_error->message));
    registry_where.clear();
  }
  for (const lint::FileError& e : report->errors) {
    (void)PrintError(fmt::format("{}: {}", e.file, e.error.message));
  }
  const LintView view{&report->files, &report->decls, &report->findings, &report->errors,
                      registry_where};
  const Sink sink = [](std::string_view s) { WriteStdout(s); };
  if (f.json) {
    RenderLintJson(view, sink);
  } else if (f.sarif) {
    RenderLintSarif(view, BERTH_VERSION, sink);
  } else {
    RenderLintText(view, UseColor(ParseColorMode(f.color)), sink);
  }
  if (!report->errors.empty() || fix_failed) return 2;
  return ExitStatus(*report, f.fail_on);
}

}  // namespace

void AddLintCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<LintFlags>();
  CLI::App* cmd = app.add_subcommand(
      "lint",
      "Find dynamic, ephemeral and colliding ports, and clients that need a port mapper, in "
      "configuration files before they ship: Docker Compose, Kubernetes manifests, systemd "
      ".socket and .service units (ExecStart= port flags too), nginx, Apache, HAProxy, sshd, "
      "postgresql.conf, redis.conf, my.cnf, .env, .properties, odbc.ini, freetds.conf and SQL "
      "Server connection strings (docs/lint.md).");
  cmd->add_option("PATH", flags->request.paths,
                  "files and directories to lint (directories are walked; .gitignore is respected)")
      ->required();
  cmd->add_option("--include", flags->request.include,
                  "only files matching this glob (path below the directory or base name; repeat "
                  "for several); a file of any name that matches is read for connection strings")
      ->type_name("GLOB");
  cmd->add_option("--exclude", flags->request.exclude,
                  "skip files and directories matching this glob (repeat for several)")
      ->type_name("GLOB");
  cmd->add_flag("--no-gitignore", flags->no_gitignore, "read files that .gitignore ignores too");
  cmd->add_flag("--json", flags->json, "print JSON (schema berth.lint/1, docs/lint.md)");
  cmd->add_flag("--sarif", flags->sarif, "print SARIF 2.1.0 for code-scanning tools");
  cmd->add_option("--fail-on", flags->fail_on,
                  "exit 1 when a finding is at least this severe: info, warning, error, or none")
      ->check(CLI::IsMember({"info", "warning", "error", "none"}))
      ->capture_default_str();
  cmd->add_option("--color", flags->color, "colour: auto (on a terminal, unless NO_COLOR), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  cmd->add_option("--store", flags->store.store,
                  "registry URL whose ports the fixes name and declarations are checked against "
                  "(sqlite:///PATH, etcd[s]://HOST:PORT/PREFIX; default: $BERTH_STORE, else --db)")
      ->type_name("URL");
  AddStoreSecurityOptions(cmd, flags->store.security);
  cmd->add_option("--db", flags->store.db,
                  "registry file (default: $BERTH_DB, else the per-user or system one); read only");
  cmd->add_flag("--no-registry", flags->no_registry, "do not read the registry");
  cmd->add_option("--group", flags->request.group,
                  "a registry group: the ephemeral ranges of its hosts (berth group add --ephemeral) "
                  "count too, not only Linux's default")
      ->type_name("G");
  cmd->add_option("--probe", flags->request.probe_file,
                  "a 'berth probe --json' file: clients naming a SQL Server instance without a "
                  "port get the port it found, when that port is static (a dynamic one is "
                  "named, not written)")
      ->type_name("FILE");
  cmd->add_flag("--fix", flags->fix,
                "rewrite what is certain, in place and atomically, every other byte kept: quote "
                "Compose's base-60 entries, Server=HOST:PORT to HOST,PORT, and, with the "
                "registry (or --probe), its port for the service or the named instance; then lint again");
  cmd->add_flag("--diff", flags->diff,
                "print what --fix would write as a unified diff (apply it with patch -p1 from "
                "this directory), and write nothing; findings are not printed");
  cmd->footer(
      "Exit status: 0 no finding at or above --fail-on, 1 findings, 2 error (a path that does "
      "not exist, or a file that could not be read or parsed: the other files are still linted "
      "and reported).\n"
      "Rules: dynamic-port, ephemeral-port, port-collision, port-mapper, port-mapper-client, "
      "registry-mismatch, compose-sexagesimal, sqlclient-host-port (docs/lint.md).\n"
      "Examples:\n"
      "  berth lint .                            every configuration file below here\n"
      "  berth lint compose.yaml k8s/            a Compose file and a directory of manifests\n"
      "  berth lint --exclude 'vendor/*' .       skip a directory\n"
      "  berth lint --include '*.cs' src/        connection strings in C# sources\n"
      "  berth lint --sarif . > berth.sarif      for code scanning\n"
      "  berth lint --diff . > fix.patch         review what --fix would change (patch -p1 < fix.patch)\n"
      "  berth lint --fix --db reg.db .          write the registry's ports into the files\n"
      "  berth lint --json . | jq '.findings[]'");
  cmd->callback([flags, &exit_code] { exit_code = Run(*flags); });
}

}  // namespace berth::cli
