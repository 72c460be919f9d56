// The registry's storage interface, shaped so that SQLite (one file, this host) and etcd
// (a fleet) can both implement it:
//  - a port is claimed by the key (group, protocol slot, port); a claim is unique, and a
//    service with protocol `both` claims its tcp and udp slots together or not at all
//    (etcd: one txn comparing create_revision == 0 on each claim key);
//  - every write bumps one registry revision (etcd: the store revision);
//  - a lookup that can be empty returns Result<std::optional<T>>: absent is not a failure.
// A Store object is used by one thread; several processes may use one store at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "registry/model.h"

namespace berth::registry {

struct Claim {
  std::string group;
  Protocol slot = Protocol::kTcp;
  Port port = 0;
  std::string service;
};

// A group's claims as the allocator asks about them (Store::ClaimedPorts): which ports each
// slot holds, and whose.
struct ClaimIndex {
  PortSet claimed[2];  // by slot: [0] tcp, [1] udp
  std::map<std::pair<Protocol, Port>, std::string> holders;

  void Add(Protocol slot, Port port, std::string service);
  void Remove(Protocol slot, Port port);
  void Clear();
  bool Holds(Protocol slot, Port port) const { return claimed[slot == Protocol::kTcp ? 0 : 1].contains(port); }
  // The claims of `port` (tcp, then udp) in `group`.
  std::vector<Claim> At(std::string_view group, Port port) const;
};

enum class ClaimStatus : std::uint8_t {
  kClaimed,  // the service was new: its ports are now claimed
  kExists,   // a service of that name was already registered: `existing` holds it
};

struct ClaimOutcome {
  ClaimStatus status = ClaimStatus::kClaimed;
  ServiceRecord record;  // the new record, or the existing one
};

struct ScanRecorded {
  std::int64_t time = 0;                  // the time the scan was recorded under
  std::optional<std::int64_t> previous;   // the previous scan of the same host
};

// One member of a replicated store as it answers now (`berth store status`).
struct StoreMember {
  std::string endpoint;
  bool answered = false;
  std::string error;    // why not, when it did not answer
  std::string version;  // the server's version
  bool has_leader = false;
  std::int64_t revision = 0;
  std::int64_t db_size = 0;  // bytes
};

// What an operation is about to read, so that a store across a network can fetch it in one
// request with the operation's first read (a hint: reading works the same without it).
struct PrefetchHint {
  std::vector<std::string> services;
  std::vector<std::string> groups;  // their records, and the claims of each
  std::vector<std::string> families;
};

class Store {
 public:
  virtual ~Store() = default;

  // "sqlite" or "etcd".
  virtual std::string_view Kind() const = 0;
  // Each member's health, for a replicated store; empty for a file.
  virtual std::vector<StoreMember> Members() { return {}; }
  // The next operation (or Atomically step) will read these.
  virtual void Prefetch(const PrefetchHint& /*hint*/) {}

  // Where the store is, for messages: a SQLite file's path, an etcd endpoint list and prefix.
  virtual std::string Location() const = 0;

  // The registry revision: 0 for an empty registry, +1 for every committed write.
  [[nodiscard]] virtual Result<std::int64_t> Revision() = 0;

  [[nodiscard]] virtual Result<std::optional<ServiceRecord>> GetService(std::string_view name) = 0;
  // Every service, sorted by name.
  [[nodiscard]] virtual Result<std::vector<ServiceRecord>> ListServices() = 0;
  // The claims of one group ("" for every group), sorted by (group, slot, port).
  [[nodiscard]] virtual Result<std::vector<Claim>> ListClaims(std::string_view group) = 0;

  // The claims of `group` as an index, current with this step's reads inside Atomically (else
  // with the store now). The index belongs to the store, stays valid as long as it, and is
  // brought up to date in place by later calls: a store across a network applies only what
  // changed since it last read them, so an allocator asking at every assign pays for the
  // changes, not for the group's size. The default builds it from ListClaims.
  [[nodiscard]] virtual Result<const ClaimIndex*> ClaimedPorts(std::string_view group);
  // The claims of `group` as a guide for choosing a port that the caller then claims in the
  // same Atomically step (the allocator's assign): it may lack claims made elsewhere since the
  // store last read them, never holds a released one, and the claim's commit fails when the
  // port turns out taken (or when a claim of the group was released meanwhile), so the step
  // runs again on what the failure brought back. A store across a network answers it without
  // reading the group whole (etcd: docs/etcd-store.md, "Guided claims"). By default,
  // ClaimedPorts.
  [[nodiscard]] virtual Result<const ClaimIndex*> ClaimsToGuide(std::string_view group) {
    return ClaimedPorts(group);
  }

  // Registers `record.service` and claims its port for each protocol it covers, in one
  // atomic step. If the name is already registered nothing changes and the outcome is
  // kExists with the stored record. Failure: kConflict when a slot is already claimed (the
  // message names the holder), kUnavailable when the store stays busy.
  [[nodiscard]] virtual Result<ClaimOutcome> ClaimService(const ServiceRecord& record) = 0;
  // Removes a service and its claims. Returns false when no such service was registered.
  [[nodiscard]] virtual Result<bool> ReleaseService(std::string_view name) = 0;
  // Removes every named service and its claims in one atomic step, or none: false (nothing
  // changed) when any name is not registered.
  [[nodiscard]] virtual Result<bool> ReleaseServices(std::span<const std::string> names) = 0;

