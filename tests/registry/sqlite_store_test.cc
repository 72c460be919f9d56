#include "registry/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "registry/registry_test_util.h"  // tests/registry
#include "support/test_support.h"

namespace berth::registry {
namespace {

using test::OpenOrDie;
using test::TempDir;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The Store contract itself (claims, release, replace, scans, Atomically) runs on SQLite and
// etcd alike in tests/etcd/store_contract_test.cc; these are the SQLite file's own cases.
TEST(RegistryStore, ReadModeOfMissingFileIsEmptyAndCreatesNothing) {
  TempDir dir;
  const std::string path = dir.File("sub/registry.db");
  auto store = SqliteStore::Open(path, OpenMode::kRead);
  ASSERT_TRUE(store) << store.error().message;
  auto list = (*store)->ListServices();
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
  EXPECT_FALSE(std::filesystem::exists(dir.File("sub")));
}

TEST(RegistryStore, WriteModeCreatesDirectoryAndFile) {
  TempDir dir;
  const std::string path = dir.File("a/b/registry.db");
  auto store = OpenOrDie(path);
  ASSERT_TRUE(store);
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(*store->Revision(), 0);
}

TEST(RegistryStore, UnwritableDirectoryIsExplained) {
  // A path below a regular file can never be created, even by root.
  TempDir dir;
  std::ofstream(dir.File("file")) << "x";
  auto store = SqliteStore::Open(dir.File("file/registry.db"), OpenMode::kWrite);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(store.error().message.find("not writable"), std::string::npos) << store.error().message;
  EXPECT_EQ(store.error().hints, (std::vector<Hint>{{Remedy::kChooseRegistry}}));
}

TEST(RegistryStore, CorruptFileIsRefusedAndNotModified) {
  TempDir dir;
  const std::string path = dir.File("r.db");
  std::string garbage(8192, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 7 + 3);
  std::ofstream(path, std::ios::binary) << garbage;
  for (OpenMode mode : {OpenMode::kRead, OpenMode::kWrite}) {
    auto store = SqliteStore::Open(path, mode);
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().code, ErrorCode::kMalformed);
    EXPECT_NE(store.error().message.find("will not modify"), std::string::npos)
        << store.error().message;
  }
  EXPECT_EQ(Slurp(path), garbage);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST(RegistryStore, NewerSchemaIsRefusedAndNotModified) {
  TempDir dir;
  const std::string path = dir.File("r.db");
  { ASSERT_TRUE(OpenOrDie(path)); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA journal_mode = DELETE; PRAGMA user_version = 99", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  const std::string before = Slurp(path);
  auto store = SqliteStore::Open(path, OpenMode::kWrite);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("newer"), std::string::npos) << store.error().message;
  EXPECT_EQ(Slurp(path), before);
}

TEST(RegistryStore, ForeignSqliteDatabaseIsRefused) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = SqliteStore::Open(path, OpenMode::kWrite);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("not a berth registry"), std::string::npos);
}

TEST(RegistryStore, NegativeSchemaVersionIsRefused) {
  TempDir dir;
  const std::string path = dir.File("r.db");
  { ASSERT_TRUE(OpenOrDie(path)); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = -1", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  for (OpenMode mode : {OpenMode::kRead, OpenMode::kWrite}) {
    auto store = SqliteStore::Open(path, mode);
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().code, ErrorCode::kMalformed);
    EXPECT_NE(store.error().message.find("schema version -1"), std::string::npos)
        << store.error().message;
  }
}

// A registry written by the berth before the fleet (schema 1) is taken to schema 2 on the
// first write open, its services kept.
TEST(RegistryStore, ASchemaOneFileGainsTheFleetTablesAndKeepsItsServices) {
  TempDir dir;
  const std::string path = dir.File("r.db");
  {
    auto store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    ServiceRecord r;
    r.service.name = "web";
    r.service.port = 18080;
    r.service.group = "default";
    ASSERT_TRUE(store->ClaimService(r));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TABLE leases; DROP TABLE presence; DROP TABLE host_reports; "
                         "DELETE FROM meta WHERE key = 'changes'; ALTER TABLE services DROP COLUMN size; "
                         "PRAGMA user_version = 1",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->GetService("web").value());
  auto lease = store->GrantLease(10);
  ASSERT_TRUE(lease) << lease.error().message;
  HostPresence p;
  p.host = "web1";
  p.lease = *lease;
  ASSERT_TRUE(store->PutPresence(p));
  auto hosts = store->ListHosts();
  ASSERT_TRUE(hosts) << hosts.error().message;
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_TRUE((*hosts)[0].presence);
}

// Root creating the registry in a directory the service user owns (/var/lib/berth is
// _berth's): the database and SQLite's -wal and -shm are that user's, so the agent and serve
// units, running as it, can write what root created.
TEST(RegistryStore, RootCreatingItInAnotherUsersDirectoryGivesItToThatUser) {
  BERTH_REQUIRE_ROOT();
  TempDir dir;
  const std::string sub = dir.File("state");
  ASSERT_TRUE(std::filesystem::create_directory(sub));
  constexpr uid_t kNobody = 65534;
  ASSERT_EQ(::chown(sub.c_str(), kNobody, kNobody), 0);
  const std::string path = sub + "/registry.db";
  auto store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ServiceRecord r;
  r.service.name = "web";
  r.service.port = 18080;
  r.service.group = "default";
  ASSERT_TRUE(store->ClaimService(r));
  for (const std::string& f : {path, path + "-wal", path + "-shm"}) {
    struct stat st {};
    ASSERT_EQ(::stat(f.c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_uid, kNobody) << f;
    EXPECT_EQ(st.st_gid, kNobody) << f;
  }
}

TEST(RegistryStore, ReadModeOfZeroByteFileIsEmptyAndLeavesItAlone) {
  TempDir dir;
  const std::string path = dir.File("r.db");
  std::ofstream(path).close();
  {
    auto store = SqliteStore::Open(path, OpenMode::kRead);
    ASSERT_TRUE(store) << store.error().message;
    EXPECT_TRUE((*store)->ListServices()->empty());
    EXPECT_EQ((*store)->Location(), path);
  }
  EXPECT_EQ(std::filesystem::file_size(path), 0u);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

TEST(RegistryStore, ExplicitPathGetsNoDirectories) {
  TempDir dir;
  OpenOptions options;
  options.mode = OpenMode::kWrite;
  options.create_directories = false;
  auto store = SqliteStore::Open(dir.File("a/b/registry.db"), options);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir.File("a")));
  auto here = SqliteStore::Open(dir.File("registry.db"), options);
  EXPECT_TRUE(here) << here.error().message;
}

}  // namespace
}  // namespace berth::registry
