#include "registry/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <map>

#include <fmt/core.h>

#include "registry/sqlite_rows.h"
#include "registry/sqlite_util.h"

namespace berth::registry {
namespace {

using sql::Exec;
using sql::Stmt;
using sql::Txn;

constexpr std::int64_t kAppId = 0x62727468;  // "brth"

// Schema migrations: kMigrations[i] takes user_version i to i+1. Append only.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO meta VALUES ('revision', 0);
CREATE TABLE groups (
  name TEXT PRIMARY KEY, description TEXT NOT NULL, hosts TEXT NOT NULL,
  ephemeral TEXT NOT NULL, reserved TEXT NOT NULL, range_low INTEGER NOT NULL,
  range_high INTEGER NOT NULL, allow TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE families (
  name TEXT PRIMARY KEY, description TEXT NOT NULL, base INTEGER NOT NULL,
  size INTEGER NOT NULL, skip TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE services (
  name TEXT PRIMARY KEY, proto TEXT NOT NULL CHECK (proto IN ('tcp', 'udp', 'both')),
  port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535), grp TEXT NOT NULL,
  family TEXT NOT NULL, owner TEXT NOT NULL, description TEXT NOT NULL, tags TEXT NOT NULL,
  sources TEXT NOT NULL, reason TEXT NOT NULL, created INTEGER NOT NULL,
  updated INTEGER NOT NULL, revision INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE claims (
  grp TEXT NOT NULL, slot TEXT NOT NULL CHECK (slot IN ('tcp', 'udp')),
  port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535), service TEXT NOT NULL,
  PRIMARY KEY (grp, slot, port)) WITHOUT ROWID;
CREATE TABLE scans (host TEXT NOT NULL, time INTEGER NOT NULL, PRIMARY KEY (host, time))
  WITHOUT ROWID;
CREATE TABLE observations (
  host TEXT NOT NULL, service TEXT NOT NULL, proto TEXT NOT NULL, port INTEGER NOT NULL,
  pid INTEGER NOT NULL, command TEXT NOT NULL, first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL, PRIMARY KEY (host, proto, port, command)) WITHOUT ROWID;
CREATE INDEX observations_by_service ON observations (service, last_seen);
)sql",
};
constexpr int kMigrationCount = static_cast<int>(std::size(kMigrations));
static_assert(kMigrationCount == kSchemaVersion);

std::int64_t Now() { return static_cast<std::int64_t>(std::time(nullptr)); }

// SQLite's default busy handler sleeps 1, 2, 5, 10... up to 100 ms between tries, which
// leaves the lock idle most of the time when many processes write small transactions.
// This one retries after 50-550 microseconds (jittered so waiters spread out) for up to
// 30 seconds.
int BusyHandler(void* /*unused*/, int count) {
  constexpr int kMaxTries = 30 * 1000000 / 300;  // ~30 s at the mean sleep
  if (count >= kMaxTries) return 0;
  thread_local unsigned seed = static_cast<unsigned>(::getpid()) * 2654435761u;
  seed = seed * 1103515245u + 12345u;
  ::usleep(50 + (seed >> 16) % 500);
  return 1;
}

Result<std::int64_t> QueryInt(sqlite3* db, std::string_view q) {
  Stmt s = BERTH_TRY(Stmt::Prepare(db, q));
  if (!BERTH_TRY(s.Step())) return 0;
  return s.Int(0);
}

Result<std::int64_t> BumpRevision(sql::StmtCache& cache) {
  auto s = BERTH_TRY(cache.Get("UPDATE meta SET value = value + 1 WHERE key = 'revision' RETURNING value"));
  if (!BERTH_TRY(s->Step())) return Fail(ErrorCode::kInternal, "registry has no revision row");
  const std::int64_t v = s->Int(0);
  BERTH_TRY(s->Step());  // finish the statement so the update is complete
  return v;
}

// Runs `body` in one BEGIN IMMEDIATE transaction, retrying a few times when the store is
// busy beyond the busy timeout (16 writers on two cores can get there).
template <class F>
auto InTxn(sqlite3* db, F&& body) -> decltype(body()) {
  for (int attempt = 0;; ++attempt) {
    auto txn = Txn::Begin(db);
    if (!txn) {
      if (txn.error().code == ErrorCode::kUnavailable && attempt < 20) continue;
      return std::unexpected(txn.error());
    }
    auto r = body();
    if (!r) return r;
    auto c = txn->Commit();
    if (!c) {
      if (c.error().code == ErrorCode::kUnavailable && attempt < 20) continue;
      return std::unexpected(c.error());
    }
    return r;
  }
}

Error Refuse(const std::string& path, std::string_view why) {
  return Error{ErrorCode::kMalformed,
               fmt::format("{}: {}; berth will not modify it. Move it aside or choose another "
                           "registry with --db PATH or BERTH_DB",
                           path, why)};
}

Result<void> PrepareDirectory(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || ::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Fail(ErrorCode::kPermissionDenied,
                fmt::format("cannot create the registry {}: directory {} is not writable ({}); "
                            "run as root, or choose a writable path with --db PATH or BERTH_DB",
                            path, dir.string(),
                            ec ? ec.message() : std::string(std::strerror(errno))));
  }
  return {};
}

