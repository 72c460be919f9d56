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

}  // namespace
}  // namespace berth
