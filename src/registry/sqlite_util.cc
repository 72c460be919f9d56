#include "registry/sqlite_util.h"

#include <fmt/core.h>

namespace berth::registry::sql {

Error SqlError(sqlite3* db, int rc, std::string_view what) {
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  ErrorCode code = ErrorCode::kInternal;
  std::string hint;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = ErrorCode::kUnavailable;
      hint = "; another berth holds the registry: retry";
      break;
    case SQLITE_CONSTRAINT: code = ErrorCode::kConflict; break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      code = ErrorCode::kMalformed;
      hint = "; the file is corrupt or not a berth registry: berth will not modify it; restore "
             "it from a backup or 'berth export', or move it aside";
      break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: code = ErrorCode::kPermissionDenied; break;
    case SQLITE_CANTOPEN: code = ErrorCode::kNotFound; break;
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_NOMEM: code = ErrorCode::kUnavailable; break;
    default: break;
  }
  return Error{code, fmt::format("{}: {}{}", what, msg, hint)};
}

Result<void> Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  std::string msg = err != nullptr ? err : "";
  sqlite3_free(err);
  if (rc != SQLITE_OK) return std::unexpected(SqlError(db, rc, fmt::format("sqlite: {}", sql)));
  return {};
}

Result<Stmt> Stmt::Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &s, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(s);
    return std::unexpected(SqlError(db, rc, "preparing a registry query"));
  }
  return Stmt(db, s);
}

Stmt& Stmt::Bind(int i, std::int64_t v) {
  sqlite3_bind_int64(stmt_.get(), i, v);
  return *this;
}

Stmt& Stmt::Bind(int i, std::string_view v) {
  sqlite3_bind_text(stmt_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

Result<bool> Stmt::Step() {
  last_rc_ = sqlite3_step(stmt_.get());
  if (last_rc_ == SQLITE_ROW) return true;
  if (last_rc_ == SQLITE_DONE) return false;
  Error e = SqlError(db_, last_rc_, "registry query");
  sqlite3_reset(stmt_.get());
  return std::unexpected(std::move(e));
}

Result<void> Stmt::Run() {
  while (BERTH_TRY(Step())) {
  }
  Reset();
  return {};
}

void Stmt::Reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

std::int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_.get(), col); }

std::string Stmt::Text(int col) const {
  const unsigned char* t = sqlite3_column_text(stmt_.get(), col);
  if (t == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(t),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), col)));
}

Result<StmtCache::Lease> StmtCache::Get(std::string_view sql) {
  auto it = stmts_.find(std::string(sql));
  if (it == stmts_.end()) {
    auto stmt = BERTH_TRY(Stmt::Prepare(db_, sql));
    it = stmts_.emplace(std::string(sql), std::make_unique<Stmt>(std::move(stmt))).first;
  }
  it->second->Reset();
  return Lease(it->second.get());
}

Result<Txn> Txn::Begin(sqlite3* db) {
  BERTH_TRY(Exec(db, "BEGIN IMMEDIATE"));
  return Txn(db);
}

Txn::~Txn() {
  if (db_ != nullptr) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Result<void> Txn::Commit() {
  BERTH_TRY(Exec(db_, "COMMIT"));
  db_ = nullptr;
  return {};
}

}  // namespace berth::registry::sql
