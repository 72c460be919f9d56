// berth agent: one host's part of the fleet, kept current in the registry (docs/fleet.md).
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/core.h>

#include "app/agent.h"
#include "base/clock.h"
#include "base/sd_notify.h"
#include "base/stop_signals.h"
#include "base/text.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "emit/agent_render.h"
#include "host/live_host.h"

namespace berth::cli {
namespace {

struct AgentFlags {
  StoreFlags store;
  std::string interval = "30s";
  std::string host;
  std::string group{registry::kDefaultGroup};
  std::string netns;
  std::string fail_on = "warning";
  int refresh = 10;
  bool reserve = false;
  bool once = false;
  bool json = false;
};

// "30", "30s", "5m", "1h": whole seconds, 1 s to 1 day.
Result<std::chrono::seconds> ParseInterval(std::string_view text) {
  std::string digits(text);
  long unit = 1;
  if (!digits.empty() && (digits.back() == 's' || digits.back() == 'm' || digits.back() == 'h')) {
    unit = digits.back() == 'h' ? 3600 : digits.back() == 'm' ? 60 : 1;
    digits.pop_back();
  }
  const bool ok = !digits.empty() && digits.size() <= 6 &&
                  digits.find_first_not_of("0123456789") == std::string::npos;
  const long seconds = ok ? std::stol(digits) * unit : 0;
  if (seconds < 1 || seconds > 86400) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("--interval '{}': give whole seconds from 1s to 1 day, such as 30s, "
                            "5m or 1h",
                            TerminalSafe(text, 32)));
  }
  return std::chrono::seconds(seconds);
}

// One line per event on stderr: "berth agent: LEVEL: TOPIC: message". Under journald (stderr
// is the journal stream) the level goes as a syslog priority prefix instead of a timestamp;
// elsewhere each line starts with the UTC time. Colour only when stderr is a terminal.
class Logger {
 public:
  Logger() {
    journal_ = std::getenv("JOURNAL_STREAM") != nullptr;
    const char* no_color = std::getenv("NO_COLOR");
    color_ = ::isatty(STDERR_FILENO) == 1 && (no_color == nullptr || *no_color == '\0');
  }
  void operator()(const app::AgentEvent& e) {
    std::string level(app::AgentLevelName(e.level));
    std::string prefix;
    if (journal_) {
      prefix = e.level == app::AgentLevel::kError ? "<3>" : e.level == app::AgentLevel::kWarning ? "<4>" : "<6>";
    } else {
      const std::time_t now = clock_.UnixSeconds();
      std::tm tm{};
      ::gmtime_r(&now, &tm);
      prefix = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z ", tm.tm_year + 1900, tm.tm_mon + 1,
                           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
    if (color_ && e.level != app::AgentLevel::kInfo) {
      level = fmt::format("{}{}\x1b[0m", e.level == app::AgentLevel::kError ? "\x1b[31m" : "\x1b[33m", level);
    }
    std::lock_guard lock(mu_);
    fmt::print(stderr, "{}berth agent: {}: {}: {}\n", prefix, level, e.topic,
               TerminalSafe(e.message, kTerminalMaxLine));
  }

 private:
  SystemClock clock_;
  bool journal_ = false;
  bool color_ = false;
  std::mutex mu_;
};

AgentReportView ViewOf(const app::AgentScan& s) {
  return AgentReportView{s.report, s.findings, s.observations, s.warnings, s.registry_revision,
                         std::nullopt, std::nullopt, std::nullopt, std::nullopt};
}

int RunOnce(const AgentFlags& f, const app::AgentOptions& options, HostSource& host) {
  auto store = OpenRegistry(f.store, registry::OpenMode::kWrite);
  SystemClock clock;
  auto done = app::RunAgentOnce(options, store ? store->get() : nullptr, host, clock);
  if (!done) return PrintError(done.error());
  if (!store) done->error = store.error();
  PrintWarnings(done->scan.warnings);
  const std::string where = store ? (*store)->Location() : f.store.store;
  if (f.json) {
    AgentReportView v = ViewOf(done->scan);
    v.store = where;
    if (!done->error) v.written = std::string(app::WriteReasonName(done->wrote));
    v.error = done->error;
    if (f.reserve) v.reserved_added = done->reserved_added;
    RenderAgentJson(v, JsonLayout::kPretty, kStdoutSink);
  } else {
    PrintFindings(done->scan.findings, false,
                  fmt::format("berth agent --once ({}, group {}, {} listeners)", options.host,
                              options.group, done->scan.report.listeners));
    if (!done->error) {
      WriteStdout(fmt::format("report {} in {}\n",
                              done->wrote == app::WriteReason::kUnchanged ? "unchanged" : "written",
                              TerminalSafe(where)));
    }
    if (!done->reserved_added.empty()) {
      WriteStdout(fmt::format("added {} to net.ipv4.ip_local_reserved_ports\n",
                              done->reserved_added.Format()));
    }
  }
  if (done->error) return PrintError(*done->error);
  return FindingsExitCode(done->scan.findings, f.fail_on);
}

int RunForever(const AgentFlags& f, app::AgentOptions options, HostSource& host) {
  auto where = ResolveStore(f.store);
  if (!where) return PrintError(where.error());
  // A reader of --json that goes away must not kill the agent before it revokes its lease.
  std::signal(SIGPIPE, SIG_IGN);
  // Before any thread starts: every thread inherits SIGTERM and SIGINT blocked.
  auto signals = StopSignals::Install();
  if (!signals) return PrintError(signals.error());
  const auto wait = std::chrono::milliseconds(static_cast<std::int64_t>(f.store.wait * 1000));
  app::StoreOpener open = [loc = *where, wait] {
    return registry::OpenStore(loc, registry::OpenMode::kWrite, wait);
  };
  auto logger = std::make_shared<Logger>();
  app::AgentCallbacks callbacks;
  callbacks.log = [logger](const app::AgentEvent& e) { (*logger)(e); };
  const auto notify = [logger](std::string_view state) {
    if (auto r = NotifySystemd(state); !r) {
      (*logger)({app::AgentLevel::kWarning, "agent", r.error().message});
    }
  };
  callbacks.ready = [notify] { notify("READY=1"); };
  if (f.json) {
    callbacks.scanned = [](const app::AgentScan& s) {
      RenderAgentJson(ViewOf(s), JsonLayout::kCompact, kStdoutSink);
    };
  }
  SystemClock clock;
  app::Agent agent(std::move(options), std::move(open), host, clock, std::move(callbacks));
  std::thread waiter([&] {
    if (auto sig = signals->Wait()) {
      (*logger)({app::AgentLevel::kInfo, "agent",
                 fmt::format("{}: stopping (revoking the lease)", *sig == SIGTERM ? "SIGTERM" : "SIGINT")});
      notify("STOPPING=1");
      agent.Stop();
    }
  });
  auto ran = agent.Run();
  signals->Cancel();
  waiter.join();
  if (!ran) return PrintError(ran.error());
  return 0;
}

int Run(const AgentFlags& f) {
  auto interval = ParseInterval(f.interval);
  if (!interval) return PrintError(interval.error());
  if (f.reserve && !f.netns.empty()) {
    return PrintError(
        "--reserve sets ip_local_reserved_ports in berth's own network namespace, and --netns "
        "scans another one: run the agent inside that namespace instead (ip netns exec NAME "
        "berth agent --reserve ...)");
  }
  if (f.refresh < 0) return PrintError("--refresh: give a number of scans, 0 for never");
  app::AgentOptions options;
  options.host = f.host.empty() ? LocalHostName() + (f.netns.empty() ? "" : ":" + f.netns) : f.host;
  options.group = f.group;
  options.interval = *interval;
  options.refresh_every = f.refresh;
  options.reserve = f.reserve;
  options.version = BERTH_VERSION;
  LiveHost host(LiveHost::Options{f.netns, {}});
  return f.once ? RunOnce(f, options, host) : RunForever(f, std::move(options), host);
}

}  // namespace

