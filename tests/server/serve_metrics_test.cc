// /metrics parsed by a real Prometheus parser: `promtool check metrics` (Debian's prometheus
// package), which also lints names and help texts, and python3-prometheus-client's parser
// for the values. Host names from the hostile corpus become label values.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "server/serve_process.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

std::string Which(const std::string& tool) {
  for (const std::string dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    if (::access((dir + "/" + tool).c_str(), X_OK) == 0) return dir + "/" + tool;
  }
  return "";
}

class ServeMetrics : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(RunBerth({"assign", "web", "--db", serve_.db()}).exit_code, 0);
    serve_.Fixture({"host", "alpha"});
    serve_.Fixture({"down", "charlie"});
    serve_.Fixture({"hostile"});
    ASSERT_TRUE(serve_.Start()) << serve_.error();
    const HttpReply r = serve_.Get("/metrics");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    text_ = r.body;
  }
  ServeProcess serve_;
  std::string text_;
};

TEST_F(ServeMetrics, PromtoolAcceptsThem) {
  const std::string promtool = Which("promtool");
  if (promtool.empty()) BERTH_MISSING_PEER("promtool is missing: scripts/install-deps test installs prometheus");
  const CommandResult r = test::Run({promtool, "check", "metrics"}, text_);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << "\n" << text_.substr(0, 4000);
  EXPECT_EQ(r.out + r.err, "") << "promtool's lint found problems";
}

TEST_F(ServeMetrics, ThePythonParserReadsEverySeries) {
  const std::string python = "/usr/bin/python3";
  if (test::Run({python, "-c", "import prometheus_client.parser"}).exit_code != 0) {
    BERTH_MISSING_PEER("python3-prometheus-client is missing: scripts/install-deps test installs it");
  }
  // Prints "name{labels} value" per sample, labels sorted, as the parser understood them.
  const std::string script = R"(
import sys
from prometheus_client.parser import text_string_to_metric_families
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        labels = ",".join(f"{k}={v!r}" for k, v in sorted(s.labels.items()))
        print(f"{s.name}{{{labels}}} {s.value}")
)";
  const CommandResult r = test::Run({python, "-c", script}, text_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("berth_host_state{group='default',host='alpha',state='up'} 1.0"),
            std::string::npos) << r.out.substr(0, 3000);
  EXPECT_NE(r.out.find("berth_host_state{group='default',host='charlie',state='down'} 1.0"),
            std::string::npos);
  EXPECT_NE(r.out.find("berth_host_ephemeral_listeners{host='alpha'} 1.0"), std::string::npos);
  EXPECT_NE(r.out.find("berth_registered_services{group='default'} "), std::string::npos);
  EXPECT_NE(r.out.find("berth_drifted_services{group='default'} "), std::string::npos);
  EXPECT_NE(r.out.find("berth_agent_sync_age_seconds{host='alpha'} "), std::string::npos);
  EXPECT_NE(r.out.find("berth_host_findings{host='hostile-host',id='ephemeral-listener',severity='error'} "),
            std::string::npos);
  EXPECT_NE(r.out.find("berth_store_up{} 1.0"), std::string::npos);
  // Hostile host names arrive whole: quotes and backslashes escaped, no line broken.
  EXPECT_NE(r.out.find("host='<script>alert(1)</script>'"), std::string::npos);
  EXPECT_NE(r.out.find("host='\"><svg onload=alert(1)>'"), std::string::npos);
  for (char c : text_) {
    EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 && c != '\n') << "a raw control byte";
  }
}

}  // namespace
}  // namespace berth::test
