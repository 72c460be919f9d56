// berth adopt and the fixes that point at it, with real listeners in a network namespace the
// test creates: every registering command `berth scan` and `berth check` print for a live
// listener is run exactly as printed (the registry comes from BERTH_DB, so nothing is added)
// and must succeed; adopt refuses a listener that is not the expected one (naming it), a
// port nothing listens on, and warns about a port inside the ephemeral range.
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/scan_fixture.h"
#include "registry/registry_test_util.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

// `berth ARGS...` inside the namespace with BERTH_DB set, as a user who exported it would run it.
CommandResult BerthIn(const Netns& ns, const std::string& db, std::vector<std::string> args) {
  std::vector<std::string> argv{"env", "BERTH_DB=" + db, BerthBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return ns.Exec(argv);
}

// The berth commands a fix text carries ("berth adopt x --port 1 --proto tcp   (or allow it:
// berth check --allow 1)" -> both), each cut where the prose around it starts.
std::vector<std::string> CommandsIn(const std::string& fix) {
  std::vector<std::string> out;
  for (std::size_t at = fix.find("berth "); at != std::string::npos; at = fix.find("berth ", at + 1)) {
    std::size_t end = fix.size();
    for (const char* stop : {"\n", ";", ")", "(", "  ", " prints", " then"}) {
      end = std::min(end, fix.find(stop, at));
    }
    std::string cmd = fix.substr(at, end - at);
    while (!cmd.empty() && cmd.back() == ' ') cmd.pop_back();
    out.push_back(cmd);
  }
  return out;
}

std::vector<std::string> Words(const std::string& command) {
  std::istringstream in(command);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Registering commands (adopt, assign, group add) in the fixes of findings about `port`.
std::set<std::string> RegisteringFixes(const nlohmann::json& doc, int port) {
  std::set<std::string> out;
  for (const auto& f : doc["findings"]) {
    // "ports" is an array of port numbers: [22, 20100, 20101].
    bool about = false;
    for (const auto& p : f["ports"]) about = about || (p.is_number() && p.get<int>() == port);
    if (!about) continue;
    for (const std::string& c : CommandsIn(f["fix"].get<std::string>())) {
      if (c.starts_with("berth adopt ") || c.starts_with("berth assign ") ||
          c.starts_with("berth group add ")) {
        out.insert(c);
      }
    }
  }
  return out;
}

// name -> "port/proto" from `berth list --json`.
std::map<std::string, std::string> Listed(const Netns& ns, const std::string& db) {
  auto r = BerthIn(ns, db, {"list", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::string> out;
  const auto doc = nlohmann::json::parse(r.out, nullptr, false);
  if (doc.is_discarded()) return out;
  for (const auto& s : doc["services"]) {
    out[s["name"].get<std::string>()] =
        std::to_string(s["port"].get<int>()) + "/" + s["proto"].get<std::string>();
  }
  return out;
}

Child Serve(const Netns& ns, const std::string& comm, int type, std::uint16_t port) {
  Child c = ServeInChild(comm, &ns, {{type, AF_INET, "127.0.0.1", port}});
  EXPECT_TRUE(c.WaitReady()) << comm << " on " << port << " did not start";
  return c;
}

TEST(RegistryAdopt, EveryPrintedFixWorksAsPrinted) {
  BERTH_REQUIRE_ROOT();
  TempDir dir;
  const std::string db = dir.File("r.db");
  auto ns = Netns::Create("adoptfix");
  ASSERT_TRUE(ns);
  // scan reports unregistered listeners only once the host has a registered service.
  ASSERT_EQ(BerthIn(*ns, db, {"assign", "other", "--port", "20109"}).exit_code, 0);

  struct Listener {
    std::string comm;
    int type;
    std::uint16_t port;
    std::string name;   // the name berth suggests from the comm
    std::string proto;
    bool registered;    // false: outside the registry's range, allowed instead
  };
  const std::vector<Listener> listeners{
      {"Adopt_Me.Srv", SOCK_STREAM, 20100, "adopt-me-srv", "tcp", true},
      {"dgramd", SOCK_DGRAM, 20101, "dgramd", "udp", true},
      {"weird", SOCK_STREAM, 8080, "weird", "tcp", true},     // IANA http-alt: --allow-iana
      {"ephem", SOCK_STREAM, 40002, "ephem", "tcp", true},    // inside ip_local_port_range
      {"lowport", SOCK_STREAM, 222, "lowport", "tcp", false}, // a system port
  };
  std::vector<Child> running;
  for (const Listener& l : listeners) running.push_back(Serve(*ns, l.comm, l.type, l.port));

  auto scan = BerthIn(*ns, db, {"scan", "--json", "--fail-on", "none"});
  ASSERT_EQ(scan.exit_code, 0) << scan.err;
  const auto scan_doc = nlohmann::json::parse(scan.out);
  auto check = BerthIn(*ns, db, {"check", "--json", "--fail-on", "none"});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  const auto check_doc = nlohmann::json::parse(check.out);

  std::vector<std::string> keep;  // the commands that register a listener where it is
  for (const Listener& l : listeners) {
    std::set<std::string> fixes = RegisteringFixes(scan_doc, l.port);
    const std::set<std::string> from_check = RegisteringFixes(check_doc, l.port);
    fixes.insert(from_check.begin(), from_check.end());
    ASSERT_FALSE(fixes.empty()) << "no registering fix printed for " << l.comm << " on " << l.port
                                << "\n" << scan.out;
    const std::string expected =
        l.registered ? "berth adopt " + l.name + " --port " + std::to_string(l.port) + " --proto " + l.proto +
                           (l.port == 8080 ? " --allow-iana" : "")
                     : "berth group add default --allow " + std::to_string(l.port);
    EXPECT_TRUE(fixes.contains(expected)) << "expected '" << expected << "' among the fixes for "
                                          << l.port << ":\n" << scan.out << check.out;
    for (const std::string& fix : fixes) {
      EXPECT_EQ(fix.find("NAME"), std::string::npos) << "a placeholder in a fix for a known owner: " << fix;
      // Each fix on its own registry (a copy), since the fixes of one listener are
      // alternatives (move it: 'berth assign NAME'; keep it: 'berth adopt').
      const std::string copy = dir.File("copy.db");
      std::filesystem::copy_file(db, copy, std::filesystem::copy_options::overwrite_existing);
      std::vector<std::string> argv = Words(fix);
      argv.erase(argv.begin());  // "berth"
      auto r = BerthIn(*ns, copy, argv);
      EXPECT_EQ(r.exit_code, 0) << "printed fix failed: " << fix << "\n" << r.err;
    }
    keep.push_back(expected);
  }

  // The keeping fixes, run one after the other on the real registry, register every listener.
  for (const std::string& fix : keep) {
    std::vector<std::string> argv = Words(fix);
    argv.erase(argv.begin());
    auto r = BerthIn(*ns, db, argv);
    EXPECT_EQ(r.exit_code, 0) << fix << "\n" << r.err;
  }
  const auto listed = Listed(*ns, db);
  for (const Listener& l : listeners) {
    if (!l.registered) continue;
    ASSERT_TRUE(listed.contains(l.name)) << l.name << " not listed";
    EXPECT_EQ(listed.at(l.name), std::to_string(l.port) + "/" + l.proto);
  }
  // Nothing is left unregistered: neither scan nor check asks for another registration.
  auto after = BerthIn(*ns, db, {"check", "--json", "--fail-on", "none"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  for (const auto& f : nlohmann::json::parse(after.out)["findings"]) {
    EXPECT_NE(f["id"].get<std::string>(), "unregistered-listener") << f.dump();
  }
  auto rescan = BerthIn(*ns, db, {"scan", "--json", "--fail-on", "none"});
  ASSERT_EQ(rescan.exit_code, 0) << rescan.err;
  for (const auto& f : nlohmann::json::parse(rescan.out)["findings"]) {
    EXPECT_NE(f["id"].get<std::string>(), "unregistered-listener") << f.dump();
  }
}

TEST(RegistryAdopt, ChecksWhoListens) {
  BERTH_REQUIRE_ROOT();
  TempDir dir;
  const std::string db = dir.File("r.db");
  auto ns = Netns::Create("adoptwho");
  ASSERT_TRUE(ns);
  Child real = Serve(*ns, "realsrv", SOCK_STREAM, 20110);
  const std::string pid = std::to_string(real.pid());

  // assign refuses the live port and points at adopt.
  auto assign = BerthIn(*ns, db, {"assign", "web", "--port", "20110"});
  EXPECT_EQ(assign.exit_code, 2);
  EXPECT_NE(assign.err.find("has a listener"), std::string::npos) << assign.err;
  EXPECT_NE(assign.err.find("berth adopt web --port 20110 --proto tcp"), std::string::npos) << assign.err;

  // Someone else expected: refused, naming who listens.
  for (const std::vector<std::string>& expect :
       {std::vector<std::string>{"--process", "nginx"}, {"--unit", "nginx.service"}, {"--pid", "1"}}) {
    std::vector<std::string> args{"adopt", "web", "--port", "20110"};
    args.insert(args.end(), expect.begin(), expect.end());
    auto r = BerthIn(*ns, db, args);
    EXPECT_EQ(r.exit_code, 2) << expect[0];
    EXPECT_NE(r.err.find("realsrv (pid " + pid), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing was registered"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(Listed(*ns, db).empty());

  // Nothing listens: exit 2, and the fix is assign.
  auto none = BerthIn(*ns, db, {"adopt", "web", "--port", "20111"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("nothing listens on 20111/tcp"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("berth assign web --port 20111 --proto tcp"), std::string::npos) << none.err;
  // The UDP side of a TCP listener is not it either.
  EXPECT_EQ(BerthIn(*ns, db, {"adopt", "web", "--port", "20110", "--proto", "udp"}).exit_code, 2);

  // The right process (and pid): registered, and reported.
  auto ok = BerthIn(*ns, db, {"adopt", "web", "--port", "20110", "--process", "realsrv", "--pid", pid});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("adopted web on 20110/tcp"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("listener: realsrv (pid " + pid), std::string::npos) << ok.out;
  EXPECT_EQ(Listed(*ns, db).at("web"), "20110/tcp");
  // Again: idempotent. Another name on the same port: refused by the registry rule.
  auto again = BerthIn(*ns, db, {"adopt", "web", "--port", "20110", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const auto j = nlohmann::json::parse(again.out);
  EXPECT_FALSE(j["service"]["created_now"].get<bool>());
  EXPECT_EQ(j["listeners"][0]["processes"][0]["command"], "realsrv");
  auto other = BerthIn(*ns, db, {"adopt", "api", "--port", "20110"});
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_NE(other.err.find("already registered to 'web'"), std::string::npos) << other.err;
}

TEST(RegistryAdopt, WarnsInsideTheEphemeralRange) {
  BERTH_REQUIRE_ROOT();
  TempDir dir;
  const std::string db = dir.File("r.db");
  auto ns = Netns::Create("adopteph");
  ASSERT_TRUE(ns);
  auto range = ns->Exec({"sysctl", "-n", "net.ipv4.ip_local_port_range"});
  ASSERT_EQ(range.exit_code, 0) << range.err;
  std::istringstream in(range.out);
  int low = 0, high = 0;
  in >> low >> high;
  const int port = 40002;  // not IANA-assigned (the low end of the range is FileNet's)
  ASSERT_TRUE(low <= port && port <= high) << range.out;
  Child eph = Serve(*ns, "ephsrv", SOCK_STREAM, static_cast<std::uint16_t>(port));

  auto r = BerthIn(*ns, db, {"adopt", "eph", "--port", std::to_string(port)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("berth: warning: " + std::to_string(port) + " is inside this host's "
                       "ip_local_port_range"),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find("outbound connection"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("berth reserve --apply"), std::string::npos) << r.err;
  EXPECT_EQ(Listed(*ns, db).at("eph"), std::to_string(port) + "/tcp");
}

}  // namespace
}  // namespace berth::test
