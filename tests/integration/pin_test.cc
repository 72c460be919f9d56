// berth pin with real programs, each pinned server in a network namespace the test creates
// (entered with nsenter --net, which, unlike ip netns exec, keeps /sys and its cgroup2 mount):
// python's http.server asking for port 0 lands on the registered port across three restarts;
// an unpinned process meanwhile, and the pinned process's outbound connections, keep getting
// ephemeral ports; UDP and IPv6; the seccomp engine as nobody; SIGTERM and the exit status
// pass through; SIGKILL of berth leaves a cgroup that the next berth pin removes. Every process
// is stopped by its pid and every cgroup is removed, also when a test fails.
#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "host/pin_cgroup.h"
#include "probe/probe_peer.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

constexpr const char* kPython = "/usr/bin/python3";

// What a pinned probe reports: the ports its sockets got.
constexpr const char* kProbeScript = R"(
import json, socket
out = {}
t4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t4.bind(("127.0.0.1", 0)); t4.listen(); out["tcp4"] = t4.getsockname()[1]
c = socket.create_connection(("127.0.0.1", out["tcp4"])); out["connect_src"] = c.getsockname()[1]
t6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
t6.bind(("::1", 0)); t6.listen(); out["tcp6"] = t6.getsockname()[1]
u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u4.bind(("127.0.0.1", 0)); out["udp4"] = u4.getsockname()[1]
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u6.bind(("::1", 0)); out["udp6"] = u6.getsockname()[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"x", ("127.0.0.1", 9)); out["sendto_src"] = s.getsockname()[1]
print(json.dumps(out))
)";

// An unpinned process asking for any port: prints what it got.
constexpr const char* kAnyPortScript =
    "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])";

bool WaitFor(const std::function<bool()>& condition, std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // between two looks
  }
  return condition();
}

// A process started with fork+exec, owned by its pid: SIGKILLed and reaped when dropped.
// With Stdout::kPipe its standard output is a pipe the test reads lines from (a peer's
// readiness line), else it is the test's.
enum class Stdout { kInherit, kPipe };
class Proc {
 public:
  explicit Proc(const std::vector<std::string>& argv, Stdout out = Stdout::kInherit) {
    int pipe[2] = {-1, -1};
    if (out == Stdout::kPipe && ::pipe2(pipe, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      if (pipe[1] >= 0) ::dup2(pipe[1], STDOUT_FILENO);  // dup2 clears close-on-exec
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    if (pipe[1] >= 0) ::close(pipe[1]);
    stdout_ = pipe[0];
  }
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;
  ~Proc() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      (void)Reap();
    }
    if (stdout_ >= 0) ::close(stdout_);
  }
  pid_t pid() const { return pid_; }
  // The next line of its piped standard output, without the newline; "" at its end (every
  // writer gone) or when nothing came within `limit` (a safety net: the line is the event).
  std::string ReadLine(std::chrono::seconds limit = std::chrono::seconds(60)) {
    std::string line;
    char c;
    for (;;) {
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(limit.count() * 1000)) != 1) return "";
      const ssize_t n = ::read(stdout_, &c, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n != 1) return "";
      if (c == '\n') return line;
      line += c;
    }
  }
  // Waits for the process; its exit status, or 128 + the signal that killed it.
  int Reap() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // Whether it is still running (not yet reaped).
  bool Running() const {
    siginfo_t info{};
    return pid_ > 0 && ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == 0;
  }

 private:
  pid_t pid_ = -1;
  int stdout_ = -1;
};

// The pin cgroups (berth-pin.*) under this process's cgroup, by name.
std::vector<std::string> PinCgroups() {
  std::vector<std::string> out;
  auto dir = OwnCgroupDir();
  if (!dir) return out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(*dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("berth-pin.", 0) == 0) out.push_back(name);
  }
  return out;
}

bool HasPinCgroupOf(pid_t berth) {
  for (const std::string& n : PinCgroups()) {
    auto parsed = ParsePinCgroupName(n);
    if (parsed && parsed->owner == berth) return true;
  }
  return false;
}

// The path of the pin cgroup of `berth`, or "".
std::string PinCgroupPathOf(pid_t berth) {
  for (const std::string& n : PinCgroups()) {
    auto parsed = ParsePinCgroupName(n);
    if (parsed && parsed->owner == berth) return *OwnCgroupDir() + "/" + n;
  }
  return "";
}

// The ids of the BPF programs attached to the cgroup `dir` itself on `hook` (BPF_PROG_QUERY);
// nullopt when the query fails.
std::optional<std::vector<std::uint32_t>> AttachedPrograms(const std::string& dir, bpf_attach_type hook) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::array<std::uint32_t, 64> ids{};
  bpf_attr attr{};
  attr.query.target_fd = static_cast<std::uint32_t>(fd);
  attr.query.attach_type = hook;
  attr.query.prog_ids = reinterpret_cast<std::uintptr_t>(ids.data());
  attr.query.prog_cnt = ids.size();
  const long r = ::syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof attr);
  ::close(fd);
  if (r != 0) return std::nullopt;
  return std::vector<std::uint32_t>(ids.begin(), ids.begin() + std::min<std::size_t>(attr.query.prog_cnt, ids.size()));
}

// The bind programs on the cgroup `dir`, both hooks; nullopt when a query fails.
std::optional<std::vector<std::uint32_t>> BindPrograms(const std::string& dir) {
  auto v4 = AttachedPrograms(dir, BPF_CGROUP_INET4_BIND);
  auto v6 = AttachedPrograms(dir, BPF_CGROUP_INET6_BIND);
  if (!v4 || !v6) return std::nullopt;
  v4->insert(v4->end(), v6->begin(), v6->end());
  return v4;
}

