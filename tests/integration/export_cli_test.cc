// berth export in every format through the CLI, from a real registry file: each output is
// parsed back by a real parser (nlohmann-json, PyYAML) and must carry the registered ports.
#include <stdlib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace berth::test {
namespace {

using ::testing::HasSubstr;

class ExportCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-export-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    db_ = dir_ + "/registry.db";
    for (const char* name : {"web", "metrics.api"}) {
      std::vector<std::string> args{"assign", name, "--db", db_};
      if (std::string_view(name) == "metrics.api") args.insert(args.end(), {"--tag", "metrics"});
      auto r = RunBerth(args);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      ports_[name] = std::stoi(r.out.substr(r.out.find_first_of("0123456789")));
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  CommandResult Export(const std::string& format) {
    return RunBerth({"export", "--format", format, "--db", db_});
  }
  std::string dir_, db_;
  std::map<std::string, int> ports_;
};

TEST_F(ExportCli, JsonFormatsParseAndCarryThePorts) {
  auto consul = Export("consul");
  ASSERT_EQ(consul.exit_code, 0) << consul.err;
  auto c = nlohmann::json::parse(consul.out);
  std::set<int> ports;
  for (const auto& s : c["services"]) ports.insert(s["port"].get<int>());
  EXPECT_EQ(ports, (std::set<int>{ports_["web"], ports_["metrics.api"]}));

  auto prom = Export("prometheus");
  ASSERT_EQ(prom.exit_code, 0) << prom.err;
  auto p = nlohmann::json::parse(prom.out);
  ASSERT_TRUE(p.is_array());
  ASSERT_EQ(p.size(), 1u) << prom.out;  // only the service tagged metrics
  EXPECT_EQ(p[0]["targets"], nlohmann::json::array({"localhost:" + std::to_string(ports_["metrics.api"])}));
  auto hostport = RunBerth({"export", "--format", "prometheus", "--host", "db1.example:9", "--db", db_});
  EXPECT_EQ(hostport.exit_code, 2);
  EXPECT_THAT(hostport.err, HasSubstr("give the host alone"));
}

TEST_F(ExportCli, YamlFormatsParseWithPyYaml) {
  for (const char* format : {"k8s", "compose"}) {
    auto r = Export(format);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string file = dir_ + "/out.yaml";
    std::ofstream(file) << r.out;
    auto py = test::Run({"python3", "-c",
                   "import sys, yaml; docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d];"
                   "print(len(docs))",
                   file});
    ASSERT_EQ(py.exit_code, 0) << format << ": " << py.err << "\n" << r.out;
    EXPECT_THAT(r.out, HasSubstr(std::to_string(ports_["metrics.api"])));
  }
}

TEST_F(ExportCli, EtcServicesLinesAndErrors) {
  auto r = Export("services");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(std::to_string(ports_["web"]) + "/tcp"));
  EXPECT_EQ(Export("bogus").exit_code, 2);
  auto unreachable = RunBerth({"export", "--db", db_, "--consul-url", "http://127.0.0.1:1"});
  EXPECT_EQ(unreachable.exit_code, 2);
  EXPECT_FALSE(unreachable.err.empty());
  auto toml = RunBerth({"export", "--db", db_, "--group", "nosuch", "--format", "k8s"});
  EXPECT_EQ(toml.exit_code, 2);  // nothing selected
}

}  // namespace
}  // namespace berth::test
