// Thin owning wrappers over the SQLite C API for the registry store: a prepared statement
// with typed binds and reads, a BEGIN IMMEDIATE transaction that rolls back unless
// committed, and the one place SQLite result codes become an Error. Single-threaded.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/error.h"

namespace berth::registry::sql {

// Maps a SQLite result code (and the connection's message) to an Error naming `what`.
Error SqlError(sqlite3* db, int rc, std::string_view what);

[[nodiscard]] Result<void> Exec(sqlite3* db, const char* sql);

class Stmt {
 public:
  [[nodiscard]] static Result<Stmt> Prepare(sqlite3* db, std::string_view sql);

  Stmt& Bind(int i, std::int64_t v);
  Stmt& Bind(int i, std::string_view v);
  // Steps once: true when a row is ready, false when done. Failure: the mapped error.
  [[nodiscard]] Result<bool> Step();
  // Steps to completion (a statement without rows), then resets for reuse.
  [[nodiscard]] Result<void> Run();
  void Reset();

  std::int64_t Int(int col) const;
  std::string Text(int col) const;
  int last_rc() const { return last_rc_; }

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), stmt_(s) {}
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  int last_rc_ = SQLITE_OK;
};

// Prepared statements kept for the life of a connection, keyed by their SQL (preparing is
// most of the cost of a small query). A Lease resets its statement when it goes out of
// scope, so no statement is left mid-step holding a read snapshot. One user of a given SQL
// at a time.
class StmtCache {
 public:
  explicit StmtCache(sqlite3* db) : db_(db) {}
  class Lease {
   public:
    explicit Lease(Stmt* s) : s_(s) {}
    Lease(Lease&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (s_ != nullptr) s_->Reset();
    }
    Stmt* operator->() const { return s_; }
    Stmt& operator*() const { return *s_; }

   private:
    Stmt* s_;
  };
  [[nodiscard]] Result<Lease> Get(std::string_view sql);

 private:
  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Stmt>> stmts_;
};

// BEGIN IMMEDIATE (the write lock is taken up front, so a transaction never fails
// half-way on a lock upgrade); rolls back in the destructor unless Commit() succeeded.
class Txn {
 public:
  [[nodiscard]] static Result<Txn> Begin(sqlite3* db);
  Txn(Txn&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  Txn& operator=(Txn&&) = delete;
  ~Txn();
  [[nodiscard]] Result<void> Commit();

 private:
  explicit Txn(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace berth::registry::sql
