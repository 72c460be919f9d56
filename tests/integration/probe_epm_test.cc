// berth probe --msrpc against Samba's endpoint mapper (samba-dcerpcd, standalone) in a
// private network namespace: berth must list the same endpoints as impacket's ept_lookup
// (tests/integration/peers/epm_oracle.py, with checkError=False), with max_ents 500 (one
// answer in two fragments) and max_ents 1 (a 38-call walk); samba-dcerpcd ends the walk with
// status 0x16c9a0d6 in the last batch and closes the handle.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <filesystem>
#include <optional>
#include <thread>
#include <sstream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "integration/scan_fixture.h"
#include "probe/probe_peer.h"
#include "support/test_support.h"

namespace berth::probe {
namespace {

using berth::test::Netns;

struct Listing {
  std::vector<std::string> lines;  // sorted "uuid vX.Y protseq endpoint"
  std::string calls;
};

Listing Oracle(const Netns& ns, const std::string& max_ents) {
  auto r = ns.Exec({std::string(BERTH_SOURCE_DIR) + "/tests/integration/peers/epm_oracle.py", "127.0.0.1", max_ents});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Listing l;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("# calls ")) l.calls = line.substr(8, line.find(' ', 8) - 8);
    else if (!line.empty()) l.lines.push_back(line);
  }
  std::sort(l.lines.begin(), l.lines.end());
  return l;
}

Listing Berth(const Netns& ns, const std::string& max_ents, int* exit_code, std::string* detail) {
  auto r = ns.Exec({berth::test::BerthBinary(), "probe", "--msrpc", "--json", "--no-registry",
                     "--max-ents", max_ents, "127.0.0.1"});
  *exit_code = r.exit_code;
  Listing l;
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << r.out << r.err;
  if (doc.is_discarded() || doc["hosts"].empty()) return l;
  const auto& host = doc["hosts"][0];
  EXPECT_EQ(host["mappers"][0]["state"], "answered") << host["mappers"].dump();
  *detail = host["mappers"][0]["detail"];
  for (const auto& s : host["services"]) {
    const std::string endpoint = s["port"] != 0 ? std::to_string(s["port"].get<int>()) : s["endpoint"].get<std::string>();
    l.lines.push_back(fmt::format("{} v{} {} {}", s["interface"].get<std::string>(),
                                  s["interface_version"].get<std::string>(), s["protseq"].get<std::string>(), endpoint));
  }
  std::sort(l.lines.begin(), l.lines.end());
  return l;
}

