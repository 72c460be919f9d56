// The registry on etcd v3 (docs/etcd-store.md), through its JSON gateway: one key per
// service, claim, group and family under a generation that one pointer key names, so that
// `apply` can switch a whole registry at once although a txn holds at most 128 operations.
// Every operation is one optimistic transaction (etcd's STM pattern): reads at one revision
// are recorded, writes are buffered, and the commit is one txn comparing what was read; a
// lost race runs the operation again on the answers the failed txn brought back. A claim key
// is created only where it is absent (create_revision == 0), so no port is ever claimed twice,
// whatever any client read. Every call has a total deadline. One EtcdStore per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "registry/etcd_client.h"
#include "registry/store.h"
#include "registry/store_url.h"

namespace berth::registry {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // "HOST:PORT"
  std::string prefix;                  // "/berth": every key berth writes is below it
  std::string url;                     // for messages
  int deadline_ms = 8000;              // each request, across endpoints
  int retry_ms = 30000;                // an operation's lost races, run again until this
  bool stale = false;                  // serializable reads: any member answers, maybe stale
  etcd::Security security = {};        // TLS and the etcd user (etcds://, registry/store_security.h)
};

class EtcdStore final : public Store {
 public:
  // kRead and kWrite both only connect lazily: the first operation reads the generation
  // pointer (linearizable unless `stale`), which proves a quorum before anything is written.
  [[nodiscard]] static Result<std::unique_ptr<EtcdStore>> Open(const EtcdOptions& options,
                                                              OpenMode mode);
  ~EtcdStore() override;

  std::string Location() const override { return options_.url; }
  std::string_view Kind() const override { return "etcd"; }
  std::vector<StoreMember> Members() override;
  void Prefetch(const PrefetchHint& hint) override { hint_ = hint; }
  bool stale() const { return options_.stale; }
  // Requests sent to etcd so far (etcd::Client::calls); for tests and benchmarks.
  std::size_t calls() const { return client_.calls(); }

  Result<std::int64_t> Revision() override;
  Result<std::optional<ServiceRecord>> GetService(std::string_view name) override;
  Result<std::vector<ServiceRecord>> ListServices() override;
  Result<std::vector<Claim>> ListClaims(std::string_view group) override;
  Result<const ClaimIndex*> ClaimedPorts(std::string_view group) override;
  Result<const ClaimIndex*> ClaimsToGuide(std::string_view group) override;
  Result<ClaimOutcome> ClaimService(const ServiceRecord& record) override;
  Result<bool> ReleaseService(std::string_view name) override;
  Result<bool> ReleaseServices(std::span<const std::string> names) override;
  // The body may run more than once (a lost race runs it again on fresh reads), and its
  // writes must fit in one etcd txn (at most 128 keys): else kInvalidArgument, nothing written.
  Result<void> Atomically(const std::function<Result<void>()>& body) override;
  std::int64_t CommittedRevision() const override { return last_commit_; }
  Result<std::vector<std::string>> CheckIntegrity() override;
  Result<std::optional<Group>> GetGroup(std::string_view name) override;
  Result<std::vector<Group>> ListGroups() override;
  Result<void> PutGroup(const Group& group) override;
  Result<std::optional<Family>> GetFamily(std::string_view name) override;
  Result<std::vector<Family>> ListFamilies() override;
  Result<void> PutFamily(const Family& family) override;
  Result<ScanRecorded> RecordScan(std::string_view host, std::int64_t time,
                                  const std::vector<Observation>& seen) override;
  Result<std::optional<std::int64_t>> LastScan(std::string_view host) override;
  Result<std::vector<Observation>> ScanObservations(std::string_view host,
                                                    std::int64_t time) override;
  Result<std::vector<Observation>> ServiceObservations(std::string_view service) override;
  Result<std::int64_t> GrantLease(std::int64_t ttl) override;
  Result<std::optional<std::int64_t>> KeepAlive(std::int64_t lease) override;
  Result<std::optional<std::int64_t>> LeaseRemaining(std::int64_t lease) override;
  Result<void> RevokeLease(std::int64_t lease) override;
  Result<void> PutPresence(const HostPresence& presence) override;
  Result<void> PutHostReport(const HostReport& report, const std::vector<Finding>& findings) override;
  Result<std::vector<FleetHost>> ListHosts() override;
  Result<std::vector<Finding>> HostFindings(std::string_view host) override;
  Result<std::int64_t> WaitForChange(std::int64_t since, int timeout_ms) override;
  // A watch on the pointer and the generations (PREFIX/g/ up to PREFIX/gen): not the fleet's
  // keys nor the observations.
  Result<std::int64_t> WaitForRegistryChange(std::int64_t since, int timeout_ms) override;
  Result<RegistryDoc> Export() override;
  Result<void> Replace(const RegistryDoc& doc, std::string_view reason) override;

