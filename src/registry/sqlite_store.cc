#include "registry/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/core.h>

#include "base/clock.h"
#include "registry/etcd_records.h"
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
    // 1 -> 2: the fleet (berth agent): leases, presences, host reports; a change counter
    // for what is not the registry (scans, presences, reports), for WaitForChange.
    R"sql(
-- AUTOINCREMENT: an id is never granted twice, so an agent that lost its lease can never
-- renew or revoke the one another agent was granted after it (etcd's ids are unique too).
CREATE TABLE leases (id INTEGER PRIMARY KEY AUTOINCREMENT, ttl INTEGER NOT NULL,
                     expires_ms INTEGER NOT NULL);
CREATE TABLE presence (host TEXT PRIMARY KEY, lease INTEGER NOT NULL, doc TEXT NOT NULL)
  WITHOUT ROWID;
CREATE TABLE host_reports (host TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID;
INSERT INTO meta VALUES ('changes', 0);
)sql",
    // 2 -> 3: a service may hold a range, port .. port+size-1 (one claim row per port).
    R"sql(
ALTER TABLE services ADD COLUMN size INTEGER NOT NULL DEFAULT 1 CHECK (size BETWEEN 1 AND 16384);
)sql",
};
constexpr int kMigrationCount = static_cast<int>(std::size(kMigrations));
static_assert(kMigrationCount == kSchemaVersion);


std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Counts a write that is not the registry's (scans, presences, reports) for WaitForChange.
Result<void> CountChange(sql::StmtCache& cache) {
  auto s = BERTH_TRY(cache.Get("UPDATE meta SET value = value + 1 WHERE key = 'changes'"));
  return s->Run();
}

// SQLite's default busy handler sleeps 1, 2, 5, 10... up to 100 ms between tries, which
// leaves the lock idle most of the time when many processes write small transactions.
// This one retries after 50-550 microseconds (jittered so waiters spread out) until the
// store's deadline: set once per write transaction (retries share it), else from the first try.
int BusyHandler(void* arg, int count) {
  auto* busy = static_cast<SqliteStore::Busy*>(arg);
  const auto now = std::chrono::steady_clock::now();
  if (!busy->in_txn && count == 0) busy->deadline = now + busy->wait;
  if (now >= busy->deadline) return 0;
  thread_local unsigned seed = static_cast<unsigned>(::getpid()) * 2654435761u;
  seed = seed * 1103515245u + 12345u;
  ::usleep(50 + (seed >> 16) % 500);
  return 1;
}

// The processes holding POSIX locks on the registry file or its -shm (where SQLite's WAL
// write lock lives), from /proc/locks; empty when none can be found.
std::vector<std::string> LockHolders(const std::string& path) {
  std::vector<std::pair<unsigned long, unsigned long>> ids;  // (dev, inode)
  for (const std::string& f : {path, path + "-shm"}) {
    struct stat st {};
    if (::stat(f.c_str(), &st) == 0) ids.emplace_back(st.st_dev, st.st_ino);
  }
  std::vector<std::string> out;
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    // "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 120 120"
    std::istringstream in(line);
    std::string n, kind, adv, rw, dev_ino;
    long pid = 0;
    if (!(in >> n >> kind)) continue;
    if (kind == "->") in >> kind;  // a blocked waiter
    if (!(in >> adv >> rw >> pid >> dev_ino) || pid <= 0 || pid == ::getpid()) continue;
    unsigned maj = 0, min = 0;
    unsigned long ino = 0;
    if (std::sscanf(dev_ino.c_str(), "%x:%x:%lu", &maj, &min, &ino) != 3) continue;
    for (const auto& [dev, inode] : ids) {
      if (inode != ino || major(dev) != maj || minor(dev) != min) continue;
      std::string comm;
      std::ifstream(fmt::format("/proc/{}/comm", pid)) >> comm;
      std::string who = comm.empty() ? fmt::format("pid {}", pid) : fmt::format("pid {} ({})", pid, comm);
      if (std::find(out.begin(), out.end(), who) == out.end()) out.push_back(std::move(who));
    }
  }
  return out;
}

