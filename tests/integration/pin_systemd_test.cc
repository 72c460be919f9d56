// berth pin as a systemd unit's main process (ExecStart=berth pin NAME -- SERVER), under a
// real systemd: Debian's /lib/systemd/systemd runs as PID 1 of PID, mount and cgroup
// namespaces the test creates (tests/integration/peers/systemd_pid1.sh), inside a network
// namespace of the test's, with units from the test's folder only. Start, two restarts on the
// same port, a stop that systemd records as clean, and SIGKILL of berth: what systemd then
// removes and what stays (docs/pin.md). systemd is stopped by its pid (the namespace dies
// with it), and its cgroup and the network namespace are removed, also when a test fails.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/core.h>
#include <gtest/gtest.h>

#include "core/port.h"
#include "host/pin_cgroup.h"
#include "probe/probe_peer.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The pids listed in /proc/PID/task/PID/children.
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{0}/task/{0}/children", pid));
  std::vector<pid_t> out;
  for (pid_t p; in >> p;) out.push_back(p);
  return out;
}

// Removes a cgroup tree, deepest first; true when it is gone.
bool RemoveCgroupTree(const std::string& root) {
  std::error_code ec;
  if (!std::filesystem::exists(root, ec)) return true;
  std::vector<std::string> dirs;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) dirs.push_back(it->path().string());
  }
  for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) ::rmdir(d->c_str());
  return ::rmdir(root.c_str()) == 0 || errno == ENOENT;
}

class PinSystemdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    for (const char* p : {"/lib/systemd/systemd", "/usr/bin/python3"}) {
      if (::access(p, X_OK) != 0) BERTH_MISSING_PEER("needs " << p << ": run scripts/install-deps test");
    }
    if (::access("/etc/machine-id", R_OK) != 0) {
      BERTH_MISSING_PEER("needs /etc/machine-id (the systemd package makes it): run scripts/install-deps test");
    }
    for (const char* p : {"systemctl", "unshare", "nsenter", "ss"}) {
      if (!probe::test::HaveProgram(p)) BERTH_MISSING_PEER("needs " << p << ": run scripts/install-deps test");
    }
    auto ns = Netns::Create("pin-systemd");
    ASSERT_TRUE(ns.has_value());
    ns_.emplace(std::move(*ns));
    std::string tmpl = (std::filesystem::temp_directory_path() / "berth-pin-systemd-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    db_ = dir_ + "/registry.db";
    std::filesystem::create_directory(dir_ + "/units");
    std::ofstream(dir_ + "/units/berth-test.target")
        << "[Unit]\nDescription=berth test: nothing but what the test starts\nDefaultDependencies=no\n";
    std::mt19937_64 random(std::random_device{}());
    std::ofstream(dir_ + "/machine-id") << fmt::format("{:016x}{:016x}\n", random(), random());
    auto parent = OwnCgroupDir();
    ASSERT_TRUE(parent.has_value()) << parent.error().message;
    cgroup_ = fmt::format("{}/berth-test-systemd.{}", *parent, ::getpid());
    ASSERT_EQ(::mkdir(cgroup_.c_str(), 0755), 0) << cgroup_ << ": " << std::strerror(errno);
  }

  void TearDown() override {
    if (manager_) manager_->Kill();  // unshare --kill-child: systemd and its namespace go too
    if (!cgroup_.empty()) {
      EXPECT_TRUE(probe::test::WaitFor([&] { return RemoveCgroupTree(cgroup_); }, 30)) << cgroup_ << " stays";
    }
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  // Starts systemd and waits until it runs.
  void Boot() {
    manager_.emplace(Child::Exec({std::string(BERTH_SOURCE_DIR) + "/tests/integration/peers/systemd_pid1.sh",
                                  cgroup_, ns_->path(), dir_ + "/units", dir_ + "/systemd.log",
                                  dir_ + "/machine-id"}));
    ASSERT_TRUE(probe::test::WaitFor([&] {
      const std::vector<pid_t> children = ChildrenOf(manager_->pid());
      if (children.size() == 1) systemd_ = children[0];
      return systemd_ > 0 && Trim(Systemctl({"is-system-running"}).out) == "running";
    }, 60)) << "systemd did not come up: " << Log();
  }

  CommandResult Systemctl(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{"nsenter", "-t", std::to_string(systemd_), "-m", "-p", "systemctl"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::Run(argv);
  }
  std::string Show(const std::string& unit, const std::string& property) const {
    return Trim(Systemctl({"show", unit, "-p", property, "--value"}).out);
  }
  std::string Log() const {
    std::ifstream in(dir_ + "/systemd.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  void WriteUnit(const std::string& name, const std::string& exec) const {
    std::ofstream(dir_ + "/units/" + name)
        << "[Unit]\nDescription=berth pin under systemd\nDefaultDependencies=no\n\n"
        << "[Service]\nExecStart=" << exec << "\nDelegate=yes\n"
        << "StandardError=append:" << dir_ << "/pin.err\n";
  }

  Port Assign(const std::string& name) const {
    CommandResult r = RunBerth({"assign", name, "--db", db_});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return static_cast<Port>(std::atoi(r.out.c_str()));
  }
  bool Listening(Port port) const {
    CommandResult r = ns_->Exec({"ss", "-Htln", "sport = :" + std::to_string(port)});
    return r.exit_code == 0 && !r.out.empty();
  }
  PortSet Reserved() const {
    auto set = PortSet::Parse(ns_->Exec({"cat", "/proc/sys/net/ipv4/ip_local_reserved_ports"}).out);
    return set ? *set : PortSet{};
  }
  int HttpGet(Port port) const {
    CommandResult r = ns_->Exec({"python3", "-c",
                                 "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:" +
                                     std::to_string(port) + "/', timeout=10).status)"});
    return r.exit_code == 0 ? std::atoi(r.out.c_str()) : -1;
  }
  // The pin cgroups (berth-pin.*) inside the unit's cgroup.
  std::vector<std::string> PinCgroupsOf(const std::string& unit) const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(cgroup_ + "/system.slice/" + unit, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("berth-pin.", 0) == 0) out.push_back(name);
    }
    return out;
  }

  std::optional<Netns> ns_;
  std::optional<Child> manager_;
  pid_t systemd_ = 0;
  std::string dir_, db_, cgroup_;
};