 private:
  struct Stm;
  explicit EtcdStore(EtcdOptions options);

  template <class T>
  Result<T> Run(const std::function<Result<T>(Stm&)>& body);
  // Starts `t` at a snapshot: one read-only txn reading the generation pointer with the keys
  // `rel` (relative to the generation) and whatever Prefetch() announced, in the generation
  // this store saw last; what was read there is kept when the guess was right.
  Result<void> Begin(Stm& t, const std::vector<std::string>& rel = {});
  // Starts `t` without a read when the store remembers (or may guess) every key of `keys`:
  // an assign whose group it has seen (docs/etcd-store.md, "Guided claims").
  bool Speculate(Stm& t, PrefetchHint& hint, const std::vector<std::string>& keys);
  // A speculative step needs a read: it is run again on reads (Run).
  static std::unexpected<Error> Miss(Stm& t);
  void Remember(const std::string& key, const std::optional<etcd::KeyValue>& kv);
  void KnowPointer(const std::string& gen, const std::string& value, std::int64_t mod);
  Result<std::optional<etcd::KeyValue>> Get(Stm& t, const std::string& key);
  Result<std::vector<etcd::KeyValue>> List(Stm& t, const std::string& prefix);
  Result<std::vector<etcd::KeyValue>> RangeAt(const std::string& key, const std::string& end,
                                              std::int64_t revision);
  struct Committed;
  Result<Committed> Commit(Stm& t);
  // An error from a request, with "no quorum" said when fewer than a majority answer.
  Error Explain(Error e, bool write);
  Result<bool> Release(Stm& t, std::string_view name);
  // Fails kConflict when `s`'s ports overlap a claim of its group at this snapshot, reading
  // what makes the commit fail if that changes (docs/etcd-store.md, "Range claims"). A
  // one-port claim (`range` false) in a group that never held a range reads one key only.
  Result<void> CheckRanges(Stm& t, const Service& s, bool range);

  std::string GenKey() const;
  std::string FleetKey(std::string_view kind, std::string_view host) const;
  std::string Dir(const std::string& gen) const;

  // The last listing of each prefix, brought up to date by asking only for what changed
  // since (and re-listed whole when the count shows a key was deleted): a long-lived store
  // (the allocator of a server, a benchmark) does not re-read a whole group per assign.
  // A group's claims have a mark key (GEN/marks/GROUP) that every write of its claims puts,
  // so its version counts those writes: when the version is the one the listing expects,
  // nothing changed and etcd is not asked to walk the group at all.
  struct Listing {
    std::int64_t rev = 0;
    std::int64_t mark = -1;  // the mark's version this listing is current with; -1 unknown
    std::map<std::string, etcd::KeyValue> kvs;
    ClaimIndex* index = nullptr;  // a group's claims: kept in step with kvs (ClaimedPorts)
    // The group's freed mark's mod_revision (0: absent) while every key of kvs was known to
    // exist; -1 unknown. Such a listing can guide a claim (ClaimsToGuide) though it may lack
    // keys: no claim of it was released while the mark stays.
    std::int64_t freed = -1;
  };
  // Brings the listing of `prefix` to `revision` (only what changed, when it can) and returns it.
  Result<Listing*> Refresh(const std::string& prefix, const std::string& end,
                           std::int64_t revision, std::int64_t mark);
  static void IndexClaim(ClaimIndex& index, std::string_view prefix, std::string_view key,
                         const std::string* value);
  void AttachIndex(Listing& l, std::string_view prefix, ClaimIndex& index);
  const Listing* CurrentListing(const Stm& t, const std::string& key) const;
  const Listing* GuidedListing(const Stm& t, const std::string& key) const;
  // `mark`: the group mark's version at `revision`, when known (-1 otherwise).
  Result<std::vector<etcd::KeyValue>> ListAt(const std::string& prefix, const std::string& end,
                                             std::int64_t revision, std::int64_t mark = -1);
  // After a commit at `revision`: the listings current when `t` began take its own writes.
  void KeepOwnWrites(const Stm& t, std::int64_t revision);

  EtcdOptions options_;
  etcd::Client client_;
  std::map<std::string, Listing> listings_;
  std::string known_gen_;  // the generation the last operation found
  std::string known_gen_value_;  // and the pointer's text and mod_revision then
  std::int64_t known_gen_mod_ = 0;
  // Answers of keys a guided assign reads (Remembered in the .cc), as last read or written:
  // guesses for a speculative start, each compared at its commit.
  std::map<std::string, std::optional<etcd::KeyValue>> known_;
  std::int64_t last_commit_ = 0;
  PrefetchHint hint_;
  Stm* stm_ = nullptr;  // the transaction the current operation joins (Atomically)
};

}  // namespace berth::registry
