// berth serve's API against a real server process on loopback (docs/api.md): a SQLite
// registry filled through the real CLI (berth assign) and fleet records written through the
// Store API (serve_fixture), read back over real sockets.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "registry/registry_test_util.h"
#include "server/serve_process.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

using json = nlohmann::json;

json Body(const HttpReply& r) {
  return json::parse(r.body, nullptr, /*allow_exceptions=*/false);
}

const json* FindHost(const json& doc, const std::string& name) {
  for (const json& h : doc["hosts"]) {
    if (h["name"] == name) return &h;
  }
  return nullptr;
}

class ServeApi : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(RunBerth({"assign", "web", "--db", serve_.db()}).exit_code, 0);
    serve_.Fixture({"host", "alpha"});
    serve_.Fixture({"stale", "bravo"});
    serve_.Fixture({"down", "charlie"});
    ASSERT_TRUE(serve_.Start()) << serve_.error();
  }
  std::int64_t Revision() { return Body(serve_.Get("/api/v1/hosts"))["revision"]; }
  ServeProcess serve_;
};

TEST_F(ServeApi, HostsCarryStateReasonRangesAndSyncAge) {
  const HttpReply r = serve_.Get("/api/v1/hosts");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  const json doc = Body(r);
  ASSERT_EQ(doc["hosts"].size(), 3u) << r.body;
  const json* alpha = FindHost(doc, "alpha");
  const json* bravo = FindHost(doc, "bravo");
  const json* charlie = FindHost(doc, "charlie");
  ASSERT_TRUE(alpha && bravo && charlie) << r.body;
  EXPECT_EQ((*alpha)["state"], "up") << r.body;
  EXPECT_EQ((*alpha)["reason"], "");
  EXPECT_EQ((*alpha)["ephemeral"], json::array({32768, 60999}));
  EXPECT_EQ((*alpha)["reserved"], json::parse("[[7000,7010]]"));
  EXPECT_EQ((*alpha)["listeners"], 3);
  EXPECT_TRUE((*alpha)["agent"]["lease_ttl_seconds"] == 600);
  EXPECT_LE((*alpha)["sync_age_seconds"].get<int>(), 60);
  EXPECT_EQ((*bravo)["state"], "stale");
  EXPECT_NE((*bravo)["reason"].get<std::string>().find("rewrites it at least every 10 scans of 30 s"),
            std::string::npos);
  EXPECT_EQ((*charlie)["state"], "down");
  EXPECT_TRUE((*charlie)["agent"].is_null());
  EXPECT_NE((*charlie)["reason"].get<std::string>().find("lease expired or was revoked"),
            std::string::npos);

  const HttpReply one = serve_.Get("/api/v1/hosts/alpha");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(Body(one)["hosts"][0]["name"], "alpha");
}

TEST_F(ServeApi, EveryReplyCarriesTheSecurityHeaders) {
  for (const std::string path : {"/", "/app.js", "/api/v1/hosts", "/metrics", "/nope"}) {
    const HttpReply r = serve_.Get(path);
    const std::string csp = r.Header("Content-Security-Policy");
    EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << path;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << path;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << path;
    EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff") << path;
    EXPECT_EQ(r.Header("Referrer-Policy"), "no-referrer") << path;
  }
}