void AddAgentCommand(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<AgentFlags>();
  CLI::App* cmd = app.add_subcommand(
      "agent", "Keep this host's part of the fleet current in the registry: scan every interval, "
               "write the report and findings only when they change, hold a lease that shows the "
               "host is up, publish its ephemeral range into its group (docs/fleet.md). Runs in "
               "the foreground, logs to stderr; SIGTERM stops it and revokes the lease.");
  AddStoreOptions(cmd, f->store);
  cmd->add_option("--interval", f->interval,
                  "time between scans, ±10 % jitter (30s, 5m, 1h); the lease lives 3 intervals")
      ->capture_default_str();
  cmd->add_option("--host", f->host, "the name this host reports under (default: its hostname, "
                                     "HOST:NETNS with --netns)");
  cmd->add_option("--group", f->group, "the group this host belongs to: its ranges are published "
                                       "there")
      ->capture_default_str();
  cmd->add_option("--netns", f->netns, "scan another network namespace (a name from 'ip netns "
                                       "list' or a path such as /proc/PID/ns/net; needs root)");
  cmd->add_option("--refresh", f->refresh, "write the report even when unchanged every N scans "
                                           "(0: never)")
      ->capture_default_str();
  cmd->add_flag("--reserve", f->reserve, "keep the registered ports of this host's groups in "
                                         "net.ipv4.ip_local_reserved_ports, merged, as they are "
                                         "registered (needs CAP_NET_ADMIN)");
  cmd->add_flag("--once", f->once, "scan and report once, then exit (cron, tests): no lease");
  cmd->add_flag("--json", f->json, "print each scan as JSON on stdout (schema berth.agent/1): "
                                   "one document with --once, else one line per scan");
  cmd->add_option("--fail-on", f->fail_on, "--once: exit 1 when a finding is at least this "
                                           "severe: info, warning, error, or none")
      ->check(CLI::IsMember({"info", "warning", "error", "none"}))
      ->capture_default_str();
  cmd->footer("Exit status: 0 stopped by SIGTERM/SIGINT (--once: no finding at or above "
              "--fail-on), 1 --once found findings, 2 error.\n"
              "Example: berth agent --store etcd://10.0.0.1:2379,10.0.0.2:2379/berth --group web");
  cmd->callback([f, &exit_code] { exit_code = Run(*f); });
}

}  // namespace berth::cli
