// The embedded registry: one SQLite file in WAL mode (readers never block the writer),
// with a versioned schema migrated forward in one transaction, every write one
// BEGIN IMMEDIATE transaction, and a UNIQUE key on (group, slot, port) so two processes
// racing for a port cannot both win. A file that is not a berth registry, is corrupt or was
// written by a newer berth is refused and never modified.
// One SqliteStore per thread; any number of processes may open the same file.
#pragma once

#include <memory>
#include <string>

#include "registry/sqlite_util.h"
#include "registry/store.h"
#include "registry/store_url.h"  // OpenMode

namespace berth::registry {

inline constexpr int kSchemaVersion = 1;

class SqliteStore final : public Store {
 public:
  // Failure: kPermissionDenied / kNotFound naming the path and what to do; kMalformed for a
  // file that is not a berth registry or is corrupt; kUnavailable for a newer schema.
  [[nodiscard]] static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                                 OpenMode mode);
  // An empty registry in memory (for planning); gone when the object is.
  [[nodiscard]] static Result<std::unique_ptr<SqliteStore>> OpenMemory();
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  const std::string& path() const { return path_; }
  std::string Location() const override { return path_; }

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
  Result<RegistryDoc> Export() override;
  Result<void> Replace(const RegistryDoc& doc, std::string_view reason) override;

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  SqliteStore(std::unique_ptr<sqlite3, Closer> db, std::string path)
      : db_(std::move(db)), path_(std::move(path)), cache_(db_.get()) {}

  std::unique_ptr<sqlite3, Closer> db_;
  std::string path_;
  sql::StmtCache cache_;  // after db_: finalized before the connection closes
};

}  // namespace berth::registry