Result<void> Migrate(sqlite3* db, const std::string& path) {
  return InTxn(db, [&]() -> Result<void> {
    const auto version = BERTH_TRY(QueryInt(db, "PRAGMA user_version"));
    if (version > kSchemaVersion) {
      return std::unexpected(Refuse(path, fmt::format("schema version {} is newer than this "
                                                      "berth understands ({}): upgrade berth",
                                                      version, kSchemaVersion)));
    }
    for (std::int64_t v = version; v < kSchemaVersion; ++v) {
      BERTH_TRY(Exec(db, kMigrations[v]));
    }
    if (version < kSchemaVersion) {
      BERTH_TRY(Exec(db, fmt::format("PRAGMA application_id = {}; PRAGMA user_version = {}",
                                     kAppId, kSchemaVersion)
                             .c_str()));
    }
    return {};
  });
}

// Checks that an existing file is a berth registry this berth can read, without writing.
// The three reads share one read transaction: another process may be creating the schema.
Result<std::int64_t> InspectOnce(sqlite3* db, const std::string& path);
Result<std::int64_t> Inspect(sqlite3* db, const std::string& path) {
  if (sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return InspectOnce(db, path);
  }
  auto r = InspectOnce(db, path);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  return r;
}

Result<std::int64_t> InspectOnce(sqlite3* db, const std::string& path) {
  auto app = QueryInt(db, "PRAGMA application_id");
  if (!app) {
    if (app.error().code == ErrorCode::kUnavailable) return std::unexpected(app.error());
    return std::unexpected(Refuse(path, fmt::format("not a readable SQLite database ({})",
                                                    app.error().message)));
  }
  const auto version = BERTH_TRY(QueryInt(db, "PRAGMA user_version"));
  if (*app == 0 && version == 0) {
    const auto tables = BERTH_TRY(QueryInt(db, "SELECT count(*) FROM sqlite_master"));
    if (tables != 0) return std::unexpected(Refuse(path, "an SQLite database, but not a berth registry"));
    return 0;
  }
  if (*app != kAppId) return std::unexpected(Refuse(path, "an SQLite database, but not a berth registry"));
  if (version > kSchemaVersion) {
    return std::unexpected(Refuse(path, fmt::format("schema version {} is newer than this berth "
                                                    "understands ({}): upgrade berth",
                                                    version, kSchemaVersion)));
  }
  return version;
}

}  // namespace

void SqliteStore::Closer::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, OpenMode mode) {
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} is not a regular file: give the registry file with --db", path));
  }
  const bool memory = !exists && mode == OpenMode::kRead;
  if (!exists && mode == OpenMode::kWrite) BERTH_TRY(PrepareDirectory(path));
  const bool writable = memory || !exists || ::access(path.c_str(), W_OK) == 0;
  if (mode == OpenMode::kWrite && !writable) {
    return Fail(ErrorCode::kPermissionDenied,
                fmt::format("cannot write the registry {}: {}; run as root, or choose another "
                            "with --db PATH or BERTH_DB",
                            path, std::strerror(errno)));
  }
  sqlite3* raw = nullptr;
  const int flags = (writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) |
                    SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(memory ? ":memory:" : path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<sqlite3, Closer> db(raw);
  if (rc != SQLITE_OK) return std::unexpected(sql::SqlError(raw, rc, fmt::format("opening {}", path)));
  sqlite3_extended_result_codes(raw, 0);
  sqlite3_busy_handler(raw, BusyHandler, nullptr);

  const auto version = BERTH_TRY(Inspect(raw, path));
  if (writable && !memory) {
    BERTH_TRY(Exec(raw, "PRAGMA journal_mode = WAL"));
    // NORMAL in WAL: a killed process never loses a committed transaction; a power cut
    // may lose the last ones but never corrupts. See docs/registry.md.
    BERTH_TRY(Exec(raw, "PRAGMA synchronous = NORMAL"));
  }
  if (version < kSchemaVersion) {
    if (!writable) {
      return Fail(ErrorCode::kPermissionDenied,
                  fmt::format("{} needs a schema upgrade but is read-only here: run a berth "
                              "command that writes, as a user who may write it",
                              path));
    }
    BERTH_TRY(Migrate(raw, path));
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(db), path));
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::OpenMemory() {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(":memory:", &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, Closer> db(raw);
  if (rc != SQLITE_OK) return std::unexpected(sql::SqlError(raw, rc, "opening a registry in memory"));
  BERTH_TRY(Migrate(raw, ":memory:"));
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(db), ":memory:"));
}

