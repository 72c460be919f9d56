// The scan's text table over many rows: measured and formatted in blocks on two threads, it
// must read exactly as one pass would write it (order, alignment, one owner line a group).
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "emit/render_util.h"
#include "emit/scan_render.h"

namespace berth {
namespace {

// 20,011 listeners (several blocks of rows): three owners with interleaved sockets, some
// sockets with a second owner, and unowned ones; wide and narrow cells in every block.
HostSnapshot ManyListeners() {
  HostSnapshot snap;
  snap.hostname = "big";
  snap.owners_resolved = true;
  snap.processes = {{100, 0, "root", "alpha", "alpha.service", ""},
                    {200, 33, "www-data", "a-much-longer-command", "", ""},
                    {300, 0, "root", "gamma", "gamma.service", ""}};
  for (std::uint32_t i = 0; i < 20011; ++i) {
    SocketRecord s;
    IpAddress local;
    local.bytes = {10, static_cast<std::uint8_t>(i % 7 == 0 ? 200 : 0), 0, static_cast<std::uint8_t>(i % 250)};
    s.local = snap.addresses.Intern(local);
    s.local_port = static_cast<Port>(1024 + i);
    snap.sockets.push_back(s);
    if (i % 11 == 10) continue;  // unowned
    snap.owners.push_back({i, i % 3, static_cast<int>(3 + i)});
    if (i % 97 == 0 && i % 3 != 2) snap.owners.push_back({i, 2, static_cast<int>(100000 + i)});
  }
  return snap;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(ScanTextLarge, ManyBlocksReadAsOneTable) {
  const HostSnapshot snap = ManyListeners();
  const std::vector<Finding> findings;
  ScanView v;
  v.snap = &snap;
  v.findings = &findings;
  const std::vector<std::string> lines = Lines(test::Collect([&](const Sink& s) { RenderScanText(v, false, s); }));
  std::size_t header = 0;
  while (header < lines.size() && !lines[header].starts_with("PROCESS")) ++header;
  ASSERT_LT(header, lines.size());
  const std::size_t proto_col = lines[header].find("PROTO");
  const std::size_t local_col = lines[header].find("LOCAL");
  ASSERT_NE(local_col, std::string::npos);

  std::map<std::string, int> owner_lines;  // a group's first row names its owner, once
  std::string group;
  int last_port = -1;
  std::size_t rows = 0, extra = 0;
  for (std::size_t n = header + 1; n < lines.size() && !lines[n].empty(); ++n, ++rows) {
    const std::string& line = lines[n];
    ASSERT_GT(line.size(), local_col) << n;
    ASSERT_EQ(line.compare(proto_col, 3, "tcp"), 0) << "column moved at line " << n << ": " << line;
    ASSERT_NE(line[local_col], ' ') << n;
    ASSERT_EQ(line[local_col - 1], ' ') << n;
    const std::string first = line.substr(0, line.find(' '));
    if (!first.empty()) {
      ++owner_lines[first];
      group = first;
      last_port = -1;
    }
    const std::size_t colon = line.find(':', local_col);
    const int port = std::stoi(line.substr(colon + 1));
    ASSERT_GT(port, last_port) << "rows out of order in group " << group << " at line " << n;
    last_port = port;
    if (line.find("(+1 owners)") != std::string::npos) ++extra;
  }
  EXPECT_EQ(rows, snap.sockets.size());
  EXPECT_EQ(owner_lines, (std::map<std::string, int>{
                             {"alpha", 1}, {"a-much-longer-command", 1}, {"gamma", 1}, {"(no", 1}}));
  std::size_t want_extra = 0;
  for (std::uint32_t i = 0; i < 20011; ++i) want_extra += i % 11 != 10 && i % 97 == 0 && i % 3 != 2;
  EXPECT_EQ(extra, want_extra);
}

// The measure pass tells most rows' widths from their records, without their text: a column
// must still fit its widest cell exactly when that cell is in such a row (not its owner's
// first, one owner), here an IPv6 endpoint in the middle of a group.
TEST(ScanTextLarge, AColumnFitsItsWidestCellExactlyWhereverItIs) {
  HostSnapshot snap;
  snap.owners_resolved = true;
  snap.config.ephemeral = PortRange{32768, 60999};
  snap.processes = {{100, 0, "root", "svc", "", ""}};
  IpAddress wide;
  wide.family = 6;
  wide.bytes = {0x20, 0x01, 0x0d, 0xb8, 0xaa, 0xaa, 0xbb, 0xbb, 0xcc, 0xcc, 0xdd, 0xdd, 0xee, 0xee, 0xff, 0xff};
  IpAddress narrow;
  narrow.bytes = {127, 0, 0, 1};
  for (std::uint32_t i = 0; i < 10; ++i) {
    SocketRecord s;
    s.state = SocketState::kEstablished;
    const IpAddress& a = i == 5 ? wide : narrow;
    snap.SetAddresses(s, a, a);
    s.local_port = static_cast<Port>(i == 5 ? 40000 : 2000 + i);  // 40000: user,ephemeral
    s.remote_port = static_cast<Port>(i == 5 ? 65535 : 3000 + i);
    snap.sockets.push_back(s);
    snap.owners.push_back({i, 0, static_cast<int>(3 + i)});
  }
  const std::vector<Finding> findings;
  ScanView v;
  v.snap = &snap;
  v.findings = &findings;
  v.all_states = true;
  const std::vector<std::string> lines = Lines(test::Collect([&](const Sink& s) { RenderScanText(v, false, s); }));
  std::size_t header = 0;
  while (header < lines.size() && !lines[header].starts_with("PROCESS")) ++header;
  ASSERT_LT(header, lines.size());
  const std::string& h = lines[header];
  const std::size_t state_col = h.find("STATE"), class_col = h.find("CLASS"), peer_col = h.find("PEER");
  ASSERT_NE(class_col, std::string::npos);
  std::size_t rows = 0;
  for (std::size_t n = header + 1; n < lines.size() && !lines[n].empty(); ++n, ++rows) {
    const std::string& line = lines[n];
    ASSERT_GT(line.size(), class_col) << line;
    for (std::size_t col : {state_col, peer_col, class_col}) {
      EXPECT_NE(line[col], ' ') << "column at " << col << " in: " << line;
      EXPECT_EQ(line[col - 1], ' ') << "column at " << col << " in: " << line;
    }
    if (line.find("2001:db8") != std::string::npos) {
      // The widest cells end exactly one separator (two spaces) before the next column.
      EXPECT_NE(line[state_col - 3], ' ') << line;
      EXPECT_NE(line[class_col - 3], ' ') << line;
      EXPECT_NE(line.find("tcp6"), std::string::npos) << line;
      EXPECT_NE(line.find("user,ephemeral"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(rows, 10u);
}

}  // namespace
}  // namespace berth
