// berth probe --broadcast against the test SSRP responder (tests/integration/peers/
// ssrp_responder.py) on a bridge between namespaces this test creates:
//
//   client ns: br0 198.18.0.1/24 brd 198.18.0.255 (berth runs here)
//     v1 -- eth0 198.18.0.2/24   responder, captured np-first reply
//     v2 -- eth0 198.18.0.3/24   responder, --tcp-first
//     v3 -- eth0 198.19.0.4/24   responder outside the subnet that still hears 198.18.0.255
//
// Each responder listens on its unicast address and on 198.18.0.255 and logs every datagram,
// so the test sees what berth sent: the broadcast finds the two subnet responders exactly as
// a unicast probe of each does, ignores the outside one, and nothing but --broadcast ever
// sends 0x02. All traffic stays in 198.18.0.0/15 between the test's namespaces; the responders
// are stopped by pid and the namespaces (with their links) deleted on any outcome.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "probe/probe_peer.h"
#include "support/test_support.h"

namespace berth::probe {
namespace {

constexpr const char* kBroadcast = "198.18.0.255";

struct Responder {
  const char* ns_tag;
  const char* address;
  const char* prefix;  // the responder's own subnet
  bool tcp_first;
};
constexpr Responder kResponders[] = {
    {"bcr1", "198.18.0.2", "/24", false},
    {"bcr2", "198.18.0.3", "/24", true},
    {"bcout", "198.19.0.4", "/24", false},  // outside the client's 198.18.0.0/24
};

// What a probe reports about one SQL Server host: instance, DAC, port, server, version,
// dynamic, answers (JSON text: true, false or null).
using Row = std::tuple<std::string, bool, int, std::string, std::string, bool, std::string>;
std::set<Row> Services(const nlohmann::json& host) {
  std::set<Row> out;
  for (const auto& s : host["services"]) {
    out.emplace(s["instance"], s["dac"], s["port"], s["server_name"], s["sql_version"], s["dynamic"],
                s["answers"].dump());
  }
  return out;
}

class ProbeBroadcast : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    if (!test::HaveProgram("python3")) BERTH_MISSING_PEER("python3 missing: run scripts/install-deps test");
    char tmpl[] = "/tmp/berth-bcast-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    auto client = berth::test::Netns::Create("bccli");
    ASSERT_TRUE(client);
    client_.emplace(std::move(*client));
    ASSERT_TRUE(Ok({"ip", "-n", client_->name(), "link", "add", "br0", "type", "bridge"}));
    ASSERT_TRUE(Ok({"ip", "-n", client_->name(), "addr", "add", "198.18.0.1/24", "brd", "+", "dev", "br0"}));
    ASSERT_TRUE(Ok({"ip", "-n", client_->name(), "link", "set", "br0", "up"}));
    ASSERT_TRUE(Ok({"ip", "-n", client_->name(), "route", "add", "198.19.0.0/24", "dev", "br0"}));
    for (std::size_t i = 0; i < std::size(kResponders); ++i) {
      const Responder& r = kResponders[i];
      auto ns = berth::test::Netns::Create(r.ns_tag);
      ASSERT_TRUE(ns);
      const std::string name = ns->name();
      responder_ns_.push_back(std::move(*ns));
      const std::string veth = "v" + std::to_string(i + 1);
      // Created inside the client namespace with the peer moved straight into the
      // responder's: the host's namespace never sees either end.
      ASSERT_TRUE(Ok({"ip", "-n", client_->name(), "link", "add", veth, "type", "veth", "peer", "name", "eth0",
                      "netns", name}));
      ASSERT_TRUE(Ok({"ip", "-n", client_->name(), "link", "set", veth, "master", "br0", "up"}));
      ASSERT_TRUE(Ok({"ip", "-n", name, "addr", "add", std::string(r.address) + r.prefix, "brd", "+", "dev", "eth0"}));
      ASSERT_TRUE(Ok({"ip", "-n", name, "link", "set", "eth0", "up"}));
      if (std::string_view(r.address).starts_with("198.19.")) {
        // Off the client's subnet but on its wire: it treats 198.18.0.255 as a broadcast
        // address too (so it hears the broadcast) and reaches the client on-link.
        ASSERT_TRUE(Ok({"ip", "-n", name, "route", "add", "198.18.0.0/24", "dev", "eth0"}));
        ASSERT_TRUE(Ok({"ip", "-n", name, "route", "add", "broadcast", kBroadcast, "dev", "eth0", "table", "local"}));
      }
      std::vector<std::string> argv{"ip", "netns", "exec", name, "python3",
                                    std::string(BERTH_SOURCE_DIR) + "/tests/integration/peers/ssrp_responder.py",
                                    std::string(BERTH_FIXTURES) + "/probe", r.address, "--listen",
                                    "--broadcast", kBroadcast, "--log", Log(i)};
      if (r.tcp_first) argv.push_back("--tcp-first");
      responders_.push_back(berth::test::Child::Exec(argv));
      const berth::test::Netns& in = responder_ns_.back();
      ASSERT_TRUE(test::WaitFor(
          [&] { return in.Exec({"ss", "-Hlun"}).out.find(std::string(kBroadcast) + ":1434") != std::string::npos; }, 5))
          << r.address << ": responder did not start";
    }
  }
  void TearDown() override {
    responders_.clear();  // killed by pid before their namespaces go
    if (!dir_.empty()) (void)berth::test::Run({"rm", "-rf", dir_});
  }

