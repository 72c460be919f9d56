#include "app/agent.h"

#include <algorithm>
#include <random>
#include <system_error>
#include <thread>

#include <fmt/core.h>

#include "host/reserved_ports.h"

namespace berth::app {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// How long the watch waits on the registry's changes per call: Stop() is seen within it.
milliseconds WatchWait(std::chrono::seconds interval) {
  return std::clamp<milliseconds>(interval, milliseconds(1000), milliseconds(5000));
}

// A store failure is logged when a streak of them starts or its message changes, and the
// end of the streak once: a store that is down for an hour is not an hour of log lines.
class Streak {
 public:
  // The line to log for this failure, or "" when the same one was logged already.
  std::string Fail(const Error& e) {
    if (failing_ && e.message == last_) return {};
    failing_ = true;
    last_ = e.message;
    return last_;
  }
  // True once when a streak ends.
  bool Recovered() { return std::exchange(failing_, false); }

 private:
  bool failing_ = false;
  std::string last_;
};

// Merges `want` into ip_local_reserved_ports (never dropping an entry, as `berth reserve`
// does): the ports added, empty when it already held them all. Failure: reading or setting
// the sysctl (setting needs CAP_NET_ADMIN).
Result<PortSet> ReserveMerged(const PortSet& want) {
  const PortSet current = BERTH_TRY(ReadReservedPorts());
  PortSet merged = current;
  merged.Add(want);
  PortSet added = merged;
  added.Subtract(current);
  if (!added.empty()) BERTH_TRY(SetReservedPorts(merged));
  return added;
}

}  // namespace

std::int64_t AgentLeaseTtl(std::chrono::seconds interval) {
  return std::max<std::int64_t>(3, 3 * interval.count());
}

std::string_view AgentLevelName(AgentLevel level) {
  switch (level) {
    case AgentLevel::kInfo: return "info";
    case AgentLevel::kWarning: return "warning";
    case AgentLevel::kError: return "error";
  }
  return "?";
}

Agent::Agent(AgentOptions options, StoreOpener open, HostSource& host, const Clock& clock,
             AgentCallbacks callbacks)
    : options_(std::move(options)),
      open_(std::move(open)),
      host_(host),
      clock_(clock),
      callbacks_(std::move(callbacks)),
      retry_(std::clamp<milliseconds>(options_.interval, milliseconds(1000), milliseconds(10000))) {}

Agent::~Agent() { Stop(); }

void Agent::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

void Agent::Log(AgentLevel level, std::string topic, std::string message) {
  if (!callbacks_.log) return;
  std::lock_guard lock(log_mu_);
  callbacks_.log(AgentEvent{level, std::move(topic), std::move(message)});
}

bool Agent::WaitUntil(steady_clock::time_point deadline, const std::uint64_t* wake) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return stop_ || (wake != nullptr && registry_gen_ != *wake); });
  return stop_;
}

Result<registry::Store*> Agent::Connect(std::unique_ptr<registry::Store>& store) {
  if (!store) store = BERTH_TRY(open_());
  return store.get();
}

Result<void> Agent::Run() {
  Log(AgentLevel::kInfo, "agent",
      fmt::format("host '{}', group '{}', every {} s (lease TTL {} s), report refreshed every {} "
                  "scans{}",
                  options_.host, options_.group, options_.interval.count(),
                  AgentLeaseTtl(options_.interval), options_.refresh_every,
                  options_.reserve ? ", keeping registered ports in ip_local_reserved_ports" : ""));
  std::thread lease, writer, watch;
  try {
    lease = std::thread([this] { LeaseLoop(); });
    writer = std::thread([this] { WriteLoop(); });
    watch = std::thread([this] { WatchLoop(); });
  } catch (const std::system_error& e) {
    Stop();
    for (std::thread* t : {&lease, &writer, &watch}) {
      if (t->joinable()) t->join();
    }
    return Fail(ErrorCode::kUnavailable,
                fmt::format("cannot start the agent's threads ({}): raise the process limit "
                            "(ulimit -u) or free memory",
                            e.what()));
  }
  ScanLoop();
  lease.join();  // first: the lease is revoked before waiting for the other loops
  writer.join();
  watch.join();
  Log(AgentLevel::kInfo, "agent", "stopped");
  return {};
}

