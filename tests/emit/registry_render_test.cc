// The registry renderers against what berth printed before they moved to src/emit: text
// copied from the binary's output, JSON compared with nlohmann's dump(2) of the JSON the
// command line built (the builders below are copies of cli's ServiceJson, DocJson, ...).
#include "emit/registry_render.h"

#include <functional>

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "emit/render_util.h"
#include "registry/berth_toml.h"

namespace berth {
namespace {

using nlohmann::json;
using registry::Assignment;
using registry::Family;
using registry::Group;
using registry::Observation;
using registry::ServiceRecord;

constexpr std::int64_t kT = 1796215055;  // 2026-12-02T12:37:35Z

using test::Collect;

std::string Reason(std::string_view name, int port) {
  return fmt::format("placed by name hash: FNV-1a('{}') mod 26671 free-policy ports of "
                     "1024-49151 (minus ephemeral 32768-60999, minus IANA-assigned) starts at "
                     "{}, 0 taken port(s) skipped", name, port);
}

ServiceRecord Rec(std::string name, Port port, std::int64_t revision) {
  ServiceRecord r;
  r.service.name = std::move(name);
  r.service.port = port;
  r.service.created = r.service.updated = kT;
  r.reason = Reason(r.service.name, port);
  r.revision = revision;
  return r;
}

// The registry of the captured session: assign web; assign db cache --owner "team a" --tag x
// --tag "y z" --description 'say "hi"'; assign a1 a2; group add g ...; family add mssql ...;
// assign mssql.instance1 --group g --proto both --allow-iana.
std::vector<ServiceRecord> Services() {
  std::vector<ServiceRecord> out = {Rec("a1", 27586, 4), Rec("a2", 27520, 5),
                                    Rec("cache", 16947, 3), Rec("db", 30455, 2),
                                    Rec("mssql.instance1", 1433, 9), Rec("web", 8917, 1)};
  for (int i : {2, 3}) {
    out[i].service.owner = "team a";
    out[i].service.tags = {"x", "y z"};
    out[i].service.description = "say \"hi\"";
  }
  Service& m = out[4].service;
  m.proto = ServiceProto::kBoth, m.group = "g", m.family = "mssql";
  out[4].reason = "family 'mssql': first free port of its block 1433-1442";
  return out;
}

std::vector<Group> Groups() {
  Group e;
  e.name = "e";
  Group g;
  g.name = "g";
  g.description = "grp";
  g.hosts = {"h1", "h2"};
  g.ephemeral = *PortSet::Parse("49152-65535");
  g.reserved = *PortSet::Parse("5000,6000-6010");
  return {e, g};
}

std::vector<Family> Families() { return {{"mssql", "", 1433, 10, *PortSet::Parse("1434")}}; }

// Records whose free text has every kind of character JSON escaping must get right.
std::vector<ServiceRecord> TrickyRecords() {
  ServiceRecord r = Rec("odd", 4000, 7);
  r.service.owner = "say \"hi\" C:\\dir\\";
  r.service.description = "tab\there\nnl\rcr\bbs\fff\x01\x1f del\x7f";
  r.service.tags = {"caf\xc3\xa9", "\xe2\x82\xac\xf0\x9f\x98\x80", "\xe2\x80\xa8", ""};
  r.service.sources = {"10.0.0.0/8", "::1/128"};
  r.service.family = "f/am";
  r.reason = "</script>\\u0041";
  return {r};
}

// cli's ServiceJson.
json CliServiceJson(const ServiceRecord& r) {
  const Service& s = r.service;
  return json{{"name", s.name},         {"port", s.port},
              {"proto", ServiceProtoName(s.proto)}, {"group", s.group},
              {"family", s.family},     {"owner", s.owner},
              {"description", s.description}, {"tags", s.tags},
              {"sources", s.sources},   {"reason", r.reason}, {"size", s.size},
              {"created", registry::FormatUtc(s.created)},
              {"updated", registry::FormatUtc(s.updated)},
              {"revision", r.revision}};
}

// berth.registry/2: a port set is an array of [low, high] ranges.
json Ranges(const PortSet& set) {
  json out = json::array();
  for (PortRange r : set.ranges()) out.push_back(json::array({r.low, r.high}));
  return out;
}

json CliGroupJson(const Group& g) {
  return {{"name", g.name}, {"description", g.description}, {"hosts", g.hosts},
          {"ephemeral", Ranges(g.ephemeral)}, {"reserved", Ranges(g.reserved)},
          {"range", Ranges(PortSet{{g.range.low, g.range.high}})},
          {"allow", Ranges(g.allow)}};
}

json CliFamilyJson(const Family& f) {
  return {{"name", f.name}, {"description", f.description}, {"base", f.base},
          {"size", f.size}, {"skip", Ranges(f.skip)}};
}

json CliObservationJson(const Observation& o) {
  return {{"host", o.host}, {"proto", ProtocolName(o.proto)}, {"port", o.port},
          {"pid", o.pid}, {"command", o.command},
          {"first_seen", registry::FormatUtc(o.first_seen)},
          {"last_seen", registry::FormatUtc(o.last_seen)}};
}

std::vector<std::vector<ServiceRecord>> Cases() { return {Services(), TrickyRecords(), {}}; }

TEST(RegistryRender, ListText) {
  EXPECT_EQ(Collect([](const Sink& s) { RenderServiceList(Services(), 9, RenderForm::kText, s); }),
            "NAME              PORT  PROTO  GROUP         FAMILY        OWNER\n"
            "a1               27586  tcp    default       -             -\n"
            "a2               27520  tcp    default       -             -\n"
            "cache            16947  tcp    default       -             team a\n"
            "db               30455  tcp    default       -             team a\n"
            "mssql.instance1   1433  both   g             mssql         -\n"
            "web               8917  tcp    default       -             -\n");
  EXPECT_EQ(Collect([](const Sink& s) { RenderServiceList({}, 0, RenderForm::kText, s); }),
            "no services registered (or none matches the filters)\n");
  // A group longer than its 12 columns overflows on its own row, as fmt's {:<12} did.
  std::vector<ServiceRecord> rows = {Rec("x", 80, 1), Rec("web", 8917, 2)};
  rows[0].service.group = "production-east";
  rows[0].service.owner = "o\x1b]0;t\x07";
  EXPECT_EQ(Collect([&](const Sink& s) { RenderServiceList(rows, 2, RenderForm::kText, s); }),
            "NAME   PORT  PROTO  GROUP         FAMILY        OWNER\n"
            "x        80  tcp    production-east  -             o\\x1b]0;t\\x07\n"
            "web    8917  tcp    default       -             -\n");
}

TEST(RegistryRender, ListJsonIsCliDump2) {
  for (const auto& rows : Cases()) {
    json arr = json::array();
    for (const auto& r : rows) arr.push_back(CliServiceJson(r));
    const std::string want =
        json{{"schema", "berth.registry/2"}, {"revision", 9}, {"services", arr}}.dump(2) + "\n";
    EXPECT_EQ(Collect([&](const Sink& s) { RenderServiceList(rows, 9, RenderForm::kJson, s); }), want);
  }
  EXPECT_EQ(Collect([](const Sink& s) { RenderServiceList({}, 0, RenderForm::kJson, s); }),
            "{\n  \"revision\": 0,\n  \"schema\": \"berth.registry/2\",\n  \"services\": []\n}\n");
}

std::vector<Observation> Seen() {
  return {{"box1", "db", Protocol::kTcp, 30460, 812, "postgres", kT - 60, kT},
          {"box2", "db", Protocol::kUdp, 30455, 9, "", kT - 600, kT - 300}};
}

TEST(RegistryRender, ShowText) {
  const auto services = Services();
  EXPECT_EQ(Collect([&](const Sink& s) { RenderServiceShow(services[5], {}, RenderForm::kText, s); }),
            "web\n"
            "  port        8917/tcp\n"
            "  group       default\n"
            "  why         " + Reason("web", 8917) + "\n"
            "  registered  2026-12-02T12:37:35Z (updated 2026-12-02T12:37:35Z)\n"
            "  last seen   never seen listening (run 'berth scan' on its host)\n");
  EXPECT_EQ(Collect([&](const Sink& s) { RenderServiceShow(services[3], {}, RenderForm::kText, s); }),
            "db\n"
            "  port        30455/tcp\n"
            "  group       default\n"
            "  owner       team a\n"
            "  description say \"hi\"\n"
            "  tags        x, y z\n"
            "  why         " + Reason("db", 30455) + "\n"
            "  registered  2026-12-02T12:37:35Z (updated 2026-12-02T12:37:35Z)\n"
            "  last seen   never seen listening (run 'berth scan' on its host)\n");
  EXPECT_EQ(Collect([&](const Sink& s) { RenderServiceShow(services[4], {}, RenderForm::kText, s); }),
            "mssql.instance1\n"
            "  port        1433/both\n"
            "  group       g\n"
            "  family      mssql\n"
            "  why         family 'mssql': first free port of its block 1433-1442\n"
            "  registered  2026-12-02T12:37:35Z (updated 2026-12-02T12:37:35Z)\n"
            "  last seen   never seen listening (run 'berth scan' on its host)\n");
  const auto seen = Seen();
  const std::string drifted =
      Collect([&](const Sink& s) { RenderServiceShow(services[3], seen, RenderForm::kText, s); });
  EXPECT_NE(drifted.find("  last seen   2026-12-02T12:37:35Z on box1:30460/tcp by postgres "
                         "(pid 812)  DRIFTED: not its registered port\n"), std::string::npos);
  const std::vector<Observation> unknown = {seen[1]};
  const std::string here =
      Collect([&](const Sink& s) { RenderServiceShow(services[3], unknown, RenderForm::kText, s); });
  EXPECT_NE(here.find("  last seen   2026-12-02T12:32:35Z on box2:30455/udp by ? (pid 9)\n"),
            std::string::npos);
}

TEST(RegistryRender, ShowJsonIsCliDump2) {
  const auto seen = Seen();
  for (const auto& rows : Cases()) {
    for (const auto& r : rows) {
      for (std::span<const Observation> obs_in : {std::span<const Observation>(), std::span(seen)}) {
        json j = CliServiceJson(r);
        json obs = json::array();
        for (const auto& o : obs_in) obs.push_back(CliObservationJson(o));
        j["last_seen"] = obs.empty() ? json(nullptr) : obs[0];
        j["observations"] = obs;
        j["schema"] = "berth.registry/2";
        EXPECT_EQ(Collect([&](const Sink& s) { RenderServiceShow(r, obs_in, RenderForm::kJson, s); }),
                  j.dump(2) + "\n");
      }
    }
  }
}

TEST(RegistryRender, GroupsAndFamiliesText) {
  EXPECT_EQ(Collect([](const Sink& s) { RenderGroupList(Groups(), RenderForm::kText, s); }),
            "NAME  RANGE       HOSTS  EPHEMERAL    RESERVED        ALLOW\n"
            "e     1024-49151  -      -            -               -\n"
            "g     1024-49151  h1,h2  49152-65535  5000,6000-6010  -\n");
  EXPECT_EQ(Collect([](const Sink& s) { RenderGroupList({}, RenderForm::kText, s); }),
            "no groups recorded: the default group is this host with its live ranges\n");
  EXPECT_EQ(Collect([](const Sink& s) { RenderFamilyList(Families(), RenderForm::kText, s); }),
            "NAME   BASE  SIZE  BLOCK      SKIP\n"
            "mssql  1433  10    1433-1442  1434\n");
  EXPECT_EQ(Collect([](const Sink& s) { RenderFamilyList({}, RenderForm::kText, s); }),
            "no families\n");
  EXPECT_EQ(Collect([](const Sink& s) { RenderGroupAdded(Groups()[1], RenderForm::kText, s); }),
            "group g: range 1024-49151, ephemeral 49152-65535, reserved 5000,6000-6010\n");
  EXPECT_EQ(Collect([](const Sink& s) { RenderGroupAdded(Groups()[0], RenderForm::kText, s); }),
            "group e: range 1024-49151, ephemeral -, reserved -\n");
  EXPECT_EQ(Collect([](const Sink& s) { RenderFamilyAdded(Families()[0], RenderForm::kText, s); }),
            "family mssql: block 1433-1442\n");
  EXPECT_EQ(Collect([](const Sink& s) { RenderFamilyAdded({"big", "", 65000, 65535, {}}, RenderForm::kText, s); }),
            "family big: block 65000-65535\n");
}

std::vector<Group> TrickyGroups() {
  auto out = Groups();
  out[0].description = "q\"\\\n\x01\x7f\xc3\xa9";
  out[0].hosts = {"h\"1", ""};
  out[0].allow = *PortSet::Parse("22");
  return out;
}

std::vector<Family> TrickyFamilies() {
  auto out = Families();
  out.push_back({"x", "tab\t\"", 1, 65535, {}});
  return out;
}

TEST(RegistryRender, GroupsFamiliesAndExportJsonAreCliDump2) {
  for (const auto& groups : {Groups(), TrickyGroups(), std::vector<Group>{}}) {
    json arr = json::array();
    for (const auto& g : groups) arr.push_back(CliGroupJson(g));
    EXPECT_EQ(Collect([&](const Sink& s) { RenderGroupList(groups, RenderForm::kJson, s); }),
              (json{{"groups", arr}, {"schema", "berth.registry/2"}}.dump(2) + "\n"));
  }
  for (const auto& families : {Families(), TrickyFamilies(), std::vector<Family>{}}) {
    json arr = json::array();
    for (const auto& f : families) arr.push_back(CliFamilyJson(f));
    EXPECT_EQ(Collect([&](const Sink& s) { RenderFamilyList(families, RenderForm::kJson, s); }),
              (json{{"families", arr}, {"schema", "berth.registry/2"}}.dump(2) + "\n"));
  }
  for (const auto& rows : Cases()) {
    registry::RegistryDoc doc;
    doc.groups = rows.empty() ? std::vector<Group>{} : TrickyGroups();
    doc.families = rows.empty() ? std::vector<Family>{} : TrickyFamilies();
    for (const auto& r : rows) doc.services.push_back(r.service);
    // cli's DocJson.
    json groups = json::array(), families = json::array(), services = json::array();
    for (const auto& g : doc.groups) groups.push_back(CliGroupJson(g));
    for (const auto& f : doc.families) families.push_back(CliFamilyJson(f));
    for (const auto& s : doc.services) services.push_back(CliServiceJson(ServiceRecord{s, "", 0}));
    const json want{{"schema", "berth.registry/2"}, {"groups", groups}, {"families", families},
                    {"services", services}};
    EXPECT_EQ(Collect([&](const Sink& s) { RenderRegistryJson(doc, s); }), want.dump(2) + "\n");
  }
}

TEST(RegistryRender, AssignText) {
  const auto services = Services();
  const std::vector<Assignment> one = {{services[5], true}};
  EXPECT_EQ(Collect([&](const Sink& s) { RenderAssignments(one, 1, RenderForm::kText, s); }), "8917\n");
  const std::vector<Assignment> two = {{services[3], true}, {services[2], false}};
  EXPECT_EQ(Collect([&](const Sink& s) { RenderAssignments(two, 2, RenderForm::kText, s); }),
            "db 30455\ncache 16947\n");
  // Several names asked, the second failed: the first still prints as a "name port" line.
  EXPECT_EQ(Collect([&](const Sink& s) { RenderAssignments({two.data(), 1}, 2, RenderForm::kText, s); }),
            "db 30455\n");
  EXPECT_EQ(Collect([&](const Sink& s) { RenderAssignExplanation(two[1], s); }),
            "cache 16947/tcp: already registered (" + Reason("cache", 16947) + ")\n");
  EXPECT_EQ(Collect([&](const Sink& s) { RenderAssignExplanation(one[0], s); }),
            "web 8917/tcp: assigned (" + Reason("web", 8917) + ")\n");
  const std::vector<ServiceRecord> released = {services[0], services[4]};
  EXPECT_EQ(Collect([&](const Sink& s) { RenderReleased(released, RenderForm::kText, s); }),
            "released a1 (27586/tcp)\nreleased mssql.instance1 (1433/both)\n");
  json want = json::array();
  for (const auto& r : released) want.push_back(CliServiceJson(r));
  EXPECT_EQ(Collect([&](const Sink& s) { RenderReleased(released, RenderForm::kJson, s); }),
            json({{"released", want}, {"schema", "berth.registry/2"}}).dump(2) + "\n");
}

TEST(RegistryRender, AssignJsonIsCliDump2) {
  for (const auto& rows : Cases()) {
    std::vector<Assignment> assigned;
    json out = json::array();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      assigned.push_back({rows[i], i % 2 == 0});
      json j = CliServiceJson(rows[i]);
      j["created_now"] = i % 2 == 0;
      out.push_back(j);
    }
    // Several names: {"schema", "services": [...]}; one: the service object with its schema.
    EXPECT_EQ(Collect([&](const Sink& s) { RenderAssignments(assigned, assigned.size() + 1, RenderForm::kJson, s); }),
              json({{"schema", "berth.registry/2"}, {"services", out}}).dump(2) + "\n");
    if (!assigned.empty()) {
      json single = out[0];
      single["schema"] = "berth.registry/2";
      EXPECT_EQ(Collect([&](const Sink& s) { RenderAssignments({assigned.data(), 1}, 1, RenderForm::kJson, s); }),
                single.dump(2) + "\n");
    }
  }
  // Captured from `berth assign web --json` (already registered).
  const std::vector<Assignment> web = {{Services()[5], false}};
  EXPECT_EQ(Collect([&](const Sink& s) { RenderAssignments(web, 1, RenderForm::kJson, s); }),
            "{\n"
            "  \"created\": \"2026-12-02T12:37:35Z\",\n"
            "  \"created_now\": false,\n"
            "  \"description\": \"\",\n"
            "  \"family\": \"\",\n"
            "  \"group\": \"default\",\n"
            "  \"name\": \"web\",\n"
            "  \"owner\": \"\",\n"
            "  \"port\": 8917,\n"
            "  \"proto\": \"tcp\",\n"
            "  \"reason\": \"" + Reason("web", 8917) + "\",\n"
            "  \"revision\": 1,\n"
            "  \"schema\": \"berth.registry/2\",\n"
            "  \"size\": 1,\n"
            "  \"sources\": [],\n"
            "  \"tags\": [],\n"
            "  \"updated\": \"2026-12-02T12:37:35Z\"\n"
            "}\n");
}

TEST(RegistryRender, TextEscapesControlBytes) {
  ServiceRecord r = TrickyRecords()[0];
  r.service.name = "n\x1b[2J";
  const std::string show =
      Collect([&](const Sink& s) { RenderServiceShow(r, {}, RenderForm::kText, s); });
  EXPECT_EQ(show.find('\x1b'), std::string::npos);
  EXPECT_NE(show.find("n\\x1b[2J\n"), std::string::npos);
  EXPECT_NE(show.find("  description tab\\x09here\\x0anl\\x0dcr\\x08bs\\x0cff\\x01\\x1f del\\x7f\n"),
            std::string::npos);
}

}  // namespace
}  // namespace berth
