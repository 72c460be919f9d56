// The registry under stress: many processes assigning at once on one file, and kill -9 in
// the middle of a large apply. Real berth processes, a registry in a temp directory.
#include <signal.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "registry/registry_test_util.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

constexpr int kProcesses = 16;

std::map<std::string, int> ListPorts(const std::string& db) {
  auto r = RunBerth({"list", "--json", "--db", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, int> out;
  if (r.exit_code != 0) return out;
  const auto doc = nlohmann::json::parse(r.out);
  for (const auto& s : doc["services"]) {
    out[s["name"].get<std::string>()] = s["port"].get<int>();
  }
  return out;
}

// 16 processes x 400 distinct names on one registry: 6,400 distinct ports, no error. (The
// processes contend all through; more names per process made the test longer, not stronger.)
// The default policy (1024-49151 minus the ephemeral range minus IANA-assigned ports) leaves
// about 26,000 TCP ports on a Linux-default host, so no --allow-iana is needed.
TEST(RegistryIntegrity, SixteenProcessesAssignDistinctPorts) {
  TempDir dir;
  const std::string db = dir.File("registry.db");
  const int per_process = 400;
  std::vector<std::future<CommandResult>> runs;
  for (int p = 0; p < kProcesses; ++p) {
    // Each batch of 400 is one transaction, so the last of 16 queues behind the other 15
    // (several seconds on two cores): a wait beyond the 5 s default.
    std::vector<std::string> args{"assign", "--wait", "300", "--db", db};
    for (int i = 0; i < per_process; ++i) args.push_back(fmt::format("p{}-svc{}", p, i));
    runs.push_back(std::async(std::launch::async, [args] { return RunBerth(args); }));
  }
  std::map<std::string, int> printed;
  for (auto& f : runs) {
    CommandResult r = f.get();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    std::istringstream in(r.out);
    std::string name;
    int port;
    while (in >> name >> port) printed[name] = port;
  }
  EXPECT_EQ(printed.size(), static_cast<std::size_t>(kProcesses * per_process));
  const auto stored = ListPorts(db);
  EXPECT_EQ(stored, printed);
  std::set<int> ports;
  for (const auto& [name, port] : stored) ports.insert(port);
  EXPECT_EQ(ports.size(), static_cast<std::size_t>(kProcesses * per_process));
}

TEST(RegistryIntegrity, SameNameFromSixteenProcessesGetsOnePort) {
  TempDir dir;
  const std::string db = dir.File("registry.db");
  std::vector<std::future<CommandResult>> runs;
  for (int p = 0; p < kProcesses; ++p) {
    runs.push_back(std::async(std::launch::async,
                              [db] { return RunBerth({"assign", "contended", "--wait", "300", "--db", db}); }));
  }
  std::set<std::string> outputs;
  for (auto& f : runs) {
    CommandResult r = f.get();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    outputs.insert(r.out);
  }
  EXPECT_EQ(outputs.size(), 1u);
  const auto stored = ListPorts(db);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(std::to_string(stored.at("contended")) + "\n", *outputs.begin());
}

// kill -9 at several points of an apply of a 5,000-service file (seconds under ASan): the
// registry is exactly the one before or exactly the one after, never anything in between.
TEST(RegistryIntegrity, KillDuringApplyLeavesBeforeOrAfter) {
  TempDir dir;
  const std::string big = dir.File("big.toml");
  {
    // Every field given (times too), so two registries built from it export the same text.
    std::ofstream out(big);
    out << "schema = 1\n[[group]]\nname = \"bulk\"\nrange = \"1-65535\"\n";
    for (int i = 0; i < 5000; ++i) {
      out << fmt::format("\n[[service]]\nname = \"s{}\"\nport = {}\ngroup = \"bulk\"\n"
                         "created = 2026-01-01T00:00:00Z\nupdated = 2026-01-01T00:00:00Z\n",
                         i, 1 + i);
    }
  }
  const std::string small = dir.File("small.toml");
  std::ofstream(small) << "[[service]]\nname = \"before\"\nport = 20001\n"
                          "created = 2026-01-01T00:00:00Z\nupdated = 2026-01-01T00:00:00Z\n";

  // Reference: the registry before, the registry after a complete apply, and how long one takes.
  const std::string ref = dir.File("ref.db");
  ASSERT_EQ(RunBerth({"apply", small, "--db", ref}).exit_code, 0);
  const std::string before = RunBerth({"export", "--db", ref}).out;
  const auto t0 = std::chrono::steady_clock::now();
  auto full = RunBerth({"apply", "--prune", big, "--db", ref});
  const auto full_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const std::string after = RunBerth({"export", "--db", ref}).out;
  ASSERT_GT(after.size(), before.size());
  ASSERT_NE(after.find("name = \"s4999\""), std::string::npos);

  int saw_before = 0, saw_after = 0;
  for (int pct : {50, 80, 95}) {
    const std::string db = dir.File(fmt::format("k{}.db", pct));
    ASSERT_EQ(RunBerth({"apply", small, "--db", db}).exit_code, 0);
    {
      Child apply = Child::Exec({BerthBinary(), "apply", "--prune", big, "--db", db});
      // Not a wait for anything: the sleep only picks a kill moment somewhere in the apply.
      // Wherever it lands (even before the apply started or after it ended) the assertions
      // below hold; none depends on which side of the commit the kill fell.
      std::this_thread::sleep_for(std::chrono::milliseconds(full_ms * pct / 100));
      apply.Kill();  // SIGKILL, reaped
    }
    auto now = RunBerth({"export", "--db", db});
    ASSERT_EQ(now.exit_code, 0) << now.err;
    if (now.out == before) {
      ++saw_before;
    } else {
      EXPECT_EQ(now.out.size(), after.size()) << "killed at " << pct << "%: neither before nor after";
      EXPECT_TRUE(now.out == after) << "killed at " << pct << "%: neither before nor after";
      ++saw_after;
    }
  }
  std::fprintf(stderr, "apply of 5,000 services: %lld ms; killed runs: %d before, %d after\n",
               static_cast<long long>(full_ms), saw_before, saw_after);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs one SQL statement on `db` with the sqlite3 C API; false on failure.
bool Sql(const std::string& db, const std::string& statement) {
  sqlite3* h = nullptr;
  bool ok = sqlite3_open(db.c_str(), &h) == SQLITE_OK &&
            sqlite3_exec(h, statement.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(h);
  return ok;
}

// The root page of `table` and the page size, read with the C API.
std::pair<long, long> RootPage(const std::string& db, const std::string& table) {
  sqlite3* h = nullptr;
  long root = -1, size = -1;
  if (sqlite3_open(db.c_str(), &h) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    const std::string q = "SELECT rootpage, (SELECT page_size FROM pragma_page_size) FROM "
                          "sqlite_master WHERE name = '" + table + "'";
    if (sqlite3_prepare_v2(h, q.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
      root = sqlite3_column_int64(s, 0);
      size = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(h);
  return {root, size};
}

// A corrupt page in a table writes do not touch (the scan observations): every write is
// refused before it starts, the file stays byte for byte, and `store check` says so.
TEST(RegistryTrust, CorruptPageRefusesEveryWriteAndWritesNothing) {
  TempDir dir;
  const std::string db = dir.File("registry.db");
  ASSERT_EQ(RunBerth({"assign", "a", "b", "--db", db}).exit_code, 0);
  ASSERT_EQ(RunBerth({"group", "add", "g", "--db", db}).exit_code, 0);
  auto healthy = RunBerth({"store", "check", "--db", db});
  EXPECT_EQ(healthy.exit_code, 0) << healthy.out << healthy.err;
  const auto [root, page_size] = RootPage(db, "observations");
  ASSERT_GT(root, 1);
  ASSERT_FALSE(std::filesystem::exists(db + "-wal"));  // all pages are in the file
  {
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f);
    f.seekp((root - 1) * page_size);
    const std::string junk(64, '\xee');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    ASSERT_TRUE(f);
  }
  const std::string before = Slurp(db);
  for (const std::vector<std::string>& write :
       {std::vector<std::string>{"assign", "c"}, {"group", "add", "h"}, {"release", "a"},
        {"family", "add", "f", "--base", "30000"}}) {
    std::vector<std::string> args = write;
    args.insert(args.end(), {"--db", db});
    auto r = RunBerth(args);
    EXPECT_EQ(r.exit_code, 2) << write[0] << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("corrupt"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("berth store check"), std::string::npos) << r.err;
    EXPECT_TRUE(Slurp(db) == before) << write[0] << " changed the file";
  }
  auto check = RunBerth({"store", "check", "--db", db});
  EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
  EXPECT_NE(check.out.find("corrupt"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("what to do"), std::string::npos) << check.out;
  EXPECT_TRUE(Slurp(db) == before);
  EXPECT_EQ(RunBerth({"store", "check", "--db", dir.File("nodir/x.db")}).exit_code, 0);
}

TEST(RegistryTrust, NegativeOrUnknownSchemaVersionIsRefusedClearly) {
  TempDir dir;
  const std::string db = dir.File("registry.db");
  ASSERT_EQ(RunBerth({"assign", "a", "--db", db}).exit_code, 0);
  ASSERT_TRUE(Sql(db, "PRAGMA user_version = -1"));
  const std::string before = Slurp(db);
  for (const char* cmd : {"list", "assign"}) {
    std::vector<std::string> args{cmd};
    if (std::string(cmd) == "assign") args.push_back("b");
    args.insert(args.end(), {"--db", db});
    auto r = RunBerth(args);
    EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("schema version -1"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("CREATE TABLE"), std::string::npos) << r.err;
    EXPECT_TRUE(Slurp(db) == before);
  }
}

// Read commands never write: a zero-byte file stays zero bytes with its mtime.
TEST(RegistryTrust, ReadCommandsLeaveAZeroByteFileAlone) {
  TempDir dir;
  const std::string db = dir.File("registry.db");
  std::ofstream(db).close();
  const std::string toml = dir.File("berth.toml");
  std::ofstream(toml) << "[[service]]\nname = \"web\"\nport = 20080\n";
  const timespec old_times[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, db.c_str(), old_times, 0), 0);
  for (const std::vector<std::string>& read :
       {std::vector<std::string>{"list"}, {"show", "web"}, {"export"}, {"export", "--format", "json"},
        {"plan", toml}, {"group", "list"}, {"store", "check"}}) {
    std::vector<std::string> args = read;
    args.insert(args.end(), {"--db", db});
    auto r = RunBerth(args);
    EXPECT_NE(r.exit_code, -1);
    struct stat st {};
    ASSERT_EQ(::stat(db.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 0) << read[0] << " wrote the file";
    EXPECT_EQ(st.st_mtim.tv_sec, 1000000000) << read[0] << " touched the file";
    EXPECT_FALSE(std::filesystem::exists(db + "-wal")) << read[0];
  }
  EXPECT_EQ(RunBerth({"list", "--db", db}).exit_code, 0);
}

// `berth ARGS` as nobody (uid/gid 65534), via setpriv.
CommandResult RunBerthAsNobody(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                BerthBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv);
}

bool CanRunAsNobody() {
  return IsRoot() && Run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "true"})
                             .exit_code == 0;
}

TEST(RegistryTrust, UnsearchableDirectoryIsAnErrorNotAnEmptyRegistry) {
  if (!CanRunAsNobody()) BERTH_MISSING_PEER("needs root and setpriv to run berth as nobody");
  TempDir dir;  // mode 0700, owned by root: nobody cannot search it
  const std::string db = dir.File("registry.db");
  ASSERT_EQ(RunBerth({"assign", "web", "--db", db}).exit_code, 0);
  TempDir other;  // readable by nobody: the file to plan
  ::chmod(other.path().c_str(), 0755);
  const std::string toml = other.File("berth.toml");
  std::ofstream(toml) << "schema = 1\n";
  ::chmod(toml.c_str(), 0644);
  auto list = RunBerthAsNobody({"list", "--db", db});
  EXPECT_EQ(list.exit_code, 2) << list.out << list.err;
  EXPECT_NE(list.err.find("Permission denied"), std::string::npos) << list.err;
  auto plan = RunBerthAsNobody({"plan", toml, "--db", db});
  EXPECT_EQ(plan.exit_code, 2) << plan.out << plan.err;
}

// A registry nobody may write (file 0644 and directory 0755, owned by root; the same as on a
// read-only mount) is read in place, and a write says why it cannot.
TEST(RegistryTrust, ReadOnlyRegistryIsReadable) {
  if (!CanRunAsNobody()) BERTH_MISSING_PEER("needs root and setpriv to run berth as nobody");
  TempDir dir;
  const std::string sub = dir.File("ro");
  std::filesystem::create_directory(sub);
  const std::string db = sub + "/registry.db";
  ASSERT_EQ(RunBerth({"assign", "web", "--db", db}).exit_code, 0);
  ASSERT_FALSE(std::filesystem::exists(db + "-shm"));
  ::chmod(dir.path().c_str(), 0755);
  ::chmod(sub.c_str(), 0755);
  ::chmod(db.c_str(), 0644);
  const std::string before = Slurp(db);
  auto list = RunBerthAsNobody({"list", "--json", "--db", db});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("\"web\""), std::string::npos) << list.out;
  auto show = RunBerthAsNobody({"show", "web", "--db", db});
  EXPECT_EQ(show.exit_code, 0) << show.err;
  auto exp = RunBerthAsNobody({"export", "--db", db});
  EXPECT_EQ(exp.exit_code, 0) << exp.err;
  auto check = RunBerthAsNobody({"store", "check", "--db", db});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  auto assign = RunBerthAsNobody({"assign", "other", "--db", db});
  EXPECT_EQ(assign.exit_code, 2);
  EXPECT_NE(assign.err.find("cannot write"), std::string::npos) << assign.err;
  EXPECT_TRUE(Slurp(db) == before);
  ::chmod(dir.path().c_str(), 0700);
}

// Another process holds the write lock: assign waits --wait seconds, then fails naming it.
TEST(RegistryTrust, HeldWriteLockFailsAfterWaitNamingTheHolder) {
  TempDir dir;
  const std::string db = dir.File("registry.db");
  ASSERT_EQ(RunBerth({"assign", "web", "--db", db}).exit_code, 0);
  Child holder = Child::Fork([db](int ready) {
    sqlite3* h = nullptr;
    if (sqlite3_open(db.c_str(), &h) != SQLITE_OK) _exit(1);
    if (sqlite3_exec(h, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) _exit(1);
    const char byte = 1;
    if (::write(ready, &byte, 1) != 1) _exit(1);
  });
  ASSERT_TRUE(holder.WaitReady());
  auto r = RunBerth({"assign", "other", "--wait", "1", "--db", db});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("locked"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(fmt::format("pid {}", holder.pid())), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--wait"), std::string::npos) << r.err;
  holder.Kill();
  EXPECT_EQ(RunBerth({"assign", "other", "--db", db}).exit_code, 0);
}

}  // namespace
}  // namespace berth::test
