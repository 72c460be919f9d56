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
import http.server, json, sys, time
log, port_file = sys.argv[1], sys.argv[2]
class Agent(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0))).decode()
        with open(log, 'a') as f:
            f.write(json.dumps({'path': self.path, 'token': self.headers.get('X-Consul-Token'),
                                'type': self.headers.get('Content-Type'), 'body': body}) + '\n')
        if 'endless' in body:  # a long body: 8 MiB, sent as fast as the client reads it
            self.send_response(200)
            self.send_header('Content-Length', str(8 << 20))
            self.end_headers()
            for _ in range(8 << 10):
                self.wfile.write(b'x' * 1024)
            return
        if 'drip' in body:  # one body byte every 0.2 s, for 60 s at most
            self.send_response(200)
            self.send_header('Content-Length', '300')
            self.end_headers()
            for _ in range(300):
                self.wfile.write(b'x')
                self.wfile.flush()
                time.sleep(0.2)
            return
        code = 403 if 'deny' in body else 200
        self.send_response(code)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Agent)
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

std::vector<ConsulRegistration> Saying(const std::string& what) {
  std::vector<Service> s(1);
  s[0].name = "web", s[0].port = 8080, s[0].description = what;
  auto regs = ConsulRegistrations(s, {});
  EXPECT_TRUE(regs);
  return regs ? *regs : std::vector<ConsulRegistration>{};
}

// An agent answering with a body far over the cap: the request ends at max_body, with an
// error, instead of reading it all.
TEST_F(ConsulRegister, ReplyBodyIsCapped) {
  auto regs = Saying("endless");
  ASSERT_EQ(regs.size(), 1u);
  auto r = RegisterWithConsul(Url(), regs);
  ASSERT_FALSE(r) << "an 8 MiB reply was read whole";
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("over 1048576 bytes"), std::string::npos) << r.error().message;
}

// An agent that sends a byte every 0.2 s never trips the per-read timeout (5 s); the total
// deadline ends the request. (Without it the request runs the agent's 60 s and succeeds.)
TEST_F(ConsulRegister, DrippingAgentMeetsTheTotalDeadline) {
  auto regs = Saying("drip");
  ASSERT_EQ(regs.size(), 1u);
  ConsulOptions o;
  o.total_ms = 1000;
  auto r = RegisterWithConsul(Url(), regs, o);
  ASSERT_FALSE(r) << "the dripping agent's request was allowed to run to its end";
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("within 1000 ms"), std::string::npos) << r.error().message;
}

// A token with CR/LF would add a header on the wire: refused before anything is sent.
TEST_F(ConsulRegister, TokenWithControlCharactersIsRefusedBeforeSending) {
  auto regs = Saying("ok");
  ASSERT_EQ(regs.size(), 1u);
  for (const std::string& token :
       std::vector<std::string>{"abc\r\nX-Injected: 1", "abc\nX-Injected: 1", "a\tb", "a\x7f"}) {
    ConsulOptions o;
    o.token = token;
    auto r = RegisterWithConsul(Url(), regs, o);
    ASSERT_FALSE(r) << "token accepted";
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("control character"), std::string::npos) << r.error().message;
  }
  EXPECT_TRUE(Requests().empty()) << "a request reached the agent";
}

}  // namespace
}  // namespace berth