void Agent::ScanLoop() {
  std::uint64_t seen_gen = 0;
  {
    // The first scan waits (at most one interval, at most 10 s: systemd waits for READY=1)
    // for the registry it is judged against.
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::min<milliseconds>(options_.interval, milliseconds(10000)),
                 [&] { return stop_ || registry_ != nullptr; });
    if (registry_ == nullptr && !stop_) {
      Log(AgentLevel::kWarning, "scan",
          "the registry could not be read yet: scanning without it (audit findings only) until "
          "it can");
    }
  }
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.9, 1.1);
  std::string last_digest;
  // What the previous scan saw, for port-changed: at first the store's last recorded scan.
  std::optional<std::vector<registry::Observation>> previous;
  for (int n = 1;; ++n) {
    std::shared_ptr<const AgentRegistry> reg;
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      reg = registry_;
      seen_gen = registry_gen_;
    }
    const auto started = steady_clock::now();
    HostQuery query;
    auto snap = host_.Take(query);
    if (reg && !previous) previous = reg->previous;
    AgentScan scan = snap ? JudgeScan(std::move(*snap), reg.get(), previous.value_or(
                                          std::vector<registry::Observation>{}),
                                      options_.host, options_.group, clock_.UnixSeconds())
                          : FailedScan(snap.error(), options_.host, options_.group,
                                       clock_.UnixSeconds());
    if (snap && reg) previous = scan.observations;
    if (!snap) {
      Log(AgentLevel::kError, "scan", fmt::format("cannot scan this host: {}", snap.error().message));
    } else if (scan.report.digest != last_digest) {
      std::size_t errors = 0, warnings = 0;
      for (const Finding& f : scan.findings) {
        errors += f.severity == Severity::kError;
        warnings += f.severity == Severity::kWarning;
      }
      Log(AgentLevel::kInfo, "scan",
          fmt::format("{} listeners, {} findings ({} errors, {} warnings){}{}",
                      scan.report.listeners, scan.findings.size(), errors, warnings,
                      last_digest.empty() ? "" : ": changed since the last scan",
                      reg ? "" : " (without the registry)"));
    }
    last_digest = scan.report.digest;
    if (callbacks_.scanned) callbacks_.scanned(scan);
    {
      std::lock_guard lock(mu_);
      const bool refresh = options_.refresh_every > 0 && n % options_.refresh_every == 0;
      // A report judged without the registry is not written over one judged with it.
      if (scan.registry_revision || !snap) {
        const bool carried = pending_ && pending_->refresh;
        pending_ = WriteJob{std::move(scan), refresh || carried};
      }
      if (!ready_sent_ && callbacks_.ready) {
        ready_sent_ = true;
        callbacks_.ready();
      }
    }
    cv_.notify_all();
    const auto period = std::chrono::duration_cast<milliseconds>(options_.interval * jitter(rng));
    // A new registry wakes the scan early, but never twice within a second.
    if (WaitUntil(started + milliseconds(1000))) return;
    if (WaitUntil(started + period, &seen_gen)) return;
  }
}