TEST(ProbeEpmPeer, SambaDcerpcdMatchesImpacketAndAnAbandonedWalkReleasesItsHandle) {
  BERTH_REQUIRE_ROOT();
  if (!std::filesystem::exists("/usr/libexec/samba/samba-dcerpcd")) BERTH_MISSING_PEER("samba missing: run scripts/install-deps test");
  if (berth::test::Run({"/usr/bin/python3", "-c", "import impacket"}).exit_code != 0) {
    BERTH_MISSING_PEER("python3-impacket missing: run scripts/install-deps test");
  }
  auto ns = Netns::Create("epm");
  ASSERT_TRUE(ns);
  const std::string dir = "/tmp/" + ns->name() + "-samba";
  std::filesystem::remove_all(dir);
  auto cmd = berth::test::Run({std::string(BERTH_SOURCE_DIR) + "/tests/integration/peers/samba_dcerpcd.sh", dir});
  ASSERT_EQ(cmd.exit_code, 0) << cmd.err;
  std::vector<std::string> argv{"ip", "netns", "exec", ns->name()};
  std::istringstream words(cmd.out);
  for (std::string w; words >> w;) argv.push_back(w);
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{dir};
  berth::test::Child samba = berth::test::Child::Exec(argv);
  ASSERT_TRUE(test::WaitFor([&] { return ns->Exec({"ss", "-Hltn", "sport = :49152"}).out.size() > 0; }, 20))
      << "samba-dcerpcd did not open its dynamic ports";

  for (const std::string max_ents : {"500", "1"}) {
    SCOPED_TRACE("max_ents " + max_ents);
    const Listing oracle = Oracle(*ns, max_ents);
    ASSERT_GE(oracle.lines.size(), 30u);
    int exit_code = -1;
    std::string detail;
    const Listing ours = Berth(*ns, max_ents, &exit_code, &detail);
    EXPECT_EQ(ours.lines, oracle.lines);
    EXPECT_EQ(exit_code, 1) << "winreg/lsarpc/srvsvc sit on dynamic ports 49152+";
    EXPECT_NE(detail.find(fmt::format("in {} calls", oracle.calls)), std::string::npos) << detail;
    EXPECT_NE(detail.find("last batch carried status 0x16c9a0d6"), std::string::npos) << detail;
  }

  // A walk abandoned at --max-calls releases its lookup handle: berth says the server let go,
  // and tshark's EPM dissector sees the lookup_handle_free (opnum 4) request and its response
  // with return code 0 on the wire.
  if (!test::HaveProgram("tshark")) BERTH_MISSING_PEER("tshark missing: run scripts/install-deps test");
  const std::string pcap = dir + "/epm.pcap";
  {
    berth::test::Child capture = berth::test::Child::Exec(
        {"ip", "netns", "exec", ns->name(), "tshark", "-q", "-i", "lo", "-f", "tcp port 135", "-w", pcap});
    // The file header is written before the capture filter is live, so a header is no sign
    // of readiness: connect to port 135 (a bare handshake, no DCE/RPC, so it never matches the
    // opnum filter below) until such a connection shows up in the capture.
    auto canary_seen = [&] {
      std::thread([&] {
        if (!ns->EnterThread()) return;
        const int c = berth::test::ConnectLoopback(135);
        if (c >= 0) ::close(c);
      }).join();
      return !berth::test::Run({"tshark", "-r", pcap, "-Y", "tcp.dstport == 135 && tcp.flags.syn == 1 && tcp.flags.ack == 0"})
                  .out.empty();
    };
    ASSERT_TRUE(test::WaitFor(canary_seen, 20)) << "tshark did not start capturing";
    auto r = ns->Exec({berth::test::BerthBinary(), "probe", "--msrpc", "--json", "--no-registry", "--max-ents", "1",
                       "--max-calls", "3", "127.0.0.1"});
    auto doc = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << r.out << r.err;
    const auto& mapper = doc["hosts"][0]["mappers"][0];
    EXPECT_EQ(mapper["state"], "error") << mapper.dump();
    EXPECT_EQ(mapper["detail"], "partial walk, 3 entries: ept_lookup: walk abandoned at the cap of 3 calls; "
                                "the server released the lookup handle");
    EXPECT_EQ(doc["hosts"][0]["services"].size(), 3u);
    // libpcap hands packets over in blocks, on a timer: wait until both are in the file.
    auto opnum4 = [&] {
      return berth::test::Run({"tshark", "-r", pcap, "-Y", "epm.opnum == 4", "-T", "fields", "-e",
                               "dcerpc.pkt_type", "-e", "epm.rc"}).out;
    };
    EXPECT_TRUE(test::WaitFor([&] {
      const std::string lines = opnum4();
      return std::count(lines.begin(), lines.end(), '\n') >= 2;
    }, 10));
    const std::string wire = opnum4();
    EXPECT_EQ(wire, "0\t\n2\t0x00000000\n") << "one request (type 0), one response (type 2) with return code 0; the capture:\n"
                                              << berth::test::Run({"tshark", "-r", pcap}).out;
    EXPECT_TRUE(test::StopGently(capture)) << "tshark did not stop";
  }
}

}  // namespace
}  // namespace berth::probe

namespace berth::probe {
namespace {

// Runs `samba_ad_dc.sh` and starts the DC inside `ns`; nullopt when it does not come up.
std::optional<berth::test::Child> StartAdDc(const Netns& ns, const std::string& dir,
                                            const std::vector<std::string>& extra, const std::string& port) {
  std::vector<std::string> setup{std::string(BERTH_SOURCE_DIR) + "/tests/integration/peers/samba_ad_dc.sh",
                                 ns.name(), dir};
  setup.insert(setup.end(), extra.begin(), extra.end());
  auto cmd = berth::test::Run(setup);
  EXPECT_EQ(cmd.exit_code, 0) << cmd.err;
  if (cmd.exit_code != 0) return std::nullopt;
  std::vector<std::string> argv{"ip", "netns", "exec", ns.name()};
  std::istringstream words(cmd.out);
  for (std::string w; words >> w;) argv.push_back(w);
  berth::test::Child dc = berth::test::Child::Exec(argv);
  if (!test::WaitFor([&] { return !ns.Exec({"ss", "-Hltn", "sport = :" + port}).out.empty(); }, 30)) return std::nullopt;
  return dc;
}

TEST(ProbeEpmPeer, SambaAdDcMatchesImpacketAndPerServiceRemedyPins) {
  BERTH_REQUIRE_ROOT();
  if (!test::HaveProgram("samba") || !test::HaveProgram("samba-tool") ||
      !std::filesystem::exists("/usr/share/samba/setup/provision.ldif")) {
    BERTH_MISSING_PEER("samba AD DC packages missing (samba, samba-ad-provision): run scripts/install-deps test");
  }
  if (berth::test::Run({"/usr/bin/python3", "-c", "import impacket"}).exit_code != 0) {
    BERTH_MISSING_PEER("python3-impacket missing: run scripts/install-deps test");
  }
  auto ns = Netns::Create("epmdc");
  ASSERT_TRUE(ns);
  const std::string dir = "/tmp/" + ns->name() + "-dc";
  std::filesystem::remove_all(dir);
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::filesystem::remove_all(dir);
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(dir + "-registry.db" + suffix);
    }
  } cleanup{dir};

