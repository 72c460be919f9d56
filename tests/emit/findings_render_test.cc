#include "emit/findings_render.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "emit/render_util.h"

namespace berth {
namespace {

using test::Collect;

// A port set as berth.findings/1 and berth.scan/2 write it: every port, as numbers.
nlohmann::json PortNumbers(const PortSet& set) {
  nlohmann::json out = nlohmann::json::array();
  for (PortRange r : set.ranges()) {
    for (std::uint32_t p = r.low; p <= r.high; ++p) out.push_back(p);
  }
  return out;
}

// What cli's FindingJson built with nlohmann before this renderer (ports now an array).
nlohmann::json NlohmannFinding(const Finding& f) {
  nlohmann::json j{{"id", FindingIdName(f.id)},
                   {"severity", SeverityName(f.severity)},
                   {"subject", f.subject},
                   {"ports", PortNumbers(f.ports)},
                   {"pids", f.pids},
                   {"why", f.why},
                   {"fix", f.fix}};
  j["proto"] = f.proto ? nlohmann::json(ProtocolName(*f.proto)) : nlohmann::json(nullptr);
  return j;
}

std::vector<Finding> Sample() {
  Finding a;
  a.id = FindingId::kRegisteredPortEphemeral;
  a.subject = "cache (16947/tcp)";
  a.proto = Protocol::kTcp;
  a.ports = *PortSet::Parse("16947");
  a.why = "16947 is not in net.ipv4.ip_local_reserved_ports";
  a.fix = "berth reserve --apply   (merges with the current value)";
  Finding b;
  b.id = FindingId::kPortChanged;
  b.severity = Severity::kError;
  b.subject = "say \"hi\" \\ caf\xc3\xa9 \x1b[31mred\x7f";
  b.pids = {1, 22};
  b.why = "tab\there\bback\fform";
  b.fix = "line one\nline two\x01";
  Finding c;
  c.id = FindingId::kPortMapper;
  c.severity = Severity::kInfo;
  return {a, b, c};
}

TEST(FindingsRender, JsonIsNlohmannDump2) {
  for (const auto& findings : {Sample(), std::vector<Finding>{}}) {
    nlohmann::json arr = nlohmann::json::array();
    for (const Finding& f : findings) arr.push_back(NlohmannFinding(f));
    const std::string want =
        nlohmann::json{{"findings", arr}, {"schema", "berth.findings/1"}}.dump(2) + "\n";
    EXPECT_EQ(Collect([&](const Sink& s) { RenderFindingsJson(findings, s); }), want);
  }
}

TEST(FindingsRender, ScanOrderIsTheDocumentedOne) {
  JsonWriter j;
  WriteFindingJson(j, Sample()[0]);
  EXPECT_EQ(j.Take(),
            R"j({"id":"registered-port-ephemeral","severity":"warning","subject":"cache (16947/tcp)",)j"
            R"j("proto":"tcp","ports":[16947],"pids":[],)j"
            R"j("why":"16947 is not in net.ipv4.ip_local_reserved_ports",)j"
            R"j("fix":"berth reserve --apply   (merges with the current value)"})j");
}

TEST(FindingsRender, TextAsCliPrintedIt) {
  EXPECT_EQ(Collect([](const Sink& s) { RenderFindingsText({}, "berth check (0 registered service(s) of this host)", s); }),
            "berth check (0 registered service(s) of this host): no findings\n");
  const auto findings = Sample();
  // Captured from `berth check` before the move (first finding), and the cli format for the
  // others with the control bytes escaped: that part is the one change.
  EXPECT_EQ(Collect([&](const Sink& s) { RenderFindingsText(findings, "berth check", s); }),
            "berth check: 3 finding(s)\n"
            "warning  registered-port-ephemeral    cache (16947/tcp): 16947 is not in net.ipv4.ip_local_reserved_ports\n"
            "         fix: berth reserve --apply   (merges with the current value)\n"
            "error    port-changed                 say \"hi\" \\ caf\xc3\xa9 \\x1b[31mred\\x7f: tab\\x09here\\x08back\\x0cform\n"
            "         fix: line one\n"
            "              line two\\x01\n"  // a fix's lines stay under one another
            "info     port-mapper                  : \n"
            "         fix: \n");
}

TEST(FindingsRender, ReportEscapesWhyAndFix) {
  const auto findings = Sample();
  const std::string got =
      Collect([&](const Sink& s) { RenderFindingsReport({findings[1]}, "Findings", false, s); });
  EXPECT_EQ(got,
            "\nFindings: 1 error, 0 warnings, 0 info\n\n"
            "ERROR   port-changed  say \"hi\" \\ caf\xc3\xa9 \\x1b[31mred\\x7f\n"
            "  why  tab\\x09here\\x08back\\x0cform\n"
            "  fix  line one\n"
            "       line two\\x01\n");
}

TEST(FindingsRender, ReportWrapsWhyToTheWidthButNeverAFix) {
  Finding f;
  f.id = FindingId::kEphemeralListener;
  f.subject = "app (pid 1)";
  f.why = "listens on 3 ports inside the ephemeral range 32768-60999: an outbound connection can take it";
  f.fix = "berth adopt app-40000 --port 40000 --proto tcp --allow-iana";
  const std::string got = Collect([&](const Sink& s) { RenderFindingsReport({f}, "Findings", false, s, 40); });
  EXPECT_NE(got.find("  why  listens on 3 ports inside the\n"
                     "       ephemeral range 32768-60999: an\n"
                     "       outbound connection can take it\n"),
            std::string::npos) << got;
  EXPECT_NE(got.find("  fix  berth adopt app-40000 --port 40000 --proto tcp --allow-iana\n"), std::string::npos)
      << got;
}

}  // namespace
}  // namespace berth