Error LockTimeout(const std::string& path, std::chrono::milliseconds wait) {
  const auto holders = LockHolders(path);
  std::string who = "by another process (which one cannot be found: /proc/locks names none)";
  if (!holders.empty()) {
    who = "by ";
    for (std::size_t i = 0; i < holders.size(); ++i) who += (i ? ", " : "") + holders[i];
  }
  return Error{ErrorCode::kUnavailable,
               fmt::format("the registry {} is locked {}; gave up after {} s", path, who,
                           std::chrono::duration<double>(wait).count()),
               {{Remedy::kWaitLonger}}};
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

Error Refuse(const std::string& path, std::string_view why) {
  return Error{ErrorCode::kMalformed,
               fmt::format("{}: {}; berth will not modify it: move it aside", path, why),
               {{Remedy::kChooseRegistry}}};
}

Result<void> PrepareDirectory(const std::string& path, bool create_directories) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!create_directories) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 && errno == ENOENT) {
      return Fail(ErrorCode::kNotFound,
                  fmt::format("cannot create the registry {}: directory {} does not exist; "
                              "check the path, or create the directory first",
                              path, dir.string()),
                  {{Remedy::kChooseRegistry}});
    }
  } else {
    std::filesystem::create_directories(dir, ec);
  }
  if (ec || ::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Fail(ErrorCode::kPermissionDenied,
                fmt::format("cannot create the registry {}: directory {} is not writable ({}); "
                            "run as root",
                            path, dir.string(),
                            ec ? ec.message() : std::string(std::strerror(errno))),
                {{Remedy::kChooseRegistry}});
  }
  return {};
}

Result<std::int64_t> CheckVersion(const std::string& path, std::int64_t version) {
  if (version > kSchemaVersion) {
    return std::unexpected(Refuse(path, fmt::format("schema version {} is newer than this berth "
                                                    "understands ({}): upgrade berth",
                                                    version, kSchemaVersion)));
  }
  if (version < 0) {
    return std::unexpected(Refuse(path, fmt::format("schema version {} is not one berth ever "
                                                    "wrote (it knows 1 to {}): the file is "
                                                    "damaged",
                                                    version, kSchemaVersion)));
  }
  return version;
}

Result<void> Migrate(sqlite3* db, const std::string& path) {
  for (int attempt = 0;; ++attempt) {
    auto txn = Txn::Begin(db);
    if (!txn) {
      if (txn.error().code == ErrorCode::kUnavailable && attempt < 20) continue;
      return std::unexpected(txn.error());
    }
    const auto stored = BERTH_TRY(QueryInt(db, "PRAGMA user_version"));
    const auto version = BERTH_TRY(CheckVersion(path, stored));
    for (std::int64_t v = version; v < kSchemaVersion; ++v) {
      BERTH_TRY(Exec(db, kMigrations[v]));
    }
    if (version < kSchemaVersion) {
      BERTH_TRY(Exec(db, fmt::format("PRAGMA application_id = {}; PRAGMA user_version = {}",
                                     kAppId, kSchemaVersion)
                             .c_str()));
    }
    auto c = txn->Commit();
    if (!c && c.error().code == ErrorCode::kUnavailable && attempt < 20) continue;
    return c;
  }
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
    if (app.error().code == ErrorCode::kUnavailable || app.error().code == ErrorCode::kNotFound ||
        app.error().code == ErrorCode::kPermissionDenied) {
      return std::unexpected(app.error());
    }
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
  return CheckVersion(path, version);
}