// Whether a BPF program with this id is still loaded anywhere (BPF_PROG_GET_FD_BY_ID).
bool ProgramLoaded(std::uint32_t id) {
  bpf_attr attr{};
  attr.prog_id = id;
  const long fd = ::syscall(SYS_bpf, BPF_PROG_GET_FD_BY_ID, &attr, sizeof attr);
  if (fd >= 0) ::close(static_cast<int>(fd));
  return fd >= 0 || errno != ENOENT;
}

// What `berth scan --json` (its result `scan`) says of the sockets on `port`: each is
// registered to `service` and in no dynamic or ephemeral class, and no finding calls the port
// dynamic, ephemeral or unregistered. Returns how many sockets are on the port.
int ExpectRegisteredNotDynamic(const CommandResult& scan, Port port, const std::string& service) {
  EXPECT_TRUE(scan.exit_code == 0 || scan.exit_code == 1) << "1: findings; " << scan.err;
  auto snap = nlohmann::json::parse(scan.out, nullptr, false);
  EXPECT_TRUE(snap.is_object()) << scan.out << scan.err;
  if (!snap.is_object()) return 0;
  int count = 0;
  for (const auto& s : snap.value("sockets", nlohmann::json::array())) {
    if (s.value("port", 0) != port) continue;
    ++count;
    const auto registry = s.value("registry", nlohmann::json::object());
    EXPECT_EQ(registry.value("status", ""), "registered") << s.dump();
    EXPECT_EQ(registry.value("service", ""), service) << s.dump();
    const auto cls = s.value("class", nlohmann::json::object());
    EXPECT_NE(cls.value("rfc6335", ""), "dynamic") << s.dump();
    EXPECT_EQ(cls.value("ephemeral", true), false) << s.dump();
  }
  static const std::set<std::string> kDynamic{"ephemeral-listener", "dynamic-range-listener",
                                              "unregistered-listener", "drifted-service",
                                              "registered-port-ephemeral"};
  for (const auto& f : snap.value("findings", nlohmann::json::array())) {
    if (!kDynamic.contains(f.value("id", ""))) continue;
    for (const auto& p : f.value("ports", nlohmann::json::array())) EXPECT_NE(p, port) << f.dump();
  }
  return count;
}

class PinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    if (::access(kPython, X_OK) != 0) BERTH_MISSING_PEER("needs /usr/bin/python3 (python3)");
    if (test::Run({"nsenter", "--version"}).exit_code != 0) BERTH_MISSING_PEER("needs nsenter (util-linux)");
    if (test::Run({"setpriv", "--version"}).exit_code != 0) BERTH_MISSING_PEER("needs setpriv (util-linux)");
    auto ns = Netns::Create("pin");
    ASSERT_TRUE(ns.has_value());
    ns_.emplace(std::move(*ns));
    std::string tmpl = (std::filesystem::temp_directory_path() / "berth-pin-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    db_ = dir_ + "/registry.db";
  }
  void TearDown() override {
    // A failed test may have left a berth killed mid-way: its cgroup goes with the sweep.
    for (const StalePin& s : SweepStalePinCgroups()) {
      ADD_FAILURE() << "a pin cgroup was left behind: " << s.path;
    }
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  // Registers `name` and returns its port.
  Port Assign(const std::string& name, const std::string& proto) {
    CommandResult r = RunBerth({"assign", name, "--proto", proto, "--db", db_});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return static_cast<Port>(std::atoi(r.out.c_str()));
  }

  std::vector<std::string> InNs(std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"nsenter", "--net=" + ns_->path()});
    return argv;
  }
  std::vector<std::string> Pin(const std::string& name, std::vector<std::string> extra,
                               const std::vector<std::string>& command) const {
    std::vector<std::string> argv{BerthBinary(), "pin", name, "--db", db_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("--");
    argv.insert(argv.end(), command.begin(), command.end());
    return InNs(argv);
  }
  bool Listening(Port port) const {
    CommandResult r = test::Run(InNs({"ss", "-Htln", "sport = :" + std::to_string(port)}));
    return r.exit_code == 0 && !r.out.empty();
  }
  PortSet Reserved() const {
    CommandResult r = test::Run(InNs({"cat", "/proc/sys/net/ipv4/ip_local_reserved_ports"}));
    auto set = PortSet::Parse(r.out);
    return set ? *set : PortSet{};
  }
  // berth scan --json in the namespace, against the test's registry.
  CommandResult Scan() const { return test::Run(InNs({BerthBinary(), "scan", "--json", "--db", db_})); }
  int HttpGet(Port port) const {
    CommandResult r = test::Run(InNs({kPython, "-c",
                                "import urllib.request,sys; print(urllib.request.urlopen("
                                "'http://127.0.0.1:" + std::to_string(port) + "/', timeout=10).status)"}));
    return r.exit_code == 0 ? std::atoi(r.out.c_str()) : -1;
  }

  std::optional<Netns> ns_;
  std::string dir_, db_;
};

TEST_F(PinTest, HttpServerLandsOnTheRegisteredPortAcrossThreeRestarts) {
  const Port port = Assign("web", "tcp");
  ASSERT_GT(port, 0);
  ASSERT_FALSE(Reserved().contains(port));
  for (int run = 0; run < 3; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    Proc berth(Pin("web", {"--engine", "cgroup-bpf"},
                   {kPython, "-m", "http.server", "0", "--bind", "127.0.0.1"}));
    ASSERT_TRUE(WaitFor([&] { return Listening(port) || !berth.Running(); }));
    ASSERT_TRUE(Listening(port)) << "http.server did not listen on " << port;
    EXPECT_EQ(HttpGet(port), 200);
    EXPECT_TRUE(Reserved().contains(port)) << "reserved while pinned";
    EXPECT_TRUE(HasPinCgroupOf(berth.pid()));
    EXPECT_EQ(ExpectRegisteredNotDynamic(Scan(), port, "web"), 1) << "one listener, on 127.0.0.1";
    // An unpinned process started meanwhile asks for any port and gets an ephemeral one.
    CommandResult other = test::Run(InNs({kPython, "-c", kAnyPortScript}));
    ASSERT_EQ(other.exit_code, 0) << other.err;
    EXPECT_NE(std::atoi(other.out.c_str()), port);
    // SIGTERM goes to the server; berth exits with its status.
    ASSERT_EQ(::kill(berth.pid(), SIGTERM), 0);
    const pid_t pid = berth.pid();
    EXPECT_EQ(berth.Reap(), 128 + SIGTERM);
    EXPECT_FALSE(HasPinCgroupOf(pid)) << "the cgroup is removed";
    EXPECT_FALSE(Reserved().contains(port)) << "the reservation berth added is removed";
    EXPECT_FALSE(Listening(port));
  }
}

