// Load-balancer exports (haproxy, nginx): the structure asserted line by line, every address
// validated before it is written, the hostile corpus kept to comments; and each output loaded
// by the real program (haproxy -c, nginx -t), the hostile one included.
#include "emit/export_lb.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "emit/hostile_corpus.h"
#include "emit/render_util.h"
#include "support/test_support.h"

namespace berth {
namespace {

using ::testing::HasSubstr;
using test::LbService;
using ::testing::Not;

Result<std::string> Render(std::string_view format, const std::vector<Service>& services,
                           const LbOptions& o) {
  std::string out;
  const Sink sink = [&out](std::string_view t) { out += t; };
  BERTH_TRY(format == "haproxy" ? RenderHaproxyExport(services, o, sink)
                                : RenderNginxExport(services, o, sink));
  return out;
}

// The program's check of `config` (haproxy -c -f, or nginx -t with the export included at
// the top level of a main file that loads Debian's modules, as nginx.conf does).
test::CommandResult Check(std::string_view format, const std::string& config) {
  char dir[] = "/tmp/berth-lb-XXXXXX";
  if (::mkdtemp(dir) == nullptr) return {};
  const std::string base = dir;
  std::ofstream(base + "/export.conf") << config;
  test::CommandResult r;
  if (format == "haproxy") {
    r = test::Run({"haproxy", "-c", "-f", base + "/export.conf"});
  } else {
    std::ofstream(base + "/main.conf") << "include /etc/nginx/modules-enabled/*.conf;\n"
                                       << "events {}\ninclude " << base << "/export.conf;\n";
    // Debian's modules-enabled names its modules relative to nginx's own prefix: no -p.
    r = test::Run({"nginx", "-t", "-q", "-e", "stderr", "-c", base + "/main.conf"});
  }
  std::filesystem::remove_all(base);
  return r;
}

bool Have(const char* program) {
  return test::Run({"sh", "-c", std::string("command -v ") + program}).exit_code == 0;
}

TEST(LbBackend, HostsAndPortsAreValidated) {
  EXPECT_EQ(ParseLbBackend("10.0.0.1", 5432), (LbBackend{"10.0.0.1", 5432}));
  EXPECT_EQ(ParseLbBackend("db-1.example.com:6432", 5432), (LbBackend{"db-1.example.com", 6432}));
  EXPECT_EQ(ParseLbBackend("[2001:db8::1]:80", 1), (LbBackend{"2001:db8::1", 80}));
  EXPECT_EQ(ParseLbBackend("[::1]", 7), (LbBackend{"::1", 7}));
  for (const char* bad : {"", "a b", "host;x", "h:0", "h:65536", "h:", "h:8x", "2001:db8::1",
                          "[::1", "[x]:1", "[::1]80", "-h", "h..x", "h/x", "h\nserver evil"}) {
    auto r = ParseLbBackend(bad, 1);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
      EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
    }
  }
}

TEST(LbExport, HaproxyListensOnTheRegisteredPortsWithCheckedServers) {
  LbOptions o;
  o.backends = {"api=10.0.0.1", "api=[2001:db8::2]:9000"};
  o.group_hosts["web"] = {"web1.example.com", "web2.example.com"};
  auto out = Render("haproxy", {LbService("api", 18234), LbService("dns", 5353, ServiceProto::kUdp),
                                LbService("site", 8080, ServiceProto::kBoth, "web")}, o);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_THAT(*out, HasSubstr("\ndefaults\n    mode tcp\n"));
  EXPECT_THAT(*out, HasSubstr("\nlisten api\n    # group default\n    bind :18234\n"
                              "    server api-1 10.0.0.1:18234 check\n"
                              "    server api-2 [2001:db8::2]:9000 check\n"));
  EXPECT_THAT(*out, HasSubstr("\n# dns (5353/udp, group default): UDP, which HAProxy does not proxy\n"));
  EXPECT_THAT(*out, HasSubstr("\nlisten site\n    # group web; its UDP port is not proxied (HAProxy "
                              "does not)\n    bind :8080\n"
                              "    server site-1 web1.example.com:8080 check\n"
                              "    server site-2 web2.example.com:8080 check\n"));
  o.bind = "::1";
  auto bound = Render("haproxy", {LbService("api", 18234)}, o);
  ASSERT_TRUE(bound);
  EXPECT_THAT(*bound, HasSubstr("    bind [::1]:18234\n"));
}

TEST(LbExport, NginxStreamWithUpstreamsAndUdp) {
  LbOptions o;
  o.backends = {"dns=192.0.2.53", "api=10.0.0.1"};
  o.bind = "127.0.0.1";
  auto out = Render("nginx", {LbService("api", 18234), LbService("dns", 5353, ServiceProto::kBoth)}, o);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_THAT(*out, HasSubstr("\nstream {\n    # api: group default\n    upstream api {\n"
                              "        server 10.0.0.1:18234 max_fails=3 fail_timeout=10s;\n    }\n"
                              "    server {\n        listen 127.0.0.1:18234;\n        proxy_pass api;\n"));
  EXPECT_THAT(*out, HasSubstr("        listen 127.0.0.1:5353;\n"));
  EXPECT_THAT(*out, HasSubstr("        listen 127.0.0.1:5353 udp;\n"));
  EXPECT_TRUE(out->ends_with("}\n"));
}

TEST(LbExport, WhatCannotBeWrittenIsAnError) {
  const std::vector<Service> services{LbService("api", 18234)};
  LbOptions o;
  auto none = Render("haproxy", services, o);  // no backend, no host in the group
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(none.error().message, HasSubstr("service api has no backend address"));
  EXPECT_EQ(LbServicesWithoutBackend(services, o, LbProgram::kNginx), std::vector<std::string>{"api"});
  // HAProxy does not proxy a UDP service: it needs no backend there, nginx does.
  const std::vector<Service> udp{LbService("dns", 5353, ServiceProto::kUdp)};
  EXPECT_TRUE(LbServicesWithoutBackend(udp, o, LbProgram::kHaproxy).empty());
  EXPECT_TRUE(Render("haproxy", udp, o));
  EXPECT_EQ(LbServicesWithoutBackend(udp, o, LbProgram::kNginx), std::vector<std::string>{"dns"});
  o.backends = {"other=10.0.0.1"};
  EXPECT_EQ(Render("haproxy", services, o).error().code, ErrorCode::kInvalidArgument);
  o.backends = {"api=10.0.0.1"};
  o.bind = "0.0.0.0:80";
  EXPECT_EQ(Render("nginx", services, o).error().code, ErrorCode::kInvalidArgument);
  o.bind = "";
  o.backends = {};
  o.group_hosts["default"] = {"bad host"};
  auto bad_host = Render("haproxy", services, o);
  ASSERT_FALSE(bad_host);
  EXPECT_THAT(bad_host.error().message, HasSubstr("group default's host: backend 'bad host'"));
  o.group = "nosuch";
  EXPECT_EQ(Render("haproxy", services, o).error().code, ErrorCode::kNotFound);
}

// Hostile groups (the only free text written) end up in comments; hostile backends and bind
// addresses are refused. What is written passes the real programs' checks.
TEST(LbExport, HostileTextNeverReachesADirective) {
  const auto corpus = test::HostileCorpus("/nonexistent/berth-pwned");
  std::vector<Service> services;
  LbOptions o;
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    services.push_back(LbService("svc" + std::to_string(i), static_cast<Port>(20000 + i),
                           static_cast<ServiceProto>(i % 3), corpus[i]));
    o.group_hosts[corpus[i]] = {"10.0.0." + std::to_string(i + 1)};
    LbOptions evil;
    evil.backends = {"svc0=" + corpus[i]};
    EXPECT_FALSE(Render("haproxy", services, evil)) << corpus[i];
    evil.backends = {"svc0=10.0.0.1"};
    evil.bind = corpus[i];
    EXPECT_FALSE(Render("nginx", services, evil)) << corpus[i];
  }
  for (const char* format : {"haproxy", "nginx"}) {
    auto out = Render(format, services, o);
    ASSERT_TRUE(out) << out.error().message;
    for (char c : *out) {
      EXPECT_TRUE(c == '\n' || (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f)) << format;
    }
    // Every line is a directive berth writes, or a comment.
    std::istringstream lines(*out);
    for (std::string line; std::getline(lines, line);) {
      const std::string t = line.substr(std::min(line.find_first_not_of(' '), line.size()));
      const bool known = t.empty() || t.starts_with("#") || t.starts_with("listen ") ||
                         t.starts_with("bind ") || t.starts_with("server ") || t.starts_with("mode ") ||
                         t.starts_with("timeout ") || t.starts_with("default-server ") ||
                         t == "defaults" || t == "stream {" || t.starts_with("upstream ") ||
                         t == "server {" || t.starts_with("proxy_") || t == "}";
      EXPECT_TRUE(known) << format << ": " << line;
    }
    if (!Have(format)) {
      BERTH_MISSING_PEER(format << " is not installed (scripts/install-deps test installs it)");
    }
    auto checked = Check(format, *out);
    EXPECT_EQ(checked.exit_code, 0) << format << "\n" << checked.out << checked.err << *out;
  }
}