// `path` for a file: URI (RFC 3986 escaping of what the URI syntax reserves).
std::string UriPath(const std::string& path) {
  std::string out;
  for (unsigned char c : path) {
    if (c == '%' || c == '?' || c == '#' || c <= ' ' || c >= 0x7f) {
      out += fmt::format("%{:02X}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Runs quick_check or integrity_check: the problems it reports, empty when "ok".
Result<std::vector<std::string>> Check(sqlite3* db, std::string_view pragma) {
  Stmt s = BERTH_TRY(Stmt::Prepare(db, pragma));
  std::vector<std::string> out;
  while (BERTH_TRY(s.Step())) out.push_back(s.Text(0));
  if (out.size() == 1 && out.front() == "ok") out.clear();
  return out;
}

}  // namespace

void SqliteStore::Closer::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

// Runs `body` in one BEGIN IMMEDIATE transaction, retrying while the store is busy until the
// lock deadline (16 writers on two cores can get SQLITE_BUSY past the handler). Inside
// Atomically() it runs in a savepoint of that transaction instead, so a failing step undoes
// only itself and the caller decides.
template <class F>
auto SqliteStore::InTxn(F&& body) -> decltype(body()) {
  sqlite3* db = db_.get();
  if (atomic_) {
    BERTH_TRY(Exec(db, "SAVEPOINT step"));
    auto r = body();
    if (!r) sqlite3_exec(db, "ROLLBACK TO step", nullptr, nullptr, nullptr);
    sqlite3_exec(db, "RELEASE step", nullptr, nullptr, nullptr);
    return r;
  }
  busy_->deadline = std::chrono::steady_clock::now() + busy_->wait;
  busy_->in_txn = true;
  struct Done {
    Busy* b;
    ~Done() { b->in_txn = false; }
  } done{busy_.get()};
  auto busy_left = [&] { return std::chrono::steady_clock::now() < busy_->deadline; };
  for (;;) {
    auto txn = Txn::Begin(db);
    if (!txn) {
      if (txn.error().code != ErrorCode::kUnavailable) return std::unexpected(txn.error());
      if (busy_left()) continue;
      return std::unexpected(LockTimeout(path_, busy_->wait));
    }
    auto r = body();
    if (!r) return r;
    auto c = txn->Commit();
    if (!c) {
      if (c.error().code != ErrorCode::kUnavailable) return std::unexpected(c.error());
      if (busy_left()) continue;
      return std::unexpected(LockTimeout(path_, busy_->wait));
    }
    return r;
  }
}

Result<void> SqliteStore::Atomically(const std::function<Result<void>()>& body) {
  if (atomic_) return body();
  return InTxn([&]() -> Result<void> {
    atomic_ = true;
    auto r = body();
    atomic_ = false;
    return r;
  });
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, OpenMode mode) {
  OpenOptions options;
  options.mode = mode;
  return Open(path, options);
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                       const OpenOptions& options) {
  const OpenMode mode = options.mode;
  struct stat st {};
  bool exists = true;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err != ENOENT && err != ENOTDIR) {  // a path below a file: reported as not writable
      return Fail(err == EACCES ? ErrorCode::kPermissionDenied : ErrorCode::kInvalidArgument,
                  fmt::format("cannot reach the registry {}: {} (a directory on the way "
                              "cannot be searched or is not a directory); run as a user who may "
                              "read it",
                              path, std::strerror(err)),
                  {{Remedy::kChooseRegistry}});
    }
    exists = false;
  }
  if (exists && !S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} is not a regular file", path), {{Remedy::kChooseRegistry}});
  }
  auto busy = std::make_unique<Busy>();
  busy->wait = options.lock_wait;
  // Reading what is not there (or a zero-byte file) is an empty registry, in memory: a read
  // never creates or changes a file.
  if (mode == OpenMode::kRead && (!exists || st.st_size == 0)) {
    auto store = BERTH_TRY(OpenMemory());
    store->path_ = path;
    return store;
  }
  if (mode == OpenMode::kWrite) {
    if (!exists) {
      BERTH_TRY(PrepareDirectory(path, options.create_directories));
    } else if (::access(path.c_str(), W_OK) != 0) {
      return Fail(ErrorCode::kPermissionDenied,
                  fmt::format("cannot write the registry {}: {}; run as root", path,
                              std::strerror(errno)),
                  {{Remedy::kChooseRegistry}});
    }
  }
  auto connect = [&](bool immutable) -> Result<std::unique_ptr<sqlite3, Closer>> {
    sqlite3* raw = nullptr;
    int rc = 0;
    if (mode == OpenMode::kWrite) {
      rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    } else {
      // A read-only connection; `immutable` when SQLite could not set up its shared memory
      // (a WAL registry on a read-only mount or in a directory we may not write).
      char* uri = sqlite3_mprintf("file:%s?mode=ro%s", UriPath(path).c_str(),
                                  immutable ? "&immutable=1" : "");
      rc = sqlite3_open_v2(uri, &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
                           nullptr);
      sqlite3_free(uri);
    }
    std::unique_ptr<sqlite3, Closer> db(raw);
    if (rc != SQLITE_OK) return std::unexpected(sql::SqlError(raw, rc, fmt::format("opening {}", path)));
    sqlite3_extended_result_codes(raw, 0);
    sqlite3_busy_handler(raw, BusyHandler, busy.get());
    return db;
  };
  auto db = BERTH_TRY(connect(false));
  if (mode == OpenMode::kWrite && !exists && ::geteuid() == 0) {
    // Root creating the registry in a directory another user owns (the package's
    // /var/lib/berth is _berth's, for the agent and serve units): the file is that user's
    // too. SQLite gives the -wal and -shm files it makes as root the database's owner.
    struct stat dir {};
    const std::string parent = std::filesystem::path(path).parent_path().string();
    if (::stat(parent.empty() ? "." : parent.c_str(), &dir) == 0 && dir.st_uid != 0 &&
        ::chown(path.c_str(), dir.st_uid, dir.st_gid) != 0) {
      return Fail(ErrorCode::kPermissionDenied,
                  fmt::format("created the registry {} but cannot give it to the owner of its "
                              "directory (uid {}): {}; chown it by hand",
                              path, dir.st_uid, std::strerror(errno)));
    }
  }
  auto version = Inspect(db.get(), path);
  if (!version && mode == OpenMode::kRead &&
      (version.error().code == ErrorCode::kNotFound ||
       version.error().code == ErrorCode::kPermissionDenied)) {
    // SQLite can read a WAL database read-only when its -shm exists or can be created, else
    // only as immutable, which ignores the -wal: refuse when the -wal holds changes.
    struct stat wal {};
    if (::stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0) {
      return Fail(ErrorCode::kPermissionDenied,
                  fmt::format("cannot read the registry {}: its write-ahead log {}-wal holds "
                              "changes, and SQLite cannot create {}-shm here to read them ({}); "
                              "run as a user who may write {}'s directory",
                              path, path, path, version.error().message,
                              std::filesystem::path(path).parent_path().string()));
    }
    db = BERTH_TRY(connect(true));
    version = Inspect(db.get(), path);
  }
  if (!version) return std::unexpected(version.error());
  sqlite3* raw = db.get();
  if (mode == OpenMode::kRead && *version == 0) {
    // An SQLite file with no tables yet: reads as empty, and stays untouched.
    auto store = BERTH_TRY(OpenMemory());
    store->path_ = path;
    return store;
  }
  if (mode == OpenMode::kWrite && *version > 0) {
    // The whole file, before any write: a write that only touches healthy pages would
    // otherwise go through on a corrupt registry (docs/registry.md, "Corruption").
    auto problems = Check(raw, "PRAGMA quick_check");
    if (!problems) {
      if (problems.error().code != ErrorCode::kMalformed) return std::unexpected(problems.error());
      problems = std::vector<std::string>{problems.error().message};
    }
    if (!problems->empty()) {
      return std::unexpected(Refuse(path, fmt::format("the file is corrupt ({}{}); see 'berth "
                                                      "store check'",
                                                      problems->front(),
                                                      problems->size() > 1 ? ", ..." : "")));
    }
  }
  if (mode == OpenMode::kWrite) {
    BERTH_TRY(Exec(raw, "PRAGMA journal_mode = WAL"));
    // NORMAL in WAL: a killed process never loses a committed transaction; a power cut
    // may lose the last ones but never corrupts. See docs/registry.md.
    BERTH_TRY(Exec(raw, "PRAGMA synchronous = NORMAL"));
    if (*version < kSchemaVersion) BERTH_TRY(Migrate(raw, path));
  } else if (*version < kSchemaVersion) {
    return Fail(ErrorCode::kPermissionDenied,
                fmt::format("{} needs a schema upgrade but is opened read-only: run a berth "
                            "command that writes, as a user who may write it",
                            path));
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(busy), std::move(db), path));
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::OpenMemory() {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(":memory:", &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, Closer> db(raw);
  if (rc != SQLITE_OK) return std::unexpected(sql::SqlError(raw, rc, "opening a registry in memory"));
  BERTH_TRY(Migrate(raw, ":memory:"));
  return std::unique_ptr<SqliteStore>(
      new SqliteStore(std::make_unique<Busy>(), std::move(db), ":memory:"));
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
  return InTxn([&]() -> Result<ClaimOutcome> {
    if (auto existing = BERTH_TRY(GetService(record.service.name))) {
      return ClaimOutcome{ClaimStatus::kExists, std::move(*existing)};
    }
    BERTH_TRY(ValidateServiceSpan(record.service));
    auto claim = BERTH_TRY(cache_.Get("INSERT INTO claims (grp, slot, port, service) VALUES (?1, ?2, ?3, ?4) "
            "ON CONFLICT DO NOTHING RETURNING 1"));
    const PortRange ports = PortsOf(record.service);
    for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
      if (!Covers(record.service.proto, p)) continue;
      // A range is one row per port: the primary key refuses any overlap.
      for (std::uint32_t port = ports.low; port <= ports.high; ++port) {
        claim->Bind(1, record.service.group).Bind(2, ProtocolName(p))
            .Bind(3, std::int64_t{port}).Bind(4, record.service.name);
        const bool inserted = BERTH_TRY(claim->Step());
        claim->Reset();
        if (inserted) continue;
        auto holder = BERTH_TRY(cache_.Get("SELECT service FROM claims WHERE grp = ?1 AND slot = ?2 AND port = ?3"));
        holder->Bind(1, record.service.group).Bind(2, ProtocolName(p)).Bind(3, std::int64_t{port});
        std::string who = BERTH_TRY(holder->Step()) ? holder->Text(0) : "another service";
        return Fail(ErrorCode::kConflict,
                    fmt::format("{}/{} in group '{}' is already registered to '{}'", port,
                                ProtocolName(p), record.service.group, who));
      }
    }
    ServiceRecord stored = record;
    stored.revision = BERTH_TRY(BumpRevision(cache_));
    if (stored.service.created == 0) stored.service.created = UnixNow();
    if (stored.service.updated == 0) stored.service.updated = stored.service.created;
    auto ins = BERTH_TRY(cache_.Get(rows::kInsertService));
    BERTH_TRY(rows::BindService(*ins, stored));
    BERTH_TRY(ins->Run());
    return ClaimOutcome{ClaimStatus::kClaimed, std::move(stored)};
  });
}

