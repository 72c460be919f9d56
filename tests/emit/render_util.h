// What a renderer wrote, as one string, and YAML read back by PyYAML: for the emit tests.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/sink.h"
#include "emit/firewall.h"
#include "support/test_support.h"

namespace berth::test {

// A registry service for the exports' tests: a name, a port, a protocol and a group.
inline Service LbService(std::string name, Port port, ServiceProto proto = ServiceProto::kTcp,
                         std::string group = "default") {
  Service s;
  s.name = std::move(name);
  s.port = port;
  s.proto = proto;
  s.group = std::move(group);
  return s;
}

inline std::string Collect(const std::function<void(const Sink&)>& render) {
  std::string out;
  render([&out](std::string_view s) { out += s; });
  return out;
}

// The rules RenderFirewall writes for `services` (a failure to render fails the test).
inline std::string FirewallText(FirewallFormat f, const std::vector<Service>& services,
                                FirewallOptions o = {}) {
  std::string out;
  auto r = RenderFirewall(f, services, o, [&out](std::string_view s) { out += s; });
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return out;
}

// YAML (all documents) -> JSON, by PyYAML's safe loader (python3-yaml). A document PyYAML
// refuses fails the test and gives an empty array.
inline nlohmann::json LoadYaml(const std::string& yaml) {
  auto r = Run({"python3", "-c",
                "import sys,json,yaml\n"
                "docs=[d for d in yaml.safe_load_all(sys.stdin.buffer.read().decode('utf-8'))"
                " if d is not None]\n"
                "sys.stdout.write(json.dumps(docs))\n"},
               yaml);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::array();
}

// Whether python3 can import yaml: a test that needs it says BERTH_MISSING_PEER otherwise.
inline bool HavePyYaml() { return Run({"python3", "-c", "import yaml"}).exit_code == 0; }

// What a string becomes in JSON/YAML: invalid UTF-8 bytes turn into U+FFFD.
inline std::string Utf8Clean(const std::string& s) {
  using nlohmann::json;
  return json::parse(json(s).dump(-1, ' ', false, json::error_handler_t::replace)).get<std::string>();
}

}  // namespace berth::test