  static bool Ok(const std::vector<std::string>& argv) {
    auto r = berth::test::Run(argv);
    if (r.exit_code != 0) ADD_FAILURE() << argv.back() << ": " << r.err;
    return r.exit_code == 0;
  }
  std::string Log(std::size_t i) const { return dir_ + "/responder" + std::to_string(i) + ".log"; }
  // The datagrams responder `i` received so far: "unicast|broadcast SOURCE HEX".
  std::vector<std::string> Received(std::size_t i) const {
    std::vector<std::string> out;
    std::ifstream in(Log(i));
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  berth::test::CommandResult Berth(std::vector<std::string> args) const {
    // No registry: remedies keep their placeholders, whatever this machine's registry holds.
    std::vector<std::string> argv{berth::test::BerthBinary(), "probe", "--no-registry"};
    argv.insert(argv.end(), args.begin(), args.end());
    return client_->Exec(argv);
  }
  // The JSON hosts of a run, by address.
  static std::map<std::string, nlohmann::json> Hosts(const berth::test::CommandResult& r) {
    std::map<std::string, nlohmann::json> out;
    auto doc = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << r.out << r.err;
    if (doc.is_discarded()) return out;
    for (const auto& h : doc["hosts"]) out[h["address"]] = h;
    return out;
  }

  // Declared before the responders, so destroyed after them.
  std::string dir_;
  std::optional<berth::test::Netns> client_;
  std::vector<berth::test::Netns> responder_ns_;
  std::vector<berth::test::Child> responders_;
};

TEST_F(ProbeBroadcast, FindsEachBrowserOnTheSubnetAsAUnicastProbeDoes) {
  std::map<std::string, std::set<Row>> unicast;
  for (const char* a : {"198.18.0.2", "198.18.0.3"}) {
    auto r = Berth({"--mssql", "--json", "--timeout", "0.5", a});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    unicast[a] = Services(Hosts(r)[a]);
    ASSERT_EQ(unicast[a].size(), 3u) << r.out;  // MSSQLSERVER, SQLEXPRESS and its DAC
  }
  const std::size_t before_outside = Received(2).size();

  // No protocol flag and no target: the broadcast alone, and only SSRP.
  auto r = Berth({"--json", "--timeout", "1", "--broadcast", kBroadcast});
  EXPECT_EQ(r.exit_code, 1) << "SQLEXPRESS sits on a dynamic port; " << r.err;
  auto hosts = Hosts(r);
  ASSERT_EQ(hosts.size(), 3u) << r.out;
  for (const auto& [address, h] : hosts) {
    EXPECT_EQ(h["broadcast"], kBroadcast) << address;
    EXPECT_EQ(h["interface"], "br0") << address;
    ASSERT_EQ(h["mappers"].size(), 1u) << h.dump();  // no rpc, no msrpc
    EXPECT_EQ(h["mappers"][0]["protocol"], "mssql");
    EXPECT_EQ(h["mappers"][0]["state"], "answered");
  }
  const auto outside = Received(2);
  ASSERT_GT(outside.size(), before_outside) << "the responder outside the subnet must hear the broadcast";
  for (std::size_t k = before_outside; k < outside.size(); ++k) {
    // It answered, but berth contacts nothing there: no DAC request, no follow-up.
    EXPECT_TRUE(outside[k].starts_with("broadcast 198.18.0.1:") && outside[k].ends_with(" 02")) << outside[k];
  }
  const std::string detail = hosts[kBroadcast]["mappers"][0]["detail"];
  EXPECT_NE(detail.find("CLNT_BCAST_EX on br0: 2 responders in 198.18.0.0/24"), std::string::npos) << detail;
  const std::size_t ignored = outside.size() - before_outside;
  EXPECT_NE(detail.find(fmt::format("; {} repl{} from outside it ignored", ignored, ignored == 1 ? "y" : "ies")),
            std::string::npos)
      << detail;
  EXPECT_TRUE(hosts[kBroadcast]["services"].empty());
  for (const char* a : {"198.18.0.2", "198.18.0.3"}) {
    ASSERT_TRUE(hosts.contains(a)) << r.out;
    EXPECT_EQ(hosts[a]["target"], a);
    // The same instances, ports, DAC and connect results as the unicast probe of that host.
    EXPECT_EQ(Services(hosts[a]), unicast[a]) << hosts[a].dump();
    bool remedy = false;
    for (const auto& m : hosts[a]["remedies"]) {
      remedy = remedy || m["text"].get<std::string>().find(fmt::format("Server={},<PORT>", a)) != std::string::npos;
    }
    EXPECT_TRUE(remedy) << hosts[a]["remedies"].dump();
  }
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["summary"]["targets"], 1);
  EXPECT_EQ(doc["summary"]["dynamic"], 4);  // per responder: SQLEXPRESS and its DAC

