// berth lint's JSON, XML and Envoy readers and the Kubernetes NodePort range through the real binary
// on tests/fixtures/lint/documents: findings with their positions, a billion-laughs document
// refused while the others are linted, and python3's own json and xml.etree reading the same
// files as an independent oracle (the ports must agree); Debian's manpath.config, a *.config
// that is not XML, read as text.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace berth::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kDocuments = std::string(BERTH_FIXTURES) + "/lint/documents";

TEST(LintDocuments, FindingsInJsonXmlAndKubernetesFilesAndAHostileOneRefused) {
  auto r = RunBerth({"lint", "--no-registry", "--color", "never", kDocuments});
  ASSERT_EQ(r.exit_code, 2) << r.err;  // the billion-laughs file could not be read
  EXPECT_THAT(r.err, HasSubstr("hostile/laughs.config: a document type declaration: refused"));
  for (const char* line :
       {"/app/config.json:3:29: info [conventional-port] 9090/tcp is where Prometheus",
        "/app/config.json:4:30: warning [ephemeral-port] port 45000",
        "/dotnet/web.config:4:34: warning [dynamic-port] port 0",
        "/dotnet/web.config:8:54: warning [port-mapper-client] the named instance REPORTING",
        "/dotnet/web.config:14:58: error [port-collision]",
        "/tomcat/server.xml:4:22: error [port-collision]",
        "/k8s/kube-apiserver.yaml:14:33: warning [node-port-range] the NodePort range "
        "30000-40000 overlaps the Linux ephemeral range 32768-60999 (32768-40000)",
        // Envoy's listener on 9090 collides with config.json's, and is no Prometheus.
        "/envoy/envoy.yaml:20:21: info [conventional-port] 9090/tcp is where Prometheus",
        "/envoy/envoy.yaml:20:21: error [port-collision] metrics 9090/tcp is also declared by"}) {
    EXPECT_THAT(r.out, HasSubstr(line));
  }
  EXPECT_THAT(r.out, HasSubstr("  key  Server.Service.Connector@port\n"));
  // The systemd unit keeps Kubernetes' default range: nothing to say about it.
  EXPECT_THAT(r.out, Not(HasSubstr("kube-apiserver.service")));
  EXPECT_THAT(r.out, Not(HasSubstr("hunter2")));
  EXPECT_THAT(r.out, HasSubstr("berth lint: 6 files, 17 declarations, 4 errors, 4 warnings, 2 info\n"));
}

// python3's json and xml.etree.ElementTree read the JSON and XML fixtures: keys, attributes
// and elements named port, appSettings' <add key="...Port" value="N"/> and IIS bindings;
// the ports by file must be berth's.
TEST(LintDocuments, PortsAgreeWithPythonsJsonAndElementTree) {
  const std::string script = R"(
import json, sys, xml.etree.ElementTree as ET
out = []
def port(v):
    s = str(v)
    return s if s.isdigit() and int(s) <= 65535 else None
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            if k.lower().endswith("port") and not isinstance(x, (dict, list)) and port(x):
                out.append("config.json " + port(x))
            walk(x)
    elif isinstance(v, list):
        for x in v: walk(x)
walk(json.load(open(sys.argv[1])))
for path in sys.argv[2:]:
    name = path.rsplit("/", 1)[1]
    for e in ET.parse(path).iter():
        for a, v in e.attrib.items():
            if a.lower().endswith("port") and port(v): out.append(name + " " + port(v))
        if e.tag == "add" and e.get("key", "").lower().endswith("port") and port(e.get("value")):
            out.append(name + " " + port(e.get("value")))
        if "bindingInformation" in e.attrib:
            out.append(name + " " + e.get("bindingInformation").split(":")[1])
        if e.tag.lower().endswith("port") and e.text and port(e.text.strip()):
            out.append(name + " " + port(e.text.strip()))
print("\n".join(sorted(out)))
)";
  const std::string json = kDocuments + "/app/config.json";
  const std::string web = kDocuments + "/dotnet/web.config";
  const std::string tomcat = kDocuments + "/tomcat/server.xml";
  auto py = test::Run({"python3", "-c", script, json, web, tomcat});
  ASSERT_EQ(py.exit_code, 0) << py.err;
  std::multiset<std::string> python;
  std::istringstream lines(py.out);
  for (std::string line; std::getline(lines, line);) python.insert(line);

  auto r = RunBerth({"lint", "--no-registry", "--json", json, web, tomcat});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  std::multiset<std::string> berth;
  for (const auto& d : j["declarations"]) {
    if (d["mapper"] != "") continue;  // the connection string's client
    const std::string file = d["file"].get<std::string>();
    berth.insert(file.substr(file.rfind('/') + 1) + " " +
                 (d["ports"] == "" ? std::string("0") : d["ports"].get<std::string>()));
  }
  EXPECT_EQ(berth, python);
  EXPECT_EQ(python.size(), 10u);  // 4 JSON, 2 web.config, 4 server.xml
}

// PyYAML reads the Envoy bootstrap on its own: every socket_address's port, listen under
// admin and the listeners, target under the clusters, must be berth's.
TEST(LintDocuments, EnvoyPortsAgreeWithPyYaml) {
  const std::string envoy = kDocuments + "/envoy/envoy.yaml";
  auto py = test::Run({"python3", "-c", R"(
import sys, yaml
out = []
def walk(v, side):
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "socket_address" and "port_value" in x:
                out.append(side + " " + str(x["port_value"]))
            else:
                walk(x, "listen" if k in ("admin", "listeners") else "target" if k == "clusters" else side)
    elif isinstance(v, list):
        for x in v: walk(x, side)
walk(yaml.safe_load(open(sys.argv[1])), "")
print("\n".join(sorted(out)))
)", envoy});
  ASSERT_EQ(py.exit_code, 0) << py.err;
  std::multiset<std::string> python;
  std::istringstream lines(py.out);
  for (std::string line; std::getline(lines, line);) python.insert(line);
  auto r = RunBerth({"lint", "--no-registry", "--json", envoy});
  ASSERT_EQ(r.exit_code, 0) << r.err;  // 9090 alone draws an info finding only
  auto j = nlohmann::json::parse(r.out);
  std::multiset<std::string> berth;
  for (const auto& d : j["declarations"]) {
    EXPECT_EQ(d["format"], "envoy");
    berth.insert(d["kind"].get<std::string>() + " " + d["ports"].get<std::string>());
  }
  EXPECT_EQ(berth, python);
  EXPECT_EQ(python.size(), 4u);  // admin, two listeners, one endpoint
}

// Debian's man-db ships /etc/manpath.config: a *.config that is not XML is read for
// connection strings only, not refused as invalid XML.
TEST(LintDocuments, DebiansManpathConfigIsTextNotInvalidXml) {
  if (!std::filesystem::exists("/etc/manpath.config")) {
    BERTH_MISSING_PEER("/etc/manpath.config is not installed (scripts/install-deps test installs man-db)");
  }
  auto r = RunBerth({"lint", "--no-registry", "/etc/manpath.config"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, HasSubstr("berth lint: 1 file, 0 declarations"));
}

}  // namespace
}  // namespace berth::test