TEST_F(ServeApi, ServicesClaimsObservationsFindingsAndDrift) {
  const json services = Body(serve_.Get("/api/v1/services"));
  ASSERT_EQ(services["services"].size(), 1u);
  EXPECT_EQ(services["services"][0]["name"], "web");
  const int port = services["services"][0]["port"];
  const json claims = Body(serve_.Get("/api/v1/claims?group=default"));
  ASSERT_EQ(claims["claims"].size(), 1u);
  EXPECT_EQ(claims["claims"][0]["port"], port);
  EXPECT_EQ(Body(serve_.Get("/api/v1/claims?group=other"))["claims"].size(), 0u);

  const json obs = Body(serve_.Get("/api/v1/hosts/alpha/observations"));
  ASSERT_EQ(obs["observations"].size(), 3u) << obs.dump();
  bool ephemeral = false;
  for (const json& o : obs["observations"]) {
    if (o["port"] == 40123) ephemeral = o["class"] == "ephemeral";
    if (o["port"] == 22) {
      EXPECT_EQ(o["iana"], "ssh");
    }
  }
  EXPECT_TRUE(ephemeral) << obs.dump();
  EXPECT_EQ(serve_.Get("/api/v1/hosts/nosuch/observations").status, 404);

  // web is registered in the default group, where alpha, bravo and charlie report: nobody
  // listens on its port. Then alpha's scan sees it on another port.
  json drift = Body(serve_.Get("/api/v1/drift"));
  ASSERT_EQ(drift["drift"].size(), 1u) << drift.dump();
  EXPECT_EQ(drift["drift"][0]["kind"], "not-listening");
  serve_.Fixture({"moved", "alpha", "web", "9999"});
  serve_.Fixture({"finding", "alpha", "40999"});
  // The server re-reads the store when its change counter moves, and says so on the stream.
  EXPECT_TRUE(UntilChanged(serve_.port(), [&] {
    drift = Body(serve_.Get("/api/v1/drift"));
    return drift["drift"].size() == 2 &&
           Body(serve_.Get("/api/v1/hosts/alpha/findings"))["findings"].size() == 1;
  }));
  ASSERT_EQ(drift["drift"].size(), 2u) << drift.dump();
  EXPECT_EQ(drift["drift"][1]["kind"], "other-port");
  EXPECT_EQ(drift["drift"][1]["seen_port"], 9999);
  EXPECT_EQ(drift["drift"][1]["host"], "alpha");

  const json findings = Body(serve_.Get("/api/v1/hosts/alpha/findings"));
  ASSERT_EQ(findings["findings"].size(), 1u) << findings.dump();
  EXPECT_EQ(findings["findings"][0]["finding"]["id"], "ephemeral-listener");
  EXPECT_EQ(Body(serve_.Get("/api/v1/findings"))["findings"].size(), 1u);
}

TEST_F(ServeApi, AssignAndReleaseNeedTheTokenAndUseTheRegistry) {
  const std::int64_t before = Revision();
  const std::string body = R"({"name":"api","group":"default"})";
  HttpReply r = serve_.Post("/api/v1/assign", body, std::nullopt);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.Header("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(Body(r)["error"], "unauthorized");
  r = serve_.Post("/api/v1/assign", body, "wrong-token-0123456789abcdef");
  EXPECT_EQ(r.status, 403) << r.body;
  r = serve_.Post("/api/v1/assign", body, std::string(kServeToken) + "x");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(Revision(), before);
  EXPECT_NE(RunBerth({"show", "api", "--db", serve_.db()}).exit_code, 0);

  r = serve_.Post("/api/v1/assign", body, std::string(kServeToken));
  ASSERT_EQ(r.status, 201) << r.body;
  const int port = Body(r)["service"]["port"];
  // The same registry as the CLI's, and the same rule: berth assign gives the name its port back.
  const CommandResult again = RunBerth({"assign", "api", "--db", serve_.db()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find(std::to_string(port)), std::string::npos) << again.out;
  EXPECT_EQ(Body(serve_.Get("/api/v1/services"))["services"].size(), 2u);  // read-your-writes
  r = serve_.Post("/api/v1/assign", body, std::string(kServeToken));
  EXPECT_EQ(r.status, 200);  // idempotent
  EXPECT_EQ(Body(r)["created"], false);

  // A range claim, as berth assign --size: the block in the record, one claim per port.
  r = serve_.Post("/api/v1/assign", R"({"name":"rpc.dynamic","size":256})", std::string(kServeToken));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Body(r)["service"]["size"], 256);
  const int low = Body(r)["service"]["port"];
  const json shown = json::parse(RunBerth({"show", "rpc.dynamic", "--json", "--db", serve_.db()}).out);
  EXPECT_EQ(shown["port"], low);
  EXPECT_EQ(shown["size"], 256);
  EXPECT_TRUE(UntilChanged(serve_.port(), [&] {
    return Body(serve_.Get("/api/v1/claims?group=default"))["claims"].size() == 2u + 256u;  // web, api and the block
  }));

  r = serve_.Post("/api/v1/release", R"({"name":"api"})", std::nullopt);
  EXPECT_EQ(r.status, 401);
  r = serve_.Post("/api/v1/release", R"({"name":"api"})", std::string(kServeToken));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["released"][0]["name"], "api");
  r = serve_.Post("/api/v1/release", R"({"name":"api"})", std::string(kServeToken));
  EXPECT_EQ(r.status, 404) << r.body;
}