Result<bool> SqliteStore::ReleaseService(std::string_view name) {
  return InTxn([&]() -> Result<bool> {
    // A service's claims are found from its own record (group, port), so claims need no
    // index by service.
    auto del = BERTH_TRY(cache_.Get("DELETE FROM services WHERE name = ?1 RETURNING grp, port, size"));
    del->Bind(1, name);
    if (!BERTH_TRY(del->Step())) return false;
    const std::string group = del->Text(0);
    const std::int64_t port = del->Int(1);
    const std::int64_t last = port + del->Int(2) - 1;
    BERTH_TRY(del->Step());
    auto claims = BERTH_TRY(cache_.Get(
        "DELETE FROM claims WHERE grp = ?1 AND port BETWEEN ?2 AND ?3 AND service = ?4"));
    claims->Bind(1, group).Bind(2, port).Bind(3, last).Bind(4, name);
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
  return InTxn([&]() -> Result<void> {
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
  return InTxn([&]() -> Result<void> {
    auto s = BERTH_TRY(cache_.Get(rows::kUpsertFamily));
    rows::BindFamily(*s, family);
    BERTH_TRY(s->Run());
    BERTH_TRY(BumpRevision(cache_));
    return {};
  });
}

Result<ScanRecorded> SqliteStore::RecordScan(std::string_view host, std::int64_t time,
                                             const std::vector<Observation>& seen) {
  return InTxn([&]() -> Result<ScanRecorded> {
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
    BERTH_TRY(CountChange(cache_));
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

// ---- The fleet. A lease is a row whose expires_ms the agent moves forward; a presence
// whose lease has expired reads as absent and is deleted by the next fleet write.
namespace {
Result<void> DropExpired(sql::StmtCache& cache) {
  auto gone = BERTH_TRY(cache.Get("DELETE FROM leases WHERE expires_ms <= ?1"));
  gone->Bind(1, NowMs());
  BERTH_TRY(gone->Run());
  auto orphans = BERTH_TRY(cache.Get("DELETE FROM presence WHERE lease NOT IN (SELECT id FROM leases)"));
  return orphans->Run();
}

std::optional<std::int64_t> SecondsLeft(std::int64_t expires_ms) {
  const std::int64_t left = expires_ms - NowMs();
  if (left <= 0) return std::nullopt;
  return (left + 999) / 1000;
}
}  // namespace

Result<std::int64_t> SqliteStore::GrantLease(std::int64_t ttl) {
  if (ttl < 1) return Fail(ErrorCode::kInvalidArgument, "a lease needs a TTL of at least 1 s");
  return InTxn([&]() -> Result<std::int64_t> {
    BERTH_TRY(DropExpired(cache_));
    auto s = BERTH_TRY(cache_.Get("INSERT INTO leases (ttl, expires_ms) VALUES (?1, ?2) RETURNING id"));
    s->Bind(1, ttl).Bind(2, NowMs() + ttl * 1000);
    if (!BERTH_TRY(s->Step())) return Fail(ErrorCode::kInternal, "no lease id came back");
    const std::int64_t id = s->Int(0);
    BERTH_TRY(s->Step());
    return id;
  });
}

Result<std::optional<std::int64_t>> SqliteStore::KeepAlive(std::int64_t lease) {
  return InTxn([&]() -> Result<std::optional<std::int64_t>> {
    auto s = BERTH_TRY(cache_.Get("UPDATE leases SET expires_ms = ?2 + ttl * 1000 "
                                  "WHERE id = ?1 AND expires_ms > ?2 RETURNING ttl"));
    s->Bind(1, lease).Bind(2, NowMs());
    if (!BERTH_TRY(s->Step())) return std::optional<std::int64_t>{};
    const std::int64_t ttl = s->Int(0);
    BERTH_TRY(s->Step());
    return std::optional<std::int64_t>{ttl};
  });
}

Result<std::optional<std::int64_t>> SqliteStore::LeaseRemaining(std::int64_t lease) {
  auto s = BERTH_TRY(cache_.Get("SELECT expires_ms FROM leases WHERE id = ?1"));
  s->Bind(1, lease);
  if (!BERTH_TRY(s->Step())) return std::optional<std::int64_t>{};
  return SecondsLeft(s->Int(0));
}

Result<void> SqliteStore::RevokeLease(std::int64_t lease) {
  return InTxn([&]() -> Result<void> {
    auto s = BERTH_TRY(cache_.Get("DELETE FROM leases WHERE id = ?1"));
    s->Bind(1, lease);
    BERTH_TRY(s->Run());
    BERTH_TRY(DropExpired(cache_));
    return CountChange(cache_);
  });
}

Result<void> SqliteStore::PutPresence(const HostPresence& presence) {
  return InTxn([&]() -> Result<void> {
    BERTH_TRY(DropExpired(cache_));
    auto live = BERTH_TRY(cache_.Get("SELECT count(*) FROM leases WHERE id = ?1"));
    live->Bind(1, presence.lease);
    if (!BERTH_TRY(live->Step()) || live->Int(0) == 0) {
      return Fail(ErrorCode::kNotFound, fmt::format("lease {} of {} has expired", presence.lease, path_));
    }
    BERTH_TRY(live->Step());
    auto s = BERTH_TRY(cache_.Get("INSERT OR REPLACE INTO presence (host, lease, doc) VALUES (?1, ?2, ?3)"));
    s->Bind(1, presence.host).Bind(2, presence.lease).Bind(3, etcd::EncodePresence(presence));
    BERTH_TRY(s->Run());
    return CountChange(cache_);
  });
}

Result<void> SqliteStore::PutHostReport(const HostReport& report, const std::vector<Finding>& findings) {
  if (findings.size() > etcd::kMaxFindings) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} findings for {}: the store keeps at most {}", findings.size(),
                            report.host, etcd::kMaxFindings));
  }
  return InTxn([&]() -> Result<void> {
    auto s = BERTH_TRY(cache_.Get("INSERT OR REPLACE INTO host_reports (host, doc) VALUES (?1, ?2)"));
    s->Bind(1, report.host).Bind(2, etcd::EncodeHostReport(report, findings));
    BERTH_TRY(s->Run());
    return CountChange(cache_);
  });
}

Result<std::vector<FleetHost>> SqliteStore::ListHosts() {
  std::map<std::string, FleetHost> hosts;
  auto reports = BERTH_TRY(cache_.Get("SELECT host, doc FROM host_reports"));
  while (BERTH_TRY(reports->Step())) {
    const std::string host = reports->Text(0);
    auto doc = BERTH_TRY(etcd::DecodeHostReport(reports->Text(1), "host_reports/" + host));
    hosts[host].report = std::move(doc.report);
  }
  auto presences = BERTH_TRY(cache_.Get(
      "SELECT p.host, p.doc FROM presence p JOIN leases l ON l.id = p.lease WHERE l.expires_ms > ?1"));
  presences->Bind(1, NowMs());
  while (BERTH_TRY(presences->Step())) {
    const std::string host = presences->Text(0);
    FleetHost& h = hosts[host];
    h.report.host = host;
    h.presence = BERTH_TRY(etcd::DecodePresence(presences->Text(1), "presence/" + host));
  }
  std::vector<FleetHost> out;
  out.reserve(hosts.size());
  for (auto& [name, h] : hosts) out.push_back(std::move(h));
  return out;
}

Result<std::vector<Finding>> SqliteStore::HostFindings(std::string_view host) {
  auto s = BERTH_TRY(cache_.Get("SELECT doc FROM host_reports WHERE host = ?1"));
  s->Bind(1, host);
  if (!BERTH_TRY(s->Step())) return std::vector<Finding>{};
  auto doc = BERTH_TRY(etcd::DecodeHostReport(s->Text(0), "host_reports/" + std::string(host)));
  BERTH_TRY(s->Step());
  return std::move(doc.findings);
}

// Polls the counters (SQLite has no notification across processes): every 100 ms.
Result<std::int64_t> SqliteStore::WaitForChange(std::int64_t since, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const std::int64_t now = 1 + BERTH_TRY(QueryInt(
        db_.get(), "SELECT sum(value) FROM meta WHERE key IN ('revision', 'changes')"));
    if (now != since) return now;
    if (std::chrono::steady_clock::now() >= deadline) return since;
    ::usleep(100 * 1000);
  }
}

Result<std::vector<std::string>> SqliteStore::CheckIntegrity() {
  return Check(db_.get(), "PRAGMA integrity_check");
}

Result<bool> SqliteStore::ReleaseServices(std::span<const std::string> names) {
  return InTxn([&]() -> Result<bool> {
    for (const std::string& name : names) {
      if (!BERTH_TRY(GetService(name))) return false;
    }
    atomic_ = true;
    struct Done {
      bool& a;
      ~Done() { a = false; }
    } done{atomic_};
    std::set<std::string_view> seen;
    for (const std::string& name : names) {
      if (seen.insert(name).second) BERTH_TRY(ReleaseService(name));
    }
    return true;
  });
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
  return InTxn([&]() -> Result<void> {
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
    const std::int64_t now = UnixNow();
    for (const Service& s : doc.services) {
      auto old = before.find(s.name);
      const ServiceRecord rec =
          ReplacedRecord(s, reason, revision, old == before.end() ? nullptr : &old->second, now);
      BERTH_TRY(rows::BindService(*ins, rec));
      BERTH_TRY(ins->Run());
      BERTH_TRY(ValidateServiceSpan(s));
      const PortRange ports = PortsOf(s);
      for (Protocol p : {Protocol::kTcp, Protocol::kUdp}) {
        if (!Covers(s.proto, p)) continue;
        for (std::uint32_t port = ports.low; port <= ports.high; ++port) {
          claim->Bind(1, s.group).Bind(2, ProtocolName(p)).Bind(3, std::int64_t{port}).Bind(4, s.name);
          auto r = claim->Run();
          if (r) continue;
          claim->Reset();
          if (r.error().code != ErrorCode::kConflict) return r;
          return Fail(ErrorCode::kConflict,
                      fmt::format("'{}' claims {}/{} in group '{}', which another service of the "
                                  "same file claims too",
                                  s.name, port, ProtocolName(p), s.group));
        }
      }
    }
    return {};
  });
}

}  // namespace berth::registry