SqliteStore::~SqliteStore() = default;

Result<std::int64_t> SqliteStore::Revision() {
  auto s = BERTH_TRY(cache_.Get("SELECT value FROM meta WHERE key = 'revision'"));
  return BERTH_TRY(s->Step()) ? s->Int(0) : 0;
}

Result<std::optional<ServiceRecord>> SqliteStore::GetService(std::string_view name) {
  auto s = BERTH_TRY(cache_.Get(rows::kSelectService + std::string(" WHERE name = ?1")));
  s->Bind(1, name);
  if (!BERTH_TRY(s->Step())) return std::optional<ServiceRecord>{};
  return std::optional<ServiceRecord>{BERTH_TRY(rows::ReadService(*s))};
}

Result<std::vector<ServiceRecord>> SqliteStore::ListServices() {
  auto s = BERTH_TRY(cache_.Get(rows::kSelectService + std::string(" ORDER BY name")));
  std::vector<ServiceRecord> out;
  while (BERTH_TRY(s->Step())) out.push_back(BERTH_TRY(rows::ReadService(*s)));
  return out;
}

Result<std::vector<Claim>> SqliteStore::ListClaims(std::string_view group) {
  auto s = BERTH_TRY(cache_.Get("SELECT grp, slot, port, service FROM claims WHERE ?1 = '' OR grp = ?1 "
                 "ORDER BY grp, slot, port"));
  s->Bind(1, group);
  std::vector<Claim> out;
  while (BERTH_TRY(s->Step())) {
    out.push_back(Claim{s->Text(0), s->Text(1) == "udp" ? Protocol::kUdp : Protocol::kTcp,
                        static_cast<Port>(s->Int(2)), s->Text(3)});
  }
  return out;
}

Result<ClaimOutcome> SqliteStore::ClaimService(const ServiceRecord& record) {
  sqlite3* db = db_.get();
  return InTxn(db, [&]() -> Result<ClaimOutcome> {
    if (auto existing = BERTH_TRY(GetService(record.service.name))) {
      return ClaimOutcome{ClaimStatus::kExists, std::move(*existing)};
    }
    auto claim = BERTH_TRY(cache_.Get("INSERT INTO claims (grp, slot, port, service) VALUES (?1, ?2, ?3, ?4) "
            "ON CONFLICT DO NOTHING RETURNING 1"));
    for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
      if (!Covers(record.service.proto, p)) continue;
      claim->Bind(1, record.service.group).Bind(2, ProtocolName(p))
          .Bind(3, std::int64_t{record.service.port}).Bind(4, record.service.name);
      const bool inserted = BERTH_TRY(claim->Step());
      claim->Reset();
      if (!inserted) {
        auto holder = BERTH_TRY(cache_.Get("SELECT service FROM claims WHERE grp = ?1 AND slot = ?2 AND port = ?3"));
        holder->Bind(1, record.service.group).Bind(2, ProtocolName(p))
            .Bind(3, std::int64_t{record.service.port});
        std::string who = BERTH_TRY(holder->Step()) ? holder->Text(0) : "another service";
        return Fail(ErrorCode::kConflict,
                    fmt::format("{}/{} in group '{}' is already registered to '{}'",
                                record.service.port, ProtocolName(p), record.service.group, who));
      }
    }
    ServiceRecord stored = record;
    stored.revision = BERTH_TRY(BumpRevision(cache_));
    if (stored.service.created == 0) stored.service.created = Now();
    if (stored.service.updated == 0) stored.service.updated = stored.service.created;
    auto ins = BERTH_TRY(cache_.Get(rows::kInsertService));
    BERTH_TRY(rows::BindService(*ins, stored));
    BERTH_TRY(ins->Run());
    return ClaimOutcome{ClaimStatus::kClaimed, std::move(stored)};
  });
}