TEST_F(PinSystemdTest, ExecStartPinsTheServerRestartsOnItsPortAndStopsCleanly) {
  const Port port = Assign("web");
  ASSERT_GT(port, 0);
  WriteUnit("pinned.service", fmt::format("{} pin web --db {} -- /usr/bin/python3 -m http.server 0 "
                                          "--bind 127.0.0.1", BerthBinary(), db_));
  Boot();
  ASSERT_EQ(Systemctl({"start", "pinned.service"}).exit_code, 0) << Log();
  std::string main_pid;
  for (int run = 0; run < 3; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    if (run > 0) {
      ASSERT_EQ(Systemctl({"restart", "pinned.service"}).exit_code, 0) << Log();
    }
    ASSERT_TRUE(probe::test::WaitFor([&] { return Listening(port) || Show("pinned.service", "ActiveState") == "failed"; }, 30));
    ASSERT_TRUE(Listening(port)) << "not on " << port << "; systemd: " << Log();
    EXPECT_EQ(HttpGet(port), 200);
    EXPECT_EQ(Show("pinned.service", "ActiveState"), "active");
    EXPECT_NE(Show("pinned.service", "MainPID"), main_pid) << "a new berth each run";
    main_pid = Show("pinned.service", "MainPID");
    // berth's cgroup is inside the unit's, which systemd delegated (Delegate=yes).
    EXPECT_EQ(PinCgroupsOf("pinned.service").size(), 1U);
    EXPECT_TRUE(Reserved().contains(port));
  }
  // systemctl stop: SIGTERM to berth, which passes it on and then ends by it: a clean stop.
  ASSERT_EQ(Systemctl({"stop", "pinned.service"}).exit_code, 0);
  EXPECT_EQ(Show("pinned.service", "ActiveState"), "inactive");
  EXPECT_EQ(Show("pinned.service", "Result"), "success") << "not a failed unit with status 143";
  EXPECT_FALSE(Listening(port));
  EXPECT_FALSE(Reserved().contains(port)) << "berth removed the reservation it added";
  std::ifstream err(dir_ + "/pin.err");
  std::stringstream said;
  said << err.rdbuf();
  EXPECT_NE(said.str().find(fmt::format("web on {}/tcp with the cgroup-bpf engine", port)), std::string::npos)
      << said.str();
}

TEST_F(PinSystemdTest, KillNineOfBerthUnderSystemdLeavesOnlyTheReservation) {
  const Port port = Assign("web");
  WriteUnit("pinned.service", fmt::format("{} pin web --db {} -- /usr/bin/python3 -m http.server 0 "
                                          "--bind 127.0.0.1", BerthBinary(), db_));
  Boot();
  ASSERT_EQ(Systemctl({"start", "pinned.service"}).exit_code, 0) << Log();
  ASSERT_TRUE(probe::test::WaitFor([&] { return Listening(port) || Show("pinned.service", "ActiveState") == "failed"; }, 30));
  ASSERT_TRUE(Listening(port)) << Log();
  ASSERT_EQ(Systemctl({"kill", "-s", "SIGKILL", "--kill-who=main", "pinned.service"}).exit_code, 0);
  ASSERT_TRUE(probe::test::WaitFor([&] { return Show("pinned.service", "ActiveState") == "failed"; }, 30));
  EXPECT_EQ(Show("pinned.service", "Result"), "signal");
  // systemd stops what was left in the unit's cgroup (the server in berth's cgroup with it)
  // and removes the tree; the reservation berth added stays (docs/pin.md says so and how to
  // undo it).
  EXPECT_TRUE(probe::test::WaitFor([&] { return !Listening(port); }, 30));
  EXPECT_FALSE(std::filesystem::exists(cgroup_ + "/system.slice/pinned.service"));
  EXPECT_TRUE(Reserved().contains(port));
}

}  // namespace
}  // namespace berth::test
