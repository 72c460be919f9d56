#include "server/fleet_watch.h"

#include <fmt/core.h>

#include "base/clock.h"

namespace berth::server {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string Unanswered(const Error& e) {
  return fmt::format("the store did not answer ({}); showing what it said before", e.message);
}

}  // namespace

FleetWatch::FleetWatch(StoreOpener open, Options options)
    : open_(std::move(open)), options_(options) {}

FleetWatch::~FleetWatch() { Stop(); }

Result<void> FleetWatch::Start() {
  watcher_ = BERTH_TRY(open_(false));
  BERTH_TRY(Rebuild(*watcher_));
  RefreshLeases(*watcher_);
  thread_ = std::thread([this] { Run(); });
  return {};
}

void FleetWatch::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool FleetWatch::stopped() const {
  std::lock_guard lock(mu_);
  return stop_;
}

std::shared_ptr<const FleetSnapshot> FleetWatch::Current() const {
  std::lock_guard lock(mu_);
  return snap_;
}

std::string FleetWatch::StoreProblem() const {
  std::lock_guard lock(mu_);
  return store_problem_;
}

std::uint64_t FleetWatch::Generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

bool FleetWatch::WaitGeneration(std::uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return stop_ || generation_ != seen; }) && !stop_;
}

void FleetWatch::Bump() {
  {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

std::vector<JudgedHost> FleetWatch::Judge(const FleetSnapshot& snap) const {
  const std::int64_t now = UnixNow();
  std::string problem;
  std::map<std::string, std::pair<std::int64_t, SteadyClock::time_point>> leases;
  {
    std::lock_guard lock(mu_);
    problem = store_problem_;
    leases = leases_;
  }
  if (problem.empty() && !snap.stale_read.empty()) problem = snap.stale_read;
  const auto steady_now = SteadyClock::now();
  std::vector<JudgedHost> out;
  out.reserve(snap.hosts.size());
  for (const registry::FleetHost& h : snap.hosts) {
    JudgedHost j;
    j.host = &h;
    if (const auto it = leases.find(h.report.host); it != leases.end() && h.presence) {
      const auto elapsed =
          std::chrono::duration_cast<std::chrono::seconds>(steady_now - it->second.second);
      j.lease_left = it->second.first - elapsed.count();
    }
    j.verdict = JudgeHost(h, j.lease_left, now, problem);
    out.push_back(std::move(j));
  }
  return out;
}

Result<std::shared_ptr<FleetSnapshot>> FleetWatch::Read(registry::Store& store) const {
  auto snap = std::make_shared<FleetSnapshot>();
  snap->counter = BERTH_TRY(store.WaitForChange(0, 0));
  snap->revision = BERTH_TRY(store.Revision());
  snap->read_at = UnixNow();
  snap->hosts = BERTH_TRY(store.ListHosts());
  for (const registry::FleetHost& h : snap->hosts) {
    const std::string& name = h.report.host;
    snap->findings[name] = BERTH_TRY(store.HostFindings(name));
    if (const auto last = BERTH_TRY(store.LastScan(name))) {
      snap->observations[name] = BERTH_TRY(store.ScanObservations(name, *last));
    }
  }
  snap->services = BERTH_TRY(store.ListServices());
  snap->claims = BERTH_TRY(store.ListClaims(""));
  snap->groups = BERTH_TRY(store.ListGroups());
  return snap;
}

// Reads the fleet through `store`; when the store is down (etcd without a quorum), through a
// store that reads from any member, marked as possibly stale.
Result<void> FleetWatch::Rebuild(registry::Store& store) {
  std::lock_guard rebuild(rebuild_mu_);
  auto snap = Read(store);
  // etcd without a quorum fails linearizable reads (503, or a deadline): any member still
  // answers a serializable one.
  if (!snap && store.Kind() == "etcd") {
    if (!stale_) {
      if (auto s = open_(true)) stale_ = std::move(*s);
    }
    if (stale_) {
      const Error first = snap.error();
      snap = Read(*stale_);
      if (snap) {
        (*snap)->stale_read = fmt::format(
            "the store has no quorum ({}); read from one member, may be stale", first.message);
      }
    }
  }
  if (!snap) {
    SetProblem(Unanswered(snap.error()));
    return std::unexpected(snap.error());
  }
  {
    std::lock_guard lock(mu_);
    store_problem_.clear();
  }
  Publish(std::move(*snap));
  return {};
}

void FleetWatch::SetProblem(std::string problem) {
  {
    std::lock_guard lock(mu_);
    if (store_problem_ == problem) return;
    store_problem_ = std::move(problem);
    // Every document says it too (its "stale"): what is served meanwhile may be stale. The
    // next good read publishes a fresh snapshot without it.
    if (snap_ && snap_->stale_read.empty() && !store_problem_.empty()) {
      auto marked = std::make_shared<FleetSnapshot>();
      marked->counter = snap_->counter;
      marked->revision = snap_->revision;
      marked->read_at = snap_->read_at;
      marked->hosts = snap_->hosts;
      marked->findings = snap_->findings;
      marked->observations = snap_->observations;
      marked->services = snap_->services;
      marked->claims = snap_->claims;
      marked->groups = snap_->groups;
      marked->stale_read = store_problem_;
      snap_ = std::move(marked);
    }
  }
  Bump();
}

void FleetWatch::Publish(std::shared_ptr<const FleetSnapshot> snap) {
  {
    std::lock_guard lock(mu_);
    snap_ = std::move(snap);
  }
  Bump();
}

void FleetWatch::RefreshLeases(registry::Store& store) {
  const auto snap = Current();
  if (!snap) return;
  std::map<std::string, std::pair<std::int64_t, SteadyClock::time_point>> fresh;
  bool gone = false;
  for (const registry::FleetHost& h : snap->hosts) {
    if (!h.presence) continue;
    auto left = store.LeaseRemaining(h.presence->lease);
    if (!left) {
      // Without a quorum leases cannot be read; a snapshot read from one member already
      // says the data may be stale.
      if (snap->stale_read.empty()) SetProblem(Unanswered(left.error()));
      return;
    }
    if (!*left) {
      gone = true;  // expired: the next read shows the host down
      continue;
    }
    fresh[h.report.host] = {**left, SteadyClock::now()};
  }
  {
    std::lock_guard lock(mu_);
    leases_ = std::move(fresh);
  }
  if (gone || !StoreProblem().empty()) {
    (void)Rebuild(store);  // a lease ended, or the store answers again
  }
}

// A host that turned stale (or up again) without a write to the store is news too: its scan
// aged, or its lease ran low.
void FleetWatch::NoticeStateChanges() {
  const auto snap = Current();
  if (!snap) return;
  std::map<std::string, HostState> states;
  for (const JudgedHost& j : Judge(*snap)) states[j.host->report.host] = j.verdict.state;
  bool changed = false;
  {
    std::lock_guard lock(mu_);
    changed = states != last_states_;
    last_states_ = std::move(states);
  }
  if (changed) Bump();
}

// A sixth of the shortest lease: "missed two renewals" (less than a third left) is then seen
// within half a renewal, and 500 long leases are not read every two seconds.
std::chrono::milliseconds FleetWatch::LeaseRefreshPeriod() const {
  std::int64_t shortest = 0;
  if (const auto snap = Current()) {
    for (const registry::FleetHost& h : snap->hosts) {
      if (h.presence && h.presence->ttl > 0 && (shortest == 0 || h.presence->ttl < shortest)) {
        shortest = h.presence->ttl;
      }
    }
  }
  const std::chrono::milliseconds sixth(shortest * 1000 / 6);
  return std::max(options_.lease_refresh, std::min(sixth, std::chrono::milliseconds(30000)));
}

void FleetWatch::Run() {
  auto next_leases = SteadyClock::now() + options_.lease_refresh;
  std::int64_t seen = Current() ? Current()->counter : 0;
  while (!stopped()) {
    auto counter = watcher_->WaitForChange(seen, static_cast<int>(options_.wait_slice.count()));
    if (!counter) {
      SetProblem(Unanswered(counter.error()));
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.wait_slice, [&] { return stop_; });
      continue;
    }
    if (*counter != seen) {
      // Past everything the new snapshot read, not just the first change seen: etcd answers
      // with the first revision after `seen`, and the read covers all up to its own.
      if (Rebuild(*watcher_)) seen = std::max(*counter, Current()->counter);
    } else if (!StoreProblem().empty()) {
      (void)Rebuild(*watcher_);  // the store answers again
    }
    if (SteadyClock::now() >= next_leases) {
      RefreshLeases(*watcher_);
      next_leases = SteadyClock::now() + LeaseRefreshPeriod();
    }
    NoticeStateChanges();
  }
}

Result<void> FleetWatch::WithStore(const std::function<Result<void>(registry::Store&)>& body) {
  std::unique_ptr<registry::Store> store;
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      store = std::move(pool_.back());
      pool_.pop_back();
    }
  }
  if (!store) store = BERTH_TRY(open_(false));
  auto result = body(*store);
  const auto reread = Rebuild(*store);
  {
    std::lock_guard lock(pool_mu_);
    pool_.push_back(std::move(store));
  }
  if (!result) return result;
  return reread;
}

}  // namespace berth::server#include "base/clock.h"