// The conventional-port warning of `doc` (an assign reply), or null.
const json* ConventionalWarning(const json& doc) {
  for (const json& w : doc["warnings"]) {
    if (w["rule"] == "conventional") return &w;
  }
  return nullptr;
}

// An explicit port, as berth assign --port: the same rules, and a port other products use by
// convention registered with the warning berth assign prints on stderr, in `warnings`.
// The map names the event stream's generation it is at least as new as: the page skips the
// event every stream opens with (and any other) when its map already has that generation.
TEST_F(ServeApi, TheMapIsAtLeastAsNewAsTheEventThatAnnouncedIt) {
  EventStream events(serve_.port());
  ASSERT_TRUE(events.Next());
  json e = json::parse(events.data(), nullptr, false);
  ASSERT_TRUE(e.is_object()) << events.data();
  json map = Body(serve_.Get("/api/v1/map"));
  ASSERT_TRUE(map["generation"].is_number_unsigned()) << map.dump().substr(0, 200);
  EXPECT_GE(map["generation"].get<std::uint64_t>(), e["generation"].get<std::uint64_t>());
  EXPECT_GE(map["revision"].get<std::int64_t>(), e["revision"].get<std::int64_t>());
  const std::uint64_t first = e["generation"];

  const HttpReply r = serve_.Post("/api/v1/assign", R"({"name":"generations"})", std::string(kServeToken));
  ASSERT_EQ(r.status, 201) << r.body;
  ASSERT_TRUE(events.Next());
  e = json::parse(events.data(), nullptr, false);
  ASSERT_TRUE(e.is_object()) << events.data();
  EXPECT_GT(e["generation"].get<std::uint64_t>(), first);
  map = Body(serve_.Get("/api/v1/map"));
  EXPECT_GE(map["generation"].get<std::uint64_t>(), e["generation"].get<std::uint64_t>());
  EXPECT_GE(map["revision"].get<std::int64_t>(), e["revision"].get<std::int64_t>());
  bool claimed = false;
  for (const json& s : map["services"]) claimed |= s["name"] == "generations";
  EXPECT_TRUE(claimed) << map["services"].dump();
}

TEST_F(ServeApi, AssignWarnsOfAConventionalPortOfAnotherProduct) {
  const std::string token(kServeToken);
  HttpReply r = serve_.Post("/api/v1/assign", R"({"name":"billing","port":15672})", token);
  ASSERT_EQ(r.status, 201) << r.body;
  json doc = Body(r);
  EXPECT_EQ(doc["service"]["port"], 15672);
  const json* w = ConventionalWarning(doc);
  ASSERT_NE(w, nullptr) << r.body;
  const std::string message = (*w)["message"];
  EXPECT_NE(message.find("15672/tcp is where RabbitMQ (management UI and API) listens by "
                         "convention (IANA gives it to no service), and 'billing' is not it"),
            std::string::npos) << message;
  EXPECT_TRUE((*w)["remedies"].is_array());
  // Registered already: nothing new to warn of.
  r = serve_.Post("/api/v1/assign", R"({"name":"billing","port":15672})", token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ConventionalWarning(Body(r)), nullptr) << r.body;
  // The command line, given the same name and port, prints the same sentence.
  ASSERT_EQ(serve_.Post("/api/v1/release", R"({"name":"billing"})", token).status, 200);
  const CommandResult cli = RunBerth({"assign", "billing", "--port", "15672", "--db", serve_.db()});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_NE(cli.err.find("berth: warning: " + message), std::string::npos) << cli.err;

  // The product itself is at home on its port.
  r = serve_.Post("/api/v1/assign", R"({"name":"zipkin","port":9411})", token);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(ConventionalWarning(Body(r)), nullptr) << r.body;
  // A port placed by the allocator is never a conventional one.
  r = serve_.Post("/api/v1/assign", R"({"name":"placed"})", token);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(ConventionalWarning(Body(r)), nullptr) << r.body;

  // A port IANA gives to another service is refused unless allow_iana, as on the command line;
  // allowed, Prometheus' and Cockpit's 9090 still warns.
  r = serve_.Post("/api/v1/assign", R"({"name":"metrics","port":9090})", token);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(Body(r)["error"], "invalid_argument") << r.body;
  ASSERT_FALSE(Body(r)["remedies"].empty()) << r.body;
  EXPECT_EQ(Body(r)["remedies"][0]["remedy"], "allow_iana") << r.body;
  r = serve_.Post("/api/v1/assign", R"({"name":"metrics","port":9090,"allow_iana":true})", token);
  ASSERT_EQ(r.status, 201) << r.body;
  doc = Body(r);
  w = ConventionalWarning(doc);
  ASSERT_NE(w, nullptr) << r.body;
  EXPECT_NE((*w)["message"].get<std::string>().find("Prometheus"), std::string::npos) << r.body;

  for (const std::string body : {R"({"name":"a","port":0})", R"({"name":"a","port":65536})",
                                 R"({"name":"a","port":"80"})", R"({"name":"a","port":-1})",
                                 R"({"name":"a","port":80,"allow_iana":"yes"})"}) {
    r = serve_.Post("/api/v1/assign", body, token);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
    EXPECT_EQ(Body(r)["error"], "invalid_argument") << r.body;
  }
}

