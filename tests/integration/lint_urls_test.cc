// berth lint through the real binary on tests/fixtures/lint/urls: ports that only URLs declare
// (.env, .properties, YAML, Compose, appsettings.json, web.config), each at the port's line and
// column, the rules applied to the listen ones, and the URLs' passwords in no output.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace berth::test {
namespace {

const std::string kUrls = std::string(BERTH_FIXTURES) + "/lint/urls";

CommandResult LintUrls(const std::string& form) {
  return RunBerth({"lint", "--no-registry", "--color", "never", form, kUrls});
}

TEST(LintUrls, EveryFormatDeclaresItsUrlPortsWhereTheyAre) {
  const auto r = LintUrls("--json");
  ASSERT_EQ(r.exit_code, 1) << r.err;
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_TRUE(j["errors"].empty()) << r.out;
  // file, line, column, key, kind, address, ports
  using Decl = std::tuple<std::string, int, int, std::string, std::string, std::string, std::string>;
  std::set<Decl> found;
  for (const auto& d : j["declarations"]) {
    const std::string file = d["file"];
    found.emplace(file.substr(kUrls.size() + 1), d["line"], d["column"], d["key"], d["kind"],
                  d["address"], d["ports"]);
  }
  const std::set<Decl> expected{
      {".env", 2, 49, "DATABASE_URL", "target", "db", "5432"},
      {".env", 3, 27, "LISTEN_URL", "listen", "", ""},  // port 0: dynamic
      {".env", 4, 33, "METRICS_BIND_URL", "listen", "", "9090"},
      {"application.properties", 2, 65, "spring.datasource.url", "target", "db", "5432"},
      {"application.properties", 3, 36, "management.bind-url", "listen", "", "45000"},
      {"application.yml", 2, 19, "health.url", "target", "svc", "31000"},
      {"application.yml", 4, 28, "grpc.listen_url", "listen", "", "50051"},
      {"appsettings.json", 2, 65, "ConnectionStrings.Cache", "target", "cache", "6379"},
      {"appsettings.json", 3, 64, "Kestrel.Endpoints.Http.Url", "listen", "", "5432"},
      {"compose.yaml", 5, 54, "services.api.environment[0]", "target", "db", "5432"},
      {"compose.yaml", 6, 35, "services.api.environment[1]", "listen", "", "8080"},
      {"web.config", 4, 58, "configuration.appSettings.add[ApiUrl]", "target", "mq", "5672"},
      {"web.config", 5, 48, "configuration.appSettings.add[BindUrl]", "listen", "127.0.0.1", ""},
  };
  EXPECT_EQ(found, expected) << r.out;

  std::set<std::tuple<std::string, std::string, int, int>> findings;
  for (const auto& f : j["findings"]) {
    const std::string file = f["file"];
    findings.emplace(f["rule"], file.substr(kUrls.size() + 1), f["line"], f["column"]);
  }
  const std::set<std::tuple<std::string, std::string, int, int>> rules{
      {"dynamic-port", ".env", 3, 27},
      {"conventional-port", ".env", 4, 33},                   // Prometheus' 9090
      {"ephemeral-port", "application.properties", 3, 36},
      {"ephemeral-port", "application.yml", 4, 28},
      {"conventional-port", "application.yml", 4, 28},        // gRPC's 50051
      {"iana-other-service", "appsettings.json", 3, 64},      // PostgreSQL's 5432
      {"dynamic-port", "web.config", 5, 48},
  };
  // Targets are a client's (no rule speaks of them) and the Compose service's listen URL is
  // inside its container.
  EXPECT_EQ(findings, rules) << r.out;
  for (const auto& f : j["findings"]) {
    EXPECT_NE(f["fix"].get<std::string>().find("the port of the URL in " + f["key"].get<std::string>()),
              std::string::npos) << f["fix"];
  }
}

TEST(LintUrls, PasswordsInUrlsAreInNoOutput) {
  for (const std::string form : {"--json", "--sarif", "--fail-on=error"}) {
    const auto r = LintUrls(form);
    EXPECT_NE(r.exit_code, 2) << form << r.err;
    EXPECT_EQ(r.out.find("s3cret"), std::string::npos) << form << r.out;
    EXPECT_EQ(r.err.find("s3cret"), std::string::npos) << form << r.err;
    EXPECT_NE(r.out.find("5432"), std::string::npos) << form << r.out;
  }
}

}  // namespace
}  // namespace berth::test