// Runs the probe pinned to `name` with `prefix` before berth (setpriv) and returns its report.
nlohmann::json RunProbe(const CommandResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
  return j;
}

// A statically linked server (busybox's httpd, no libc to interpose on), under both engines.
TEST_F(PinTest, StaticBinaryLandsOnTheRegisteredPortUnderBothEngines) {
  if (::access("/bin/busybox", X_OK) != 0 ||
      test::Run({"sh", "-c", "file -L /bin/busybox | grep -q 'statically linked'"}).exit_code != 0) {
    BERTH_MISSING_PEER("needs a statically linked /bin/busybox (busybox-static)");
  }
  const Port port = Assign("web", "tcp");
  std::filesystem::create_directory(dir_ + "/www");
  std::ofstream(dir_ + "/www/index.html") << "pinned\n";
  for (const char* engine : {"cgroup-bpf", "seccomp"}) {
    for (int run = 0; run < 3; ++run) {
      SCOPED_TRACE(fmt::format("{}, run {}", engine, run));
      Proc berth(Pin("web", {"--engine", engine},
                     {"/bin/busybox", "httpd", "-f", "-p", "127.0.0.1:0", "-h", dir_ + "/www"}));
      ASSERT_TRUE(WaitFor([&] { return Listening(port) || !berth.Running(); }));
      ASSERT_TRUE(Listening(port)) << "busybox httpd did not listen on " << port;
      EXPECT_EQ(HttpGet(port), 200);
      EXPECT_EQ(ExpectRegisteredNotDynamic(Scan(), port, "web"), 1);
      ASSERT_EQ(::kill(berth.pid(), SIGTERM), 0);
      EXPECT_EQ(berth.Reap(), 128 + SIGTERM);
      EXPECT_FALSE(Listening(port));
    }
  }
}

// A bind made through io_uring (IORING_OP_BIND): the cgroup program sees it; seccomp does not
// (asserted, so that docs/pin.md stays true).
TEST_F(PinTest, IoUringBindIsPinnedByCgroupBpfAndMissedBySeccomp) {
  const Port port = Assign("web", "tcp");
  for (const char* family : {"4", "6"}) {
    SCOPED_TRACE(std::string("IPv") + family);
    CommandResult plain = test::Run(InNs({BERTH_URING_PEER, family}));
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    auto unpinned = nlohmann::json::parse(plain.out, nullptr, false);
    ASSERT_FALSE(unpinned.is_discarded()) << plain.out;
    if (unpinned["res"] != 0) {
      BERTH_MISSING_PEER("this kernel has no io_uring IORING_OP_BIND (Linux 6.11): res "
                         << unpinned["res"]);
    }
    nlohmann::json bpf = RunProbe(test::Run(Pin("web", {"--engine", "cgroup-bpf"}, {BERTH_URING_PEER, family})));
    EXPECT_EQ(bpf["res"], 0);
    EXPECT_EQ(bpf["port"], port);
    nlohmann::json sec = RunProbe(test::Run(Pin("web", {"--engine", "seccomp"}, {BERTH_URING_PEER, family})));
    EXPECT_EQ(sec["res"], 0);
    EXPECT_NE(sec["port"], port) << "seccomp does not see io_uring binds";
  }
  // A server listening on both families through io_uring binds, three restarts: each time on
  // the registered port, which berth scan shows registered, not dynamic.
  for (int run = 0; run < 3; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    Proc berth(Pin("web", {"--engine", "cgroup-bpf"}, {BERTH_URING_PEER, "listen"}), Stdout::kPipe);
    const std::string line = berth.ReadLine();  // written once both sockets listen
    auto got = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(got.is_object()) << "the peer did not say it listens: '" << line << "'";
    EXPECT_EQ(got["res4"], 0);
    EXPECT_EQ(got["res6"], 0);
    EXPECT_EQ(got["port4"], port);
    EXPECT_EQ(got["port6"], port);
    EXPECT_TRUE(Listening(port));
    EXPECT_EQ(ExpectRegisteredNotDynamic(Scan(), port, "web"), 2) << "IPv4 and IPv6";
    ASSERT_EQ(::kill(berth.pid(), SIGTERM), 0);
    EXPECT_EQ(berth.Reap(), 128 + SIGTERM);
    EXPECT_FALSE(Listening(port));
  }
}

