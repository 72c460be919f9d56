// The scan use case end to end without root: a host source that is not the live machine, a
// real SQLite registry in a temp dir, a fake clock, and the real renderer.
#include "app/scan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "app/fixed_host.h"
#include "emit/scan_render.h"
#include "registry/sqlite_store.h"
#include "registry/registry_test_util.h"

namespace berth {
namespace {

using ::testing::HasSubstr;

using test::FixedHost;

// One process `command` (pid) listening on TCP `port`, on host "db1" with Linux's defaults.
HostSnapshot OneListener(const std::string& command, int pid, Port port) {
  HostSnapshot snap;
  snap.hostname = "db1";
  snap.owners_resolved = true;
  SocketRecord s;
  s.proto = Protocol::kTcp;
  s.state = SocketState::kListen;
  s.local_port = port;
  s.inode = 1000 + port;
  snap.sockets.push_back(s);
  snap.processes.push_back(ProcessInfo{pid, 0, "root", command, "", ""});
  snap.owners.push_back(SocketOwner{0, 0, 3});
  return snap;
}

bool Has(const std::vector<Finding>& findings, std::string_view id) {
  return std::any_of(findings.begin(), findings.end(), [&](const Finding& f) { return FindingIdName(f.id) == id; });
}

class ScanUseCase : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = registry::SqliteStore::Open(dir_.path() + "/registry.db", registry::OpenMode::kWrite);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }
  Result<app::ScanResult> ScanAt(std::int64_t t) {
    clock_.Set(t);
    return app::Scan(app::ScanRequest{}, host_, app::ScanRegistry{true, store_.get(), {}}, clock_);
  }
  test::TempDir dir_;
  std::unique_ptr<registry::SqliteStore> store_;
  FixedHost host_;
  FakeClock clock_{1'700'000'000};
};

TEST_F(ScanUseCase, APortThatMovesOvernightIsPortChangedAndBothScansAreRecordedAtTheClocksTimes) {
  constexpr std::int64_t kT = 1'700'000'000;
  host_.snap = OneListener("myd", 4242, 40001);
  auto first = ScanAt(kT);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_FALSE(Has(first->findings, "port-changed"));
  EXPECT_TRUE(Has(first->findings, "ephemeral-listener"));  // 40001 is inside 32768-60999

  host_.snap = OneListener("myd", 4243, 40002);  // restarted a day later on another port
  auto second = ScanAt(kT + 86'400);
  ASSERT_TRUE(second) << second.error().message;
  const auto it = std::find_if(second->findings.begin(), second->findings.end(),
                               [](const Finding& f) { return f.id == FindingId::kPortChanged; });
  ASSERT_NE(it, second->findings.end()) << "no port-changed finding";
  EXPECT_EQ(it->subject, "myd");
  EXPECT_THAT(it->why, HasSubstr("40001/tcp at the previous scan and now on 40002"));

  auto last = store_->LastScan("db1");
  ASSERT_TRUE(last) << last.error().message;
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ(**last, kT + 86'400);
  auto seen = store_->ScanObservations("db1", kT + 86'400);
  ASSERT_TRUE(seen) << seen.error().message;
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_EQ((*seen)[0].port, 40002);
  EXPECT_EQ((*seen)[0].command, "myd");
}

TEST_F(ScanUseCase, TheSamePortAtTheNextScanIsNotAChange) {
  host_.snap = OneListener("myd", 4242, 40001);
  auto first = ScanAt(1'700'000'000);
  ASSERT_TRUE(first) << first.error().message;
  auto again = ScanAt(1'700'000'000 + 86'400);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(Has(again->findings, "port-changed"));
}

TEST_F(ScanUseCase, PipelineFromAHostSourceToTheRenderedTableNeedsNoRoot) {
  host_.snap = OneListener("myd", 4242, 40001);
  auto r = ScanAt(1'700'000'000);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->registry.size(), 1u);
  ASSERT_TRUE(r->registry[0].has_value());
  EXPECT_EQ(r->registry[0]->status, registry::RegStatus::kUnregistered);
  std::string text;
  ScanView view{&r->snap, &r->findings, nullptr, false, true, nullptr};
  RenderScanText(view, false, [&](std::string_view s) { text += s; });
  EXPECT_THAT(text, HasSubstr("berth scan  db1"));
  EXPECT_THAT(text, HasSubstr("myd"));
  EXPECT_THAT(text, HasSubstr("ephemeral-listener"));
  // Nothing is registered for db1, so no unregistered-listener noise.
  EXPECT_FALSE(Has(r->findings, "unregistered-listener"));
}

// Issue 10 item 20: once the registry speaks for the host, each thing is said once. "myd"
// listens on 3306 (IANA: mysql) and 5432 (IANA: postgresql); 3306 is registered as "myd".
TEST_F(ScanUseCase, ARegisteredPortDrawsNoIanaMismatchAndAnUnregisteredOneIsSaidOnce) {
  host_.snap = OneListener("myd", 4242, 3306);
  SocketRecord second = host_.snap.sockets[0];
  second.local_port = 5432;
  second.inode = 7000;
  host_.snap.sockets.push_back(second);
  host_.snap.owners.push_back(SocketOwner{1, 0, 4});
  // Without a registered service, the audit says IANA assigns both ports elsewhere.
  auto before = ScanAt(1'700'000'000);
  ASSERT_TRUE(before) << before.error().message;
  const auto iana = std::find_if(before->findings.begin(), before->findings.end(),
                                 [](const Finding& f) { return f.id == FindingId::kIanaMismatch; });
  ASSERT_NE(iana, before->findings.end());
  EXPECT_EQ(iana->ports.Format(), "3306,5432");

  registry::ServiceRecord rec;
  rec.service.name = "myd";
  rec.service.port = 3306;
  rec.service.proto = ServiceProto::kTcp;
  rec.service.group = "default";
  auto claimed = store_->ClaimService(rec);
  ASSERT_TRUE(claimed) << claimed.error().message;
  auto after = ScanAt(1'700'000'100);
  ASSERT_TRUE(after) << after.error().message;
  std::vector<std::string> ids;
  for (const Finding& f : after->findings) ids.emplace_back(FindingIdName(f.id));
  EXPECT_FALSE(Has(after->findings, "iana-mismatch")) << ::testing::PrintToString(ids);
  const auto unreg = std::find_if(after->findings.begin(), after->findings.end(), [](const Finding& f) {
    return f.id == FindingId::kUnregisteredListener;
  });
  ASSERT_NE(unreg, after->findings.end()) << ::testing::PrintToString(ids);
  EXPECT_EQ(unreg->ports.Format(), "5432");
  EXPECT_THAT(unreg->fix, HasSubstr("--allow-iana"));  // what iana-mismatch would have said
}

// A listener on a conventional port that is not the product: the scan's text and JSON name
// the products; once the registry registers the port for the service, it is said no more.
TEST_F(ScanUseCase, AConventionalPortIsNamedInTheScanUntilTheRegistryRecordsIt) {
  host_.snap = OneListener("billing", 4242, 9090);
  auto before = ScanAt(1'700'000'000);
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_FALSE(Has(before->findings, "iana-mismatch"));  // the table speaks for 9090
  ASSERT_TRUE(Has(before->findings, "conventional-port"));
  std::string text;
  ScanView view{&before->snap, &before->findings, nullptr, false, true, nullptr};
  RenderScanText(view, false, [&](std::string_view s) { text += s; });
  EXPECT_THAT(text, HasSubstr("conventional-port"));
  EXPECT_THAT(text, HasSubstr("9090/tcp is where Prometheus (server: web UI, API) and Cockpit"));
  std::string json;
  RenderScanJson(view, [&](std::string_view s) { json += s; });
  EXPECT_THAT(json, HasSubstr("\"conventional-port\""));

  registry::ServiceRecord rec;
  rec.service.name = "billing";
  rec.service.port = 9090;
  rec.service.proto = ServiceProto::kTcp;
  rec.service.group = "default";
  ASSERT_TRUE(store_->ClaimService(rec));
  auto after = ScanAt(1'700'000'100);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_FALSE(Has(after->findings, "conventional-port"));
}

TEST_F(ScanUseCase, PressureAsksTheSourceForEveryStateAndSkipsTheRegistry) {
  host_.snap = OneListener("myd", 4242, 40001);
  app::ScanRequest req;
  req.audit = false;
  req.pressure = true;
  auto r = app::Scan(req, host_, app::ScanRegistry{false, store_.get(), {}}, clock_);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(host_.last_query.all_states);
  EXPECT_TRUE(r->pressure.has_value());
  EXPECT_TRUE(r->registry.empty());
  auto last = store_->LastScan("db1");
  ASSERT_TRUE(last) << last.error().message;
  EXPECT_FALSE(last->has_value()) << "a pressure run records nothing";
}

TEST_F(ScanUseCase, AnUnusableRegistryIsReportedAndTheScanStillCompletes) {
  host_.snap = OneListener("myd", 4242, 40001);
  auto r = app::Scan(app::ScanRequest{}, host_,
                     app::ScanRegistry{true, nullptr, Error{ErrorCode::kMalformed, "corrupt"}}, clock_);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->registry_error.has_value());
  EXPECT_EQ(r->registry_error->message, "corrupt");
  EXPECT_TRUE(Has(r->findings, "ephemeral-listener"));
}

}  // namespace
}  // namespace berth
