// A golden test of the NFS remedies and static-port wishes: every NFS program berth knows,
// with berth's default pins and with registry-held ones, printed and compared with a
// recorded file, so the pin ports and their nfs.conf prose stay byte-identical.
// BERTH_UPDATE_GOLDEN=1 rewrites the file instead of comparing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/core.h>

#include "probe/remedy.h"

namespace berth::probe {
namespace {

ServiceRecord RpcRecord(std::uint32_t program, std::string name, Port port) {
  ServiceRecord s;
  s.mapper = Mapper::kRpc;
  s.program = program;
  s.name = std::move(name);
  s.version = 1;
  s.netid = "tcp";
  s.port = port;
  s.dynamic = true;
  return s;
}

std::string Print(std::string_view title, const HostReport& r) {
  std::string out = fmt::format("=== {}\n", title);
  for (const Remedy& m : Remedies(r)) out += fmt::format("--- {}\n{}\n", m.subject, m.text);
  for (const ServiceRecord& s : r.services) {
    if (auto w = WishFor(s)) {
      out += fmt::format("wish {}: {} {} {} {}\n", s.program, w->name, ServiceProtoName(w->proto),
                         w->preferred ? fmt::format("{}", *w->preferred) : "-", w->allow_iana);
    }
  }
  return out;
}

std::string All() {
  HostReport r;
  r.target = "nfs1";
  r.services = {RpcRecord(100003, "nfs", 40100), RpcRecord(100005, "mountd", 40101),
                RpcRecord(100021, "nlockmgr", 40102), RpcRecord(100024, "status", 40103),
                RpcRecord(100099, "custom", 40104), RpcRecord(100098, "", 40105)};
  std::string out = Print("every NFS program, default pins", r);
  for (ServiceRecord& s : r.services) {
    s.static_port = StaticPort{"x", ServiceProto::kBoth, static_cast<Port>(s.program % 1000 + 9000),
                               true, ""};
  }
  out += Print("every NFS program, registry pins", r);
  r.services.resize(1);
  r.services[0].static_port.reset();
  out += Print("nfsd alone", r);
  return out;
}

TEST(RemedyGolden, OutputMatchesTheRecordedFile) {
  const std::string path = std::string(BERTH_FIXTURES) + "/golden/remedy.txt";
  const std::string now = All();
  if (std::getenv("BERTH_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << now;
    GTEST_SKIP() << "rewrote " << path;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  std::stringstream recorded;
  recorded << in.rdbuf();
  EXPECT_EQ(now, recorded.str());
}

}  // namespace
}  // namespace berth::probe