TEST_F(ServeApi, BadBodiesAreRefusedAndWriteNothing) {
  const std::int64_t before = Revision();
  const std::string token(kServeToken);
  for (const std::string& body :
       {std::string("{"), std::string("not json"), std::string("[1,2]"),
        std::string(R"({"name":"x","nme":"y"})"), std::string(R"({"name":"Bad Name"})"),
        std::string(R"({"name":17})"), std::string(R"({"name":"a","proto":"sctp"})"),
        std::string(R"({"name":"a","size":0})"), std::string(R"({"name":"a","size":16385})"),
        std::string(R"({"name":"a","size":"8"})"), std::string(R"({"name":"a","size":2.5})"),
        std::string(1000, '[') + std::string(1000, ']'), std::string("{\"name\":\"a\0\"}", 13),
        std::string(R"({"name":")") + std::string(5000, 'a') + "\"}"}) {
    const HttpReply r = serve_.Post("/api/v1/assign", body, token);
    EXPECT_EQ(r.status, 400) << body.substr(0, 40) << ": " << r.body;
    const json doc = Body(r);
    EXPECT_TRUE(doc["error"] == "bad_json" || doc["error"] == "invalid_argument") << r.body;
    EXPECT_FALSE(doc["message"].get<std::string>().empty());
  }
  // Too large: refused from its Content-Length, before the body is read.
  HttpReply r = serve_.Raw("POST /api/v1/assign HTTP/1.1\r\nHost: 127.0.0.1:" +
                           std::to_string(serve_.port()) +
                           "\r\nContent-Type: application/json\r\nAuthorization: Bearer " + token +
                           "\r\nContent-Length: 100000000\r\n\r\n{");
  EXPECT_EQ(r.status, 413) << r.head;
  EXPECT_EQ(Body(r)["error"], "payload_too_large");
  r = serve_.Post("/api/v1/assign", std::string(70000, ' '), token);
  EXPECT_EQ(r.status, 413) << r.head;
  r = serve_.Raw("POST /api/v1/assign HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(serve_.port()) +
                 "\r\nAuthorization: Bearer " + token +
                 "\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(r.status, 415) << r.body;
  EXPECT_EQ(Revision(), before);
}

TEST_F(ServeApi, ChunkedAndCompressedBodiesAreRefusedBeforeTheyAreRead) {
  const std::int64_t before = Revision();
  const std::string head = "POST /api/v1/assign HTTP/1.1\r\nHost: 127.0.0.1:" +
                           std::to_string(serve_.port()) +
                           "\r\nContent-Type: application/json\r\nAuthorization: Bearer " +
                           std::string(kServeToken) + "\r\n";
  // A chunked body that never ends (CVE-2025-46728), and a negative chunk size (CVE-2026-45352).
  for (const std::string te : {"chunked", "gzip, chunked", "identity"}) {
    const HttpReply r = serve_.Raw(head + "Transfer-Encoding: " + te +
                                   "\r\n\r\n-2\r\n{\"name\":\"chunky\"}\r\nffffffff\r\n");
    EXPECT_EQ(r.status, 411) << te << ": " << r.head;
    EXPECT_EQ(Body(r)["error"], "length_required");
    EXPECT_TRUE(r.closed) << "the unread body must not be read as the next request";
  }
  HttpReply r = serve_.Raw(head + "Content-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd");
  EXPECT_EQ(r.status, 415) << r.head;
  r = serve_.Raw(head + "Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}");
  EXPECT_EQ(r.status, 400) << r.head;
  r = serve_.Raw(head + "Content-Length: +2\r\n\r\n{}");
  EXPECT_EQ(r.status, 400) << r.head;
  // A GET with a body would have it parsed as the next request (smuggling): refused.
  r = serve_.Raw("GET /api/v1/hosts HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(serve_.port()) +
                 "\r\nContent-Length: 40\r\n\r\nGET /api/v1/services HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.status, 400) << r.head;
  EXPECT_EQ(Revision(), before);
  EXPECT_EQ(serve_.Get("/api/v1/hosts").status, 200);  // still serving
}

// A collected Windows host (docs/windows.md) has no agent: `berth scan --from FILE` writes its
// report, so it joins the fleet view with every finding the scan printed, in the state
// "collected" (when it was collected and recorded; never "down", no lease to lose).
TEST_F(ServeApi, AHostScannedFromACollectionIsListedWithItsFindings) {
  const std::string file = std::string(BERTH_FIXTURES) + "/windows/ps7-collector.json";
  const CommandResult scan = RunBerth({"scan", "--from", file, "--json", "--db", serve_.db()});
  ASSERT_EQ(scan.exit_code, 1) << scan.err;  // warnings
  const json printed = json::parse(scan.out)["findings"];
  ASSERT_EQ(printed.size(), 10u) << scan.out;
  json doc;
  EXPECT_TRUE(UntilChanged(serve_.port(), [&] {
    doc = Body(serve_.Get("/api/v1/hosts"));
    return FindHost(doc, "WIN-SQL01") != nullptr;
  }));
  const json* win = FindHost(doc, "WIN-SQL01");
  ASSERT_NE(win, nullptr) << doc.dump();
  EXPECT_EQ((*win)["state"], "collected") << win->dump();
  EXPECT_EQ((*win)["source"], "collected");
  EXPECT_EQ((*win)["collected"], 1764712800);  // the fixture's Collected, 2025-12-02T22:00:00Z
  EXPECT_TRUE((*win)["agent"].is_null());
  const std::string reason = (*win)["reason"];
  EXPECT_TRUE(reason.starts_with("collected at 2025-12-02T22:00:00Z (recorded at ")) << reason;
  EXPECT_NE(reason.find("no agent watches this host"), std::string::npos) << reason;
  EXPECT_EQ(reason.find("lease"), std::string::npos) << reason;
  EXPECT_EQ((*win)["findings"], 10);
  EXPECT_EQ((*win)["listeners"], 12);  // 135 on two addresses is one (proto, port, command)
  EXPECT_EQ((*win)["ephemeral"], json::array({49152, 65535}));
  EXPECT_EQ((*win)["group"], "default");  // no group lists it
  // The agents' hosts keep their states beside it.
  EXPECT_EQ((*FindHost(doc, "alpha"))["source"], "agent");
  EXPECT_EQ((*FindHost(doc, "charlie"))["state"], "down");

  // Its findings are the scan's, in the scan's order.
  const json findings = Body(serve_.Get("/api/v1/hosts/WIN-SQL01/findings"))["findings"];
  ASSERT_EQ(findings.size(), printed.size()) << findings.dump();
  for (std::size_t i = 0; i < printed.size(); ++i) {
    EXPECT_EQ(findings[i]["host"], "WIN-SQL01");
    EXPECT_EQ(findings[i]["finding"], printed[i]) << i;
  }
  const json obs = Body(serve_.Get("/api/v1/hosts/WIN-SQL01/observations"))["observations"];
  ASSERT_EQ(obs.size(), 12u) << obs.dump();
  bool sqlservr = false;
  for (const json& o : obs) sqlservr |= o["port"] == 1433 && o["command"] == "sqlservr";
  EXPECT_TRUE(sqlservr) << obs.dump();
  // Its listeners are on the map like an agent's.
  const json map = Body(serve_.Get("/api/v1/map"));
  bool listed = false;
  for (const json& l : map["listeners"]) listed |= l["host"] == "WIN-SQL01" && l["rows"].size() == 12;
  EXPECT_TRUE(listed) << map["listeners"].dump();
}

TEST_F(ServeApi, PathTraversalFindsNothing) {
  for (const std::string path :
       {"/../../../../etc/passwd", "/api/v1/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
        "/api/v1/hosts/..%2f..%2f..%2fetc%2fpasswd/observations", "/..%5c..%5cetc%5cpasswd",
        "//etc/passwd", "/app.js/../../etc/passwd", "/%00/etc/passwd", "/api/v1/hosts/%2e%2e"}) {
    const HttpReply r = serve_.Get(path);
    EXPECT_TRUE(r.status == 404 || r.status == 400) << path << ": " << r.head;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << path;
    EXPECT_FALSE(Body(r).is_discarded()) << path << ": errors are JSON: " << r.body;
  }
}

TEST_F(ServeApi, MethodsHostsAndUnknownPaths) {
  HttpReply r = serve_.Raw("PUT /api/v1/hosts HTTP/1.1\r\nHost: 127.0.0.1:" +
                           std::to_string(serve_.port()) + "\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("Allow"), "GET, HEAD");
  r = serve_.Get("/api/v1/assign");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("Allow"), "POST");
  EXPECT_EQ(Body(r)["error"], "method_not_allowed");
  r = serve_.Get("/api/v2/hosts");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Body(r)["error"], "not_found");
  // A page on another name (DNS rebinding) gets nothing.
  r = serve_.Raw("GET /api/v1/hosts HTTP/1.1\r\nHost: evil.example:" +
                 std::to_string(serve_.port()) + "\r\n\r\n");
  EXPECT_EQ(r.status, 421);
  r = serve_.Raw("GET /api/v1/hosts HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.status, 421);
  r = serve_.Raw("GET /api/v1/hosts HTTP/1.1\r\nHost: localhost:" + std::to_string(serve_.port()) +
                 "\r\n\r\n");
  EXPECT_EQ(r.status, 200);
}

TEST(ServeStart, RefusesAWorldReadableTokenFileAndARemoteAddress) {
  ServeProcess serve;
  ServeProcess::Options o;
  o.token_mode = "644";
  EXPECT_FALSE(serve.Start(o));
  EXPECT_NE(serve.error().find("chmod 600"), std::string::npos) << serve.error();

  const CommandResult r = RunBerth({"serve", "--db", serve.db(), "--listen", "192.0.2.1:7480"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a loopback address"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--allow-remote"), std::string::npos) << r.err;
}

TEST(ServeStart, WithoutATokenWritesAreDisabled) {
  ServeProcess serve;
  ServeProcess::Options o;
  o.token = false;
  ASSERT_TRUE(serve.Start(o)) << serve.error();
  const HttpReply r = serve.Post("/api/v1/assign", R"({"name":"x"})", std::string(kServeToken));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(Body(r)["error"], "writes_disabled");
}

}  // namespace
}  // namespace berth::test