// rpc.statd started without -p, under rpcbind in a private network and mount namespace (the
// mount namespace of `ip netns exec` hides the cgroup2 mount, so auto takes the seccomp
// engine): across three restarts it registers the pinned port with rpcbind, `berth probe`
// finds it static and `berth scan` matches it to its registration.
TEST_F(PinTest, RpcStatdWithoutPortOptionRegistersThePinnedPort) {
  for (const char* p : {"rpcbind", "rpcinfo", "rpc.statd"}) {
    if (!probe::test::HaveProgram(p)) BERTH_MISSING_PEER(p << " missing: run scripts/install-deps test");
  }
  const Port port = Assign("nfs.statd", "both");
  auto ns = probe::test::PrivateNs::Create("pin-statd");
  ASSERT_TRUE(ns.has_value());
  // The ports rpcbind has for statd (program 100024), one per netid.
  auto statd_ports = [&] {
    std::vector<int> out;
    CommandResult r = ns->Exec({"rpcinfo", "-p", "127.0.0.1"});
    std::istringstream in(r.out);
    std::string prog, vers, proto, p;
    while (in >> prog >> vers >> proto >> p) {
      if (prog == "100024") out.push_back(std::atoi(p.c_str()));
      std::getline(in, p);
    }
    return out;
  };
  Child rpcbind = ns->Start({"rpcbind", "-w", "-f"});
  ASSERT_TRUE(WaitFor([&] { return ns->Exec({"rpcinfo", "-p", "127.0.0.1"}).exit_code == 0; }))
      << "rpcbind did not come up";
  for (int run = 0; run < 3; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    Proc berth(ns->In({BerthBinary(), "pin", "nfs.statd", "--db", db_, "--", "rpc.statd", "-F", "-L"}));
    ASSERT_TRUE(WaitFor([&] { return statd_ports().size() >= 2 || !berth.Running(); }));
    const std::vector<int> ports = statd_ports();
    ASSERT_GE(ports.size(), 2U) << "statd did not register";
    for (int p : ports) EXPECT_EQ(p, port);
    CommandResult probe = ns->Exec({BerthBinary(), "probe", "--rpc", "--json", "--timeout", "2",
                                    "--db", db_, "127.0.0.1"});
    auto doc = nlohmann::json::parse(probe.out, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << probe.out << probe.err;
    int seen = 0;
    for (const auto& s : doc["hosts"][0]["services"]) {
      if (s["program"] != 100024) continue;
      ++seen;
      EXPECT_EQ(s["port"], port) << s.dump();
      EXPECT_EQ(s["dynamic"], false) << s.dump();
    }
    EXPECT_GE(seen, 2);
    EXPECT_EQ(ExpectRegisteredNotDynamic(ns->Exec({BerthBinary(), "scan", "--json", "--db", db_}), port,
                                         "nfs.statd"),
              4) << "tcp, udp, tcp6, udp6";
    ASSERT_EQ(::kill(berth.pid(), SIGTERM), 0);
    EXPECT_EQ(berth.Reap(), 0) << "statd exits 0 on SIGTERM";
    ASSERT_TRUE(WaitFor([&] { return statd_ports().empty(); })) << "statd did not unregister";
  }
  EXPECT_TRUE(probe::test::StopGently(rpcbind));
}

// The last resort: an LD_PRELOAD shim pins a dynamically linked program, and misses a
// statically linked one (asserted, so that docs/pin.md stays true).
TEST_F(PinTest, PreloadEnginePinsADynamicProgramAndMissesAStaticOne) {
  const Port port = Assign("web", "tcp");
  nlohmann::json got = RunProbe(test::Run(Pin("web", {"--engine", "preload"}, {kPython, "-c", kProbeScript})));
  EXPECT_EQ(got["tcp4"], port);
  EXPECT_EQ(got["tcp6"], port);
  EXPECT_NE(got["connect_src"], port);
  EXPECT_NE(got["udp4"], port) << "a tcp service's pin leaves UDP alone";
  if (test::Run({"sh", "-c", "file -L /bin/busybox | grep -q 'statically linked'"}).exit_code != 0) {
    BERTH_MISSING_PEER("needs a statically linked /bin/busybox (busybox-static)");
  }
  Proc berth(Pin("web", {"--engine", "preload"},
                 {"/bin/busybox", "httpd", "-f", "-p", "127.0.0.1:0", "-h", dir_}));
  auto busybox_listens = [&] {
    CommandResult r = test::Run(InNs({"ss", "-Htlnp"}));
    return r.out.find("busybox") != std::string::npos;
  };
  ASSERT_TRUE(WaitFor([&] { return busybox_listens() || !berth.Running(); }));
  ASSERT_TRUE(busybox_listens());
  EXPECT_FALSE(Listening(port)) << "the shim cannot reach a static binary's bind";
  ASSERT_EQ(::kill(berth.pid(), SIGTERM), 0);
  EXPECT_EQ(berth.Reap(), 128 + SIGTERM);
}

TEST_F(PinTest, CgroupBpfMovesOnlyListeningBindsOfTheServiceProtocol) {
  const Port port = Assign("api", "tcp");
  nlohmann::json got = RunProbe(test::Run(Pin("api", {"--engine", "cgroup-bpf"}, {kPython, "-c", kProbeScript})));
  EXPECT_EQ(got["tcp4"], port);
  EXPECT_EQ(got["tcp6"], port);
  EXPECT_NE(got["connect_src"], port) << "an outbound connection's implicit bind is untouched";
  EXPECT_NE(got["udp4"], port) << "a tcp service's pin leaves UDP alone";
  EXPECT_NE(got["udp6"], port);
  EXPECT_NE(got["sendto_src"], port);
}

// --from moves a server's own "dynamic" choice too; --assign registers the name first.
TEST_F(PinTest, FromMovesListedPortsAndAssignRegistersFirst) {
  const std::string script =
      "import socket; s = socket.socket(); s.bind(('127.0.0.1', 5003)); print(s.getsockname()[1]);"
      "t = socket.socket(); t.bind(('127.0.0.1', 5011)); print(t.getsockname()[1])";
  CommandResult r = test::Run(Pin("late", {"--assign", "--proto", "tcp", "--from", "5000-5010"},
                                  {kPython, "-c", script}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CommandResult show = RunBerth({"show", "late", "--db", db_, "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto doc = nlohmann::json::parse(show.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << show.out;
  ASSERT_TRUE(doc["port"].is_number()) << show.out;
  const int port = doc["port"].get<int>();
  EXPECT_EQ(r.out, fmt::format("{}\n5011\n", port)) << "5003 is in --from, 5011 is not";
  for (const char* engine : {"cgroup-bpf", "seccomp"}) {
    r = test::Run(Pin("late", {"--engine", engine, "--from", "5000-5010"}, {kPython, "-c", script}));
    EXPECT_EQ(r.out, fmt::format("{}\n5011\n", port)) << engine << ": " << r.err;
  }
}

TEST_F(PinTest, CgroupBpfPinsUdpAndIpv6ForABothService) {
  const Port port = Assign("dns", "both");
  nlohmann::json got = RunProbe(test::Run(Pin("dns", {"--engine", "cgroup-bpf"}, {kPython, "-c", kProbeScript})));
  EXPECT_EQ(got["tcp4"], port);
  EXPECT_EQ(got["tcp6"], port);
  EXPECT_EQ(got["udp4"], port);
  EXPECT_EQ(got["udp6"], port);
  EXPECT_NE(got["connect_src"], port);
  EXPECT_NE(got["sendto_src"], port);
}

TEST_F(PinTest, SeccompEngineWorksAsNobody) {
  const Port port = Assign("dns", "both");
  ASSERT_EQ(::chown(dir_.c_str(), 65534, 65534), 0);
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    ASSERT_EQ(::chown(e.path().c_str(), 65534, 65534), 0);
  }
  std::vector<std::string> argv{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                BerthBinary(), "pin", "dns", "--db", db_, "--engine", "seccomp",
                                "--", kPython, "-c", kProbeScript};
  CommandResult r = test::Run(InNs(argv));
  nlohmann::json got = RunProbe(r);
  EXPECT_EQ(got["tcp4"], port);
  EXPECT_EQ(got["tcp6"], port);
  EXPECT_EQ(got["udp4"], port);
  EXPECT_EQ(got["udp6"], port);
  EXPECT_NE(got["connect_src"], port);
  EXPECT_NE(got["sendto_src"], port);
  EXPECT_NE(r.err.find("not reserved"), std::string::npos) << "says the port is not reserved: " << r.err;
  // The default engine, auto, falls back to seccomp without the capabilities, and says so:
  // the plan with its reason, the start line.
  ASSERT_EQ(argv[10], "seccomp");
  argv[10] = "auto";
  CommandResult automatic = test::Run(InNs(argv));
  got = RunProbe(automatic);
  EXPECT_EQ(got["tcp4"], port);
  EXPECT_EQ(got["udp6"], port);
  EXPECT_NE(automatic.err.find(fmt::format("berth: pin: dns on {}/both with the seccomp engine, pid ", port)),
            std::string::npos) << automatic.err;
  CommandResult plan = test::Run(InNs({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                       BerthBinary(), "pin", "dns", "--db", db_}));
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("with the seccomp engine (without CAP_BPF and CAP_NET_ADMIN)"), std::string::npos)
      << plan.out;
  CommandResult json = test::Run(InNs({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                       BerthBinary(), "pin", "dns", "--db", db_, "--json"}));
  auto doc = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << json.out << json.err;
  EXPECT_EQ(doc["engine"], "seccomp");
  EXPECT_EQ(doc["engine_why"], "without CAP_BPF and CAP_NET_ADMIN");
  // The cgroup BPF engine, asked for without the capabilities, is refused clearly.
  argv[10] = "cgroup-bpf";
  CommandResult refused = test::Run(InNs(argv));
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("CAP_BPF"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.out, "") << "the command did not run";
}

// A bind from a thread other than the process's main one: the seccomp notification names the
// thread, not the process, and berth fetches the thread's socket all the same (PIDFD_THREAD on
// Linux 6.9+; before, through its thread group, which tests/host/seccomp_bind_test.cc takes on
// this kernel), also from a thread with an fd table of its own. A bind whose socket cannot be
// fetched fails with EPERM, and berth says why, rather than listening unpinned.
TEST_F(PinTest, SeccompEnginePinsABindFromASecondThread) {
  if (::access(BERTH_THREAD_BIND_PEER, X_OK) != 0) BERTH_MISSING_PEER("needs " << BERTH_THREAD_BIND_PEER);
  const Port port = Assign("web", "tcp");
  for (const char* mode : {"shared", "own-table"}) {
    SCOPED_TRACE(mode);
    CommandResult r = test::Run(Pin("web", {"--engine", "seccomp"}, {BERTH_THREAD_BIND_PEER, mode}));
    nlohmann::json got = RunProbe(r);
    EXPECT_NE(got["tid"], got["pid"]) << "bound from a second thread";
    EXPECT_EQ(got["res"], 0);
    EXPECT_EQ(got["port"], port);
    EXPECT_EQ(r.err.find("could not be pinned"), std::string::npos) << r.err;
  }
  nlohmann::json plain = RunProbe(test::Run(InNs({BERTH_THREAD_BIND_PEER, "bad-fd"})));
  EXPECT_EQ(plain["res"], -EBADF) << "unpinned, a bind of an fd that is not open";
  CommandResult r = test::Run(Pin("web", {"--engine", "seccomp"}, {BERTH_THREAD_BIND_PEER, "bad-fd"}));
  nlohmann::json refused = RunProbe(r);
  EXPECT_EQ(refused["res"], -EPERM) << "berth cannot fetch that socket, so the bind fails";
  EXPECT_NE(r.err.find(fmt::format("pid {}: its bind of any port could not be pinned, so it failed with "
                                   "EPERM rather than listen on a port of its own: berth could not fetch "
                                   "its socket: pidfd_getfd of fd 1000 of {}",
                                   refused["tid"].get<int>(), refused["tid"].get<int>())),
            std::string::npos) << r.err;
}

TEST_F(PinTest, ExitStatusPassesThroughAndATakenPortStopsTheStart) {
  const Port port = Assign("web", "tcp");
  CommandResult r = test::Run(Pin("web", {}, {"sh", "-c", "exit 7"}));
  EXPECT_EQ(r.exit_code, 7) << r.err;
  // A second listener asking for any port gets EADDRINUSE, and berth says why: the seccomp
  // engine from the bind it made, the cgroup engine from its program's ring buffer.
  for (const char* engine : {"seccomp", "cgroup-bpf"}) {
    r = test::Run(Pin("web", {"--engine", engine},
                      {kPython, "-c",
                       "import socket,sys; a=socket.socket(); a.bind(('127.0.0.1',0)); a.listen()\n"
                       "b=socket.socket()\ntry: b.bind(('127.0.0.1',0))\n"
                       "except OSError as e: sys.exit(e.errno)"}));
    EXPECT_EQ(r.exit_code, EADDRINUSE) << engine << ": " << r.err;
    EXPECT_NE(r.err.find("A second listener of tcp asking for any port cannot have the one static port "
                         "too: name a service for each with --ports"), std::string::npos) << engine << ": " << r.err;
  }
  EXPECT_NE(r.err.find(fmt::format("tcp bind #2 to any port (IPv4) was given port {} as well", port)),
            std::string::npos) << r.err;
  // Something else holds the port: a clear error, and the command never starts.
  Proc holder(InNs({kPython, "-c",
                    "import socket,time; s=socket.socket(); s.bind(('127.0.0.1'," +
                        std::to_string(port) + ")); s.listen(); time.sleep(600)"}));
  ASSERT_TRUE(WaitFor([&] { return Listening(port) || !holder.Running(); }));
  const std::string marker = dir_ + "/started";
  r = test::Run(Pin("web", {}, {"touch", marker}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(marker));
  // Without a command, the plan: exit 1 and "free": false.
  r = test::Run(InNs({BerthBinary(), "pin", "web", "--db", db_, "--json"}));
  EXPECT_EQ(r.exit_code, 1);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["schema"], "berth.pin/1");
  EXPECT_EQ(j["port"], port);
  EXPECT_EQ(j["free"], false);
}

// The process state letter of `pid` (/proc/PID/stat), or '?' when it cannot be read.
char ProcState(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() ? stat[close + 2] : '?';
}

// A server with several listeners asking for any port: --ports gives each its own registered
// service, in the order they bind, counted per protocol and address family (a listener's IPv4
// and IPv6 sockets share its port); a listener past the last gets the last port, taken, and
// EADDRINUSE. Both engines; every port reserved while pinned and released after.
constexpr const char* kListenersScript = R"(
import json, socket
out, keep = {}, []
def listen(family, addr, kind=socket.SOCK_STREAM):
    s = socket.socket(family, kind)
    s.bind((addr, 0))
    if kind == socket.SOCK_STREAM: s.listen()
    keep.append(s)
    return s.getsockname()[1]
out["first4"] = listen(socket.AF_INET, "127.0.0.1")
out["first6"] = listen(socket.AF_INET6, "::1")
out["second4"] = listen(socket.AF_INET, "127.0.0.1")
out["second6"] = listen(socket.AF_INET6, "::1")
out["udp4"] = listen(socket.AF_INET, "127.0.0.1", socket.SOCK_DGRAM)
c = socket.create_connection(("127.0.0.1", out["first4"])); out["connect_src"] = c.getsockname()[1]
try:
    out["third4"] = listen(socket.AF_INET, "127.0.0.1")
except OSError as e:
    out["third4"] = -e.errno
out["reserved"] = open("/proc/sys/net/ipv4/ip_local_reserved_ports").read().strip()
print(json.dumps(out))
)";

TEST_F(PinTest, PortsGivesEachListenerItsServiceInBindOrder) {
  const Port web = Assign("web", "tcp");
  const Port admin = Assign("admin", "tcp");
  const Port dns = Assign("dns", "udp");
  for (const char* engine : {"cgroup-bpf", "seccomp"}) {
    SCOPED_TRACE(engine);
    CommandResult r = test::Run(Pin("web", {"--engine", engine, "--ports", "admin,dns"},
                                    {kPython, "-c", kListenersScript}));
    nlohmann::json got = RunProbe(r);
    EXPECT_EQ(got["first4"], web);
    EXPECT_EQ(got["first6"], web) << "the first listener's IPv6 socket";
    EXPECT_EQ(got["second4"], admin);
    EXPECT_EQ(got["second6"], admin);
    EXPECT_EQ(got["udp4"], dns);
    EXPECT_EQ(got["third4"], -EADDRINUSE) << "a third TCP listener has no port of its own";
    EXPECT_NE(got["connect_src"], web);
    EXPECT_NE(got["connect_src"], admin);
    auto reserved = PortSet::Parse(got["reserved"].get<std::string>());
    ASSERT_TRUE(reserved.has_value()) << got.dump();
    EXPECT_TRUE(reserved->contains(web) && reserved->contains(admin) && reserved->contains(dns)) << got.dump();
    EXPECT_NE(r.err.find(fmt::format("web on {}/tcp, admin on {}/tcp, dns on {}/udp", web, admin, dns)),
              std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Listeners of tcp past the 2 pinned ports (--ports) get the last one"), std::string::npos)
        << "the third listener is told of: " << r.err;
    const PortSet after = Reserved();
    EXPECT_FALSE(after.contains(web) || after.contains(admin) || after.contains(dns)) << after.Format();
  }
  // The plan names each service in bind order.
  CommandResult plan = RunBerth({"pin", "web", "--ports", "admin", "--ports", "dns", "--db", db_, "--json"});
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  auto j = nlohmann::json::parse(plan.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << plan.out;
  ASSERT_TRUE(j["services"].is_array()) << plan.out;
  ASSERT_EQ(j["services"].size(), 3U) << plan.out;
  EXPECT_EQ(j["services"][0]["service"], "web");
  EXPECT_EQ(j["services"][1]["port"], admin);
  EXPECT_EQ(j["services"][2]["proto"], "udp");
  plan = RunBerth({"pin", "web", "--ports", "admin,dns", "--db", db_});
  EXPECT_NE(plan.out.find("tcp listeners, in the order they bind: web, then admin; any further one: admin's"),
            std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("udp listeners, in the order they bind: dns;"), std::string::npos) << plan.out;
  // What cannot be pinned is refused before anything runs.
  const std::string marker = dir_ + "/started";
  for (const auto& [extra, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--ports", "admin", "--engine", "preload"}, "preload engine pins one service"},
           {{"--ports", "admin,web"}, "'web' is named twice"},
           {{"--ports", "nope"}, "berth assign nope"}}) {
    CommandResult refused = test::Run(Pin("web", extra, {"touch", marker}));
    EXPECT_EQ(refused.exit_code, 2) << refused.err;
    EXPECT_NE(refused.err.find(says), std::string::npos) << refused.err;
    EXPECT_FALSE(std::filesystem::exists(marker));
  }
  // --assign registers every name not yet registered.
  CommandResult assigned = test::Run(Pin("api", {"--assign", "--ports", "api-admin"}, {"true"}));
  EXPECT_EQ(assigned.exit_code, 0) << assigned.err;
  EXPECT_EQ(RunBerth({"show", "api-admin", "--db", db_}).exit_code, 0);
}

// Killed with several ports reserved: the cgroup's name records them all, and the next pin
// removes every one.
TEST_F(PinTest, KillNineWithSeveralPortsReservedLeavesThemAllToTheNextPin) {
  const Port web = Assign("web", "tcp");
  const Port admin = Assign("admin", "tcp");
  pid_t killed = 0;
  {
    std::vector<std::string> argv = Pin("web", {"--engine", "cgroup-bpf", "--ports", "admin"}, {"true"});
    argv.insert(argv.begin(), {"env", "BERTH_PIN_STOP_AT=reserved"});
    Proc berth(argv);
    ASSERT_TRUE(WaitFor([&] { return ProcState(berth.pid()) == 'T' || !berth.Running(); }));
    ASSERT_EQ(ProcState(berth.pid()), 'T') << "berth did not stop after reserving";
    killed = berth.pid();
    ASSERT_EQ(::kill(killed, SIGKILL), 0);
    EXPECT_EQ(berth.Reap(), 128 + SIGKILL);
  }
  EXPECT_TRUE(HasPinCgroupOf(killed));
  EXPECT_TRUE(Reserved().contains(web) && Reserved().contains(admin)) << Reserved().Format();
  CommandResult r = test::Run(Pin("web", {}, {"true"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("which was killed"), std::string::npos) << r.err;
  EXPECT_FALSE(HasPinCgroupOf(killed));
  EXPECT_FALSE(Reserved().contains(web) || Reserved().contains(admin)) << Reserved().Format();
}

TEST_F(PinTest, KillNineOfBerthLeavesACgroupTheNextPinRemoves) {
  const Port port = Assign("web", "tcp");
  pid_t killed = 0;
  std::string cgroup;
  std::vector<std::uint32_t> programs;
  {
    Proc berth(Pin("web", {"--engine", "cgroup-bpf"},
                   {kPython, "-m", "http.server", "0", "--bind", "127.0.0.1"}));
    ASSERT_TRUE(WaitFor([&] { return Listening(port) || !berth.Running(); }));
    ASSERT_TRUE(Listening(port));
    killed = berth.pid();
    // While pinned, the cgroup has its two bind programs (bind4, bind6).
    cgroup = PinCgroupPathOf(killed);
    ASSERT_NE(cgroup, "");
    auto attached = BindPrograms(cgroup);
    ASSERT_TRUE(attached.has_value()) << "BPF_PROG_QUERY of " << cgroup;
    programs = *attached;
    ASSERT_EQ(programs.size(), 2U);
    for (std::uint32_t id : programs) EXPECT_TRUE(ProgramLoaded(id)) << id;
    ASSERT_EQ(::kill(killed, SIGKILL), 0);
    EXPECT_EQ(berth.Reap(), 128 + SIGKILL);
  }
  // The server dies with berth (PR_SET_PDEATHSIG); the BPF link died with berth's fds (the
  // kernel detaches and frees the programs in a work item after the last close, hence the
  // wait); the cgroup directory and the reservation remain, named in the directory.
  EXPECT_TRUE(WaitFor([&] { return !Listening(port); }));
  EXPECT_TRUE(HasPinCgroupOf(killed));
  EXPECT_TRUE(Reserved().contains(port));
  EXPECT_TRUE(WaitFor([&] {
    auto left = BindPrograms(cgroup);
    return left && left->empty();
  })) << "a bind program is still attached to the cgroup of the killed berth";
  for (std::uint32_t id : programs) {
    EXPECT_TRUE(WaitFor([&] { return !ProgramLoaded(id); })) << "BPF program " << id << " is still loaded";
  }
  // A process started in that cgroup now asks for any port and gets an ephemeral one: nothing
  // moves its bind (the registered port is free, so a program left attached would give it).
  CommandResult unmoved = test::Run(
      {"sh", "-c", "echo $$ > \"$1\"/cgroup.procs && shift && exec \"$@\"", "sh", cgroup, "nsenter", "--net=" + ns_->path(),
       kPython, "-c", kAnyPortScript});
  ASSERT_EQ(unmoved.exit_code, 0) << unmoved.err;
  EXPECT_NE(std::atoi(unmoved.out.c_str()), port) << "a bind in the leftover cgroup was moved";
  // The next berth pin sweeps both away, says so, and runs with the port reserved again.
  CommandResult r = test::Run(Pin("web", {}, {"cat", "/proc/sys/net/ipv4/ip_local_reserved_ports"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto during = PortSet::Parse(r.out);
  EXPECT_TRUE(during && during->contains(port)) << "reserved while pinned: " << r.out;
  EXPECT_NE(r.err.find("which was killed"), std::string::npos) << r.err;
  EXPECT_FALSE(HasPinCgroupOf(killed));
  EXPECT_FALSE(Reserved().contains(port));
  // A server that forked: its child is not the command berth started, so it outlives berth,
  // still listening, in the cgroup. The next berth pin kills it (cgroup.kill) before it
  // checks the port.
  {
    Proc berth(Pin("web", {"--engine", "cgroup-bpf"},
                   {"sh", "-c", std::string(kPython) + " -m http.server 0 --bind 127.0.0.1 & wait"}));
    ASSERT_TRUE(WaitFor([&] { return Listening(port) || !berth.Running(); }));
    ASSERT_TRUE(Listening(port));
    killed = berth.pid();
    ASSERT_EQ(::kill(killed, SIGKILL), 0);
    EXPECT_EQ(berth.Reap(), 128 + SIGKILL);
  }
  EXPECT_TRUE(Listening(port)) << "the forked server survives its berth";
  EXPECT_TRUE(HasPinCgroupOf(killed));
  r = test::Run(Pin("web", {}, {"true"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(HasPinCgroupOf(killed));
  EXPECT_FALSE(Listening(port)) << "the survivor was killed with its cgroup";
  EXPECT_FALSE(Reserved().contains(port));
  // The seccomp engine has no cgroup: the server dies with berth, the listener closes, and
  // the reservation berth added as root stays (documented).
  {
    Proc berth(Pin("web", {"--engine", "seccomp"},
                   {kPython, "-m", "http.server", "0", "--bind", "127.0.0.1"}));
    ASSERT_TRUE(WaitFor([&] { return Listening(port) || !berth.Running(); }));
    ASSERT_TRUE(Listening(port));
    killed = berth.pid();
    ASSERT_EQ(::kill(killed, SIGKILL), 0);
    EXPECT_EQ(berth.Reap(), 128 + SIGKILL);
  }
  EXPECT_TRUE(WaitFor([&] { return !Listening(port); }));
  EXPECT_FALSE(HasPinCgroupOf(killed));
  EXPECT_TRUE(Reserved().contains(port)) << "docs/pin.md says the seccomp engine leaves it";
}

// Kill -9 of berth between the steps of its setup, each stage in turn (BERTH_PIN_STOP_AT
// stops berth there; the test then SIGKILLs it): what remains is the cgroup, named after the
// reservation if one was to be made, and the reservation once made; the next pin removes both.
TEST_F(PinTest, KillNineAtEachSetupStepLeavesWhatTheNextPinRemoves) {
  const Port port = Assign("web", "tcp");
  for (const std::string stage : {"cgroup", "reserved", "attached"}) {
    SCOPED_TRACE("killed at " + stage);
    pid_t killed = 0;
    std::string cgroup;
    {
      std::vector<std::string> argv = Pin("web", {"--engine", "cgroup-bpf"},
                                          {kPython, "-m", "http.server", "0", "--bind", "127.0.0.1"});
      argv.insert(argv.begin(), {"env", "BERTH_PIN_STOP_AT=" + stage});  // env and nsenter exec
      Proc berth(argv);
      ASSERT_TRUE(WaitFor([&] { return ProcState(berth.pid()) == 'T' || !berth.Running(); }));
      ASSERT_EQ(ProcState(berth.pid()), 'T') << "berth did not stop at " << stage;
      killed = berth.pid();
      cgroup = PinCgroupPathOf(killed);
      auto attached = BindPrograms(cgroup);
      ASSERT_TRUE(attached.has_value()) << "BPF_PROG_QUERY of '" << cgroup << "'";
      EXPECT_EQ(attached->size(), stage == "attached" ? 2U : 0U);
      ASSERT_EQ(::kill(killed, SIGKILL), 0);
      EXPECT_EQ(berth.Reap(), 128 + SIGKILL);
    }
    EXPECT_FALSE(Listening(port)) << "the command never started";
    EXPECT_TRUE(HasPinCgroupOf(killed));
    EXPECT_TRUE(WaitFor([&] {
      auto left = BindPrograms(cgroup);
      return left && left->empty();
    })) << "a bind program outlived its berth";
    EXPECT_EQ(Reserved().contains(port), stage != "cgroup");
    CommandResult r = test::Run(Pin("web", {}, {"true"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("which was killed"), std::string::npos) << r.err;
    EXPECT_FALSE(HasPinCgroupOf(killed));
    EXPECT_FALSE(Reserved().contains(port));
  }
}

TEST_F(PinTest, PrintUnitGivesTheSocketActivationAlternative) {
  const Port port = Assign("web", "tcp");
  CommandResult r = RunBerth({"pin", "web", "--db", db_, "--print-unit"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ListenStream=" + std::to_string(port) + "\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("ListenDatagram"), std::string::npos);
  // A daemon with a port option berth knows: the option instead.
  const Port statd = Assign("nfs.statd", "both");
  r = RunBerth({"pin", "nfs.statd", "--db", db_, "--print-unit"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("[statd]\nport=" + std::to_string(statd) + "\n"), std::string::npos) << r.out;
  r = RunBerth({"pin", "nfs.statd", "--db", db_, "--json"});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_NE(j["port_option"].get<std::string>().find("[statd]"), std::string::npos) << r.out;
  // Pinning such a daemon works, and berth notes the clean alternative on stderr; a service
  // without a port option berth knows gets no note.
  const std::string kNote = "berth: pin: note: nfs.statd has a port option, which needs no pin: see "
                            "'berth pin --print-unit nfs.statd'\n";
  r = test::Run(Pin("nfs.statd", {}, {"true"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(kNote), std::string::npos) << r.err;
  r = test::Run(Pin("web", {}, {"true"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("note:"), std::string::npos) << r.err;
  r = RunBerth({"pin", "nope", "--db", db_, "--", "true"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("berth assign nope"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace berth::test