void Agent::LeaseLoop() {
  const std::int64_t ttl = AgentLeaseTtl(options_.interval);
  const milliseconds renew(std::max<std::int64_t>(1000, ttl * 1000 / 3));
  std::unique_ptr<registry::Store> store;
  std::int64_t lease = 0;
  bool presence = false;
  const std::int64_t started = clock_.UnixSeconds();
  Streak trouble;
  for (;;) {
    bool again = false;  // a lost lease is granted again at once
    auto connected = Connect(store);
    Result<void> step;
    if (!connected) {
      step = std::unexpected(connected.error());
    } else {
      registry::Store* s = *connected;
      if (lease == 0) {
        auto granted = s->GrantLease(ttl);
        if (granted) {
          lease = *granted;
          presence = false;
        } else {
          step = std::unexpected(granted.error());
        }
      } else if (presence) {
        auto left = s->KeepAlive(lease);
        if (!left) {
          step = std::unexpected(left.error());
        } else if (!*left) {
          Log(AgentLevel::kWarning, "lease",
              fmt::format("lease {} is gone (the store heard nothing from this agent for {} s): "
                          "granting a new one and writing the presence again",
                          lease, ttl));
          lease = 0;
          again = true;
        }
      }
      if (step && lease != 0 && !presence) {
        step = s->PutPresence(registry::HostPresence{options_.host, lease, ttl,
                                                     options_.interval.count(),
                                                     options_.refresh_every, started,
                                                     options_.version});
        if (!step && step.error().code == ErrorCode::kNotFound) {
          lease = 0;  // expired before its presence was written: grant another
        } else if (step) {
          presence = true;
          Log(AgentLevel::kInfo, "lease",
              fmt::format("lease {} granted at {} (TTL {} s, renewed every {} s), presence written",
                          lease, s->Location(), ttl, renew.count() / 1000));
        }
      }
    }
    if (!step) {
      if (std::string line = trouble.Fail(step.error()); !line.empty()) {
        Log(AgentLevel::kWarning, "lease",
            fmt::format("{}; retrying every {} s (the agent keeps scanning)", line,
                        renew.count() / 1000));
      }
    } else if (trouble.Recovered()) {
      Log(AgentLevel::kInfo, "lease", fmt::format("lease {} held again", lease));
    }
    if (again) continue;
    if (WaitFor(renew)) break;
  }
  if (store && lease != 0) {
    if (auto r = store->RevokeLease(lease); r) {
      Log(AgentLevel::kInfo, "lease", fmt::format("lease {} revoked: presence removed", lease));
    } else {
      Log(AgentLevel::kWarning, "lease",
          fmt::format("revoking lease {} failed: {}; the presence goes when the lease expires "
                      "(within {} s)",
                      lease, r.error().message, ttl));
    }
  }
}

void Agent::WriteLoop() {
  std::unique_ptr<registry::Store> store;
  std::optional<StoredReport> stored;
  // The ranges last published into the group (nothing is read again while they hold).
  std::optional<std::pair<PortRange, PortSet>> published;
  Streak trouble, group_missing;
  for (;;) {
    WriteJob job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || pending_.has_value(); });
      if (stop_) return;
      job = std::move(*pending_);
      pending_.reset();
    }
    auto connected = Connect(store);
    Result<void> step;
    registry::Store* s = nullptr;
    if (connected) s = *connected; else step = std::unexpected(connected.error());
    if (step && !stored) {
      auto read = ReadStoredReport(*s, options_.host);
      if (read) stored = *read; else step = std::unexpected(read.error());
    }
    const std::pair<PortRange, PortSet> ranges{job.scan.report.ephemeral, job.scan.report.reserved};
    if (step && job.scan.report.error.empty() && published != ranges) {
      auto wrote = PublishHostRanges(*s, options_.group, options_.host, ranges.first, ranges.second);
      if (wrote) {
        published = ranges;
        if (*wrote) {
          Log(AgentLevel::kInfo, "group",
              fmt::format("published this host's ephemeral range {}-{} and reserved ports [{}] "
                          "into group '{}' (allocators everywhere keep them out)",
                          ranges.first.low, ranges.first.high, ranges.second.Format(),
                          options_.group));
        }
      } else if (wrote.error().code == ErrorCode::kNotFound) {
        // Not a store failure: said once per distinct message, the report is still written.
        if (std::string line = group_missing.Fail(wrote.error()); !line.empty()) {
          Log(AgentLevel::kError, "group", line + "; create it with: berth group add " + options_.group);
        }
      } else {
        step = std::unexpected(wrote.error());
      }
    }
    if (step) {
      auto wrote = WriteAgentReport(*s, job.scan, job.refresh, *stored);
      if (wrote) {
        if (*wrote != WriteReason::kUnchanged) {
          Log(AgentLevel::kInfo, "report",
              fmt::format("written ({}): {} listeners, {} findings", WriteReasonName(*wrote),
                          job.scan.report.listeners, job.scan.findings.size()));
        }
      } else {
        step = std::unexpected(wrote.error());
      }
    }
    if (step) {
      if (trouble.Recovered()) Log(AgentLevel::kInfo, "report", "the store answers again; caught up");
      continue;
    }
    if (std::string line = trouble.Fail(step.error()); !line.empty()) {
      Log(AgentLevel::kWarning, "report",
          fmt::format("{}; the latest report is kept and written when the store answers (the "
                      "agent keeps scanning)",
                      line));
    }
    {
      std::lock_guard lock(mu_);
      if (!pending_) pending_ = std::move(job);  // else a newer scan replaces it
    }
    if (WaitFor(retry_)) return;
  }
}

