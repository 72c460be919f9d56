// FleetWatch: what `berth serve` answers from. One background thread, with its own store,
// waits on the store's change counter (Store::WaitForChange), reads the whole fleet into an
// immutable FleetSnapshot when it moves, and every sixth of the shortest lease TTL (at least
// `lease_refresh`) reads each live agent's lease (LeaseRemaining), so requests never wait on
// the store. Requests take the current
// snapshot (a shared_ptr, never changed once published); writes go through a small pool of
// stores (a Store is used by one thread at a time) and refresh the snapshot before they
// answer, so a client reads its own writes. Event-stream clients wait for the next
// generation: it moves when the store changes or a host's state does. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/finding.h"
#include "registry/store.h"
#include "server/fleet_state.h"

namespace berth::server {

struct FleetSnapshot {
  std::int64_t counter = 0;   // the store's change counter it was read at
  std::int64_t revision = 0;  // the registry revision
  std::int64_t read_at = 0;   // unix seconds
  std::vector<registry::FleetHost> hosts;                              // sorted by name
  std::map<std::string, std::vector<Finding>> findings;                // by host
  std::map<std::string, std::vector<registry::Observation>> observations;  // last scan, by host
  std::vector<registry::ServiceRecord> services;                       // sorted by name
  std::vector<registry::Claim> claims;
  std::vector<registry::Group> groups;
  std::string stale_read;  // "" or why this may be stale (read without a quorum)
  // The part of GET /api/v1/map that does not change with the clock, written once per
  // snapshot on first use (api_json.cc).
  mutable std::once_flag map_once;
  mutable std::string map_tail;
};

// One host with its verdict now.
struct JudgedHost {
  const registry::FleetHost* host = nullptr;
  HostVerdict verdict;
  std::optional<std::int64_t> lease_left;
};

// Opens a store; `stale`: serializable reads from any member (etcd), for when the quorum is
// lost. Called from the background thread and from request threads.
using StoreOpener = std::function<Result<std::unique_ptr<registry::Store>>(bool stale)>;

class FleetWatch {
 public:
  struct Options {
    std::chrono::milliseconds lease_refresh{2000};  // at least; a sixth of the shortest TTL
    std::chrono::milliseconds wait_slice{1000};  // one WaitForChange call at most
  };
  FleetWatch(StoreOpener open, Options options);
  ~FleetWatch();  // stops the thread
  FleetWatch(const FleetWatch&) = delete;
  FleetWatch& operator=(const FleetWatch&) = delete;

  // Reads the first snapshot and starts the background thread. Failure: the store's (the
  // server does not start on a store it cannot read).
  [[nodiscard]] Result<void> Start();
  // Wakes every waiter and ends the thread. Idempotent.
  void Stop();

  std::shared_ptr<const FleetSnapshot> Current() const;
  // Why the store's last answer failed ("" when it answered), for host verdicts and /metrics.
  std::string StoreProblem() const;
  // Every host of `snap` judged now (lease cache, clock, store health).
  std::vector<JudgedHost> Judge(const FleetSnapshot& snap) const;

  // Runs `body` with a store from the pool, then re-reads the snapshot (read-your-writes).
  [[nodiscard]] Result<void> WithStore(const std::function<Result<void>(registry::Store&)>& body);

  // The generation now, and waiting for it to pass `seen` (false on timeout or Stop).
  std::uint64_t Generation() const;
  bool WaitGeneration(std::uint64_t seen, std::chrono::milliseconds timeout) const;
  bool stopped() const;

 private:
  void Run();
  Result<std::shared_ptr<FleetSnapshot>> Read(registry::Store& store) const;
  Result<void> Rebuild(registry::Store& store);
  void RefreshLeases(registry::Store& store);
  std::chrono::milliseconds LeaseRefreshPeriod() const;
  void NoticeStateChanges();
  void Publish(std::shared_ptr<const FleetSnapshot> snap);
  void Bump();
  void SetProblem(std::string problem);  // bumps the generation when it changes

  StoreOpener open_;
  Options options_;
  std::unique_ptr<registry::Store> watcher_;  // the background thread's
  std::unique_ptr<registry::Store> stale_;    // serializable reads, opened on demand

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::shared_ptr<const FleetSnapshot> snap_;
  std::map<std::string, std::pair<std::int64_t, std::chrono::steady_clock::time_point>> leases_;
  std::map<std::string, HostState> last_states_;
  std::string store_problem_;
  std::uint64_t generation_ = 0;
  bool stop_ = false;

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<registry::Store>> pool_;
  std::mutex rebuild_mu_;  // one snapshot read at a time

  std::thread thread_;
};

}  // namespace berth::server
