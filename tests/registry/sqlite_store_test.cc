#include "registry/sqlite_store.h"

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "registry/registry_test_util.h"  // tests/registry

namespace berth::registry {
namespace {

using test::OpenOrDie;
using test::TempDir;

ServiceRecord Rec(std::string name, Port port, ServiceProto proto = ServiceProto::kTcp,
                  std::string group = "default") {
  ServiceRecord r;
  r.service.name = std::move(name);
  r.service.port = port;
  r.service.proto = proto;
  r.service.group = std::move(group);
  r.reason = "test";
  return r;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

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

TEST(RegistryStore, ClaimIsUniquePerGroupSlotAndPort) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  auto a = store->ClaimService(Rec("a", 5000));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->status, ClaimStatus::kClaimed);
  EXPECT_EQ(a->record.revision, 1);

  auto b = store->ClaimService(Rec("b", 5000));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, ErrorCode::kConflict);
  EXPECT_NE(b.error().message.find("'a'"), std::string::npos) << b.error().message;

  EXPECT_TRUE(store->ClaimService(Rec("c", 5000, ServiceProto::kUdp)));  // other slot
  auto d = store->ClaimService(Rec("d", 5000, ServiceProto::kBoth));    // both slots taken
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kConflict);
  EXPECT_FALSE(*store->GetService("d"));  // nothing half-written

  Group other;
  other.name = "other";
  store->PutGroup(other).value();
  EXPECT_TRUE(store->ClaimService(Rec("e", 5000, ServiceProto::kBoth, "other")));
  auto claims = store->ListClaims("other");
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims->size(), 2u);  // both tcp and udp
}

TEST(RegistryStore, ClaimOfExistingNameReturnsTheStoredRecord) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->ClaimService(Rec("a", 5000)));
  auto again = store->ClaimService(Rec("a", 6000));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, ClaimStatus::kExists);
  EXPECT_EQ(again->record.service.port, 5000);
  EXPECT_EQ(store->ListClaims("")->size(), 1u);
}

TEST(RegistryStore, ReleaseFreesTheClaimAndBumpsRevision) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->ClaimService(Rec("a", 5000, ServiceProto::kBoth)));
  const auto rev = *store->Revision();
  EXPECT_TRUE(*store->ReleaseService("a"));
  EXPECT_FALSE(*store->ReleaseService("a"));
  EXPECT_EQ(*store->Revision(), rev + 1);
  EXPECT_TRUE(store->ListClaims("")->empty());
  EXPECT_TRUE(store->ClaimService(Rec("b", 5000)));
}

TEST(RegistryStore, ReplaceIsAllOrNothing) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->ClaimService(Rec("keep", 5000)));
  RegistryDoc bad;
  bad.services = {Rec("x", 6000).service, Rec("y", 6000).service};
  auto r = store->Replace(bad, "test");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  auto list = store->ListServices();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].service.name, "keep");

  RegistryDoc good;
  Family fam;
  fam.name = "mssql";
  fam.base = 1433;
  good.families = {fam};
  good.services = {Rec("keep", 5000).service, Rec("y", 6000).service};
  ASSERT_TRUE(store->Replace(good, "test"));
  auto doc = store->Export();
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->services.size(), 2u);
  EXPECT_EQ(doc->families, good.families);
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

TEST(RegistryStore, RecordScanKeepsPreviousScanApart) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  Observation o{"h1", "", Protocol::kTcp, 4000, 10, "app", 0, 0};
  auto first = store->RecordScan("h1", 100, {o});
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->previous);
  o.port = 4001;
  auto second = store->RecordScan("h1", 100, {o});  // same second: moved one on
  ASSERT_TRUE(second);
  ASSERT_TRUE(second->previous);
  EXPECT_EQ(*second->previous, 100);
  EXPECT_EQ(second->time, 101);
  auto prev = store->ScanObservations("h1", 100);
  ASSERT_EQ(prev->size(), 1u);
  EXPECT_EQ((*prev)[0].port, 4000);
  auto now = store->ScanObservations("h1", 101);
  ASSERT_EQ(now->size(), 1u);
  EXPECT_EQ((*now)[0].port, 4001);
}

TEST(RegistryStore, ReleaseServicesIsAllOrNothing) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->ClaimService(Rec("a", 5000)));
  ASSERT_TRUE(store->ClaimService(Rec("b", 5001)));
  const auto rev = *store->Revision();
  const std::vector<std::string> with_missing{"a", "nosuch"};
  auto r = store->ReleaseServices(with_missing);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(*r);
  EXPECT_EQ(*store->Revision(), rev);
  EXPECT_TRUE(*store->GetService("a"));
  const std::vector<std::string> both{"a", "b", "a"};
  auto ok = store->ReleaseServices(both);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_TRUE(*ok);
  EXPECT_TRUE(store->ListServices()->empty());
  EXPECT_TRUE(store->ListClaims("")->empty());
}

// A failing step inside Atomically() undoes only itself (a savepoint); a failing body undoes
// everything.
TEST(RegistryStore, AtomicallyCommitsAllOrNothing) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->ClaimService(Rec("held", 5002, ServiceProto::kUdp)));
  const auto rev = *store->Revision();
  auto failed = store->Atomically([&]() -> Result<void> {
    BERTH_TRY(store->ClaimService(Rec("x", 5000)));
    // tcp 5002 is free, udp 5002 is held: the step fails and leaves no tcp claim behind.
    auto both = store->ClaimService(Rec("y", 5002, ServiceProto::kBoth));
    EXPECT_FALSE(both);
    auto claims = store->ListClaims("");
    EXPECT_TRUE(claims && claims->size() == 2u);
    return Fail(ErrorCode::kConflict, "stop");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(*store->Revision(), rev);
  EXPECT_FALSE(*store->GetService("x"));
  auto done = store->Atomically([&]() -> Result<void> {
    BERTH_TRY(store->ClaimService(Rec("x", 5000)));
    BERTH_TRY(store->ClaimService(Rec("z", 5001)));
    return {};
  });
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(store->ListServices()->size(), 3u);
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
