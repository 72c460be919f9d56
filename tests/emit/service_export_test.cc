// Exports (k8s, compose, consul, prometheus, services): structure checked by parsing the
// output back with real parsers (nlohmann::json, PyYAML, kubectl kustomize when present),
// and the hostile corpus carried as data: every free-text value comes back exactly.
#include "emit/service_export.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "emit/firewall_quote.h"
#include "emit/hostile_corpus.h"
#include "emit/render_util.h"
#include "support/test_support.h"

namespace berth {
namespace {

using nlohmann::json;

std::string Export(std::string_view format, const std::vector<Service>& s, ExportOptions o = {}) {
  std::string out;
  auto r = RenderServiceExport(format, s, o, [&out](std::string_view t) { out += t; });
  EXPECT_TRUE(r) << format << ": " << (r ? "" : r.error().message);
  return out;
}

using test::LbService;
using test::LoadYaml;
using test::Utf8Clean;

std::string TagsJson(const Service& s) {
  json arr = json::array();
  for (const std::string& t : s.tags) arr.push_back(Utf8Clean(t));
  return arr.dump();
}

TEST(ServiceExport, UnknownFormatAndEmptySelection) {
  std::vector<Service> s{LbService("a", 1, ServiceProto::kTcp)};
  auto sink = [](std::string_view) {};
  EXPECT_EQ(RenderServiceExport("toml", s, {}, sink).error().code, ErrorCode::kInvalidArgument);
  ExportOptions o;
  o.group = "nope";
  EXPECT_EQ(RenderServiceExport("k8s", s, o, sink).error().code, ErrorCode::kNotFound);
}

TEST(ServiceExport, DnsLabelNames) {
  EXPECT_EQ(*DnsLabelName("mssql.instance1"), "mssql-instance1");
  EXPECT_FALSE(DnsLabelName("1abc"));
  EXPECT_FALSE(DnsLabelName(std::string(64, 'a')));
  std::vector<Service> s{LbService("a-b.c", 1, ServiceProto::kTcp), LbService("a.b-c", 2, ServiceProto::kTcp)};
  auto r = RenderServiceExport("k8s", s, {}, [](std::string_view) {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("a-b-c"), std::string::npos);
}

TEST(ServiceExport, KubernetesStructure) {
  std::vector<Service> s{LbService("mssql.instance1", 1433, ServiceProto::kTcp),
                         LbService("dns", 53, ServiceProto::kBoth)};
  ExportOptions o;
  o.k8s_namespace = "data";
  json docs = LoadYaml(Export("k8s", s, o));
  ASSERT_EQ(docs.size(), 2u);
  const json& dns = docs[0];
  EXPECT_EQ(dns["apiVersion"], "v1");
  EXPECT_EQ(dns["kind"], "Service");
  EXPECT_EQ(dns["metadata"]["name"], "dns");
  EXPECT_EQ(dns["metadata"]["namespace"], "data");
  ASSERT_EQ(dns["spec"]["ports"].size(), 2u);
  EXPECT_EQ(dns["spec"]["ports"][0], (json{{"name", "tcp-53"}, {"protocol", "TCP"}, {"port", 53},
                                           {"targetPort", 53}}));
  EXPECT_EQ(dns["spec"]["ports"][1]["protocol"], "UDP");
  EXPECT_EQ(docs[1]["metadata"]["name"], "mssql-instance1");
  EXPECT_EQ(docs[1]["metadata"]["annotations"]["berth.dev/name"], "mssql.instance1");
  EXPECT_EQ(docs[1]["spec"]["selector"]["app.kubernetes.io/name"], "mssql-instance1");
  o.k8s_namespace = "Bad Name";
  EXPECT_FALSE(RenderServiceExport("k8s", s, o, [](std::string_view) {}));
}

TEST(ServiceExport, ComposeStructure) {
  std::vector<Service> s{LbService("web", 8080, ServiceProto::kTcp), LbService("dns", 53, ServiceProto::kBoth)};
  json doc = LoadYaml(Export("compose", s))[0];
  EXPECT_EQ(doc["services"]["web"]["ports"], (json{"8080:8080/tcp"}));
  EXPECT_EQ(doc["services"]["dns"]["ports"], (json{"53:53/tcp", "53:53/udp"}));
}

TEST(ServiceExport, ConsulAndPrometheusStructure) {
  std::vector<Service> s{LbService("mssql.instance1", 1433, ServiceProto::kTcp, "db"),
                         LbService("syslog", 514, ServiceProto::kUdp, "db")};
  s[0].tags = {"prod", "metrics"};
  s.push_back(LbService("web", 8080, ServiceProto::kTcp, "db"));  // TCP, but not tagged metrics
  json consul = json::parse(Export("consul", s));
  ASSERT_EQ(consul["services"].size(), 3u);
  EXPECT_EQ(consul["services"][0]["name"], "mssql-instance1");
  EXPECT_EQ(consul["services"][0]["id"], "berth-mssql-instance1");
  EXPECT_EQ(consul["services"][0]["port"], 1433);
  EXPECT_EQ(consul["services"][0]["tags"], (json{"prod", "metrics"}));
  EXPECT_EQ(consul["services"][0]["meta"]["berth_name"], "mssql.instance1");
  ExportOptions o;
  o.host = "2001:db8::5";
  json prom = json::parse(Export("prometheus", s, o));
  ASSERT_EQ(prom.size(), 1u);  // only TCP services tagged metrics are scrape targets
  EXPECT_EQ(prom[0]["targets"], (json{"[2001:db8::5]:1433"}));
  EXPECT_EQ(prom[0]["labels"]["berth_service"], "mssql.instance1");
  // A host is a name or an address; host:port used to become "[db1.example:9]:1433".
  for (const char* bad : {"a b", "db1.example:9", "10.0.0.5:9100", "[2001:db8::5]"}) {
    o.host = bad;
    auto r = RenderServiceExport("prometheus", s, o, [](std::string_view) {});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  // Nothing tagged metrics: not an empty target list but an error that says what to tag.
  o.host = "db1.example";
  s[0].tags = {"prod"};
  auto none = RenderServiceExport("prometheus", s, o, [](std::string_view) {});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(none.error().hints, (std::vector<Hint>{{Remedy::kTagMetrics}}));
}

TEST(ServiceExport, EtcServicesLines) {
  std::vector<Service> s{LbService("dns", 53, ServiceProto::kBoth)};
  s[0].description = "resolver";
  std::istringstream in(Export("services", s));
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) {
    if (!l.starts_with("#")) lines.push_back(l);
  }
  ASSERT_EQ(lines.size(), 2u);
  std::istringstream f(lines[1]);
  std::string name, port, hash, note;
  f >> name >> port >> hash >> note;
  EXPECT_EQ(name, "dns");
  EXPECT_EQ(port, "53/udp");
  EXPECT_EQ(hash, "#");
  EXPECT_EQ(note, "resolver");
}

// A range claim in each export: a port per entry where the format names ports one by one
// (Kubernetes), the range where it has one (Compose), the first port and the block noted
// where it holds one port (Consul, services(5)).
TEST(ServiceExport, ARangeClaimInEveryExport) {
  std::vector<Service> s{LbService("rpc.dynamic", 5000, ServiceProto::kTcp)};
  s[0].size = 4;
  json k8s = LoadYaml(Export("k8s", s))[0];
  ASSERT_EQ(k8s["spec"]["ports"].size(), 4u);
  EXPECT_EQ(k8s["spec"]["ports"][0]["name"], "tcp-5000");
  EXPECT_EQ(k8s["spec"]["ports"][3]["port"], 5003);
  json compose = LoadYaml(Export("compose", s))[0];
  EXPECT_EQ(compose["services"]["rpc.dynamic"]["ports"], (json{"5000-5003:5000-5003/tcp"}));
  json consul = json::parse(Export("consul", s));
  EXPECT_EQ(consul["services"][0]["port"], 5000);
  EXPECT_EQ(consul["services"][0]["meta"]["berth_ports"], "5000-5003");
  const std::string etc = Export("services", s);
  EXPECT_NE(etc.find("5000/tcp"), std::string::npos) << etc;
  EXPECT_NE(etc.find("# ports 5000-5003"), std::string::npos) << etc;
}

class ExportHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    corpus_ = test::HostileCorpus("/nonexistent/berth-pwned");
    services_ = test::HostileServices(corpus_);
  }
  std::vector<std::string> corpus_;
  std::vector<Service> services_;
};

TEST_F(ExportHostile, KubernetesAnnotationsComeBackExactly) {
  const std::string yaml = Export("k8s", services_);
  json docs = LoadYaml(yaml);
  ASSERT_EQ(docs.size(), services_.size());
  for (std::size_t i = 0; i < services_.size(); ++i) {
    const Service& s = services_[i];  // sorted by name already: svc0.., svc1..
    const json& a = docs[i]["metadata"]["annotations"];
    // Control characters and invalid bytes arrive as \xNN text (CommentText), the rest exactly.
    EXPECT_EQ(a["berth.dev/description"], CommentText(s.description)) << s.name;
    EXPECT_EQ(a["berth.dev/owner"], CommentText(s.owner)) << s.name;
    EXPECT_EQ(a["berth.dev/tags"], CommentText(TagsJson(s))) << s.name;
    EXPECT_EQ(docs[i]["metadata"].size(), 3u);  // name, labels, annotations: nothing injected
    EXPECT_EQ(docs[i]["spec"].size(), 2u);
  }
  // kubectl's own YAML reader (kustomize runs offline) must accept and keep it too.
  if (std::system("command -v kubectl >/dev/null 2>&1") != 0) BERTH_MISSING_PEER("no kubectl");
  char tmpl[] = "/tmp/berth-k8s-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  std::ofstream(dir + "/services.yaml") << yaml;
  std::ofstream(dir + "/kustomization.yaml") << "resources:\n- services.yaml\n";
  auto r = test::Run({"kubectl", "kustomize", dir});
  (void)test::Run({"rm", "-rf", dir});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json again = LoadYaml(r.out);
  ASSERT_EQ(again.size(), docs.size());
  for (std::size_t i = 0; i < docs.size(); ++i) {
    EXPECT_EQ(again[i]["metadata"]["annotations"], docs[i]["metadata"]["annotations"]);
  }
}

TEST_F(ExportHostile, ComposeLabelsAreLiteralAfterInterpolation) {
  json doc = LoadYaml(Export("compose", services_))[0];
  ASSERT_EQ(doc["services"].size(), services_.size());
  for (const Service& s : services_) {
    const json& svc = doc["services"][s.name];
    ASSERT_EQ(svc.size(), 2u) << s.name;  // ports, labels
    // Compose turns $$ back into $: undo that and the text is the original.
    std::string d = svc["labels"]["dev.berth.description"].get<std::string>();
    std::string undone;
    for (std::size_t i = 0; i < d.size(); ++i) {
      undone += d[i];
      if (d[i] == '$') {
        ASSERT_TRUE(i + 1 < d.size() && d[i + 1] == '$') << "a bare $ would interpolate: " << d;
        ++i;
      }
    }
    EXPECT_EQ(undone, CommentText(s.description));
  }
}

TEST_F(ExportHostile, ConsulAndPrometheusJsonCarryTheTextExactly) {
  json consul = json::parse(Export("consul", services_));
  ASSERT_EQ(consul["services"].size(), services_.size());
  for (std::size_t i = 0; i < services_.size(); ++i) {
    const Service& s = services_[i];
    const json& c = consul["services"][i];
    std::vector<std::string> tags;
    for (const std::string& t : s.tags) tags.push_back(Utf8Clean(t));
    EXPECT_EQ(c["tags"], json(tags));
    const std::string d = c["meta"]["description"].get<std::string>();
    EXPECT_LE(d.size(), 512u + 2u);  // 512 bytes; U+FFFD may widen an invalid byte
    EXPECT_TRUE(Utf8Clean(s.description).starts_with(d.substr(0, std::min<std::size_t>(d.size(), 400))));
  }
  std::vector<Service> scraped = services_;
  for (Service& s : scraped) s.tags.push_back("metrics");
  json prom = json::parse(Export("prometheus", scraped));
  for (const json& t : prom) {
    EXPECT_EQ(t.size(), 2u);
    EXPECT_TRUE(t["labels"].contains("berth_owner"));
  }
}

TEST_F(ExportHostile, EtcServicesKeepsTwoFieldsAndAComment) {
  std::istringstream in(Export("services", services_));
  int lines = 0;
  for (std::string l; std::getline(in, l);) {
    if (l.starts_with("#")) continue;
    ++lines;
    const std::size_t hash = l.find('#');
    ASSERT_NE(hash, std::string::npos) << l;
    std::istringstream f(l.substr(0, hash));
    std::vector<std::string> fields;
    for (std::string w; f >> w;) fields.push_back(w);
    EXPECT_EQ(fields.size(), 2u) << l;
    EXPECT_EQ(l.find('\0'), std::string::npos);
  }
  int expected = 0;
  for (const Service& s : services_) expected += s.proto == ServiceProto::kBoth ? 2 : 1;
  EXPECT_EQ(lines, expected);
}

}  // namespace
}  // namespace berth