Result<bool> SqliteStore::ReleaseService(std::string_view name) {
  sqlite3* db = db_.get();
  return InTxn(db, [&]() -> Result<bool> {
    // A service's claims are found from its own record (group, port), so claims need no
    // index by service.
    auto del = BERTH_TRY(cache_.Get("DELETE FROM services WHERE name = ?1 RETURNING grp, port"));
    del->Bind(1, name);
    if (!BERTH_TRY(del->Step())) return false;
    const std::string group = del->Text(0);
    const std::int64_t port = del->Int(1);
    BERTH_TRY(del->Step());
    auto claims = BERTH_TRY(cache_.Get(
        "DELETE FROM claims WHERE grp = ?1 AND port = ?2 AND service = ?3"));
    claims->Bind(1, group).Bind(2, port).Bind(3, name);
    BERTH_TRY(claims->Run());
    BERTH_TRY(BumpRevision(cache_));
    return true;
  });
}

Result<std::optional<Group>> SqliteStore::GetGroup(std::string_view name) {
  auto s = BERTH_TRY(cache_.Get(rows::kSelectGroup + std::string(" WHERE name = ?1")));
  s->Bind(1, name);
  if (!BERTH_TRY(s->Step())) return std::optional<Group>{};
  return std::optional<Group>{BERTH_TRY(rows::ReadGroup(*s))};
}

Result<std::vector<Group>> SqliteStore::ListGroups() {
  auto s = BERTH_TRY(cache_.Get(rows::kSelectGroup + std::string(" ORDER BY name")));
  std::vector<Group> out;
  while (BERTH_TRY(s->Step())) out.push_back(BERTH_TRY(rows::ReadGroup(*s)));
  return out;
}

Result<void> SqliteStore::PutGroup(const Group& group) {
  sqlite3* db = db_.get();
  return InTxn(db, [&]() -> Result<void> {
    auto s = BERTH_TRY(cache_.Get(rows::kUpsertGroup));
    rows::BindGroup(*s, group);
    BERTH_TRY(s->Run());
    BERTH_TRY(BumpRevision(cache_));
    return {};
  });
}

Result<std::optional<Family>> SqliteStore::GetFamily(std::string_view name) {
  auto s = BERTH_TRY(cache_.Get(rows::kSelectFamily + std::string(" WHERE name = ?1")));
  s->Bind(1, name);
  if (!BERTH_TRY(s->Step())) return std::optional<Family>{};
  return std::optional<Family>{BERTH_TRY(rows::ReadFamily(*s))};
}

Result<std::vector<Family>> SqliteStore::ListFamilies() {
  auto s = BERTH_TRY(cache_.Get(rows::kSelectFamily + std::string(" ORDER BY name")));
  std::vector<Family> out;
  while (BERTH_TRY(s->Step())) out.push_back(BERTH_TRY(rows::ReadFamily(*s)));
  return out;
}

Result<void> SqliteStore::PutFamily(const Family& family) {
  sqlite3* db = db_.get();
  return InTxn(db, [&]() -> Result<void> {
    auto s = BERTH_TRY(cache_.Get(rows::kUpsertFamily));
    rows::BindFamily(*s, family);
    BERTH_TRY(s->Run());
    BERTH_TRY(BumpRevision(cache_));
    return {};
  });
}

Result<ScanRecorded> SqliteStore::RecordScan(std::string_view host, std::int64_t time,
                                             const std::vector<Observation>& seen) {
  sqlite3* db = db_.get();
  return InTxn(db, [&]() -> Result<ScanRecorded> {
    ScanRecorded out;
    auto count = BERTH_TRY(cache_.Get("SELECT count(*), max(time) FROM scans WHERE host = ?1"));
    count->Bind(1, host);
    if (BERTH_TRY(count->Step()) && count->Int(0) > 0) out.previous = count->Int(1);
    out.time = out.previous && *out.previous >= time ? *out.previous + 1 : time;
    auto scan = BERTH_TRY(cache_.Get("INSERT INTO scans (host, time) VALUES (?1, ?2)"));
    scan->Bind(1, host).Bind(2, out.time);
    BERTH_TRY(scan->Run());
    auto up = BERTH_TRY(cache_.Get("INSERT INTO observations (host, service, proto, port, pid, command, first_seen, "
            "last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) "
            "ON CONFLICT (host, proto, port, command) DO UPDATE SET service = excluded.service, "
            "pid = excluded.pid, last_seen = excluded.last_seen"));
    for (const Observation& o : seen) {
      up->Bind(1, host).Bind(2, o.service).Bind(3, ProtocolName(o.proto))
          .Bind(4, std::int64_t{o.port}).Bind(5, std::int64_t{o.pid}).Bind(6, o.command)
          .Bind(7, out.time);
      BERTH_TRY(up->Run());
    }
    return out;
  });
}