namespace berth::test {
namespace {

// --json: the server's life as JSON lines on stdout (berth.serve/1): listening with its URL,
// then stopped after SIGTERM.
TEST(ServeStart, JsonPrintsListeningWithTheUrlAndStopped) {
  TempDir dir;
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  const std::vector<std::string> argv{BerthBinary(), "serve", "--json", "--listen", "127.0.0.1:0",
                                      "--store", "sqlite://" + dir.File("r.db")};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  auto next_line = [&, buffer = std::string()]() mutable -> std::string {
    for (;;) {
      if (const auto nl = buffer.find('\n'); nl != std::string::npos) {
        std::string line = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        return line;
      }
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 20000) <= 0) return {};
      char chunk[512];
      const ssize_t n = ::read(out[0], chunk, sizeof chunk);
      if (n <= 0) return {};
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
  };
  const json listening = json::parse(next_line(), nullptr, false);
  ::kill(pid, SIGTERM);
  const json stopped = json::parse(next_line(), nullptr, false);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(out[0]);
  ASSERT_TRUE(listening.is_object());
  EXPECT_EQ(listening["schema"], "berth.serve/1");
  EXPECT_EQ(listening["event"], "listening");
  EXPECT_TRUE(listening["url"].get<std::string>().starts_with("http://127.0.0.1:"));
  ASSERT_TRUE(stopped.is_object());
  EXPECT_EQ(stopped["event"], "stopped");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace berth::test