  // An empty registry of the test's own: the proposals depend on nothing outside the test.
  const std::string db = dir + "-registry.db";
  auto probe = [&] {
    auto r = ns->Exec({berth::test::BerthBinary(), "probe", "--msrpc", "--json", "--db", db, "127.0.0.1"});
    auto doc = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << r.out << r.err;
    return doc.is_discarded() ? nlohmann::json::object() : doc["hosts"][0];
  };
  std::vector<std::string> remedy_lines;
  std::map<std::string, int> proposed;  // annotation -> the port berth proposed
  {
    auto dc = StartAdDc(*ns, dir, {}, "49152");
    ASSERT_TRUE(dc) << "samba AD DC did not start";
    const Listing oracle = Oracle(*ns, "500");
    ASSERT_GE(oracle.lines.size(), 30u);
    int exit_code = -1;
    std::string detail;
    const Listing ours = Berth(*ns, "500", &exit_code, &detail);
    EXPECT_EQ(ours.lines, oracle.lines);
    EXPECT_EQ(exit_code, 1);
    // The AD DC style: all entries with status 0 and a live handle, then an empty batch.
    EXPECT_NE(detail.find(fmt::format("in {} calls (final empty batch", oracle.calls)), std::string::npos) << detail;

    // Each of the two services with a port setting of its own gets a proposed static port,
    // outside the targets' ephemeral range; the rest are left to the restricted range.
    const nlohmann::json host = probe();
    for (const auto& s : host["services"]) {
      if (s["static"].is_null()) continue;
      EXPECT_EQ(s["static"]["state"], "proposed") << s.dump();
      EXPECT_EQ(s["static"]["name"], "msrpc." + s["annotation"].get<std::string>()) << s.dump();
      const int port = s["static"]["port"];
      EXPECT_TRUE(port >= 1024 && port < 32768) << port;
      proposed[s["annotation"]] = port;
    }
    ASSERT_EQ(proposed.size(), 2u) << host.dump();
    EXPECT_NE(proposed["netlogon"], proposed["drsuapi"]);
    // berth's per-service remedy, as Samba lines, and its registry lines, run as printed.
    for (const auto& rem : host["remedies"]) {
      const std::string text = rem["text"];
      const auto at = text.find("'rpc server port:");
      if (at == std::string::npos) continue;
      remedy_lines.push_back(text.substr(at + 1, text.find('\'', at + 1) - at - 1));
    }
    ASSERT_EQ(remedy_lines.size(), 2u) << host["remedies"].dump();
    for (const std::string& line : remedy_lines) {
      const bool netlogon = line.find("netlogon") != std::string::npos;
      EXPECT_EQ(line, fmt::format("rpc server port:{} = {}", netlogon ? "netlogon" : "drsuapi",
                                  proposed[netlogon ? "netlogon" : "drsuapi"]));
    }
    const std::vector<std::string> assigns = test::AssignLines(host);
    ASSERT_EQ(assigns.size(), 2u) << host["remedies"].dump();
    for (const std::string& line : assigns) {
      auto r = test::RunPrinted(line, db);
      EXPECT_EQ(r.exit_code, 0) << line << ": " << r.err;
    }
    // Claimed: the same ports, now reported as the registry's.
    const nlohmann::json claimed = probe();
    for (const auto& s : claimed["services"]) {
      if (s["static"].is_null()) continue;
      EXPECT_EQ(s["static"]["state"], "registered") << s.dump();
      EXPECT_EQ(s["static"]["port"], proposed[s["annotation"]]) << s.dump();
    }
  }  // the DC stops here

  auto dc = StartAdDc(*ns, dir, remedy_lines, std::to_string(proposed["netlogon"]));
  ASSERT_TRUE(dc) << "samba AD DC did not start with " << remedy_lines[0];
  const nlohmann::json host = probe();
  int pinned = 0;
  for (const auto& s : host["services"]) {
    if (s["protseq"] != "ncacn_ip_tcp") continue;
    if (s["annotation"] == "netlogon" || s["annotation"] == "drsuapi") {
      EXPECT_EQ(s["port"], proposed[s["annotation"]]) << s.dump();
      EXPECT_EQ(s["dynamic"], false);
      EXPECT_TRUE(s["static"].is_null()) << "a fixed port needs no proposal: " << s.dump();
      ++pinned;
    }
  }
  EXPECT_EQ(pinned, 2);
}

}  // namespace
}  // namespace berth::probe