Result<std::optional<std::int64_t>> SqliteStore::LastScan(std::string_view host) {
  auto s = BERTH_TRY(cache_.Get("SELECT count(*), max(time) FROM scans WHERE host = ?1"));
  s->Bind(1, host);
  if (!BERTH_TRY(s->Step()) || s->Int(0) == 0) return std::optional<std::int64_t>{};
  return std::optional<std::int64_t>{s->Int(1)};
}

Result<std::vector<Observation>> SqliteStore::ScanObservations(std::string_view host,
                                                               std::int64_t time) {
  auto s = BERTH_TRY(cache_.Get(rows::kSelectObservation +
                                                  std::string(" WHERE host = ?1 AND last_seen = ?2 "
                                                              "ORDER BY proto, port, command")));
  s->Bind(1, host).Bind(2, time);
  std::vector<Observation> out;
  while (BERTH_TRY(s->Step())) out.push_back(rows::ReadObservation(*s));
  return out;
}

Result<std::vector<Observation>> SqliteStore::ServiceObservations(std::string_view service) {
  auto s = BERTH_TRY(cache_.Get(rows::kSelectObservation +
                     std::string(" WHERE service = ?1 ORDER BY last_seen DESC, host, port")));
  s->Bind(1, service);
  std::vector<Observation> out;
  while (BERTH_TRY(s->Step())) out.push_back(rows::ReadObservation(*s));
  return out;
}

Result<RegistryDoc> SqliteStore::Export() {
  sqlite3* db = db_.get();
  // One read transaction, so the three lists are one consistent snapshot.
  BERTH_TRY(Exec(db, "BEGIN"));
  auto body = [&]() -> Result<RegistryDoc> {
    RegistryDoc doc;
    doc.groups = BERTH_TRY(ListGroups());
    doc.families = BERTH_TRY(ListFamilies());
    for (ServiceRecord& r : BERTH_TRY(ListServices())) doc.services.push_back(std::move(r.service));
    return doc;
  };
  auto r = body();
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  return r;
}

Result<void> SqliteStore::Replace(const RegistryDoc& doc, std::string_view reason) {
  sqlite3* db = db_.get();
  return InTxn(db, [&]() -> Result<void> {
    std::map<std::string, ServiceRecord, std::less<>> before;
    for (ServiceRecord& r : BERTH_TRY(ListServices())) {
      std::string key = r.service.name;
      before.emplace(std::move(key), std::move(r));
    }
    BERTH_TRY(Exec(db, "DELETE FROM claims; DELETE FROM services; DELETE FROM groups; "
                       "DELETE FROM families"));
    const std::int64_t revision = BERTH_TRY(BumpRevision(cache_));
    auto group = BERTH_TRY(cache_.Get(rows::kUpsertGroup));
    for (const Group& g : doc.groups) {
      rows::BindGroup(*group, g);
      BERTH_TRY(group->Run());
    }
    auto family = BERTH_TRY(cache_.Get(rows::kUpsertFamily));
    for (const Family& f : doc.families) {
      rows::BindFamily(*family, f);
      BERTH_TRY(family->Run());
    }
    auto ins = BERTH_TRY(cache_.Get(rows::kInsertService));
    auto claim = BERTH_TRY(cache_.Get("INSERT INTO claims (grp, slot, port, service) VALUES (?1, ?2, ?3, ?4)"));
    const std::int64_t now = Now();
    for (const Service& s : doc.services) {
      ServiceRecord rec{s, std::string(reason), revision};
      auto old = before.find(s.name);
      if (old != before.end() && SameService(old->second.service, s)) {
        rec.reason = old->second.reason;
        rec.revision = old->second.revision;
        rec.service.created = old->second.service.created;
        rec.service.updated = old->second.service.updated;
      } else if (old != before.end()) {
        if (rec.service.created == 0) rec.service.created = old->second.service.created;
      }
      if (rec.service.created == 0) rec.service.created = now;
      if (rec.service.updated == 0) rec.service.updated = now;
      BERTH_TRY(rows::BindService(*ins, rec));
      BERTH_TRY(ins->Run());
      for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
        if (!Covers(s.proto, p)) continue;
        claim->Bind(1, s.group).Bind(2, ProtocolName(p)).Bind(3, std::int64_t{s.port}).Bind(4, s.name);
        auto r = claim->Run();
        if (!r) {
          claim->Reset();
          if (r.error().code != ErrorCode::kConflict) return r;
          return Fail(ErrorCode::kConflict,
                      fmt::format("'{}' claims {}/{} in group '{}', which another service of the "
                                  "same file claims too",
                                  s.name, s.port, ProtocolName(p), s.group));
        }
      }
    }
    return {};
  });
}

}  // namespace berth::registry