void Agent::WatchLoop() {
  std::unique_ptr<registry::Store> store;
  std::int64_t since = 0;
  std::optional<std::int64_t> revision;
  Streak trouble;
  const milliseconds wait = WatchWait(options_.interval);
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    auto connected = Connect(store);
    registry::Store* s = connected ? *connected : nullptr;
    Result<void> step;
    if (!connected) {
      step = std::unexpected(connected.error());
    } else if (auto changed = s->WaitForRegistryChange(since, static_cast<int>(wait.count())); !changed) {
      step = std::unexpected(changed.error());
    } else if (*changed != since || !revision) {
      since = *changed;
      auto rev = s->Revision();
      if (!rev) {
        step = std::unexpected(rev.error());
      } else if (*rev != revision) {
        auto read = ReadAgentRegistry(*s, options_.host);
        if (!read) {
          step = std::unexpected(read.error());
        } else {
          const std::size_t services = read->doc.services.size();
          const bool first = !revision;
          revision = read->revision;
          auto fresh = std::make_shared<const AgentRegistry>(std::move(*read));
          {
            std::lock_guard lock(mu_);
            registry_ = fresh;
            ++registry_gen_;
          }
          cv_.notify_all();
          Log(AgentLevel::kInfo, "registry",
              fmt::format("{} revision {} ({} services)", first ? "read" : "changed: read",
                          *revision, services));
          if (options_.reserve) ApplyReserve(fresh->doc);
        }
      }
    }
    if (step) {
      if (trouble.Recovered()) Log(AgentLevel::kInfo, "registry", "the store answers again");
      continue;
    }
    if (std::string line = trouble.Fail(step.error()); !line.empty()) {
      Log(AgentLevel::kWarning, "registry",
          fmt::format("{}; scans use the registry as last read, retrying every {} s", line,
                      retry_.count() / 1000));
    }
    if (WaitFor(retry_)) return;
  }
}

void Agent::ApplyReserve(const registry::RegistryDoc& doc) {
  auto added = ReserveMerged(PortsToReserve(doc, options_.host, options_.group));
  if (!added) {
    Log(AgentLevel::kError, "reserve",
        fmt::format("{} (--reserve needs CAP_NET_ADMIN and a writable /proc/sys)",
                    added.error().message));
  } else if (!added->empty()) {
    Log(AgentLevel::kInfo, "reserve",
        fmt::format("added {} to net.ipv4.ip_local_reserved_ports", added->Format()));
  }
}

Result<AgentOnceResult> RunAgentOnce(const AgentOptions& options, registry::Store* store,
                                     HostSource& host, const Clock& clock) {
  AgentOnceResult out;
  std::optional<AgentRegistry> reg;
  if (store != nullptr) {
    auto read = ReadAgentRegistry(*store, options.host);
    if (read) reg = std::move(*read); else out.error = read.error();
  }
  HostSnapshot snap = BERTH_TRY(host.Take(HostQuery{}));
  out.scan = JudgeScan(std::move(snap), reg ? &*reg : nullptr,
                       reg ? reg->previous : std::vector<registry::Observation>{}, options.host,
                       options.group, clock.UnixSeconds());
  if (!reg) return out;
  auto step = [&]() -> Result<void> {
    BERTH_TRY(PublishHostRanges(*store, options.group, options.host, out.scan.report.ephemeral,
                                out.scan.report.reserved));
    StoredReport stored = BERTH_TRY(ReadStoredReport(*store, options.host));
    out.wrote = BERTH_TRY(WriteAgentReport(*store, out.scan, false, stored));
    return {};
  }();
  if (!step) out.error = step.error();
  if (options.reserve) {
    auto added = ReserveMerged(PortsToReserve(reg->doc, options.host, options.group));
    if (added) out.reserved_added = *added; else out.error = added.error();
  }
  return out;
}

}  // namespace berth::app
