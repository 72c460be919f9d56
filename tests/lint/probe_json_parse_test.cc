// lint --probe's reader of `berth probe --json` files: the instances it keeps, and a clear
// error for what is not such a document.
#include "lint/probe_json_parse.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

namespace berth::lint {
namespace {

std::string ProbeFixture() {
  std::ifstream in(std::string(BERTH_FIXTURES) + "/fuzz/lint_probe_json_fuzz/probe.json");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(ProbeJsonParse, KeepsTheSqlServerInstancesWithATcpPort) {
  auto r = ParseProbeInstances(ProbeFixture(), "probe.json");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);  // not the named-pipe instance (port 0), not the RPC service
  const ProbedInstance& express = (*r)[0];
  EXPECT_EQ(express.target, "sql1");
  EXPECT_EQ(express.address, "192.0.2.10");
  EXPECT_EQ(express.instance, "SQLEXPRESS");
  EXPECT_EQ(express.port, 49731);
  EXPECT_TRUE(express.dynamic);
  EXPECT_EQ(express.registered, std::optional<Port>(21433));
  EXPECT_EQ((*r)[1].instance, "REPORTING");
  EXPECT_FALSE((*r)[1].dynamic);
  EXPECT_EQ((*r)[1].registered, std::nullopt);
}

TEST(ProbeJsonParse, WhatIsNotABerthProbeDocumentIsAClearError) {
  struct Case {
    std::string text, says;
  };
  const Case cases[] = {
      {"", "not valid JSON"},
      {R"({"schema": "berth.scan/2", "hosts": []})", "not a berth probe --json document (schema berth.probe/1)"},
      {R"({"schema": "berth.probe/1", "hosts": {}})", "hosts is not a list"},
      {R"({"schema": "berth.probe/1", "hosts": [{"services": [{"protocol": "mssql", "transport": "tcp",
          "instance": "A", "port": 70000, "dynamic": true}]}]})", "hosts[0].services[0].port is not a port number"},
      {R"({"schema": "berth.probe/1", "hosts": [{"services": [{"protocol": "mssql", "transport": "tcp",
          "instance": "A", "port": 1433, "dynamic": "yes"}]}]})", "hosts[0].services[0].dynamic is not true or false"},
      {R"({"schema": "berth.probe/1", "hosts": [{"target": 7}]})", "hosts[0].target is not a string"},
      {std::string(10000, '[') + std::string(10000, ']'), "nested deeper than"},
  };
  for (const Case& c : cases) {
    auto r = ParseProbeInstances(c.text, "p.json");
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.error().message.find("p.json: "), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace berth::lint
