// RegisterWithConsul against a real HTTP server on 127.0.0.1 (python3's http.server,
// started and killed by the test), which records each request and answers like an agent.
#include "probe/consul_client.h"
#include "emit/service_export.h"

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/test_support.h"

namespace berth {
namespace {

constexpr const char* kAgent = R"py(
import http.server, json, sys
log, port_file = sys.argv[1], sys.argv[2]
class Agent(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0))).decode()
        with open(log, 'a') as f:
            f.write(json.dumps({'path': self.path, 'token': self.headers.get('X-Consul-Token'),
                                'type': self.headers.get('Content-Type'), 'body': body}) + '\n')
        code = 403 if 'deny' in body else 200
        self.send_response(code)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *a): pass
srv = http.server.HTTPServer(('127.0.0.1', 0), Agent)
open(port_file + '.tmp', 'w').write(str(srv.server_address[1]))
import os; os.rename(port_file + '.tmp', port_file)
srv.serve_forever()
)py";

class ConsulRegister : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-consul-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    std::ofstream(dir_ + "/agent.py") << kAgent;
    agent_.emplace(test::Child::Exec(
        {"python3", dir_ + "/agent.py", dir_ + "/requests.log", dir_ + "/port"}));
    for (int i = 0; i < 100 && port_.empty(); ++i) {
      std::ifstream in(dir_ + "/port");
      std::getline(in, port_);
      if (port_.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_FALSE(port_.empty()) << "the test agent did not start";
  }
  void TearDown() override {
    agent_.reset();
    (void)test::Run({"rm", "-rf", dir_});
  }
  std::vector<nlohmann::json> Requests() {
    std::vector<nlohmann::json> out;
    std::ifstream in(dir_ + "/requests.log");
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  std::string Url() const { return "http://127.0.0.1:" + port_; }

  std::string dir_, port_;
  std::optional<test::Child> agent_;
};

std::vector<Service> Two() {
  std::vector<Service> s(2);
  s[0].name = "mssql.instance1", s[0].port = 1433, s[0].tags = {"prod", "it's \"x\""};
  s[0].description = "$(id)\n";
  s[1].name = "dns", s[1].port = 53, s[1].proto = ServiceProto::kBoth;
  return s;
}

TEST_F(ConsulRegister, PutsOneRegistrationPerService) {
  auto regs = ConsulRegistrations(Two(), {});
  ASSERT_TRUE(regs);
  ConsulOptions o;
  o.token = "secret-token";
  auto n = RegisterWithConsul(Url() + "/", *regs, o);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 2u);
  auto reqs = Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0]["path"], "/v1/agent/service/register");
  EXPECT_EQ(reqs[0]["token"], "secret-token");
  EXPECT_EQ(reqs[0]["type"], "application/json");
  auto dns = nlohmann::json::parse(reqs[0]["body"].get<std::string>());
  EXPECT_EQ(dns["ID"], "berth-dns");
  EXPECT_EQ(dns["Name"], "dns");
  EXPECT_EQ(dns["Port"], 53);
  auto sql = nlohmann::json::parse(reqs[1]["body"].get<std::string>());
  EXPECT_EQ(sql["Name"], "mssql-instance1");
  EXPECT_EQ(sql["Tags"], (nlohmann::json{"prod", "it's \"x\""}));
  EXPECT_EQ(sql["Meta"]["description"], "$(id)\n");
  EXPECT_EQ(sql["Meta"]["berth_name"], "mssql.instance1");
}

TEST_F(ConsulRegister, Failures) {
  std::vector<Service> s = Two();
  s[0].description = "deny";
  auto regs = ConsulRegistrations(s, {});
  ASSERT_TRUE(regs);
  auto r = RegisterWithConsul(Url(), *regs);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  for (std::string_view bad : {"127.0.0.1:8500", "http://", "http://h/x?y", "ftp://h",
                               "http://a b"}) {
    EXPECT_EQ(RegisterWithConsul(bad, *regs).error().code, ErrorCode::kInvalidArgument) << bad;
  }
  agent_.reset();  // nobody listens on the port any more
  ConsulOptions o;
  o.timeout_ms = 500;
  r = RegisterWithConsul(Url(), *regs, o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace berth