  // Text output names where each host came from.
  auto text = Berth({"--timeout", "0.5", "--broadcast", kBroadcast});
  EXPECT_NE(text.out.find("198.18.0.255 (broadcast on br0)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("198.18.0.2 (answered broadcast 198.18.0.255 on br0)"), std::string::npos) << text.out;
}

TEST_F(ProbeBroadcast, RefusesAnythingButALocalBroadcastAddressAndSendsNothing) {
  for (const char* bad : {"198.18.0.2", "198.18.1.255", "255.255.255.255", "127.255.255.255"}) {
    auto r = Berth({"--broadcast", bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find(fmt::format("--broadcast {}: not the broadcast address of an interface that is up here; "
                                     "the local broadcast addresses are 198.18.0.255 (br0)",
                                     bad)),
              std::string::npos)
        << r.err;
  }
  for (std::vector<std::string> args : {std::vector<std::string>{"--mssql", kBroadcast},
                                        {kBroadcast},
                                        {"198.18.0.2", kBroadcast, "--broadcast", kBroadcast}}) {
    auto r = Berth(args);
    EXPECT_EQ(r.exit_code, 2) << args.back();
    EXPECT_NE(r.err.find("198.18.0.255 is the broadcast address of br0\nberth: fix: use --broadcast 198.18.0.255\n"),
              std::string::npos)
        << r.err;
  }
  auto bare = berth::test::Netns::Create("bcbare");  // loopback only
  ASSERT_TRUE(bare);
  auto none = bare->Exec({berth::test::BerthBinary(), "probe", "--broadcast", kBroadcast});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("this network namespace has no local broadcast addresses"), std::string::npos) << none.err;
  for (std::size_t i = 0; i < std::size(kResponders); ++i) {
    EXPECT_TRUE(Received(i).empty()) << kResponders[i].address << " got: " << Received(i).front();
  }
}

TEST_F(ProbeBroadcast, WithoutTheFlagNothingIsBroadcast) {
  // All three mappers at the two hosts, then SSRP at the whole /24: its broadcast address
  // is skipped with a note, and no 0x02 reaches anyone.
  auto hosts = Berth({"--timeout", "0.5", "198.18.0.2", "198.18.0.3"});
  EXPECT_EQ(hosts.exit_code, 1) << hosts.err;
  auto subnet = Berth({"--mssql", "--json", "--timeout", "0.5", "198.18.0.0/24"});
  EXPECT_EQ(subnet.exit_code, 1) << subnet.err;
  EXPECT_NE(subnet.err.find("berth: note: 198.18.0.255 (in 198.18.0.0/24) is the broadcast address of br0: skipped"),
            std::string::npos)
      << subnet.err;
  EXPECT_EQ(Hosts(subnet).size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(subnet.out)["summary"]["targets"], 255);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto got = Received(i);
    EXPECT_FALSE(got.empty()) << kResponders[i].address << " was probed by unicast";
    for (const std::string& line : got) {
      EXPECT_TRUE(line.starts_with("unicast ")) << kResponders[i].address << ": " << line;
      EXPECT_FALSE(line.ends_with(" 02")) << kResponders[i].address << ": " << line;
    }
  }
  EXPECT_TRUE(Received(2).empty()) << "outside the targets: " << Received(2).front();
}

}  // namespace
}  // namespace berth::probe