  // Runs `body` as one atomic step: the writes it makes through this store are all committed
  // when it succeeds and none when it fails. Not reentrant. The body may run more than once
  // (etcd commits optimistically and runs it again after a lost race): it must start from
  // scratch each time.
  [[nodiscard]] virtual Result<void> Atomically(const std::function<Result<void>()>& body) = 0;
  // The registry revision the last write through this object committed at, when the store
  // knows it without asking (etcd: the commit's revision); 0 otherwise (ask Revision()).
  virtual std::int64_t CommittedRevision() const { return 0; }

  // The store's own consistency check: one line per problem, empty when healthy.
  [[nodiscard]] virtual Result<std::vector<std::string>> CheckIntegrity() = 0;

  [[nodiscard]] virtual Result<std::optional<Group>> GetGroup(std::string_view name) = 0;
  [[nodiscard]] virtual Result<std::vector<Group>> ListGroups() = 0;
  [[nodiscard]] virtual Result<void> PutGroup(const Group& group) = 0;
  [[nodiscard]] virtual Result<std::optional<Family>> GetFamily(std::string_view name) = 0;
  [[nodiscard]] virtual Result<std::vector<Family>> ListFamilies() = 0;
  [[nodiscard]] virtual Result<void> PutFamily(const Family& family) = 0;

  // Records one scan of `host` at `time` (unix seconds; moved one second past the previous
  // scan of the host if it is not later): upserts each observation, keyed by
  // (host, proto, port, command).
  [[nodiscard]] virtual Result<ScanRecorded> RecordScan(
      std::string_view host, std::int64_t time, const std::vector<Observation>& seen) = 0;
  // The time of the latest recorded scan of `host`, if any.
  [[nodiscard]] virtual Result<std::optional<std::int64_t>> LastScan(std::string_view host) = 0;
  // Observations of `host` last seen at exactly `time` (what that scan saw).
  [[nodiscard]] virtual Result<std::vector<Observation>> ScanObservations(std::string_view host,
                                                                          std::int64_t time) = 0;
  // The observations of one service, most recent first.
  [[nodiscard]] virtual Result<std::vector<Observation>> ServiceObservations(
      std::string_view service) = 0;

  // ---- The fleet (berth agent writes, berth serve reads; docs/fleet.md) ----
  // A lease expires `ttl` seconds after it was granted or last renewed; what is written
  // under it goes with it. Grant: the new lease id.
  [[nodiscard]] virtual Result<std::int64_t> GrantLease(std::int64_t ttl) = 0;
  // Renews `lease`: its remaining seconds, or nullopt when it is gone (expired or revoked:
  // grant a new one and write the presence again).
  [[nodiscard]] virtual Result<std::optional<std::int64_t>> KeepAlive(std::int64_t lease) = 0;
  // Seconds left on `lease` without renewing it; nullopt when it is gone.
  [[nodiscard]] virtual Result<std::optional<std::int64_t>> LeaseRemaining(std::int64_t lease) = 0;
  // Ends `lease` now, and its presence with it. Revoking a lease that is gone is not a failure.
  [[nodiscard]] virtual Result<void> RevokeLease(std::int64_t lease) = 0;
  // The host's presence, bound to presence.lease.
  [[nodiscard]] virtual Result<void> PutPresence(const HostPresence& presence) = 0;
  // The host's report and its findings (replacing the previous ones), in one atomic step.
  [[nodiscard]] virtual Result<void> PutHostReport(const HostReport& report,
                                                   const std::vector<Finding>& findings) = 0;
  // Every host that has a report or a presence, sorted by name.
  [[nodiscard]] virtual Result<std::vector<FleetHost>> ListHosts() = 0;
  // The findings `host`'s agent last reported (empty when none or no such host).
  [[nodiscard]] virtual Result<std::vector<Finding>> HostFindings(std::string_view host) = 0;
  // A change counter over everything in the store (the registry, presences, reports,
  // scans): blocks until it passes `since` (0, or a value this returned before) or
  // `timeout_ms` passed, and returns its value then (equal to `since` on a timeout). A
  // first call with since = 0 returns at once. Never waits longer than timeout_ms plus one
  // request's bound.
  [[nodiscard]] virtual Result<std::int64_t> WaitForChange(std::int64_t since, int timeout_ms) = 0;
  // The same, woken at least by every registry write (services, groups, families, apply) and
  // as few others as the store can tell apart: an agent that only needs the registry is not
  // woken by every other host's report (etcd: a watch on the registry's keys only). The
  // counter is WaitForChange's. By default, WaitForChange.
  [[nodiscard]] virtual Result<std::int64_t> WaitForRegistryChange(std::int64_t since, int timeout_ms) {
    return WaitForChange(since, timeout_ms);
  }

  // The registry as a document (groups, families, services; no observations).
  [[nodiscard]] virtual Result<RegistryDoc> Export() = 0;
  // Makes the registry equal to `doc` in one atomic step: all of it or none of it. A
  // service equal to the stored one keeps its created time and reason. Failure:
  // kConflict when two services of `doc` claim one slot (nothing is written).
  [[nodiscard]] virtual Result<void> Replace(const RegistryDoc& doc, std::string_view reason) = 0;

 protected:
  // The index ClaimedPorts (and ClaimsToGuide) hand out for `group`, made on first use.
  ClaimIndex& IndexOf(std::string_view group);

 private:
  // ClaimedPorts' indexes, by group: each allocated once, so pointers to it stay valid.
  std::map<std::string, std::unique_ptr<ClaimIndex>, std::less<>> claim_indexes_;
};

}  // namespace berth::registry
