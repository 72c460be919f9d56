// The embedded registry: one SQLite file in WAL mode (readers never block the writer),
// with a versioned schema migrated forward in one transaction, every write one
// BEGIN IMMEDIATE transaction, and a UNIQUE key on (group, slot, port) so two processes
// racing for a port cannot both win. A file that is not a berth registry, is corrupt or was
// written by a newer berth is refused and never modified.
// One SqliteStore per thread; any number of processes may open the same file.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "registry/sqlite_util.h"
#include "registry/store.h"
#include "registry/store_url.h"  // OpenMode

namespace berth::registry {

inline constexpr int kSchemaVersion = 3;

// How long a write waits for another process's write lock before failing (`--wait`).
inline constexpr std::chrono::milliseconds kDefaultLockWait{5000};

struct OpenOptions {
  OpenMode mode = OpenMode::kRead;
  // kWrite of a missing file: also create its missing parent directories. Only for the
  // default location; a registry named with --db or BERTH_DB gets its file, never directories
  // (a mistyped path is an error, not a new tree).
  bool create_directories = true;
  // How long to wait for a lock held by another process; then kUnavailable naming the holder.
  std::chrono::milliseconds lock_wait = kDefaultLockWait;
};

class SqliteStore final : public Store {
 public:
  // kRead never writes the file, its directory or its WAL (a missing or zero-byte file reads
  // as an empty registry; a registry on a read-only mount or without write permission is
  // read in place). kWrite first checks the whole file (PRAGMA quick_check): a corrupt
  // registry is refused before anything is written.
  // Failure: kPermissionDenied / kNotFound naming the path and what to do; kMalformed for a
  // file that is not a berth registry, is corrupt, or has a schema version this berth does not
  // know; kUnavailable when the lock stays held beyond lock_wait.
  [[nodiscard]] static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                                 OpenMode mode);
  [[nodiscard]] static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                                 const OpenOptions& options);
  // An empty registry in memory (for planning); gone when the object is.
  [[nodiscard]] static Result<std::unique_ptr<SqliteStore>> OpenMemory();
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  const std::string& path() const { return path_; }
  std::string Location() const override { return path_; }
  std::string_view Kind() const override { return "sqlite"; }

  Result<std::int64_t> Revision() override;
  Result<std::optional<ServiceRecord>> GetService(std::string_view name) override;
  Result<std::vector<ServiceRecord>> ListServices() override;
  Result<std::vector<Claim>> ListClaims(std::string_view group) override;
  Result<ClaimOutcome> ClaimService(const ServiceRecord& record) override;
  Result<bool> ReleaseService(std::string_view name) override;
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
  Result<RegistryDoc> Export() override;
  Result<void> Replace(const RegistryDoc& doc, std::string_view reason) override;
  Result<bool> ReleaseServices(std::span<const std::string> names) override;
  Result<void> Atomically(const std::function<Result<void>()>& body) override;
  Result<std::vector<std::string>> CheckIntegrity() override;

  // The busy handler's state: how long to wait, and since when (a write transaction sets the
  // start once, so retries share one deadline).
  struct Busy {
    std::chrono::milliseconds wait = kDefaultLockWait;
    std::chrono::steady_clock::time_point deadline{};
    bool in_txn = false;
  };

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  SqliteStore(std::unique_ptr<Busy> busy, std::unique_ptr<sqlite3, Closer> db, std::string path)
      : busy_(std::move(busy)), db_(std::move(db)), path_(std::move(path)), cache_(db_.get()) {}
  template <class F>
  auto InTxn(F&& body) -> decltype(body());

  std::unique_ptr<Busy> busy_;  // before db_: the connection's busy handler points at it
  std::unique_ptr<sqlite3, Closer> db_;
  std::string path_;
  sql::StmtCache cache_;  // after db_: finalized before the connection closes
  bool atomic_ = false;   // inside Atomically(): writes join its transaction
};

}  // namespace berth::registry