TEST(LbExport, TheRealProgramsLoadBothExports) {
  LbOptions o;
  // nginx resolves a backend's name when it loads the configuration: a name that resolves.
  o.backends = {"api=10.0.0.1", "api=[2001:db8::2]:9000", "site=localhost"};
  const std::vector<Service> services{LbService("api", 18234), LbService("dns", 5353, ServiceProto::kUdp),
                                      LbService("site", 8080, ServiceProto::kBoth)};
  o.backends.push_back("dns=192.0.2.53");
  for (const char* format : {"haproxy", "nginx"}) {
    for (const char* bind : {"", "127.0.0.1", "::1"}) {
      o.bind = bind;
      auto out = Render(format, services, o);
      ASSERT_TRUE(out) << out.error().message;
      if (!Have(format)) {
        BERTH_MISSING_PEER(format << " is not installed (scripts/install-deps test installs it)");
      }
      auto checked = Check(format, *out);
      EXPECT_EQ(checked.exit_code, 0) << format << " " << bind << "\n" << checked.out << checked.err << *out;
    }
  }
}

// A range claim is reached directly: no front end, a comment instead, and the real programs
// still load what is written.
TEST(LbExport, ARangeClaimGetsNoFrontEnd) {
  LbOptions o;
  o.backends = {"api=10.0.0.1"};
  std::vector<Service> services{LbService("api", 18234), LbService("rpc.dynamic", 5000)};
  services[1].size = 256;
  for (const char* format : {"haproxy", "nginx"}) {
    auto out = Render(format, services, o);
    ASSERT_TRUE(out) << format << ": " << out.error().message;
    EXPECT_NE(out->find("# rpc.dynamic (5000-5255/tcp, group default): a range claim"), std::string::npos)
        << *out;
    EXPECT_EQ(out->find("5000;"), std::string::npos) << *out;
    EXPECT_EQ(out->find(":5000\n"), std::string::npos) << *out;
    if (!Have(format)) {
      BERTH_MISSING_PEER(format << " is not installed (scripts/install-deps test installs it)");
    }
    auto checked = Check(format, *out);
    EXPECT_EQ(checked.exit_code, 0) << format << "\n" << checked.out << checked.err << *out;
  }
}

// HAProxy starts with a backend whose name does not resolve yet (init-addr last,libc,none),
// and its check keeps trying.
TEST(LbExport, HaproxyLoadsABackendNameThatDoesNotResolve) {
  LbOptions o;
  o.backends = {"api=unresolvable.invalid"};
  auto out = Render("haproxy", {LbService("api", 18234)}, o);
  ASSERT_TRUE(out);
  if (!Have("haproxy")) BERTH_MISSING_PEER("haproxy is not installed (scripts/install-deps test installs it)");
  auto checked = Check("haproxy", *out);
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
}

}  // namespace
}  // namespace berth
