// The Store contract (src/registry/store.h), run on both stores: the SQLite file and a real
// three-member etcd cluster on loopback (etcd/etcd_cluster.h), so that every command behaves
// the same on either. Each etcd case starts its own cluster and stops it by PID.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "app/registry_ops.h"
#include "app/windows.h"
#include "registry/allocator.h"
#include "etcd/etcd_cluster.h"
#include "registry/etcd_store.h"
#include "registry/store_url.h"

namespace berth::registry {
namespace {

using ::testing::HasSubstr;
using test::EtcdCluster;

enum class Kind { kSqlite, kEtcd };

ServiceRecord Rec(std::string name, Port port, ServiceProto proto = ServiceProto::kTcp,
                  std::string group = "default") {
  ServiceRecord r;
  r.service.name = std::move(name);
  r.service.port = port;
  r.service.proto = proto;
  r.service.group = std::move(group);
  r.reason = "test";
  return r;
}

class StoreContract : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::kEtcd) {
      std::string why;
      cluster_ = EtcdCluster::Start(why);
      if (!cluster_) BERTH_MISSING_PEER(why);
    }
    if (!HasFailure() && !IsSkipped()) store_ = Open();
    ASSERT_NE(store_, nullptr);
  }

  // Another handle on the same store (as another process would have).
  std::unique_ptr<Store> Open() {
    const std::string url = GetParam() == Kind::kEtcd ? EtcdCluster::Url("/contract")
                                                      : "sqlite://" + dir_.File("r.db");
    auto loc = ParseStoreUrl(url);
    EXPECT_TRUE(loc) << loc.error().message;
    if (!loc) return nullptr;
    auto s = OpenStore(*loc, OpenMode::kWrite);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }

  Store& s() { return *store_; }

  test::TempDir dir_;
  std::unique_ptr<EtcdCluster> cluster_;
  std::unique_ptr<Store> store_;
};

INSTANTIATE_TEST_SUITE_P(BothStores, StoreContract, ::testing::Values(Kind::kSqlite, Kind::kEtcd),
                         [](const auto& p) { return p.param == Kind::kEtcd ? "etcd" : "sqlite"; });

TEST_P(StoreContract, AnEmptyRegistryReadsAsEmptyAtRevisionZero) {
  EXPECT_EQ(s().Revision().value(), 0);
  EXPECT_TRUE(s().ListServices().value().empty());
  EXPECT_TRUE(s().ListClaims("").value().empty());
  EXPECT_FALSE(s().GetService("a").value());
  EXPECT_FALSE(s().LastScan("h").value());
  EXPECT_TRUE(s().CheckIntegrity().value().empty());
}

TEST_P(StoreContract, ClaimIsUniquePerGroupSlotAndPort) {
  auto a = s().ClaimService(Rec("a", 5000));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->status, ClaimStatus::kClaimed);
  EXPECT_GT(a->record.revision, 0);
  EXPECT_EQ(a->record.revision, s().Revision().value());
  EXPECT_GT(a->record.service.created, 0);

  auto b = s().ClaimService(Rec("b", 5000));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, ErrorCode::kConflict);
  EXPECT_THAT(b.error().message, HasSubstr("already registered to 'a'"));

  EXPECT_TRUE(s().ClaimService(Rec("c", 5000, ServiceProto::kUdp)));  // the other slot
  auto d = s().ClaimService(Rec("d", 5000, ServiceProto::kBoth));    // both slots taken
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kConflict);
  EXPECT_FALSE(s().GetService("d").value());  // nothing half-written

  Group other;
  other.name = "other";
  ASSERT_TRUE(s().PutGroup(other));
  EXPECT_TRUE(s().ClaimService(Rec("e", 5000, ServiceProto::kBoth, "other")));
  auto claims = s().ListClaims("other");
  ASSERT_TRUE(claims) << claims.error().message;
  ASSERT_EQ(claims->size(), 2u);  // tcp and udp
  EXPECT_EQ((*claims)[0].slot, Protocol::kTcp);
  EXPECT_EQ((*claims)[1].service, "e");
  auto all = s().ListClaims("");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 4u);  // sorted by group, slot, port
  EXPECT_EQ((*all)[0].group, "default");
  EXPECT_EQ((*all)[3].group, "other");
  EXPECT_TRUE(s().CheckIntegrity().value().empty());
}

TEST_P(StoreContract, ClaimOfExistingNameReturnsTheStoredRecord) {
  ASSERT_TRUE(s().ClaimService(Rec("a", 5000)));
  auto again = s().ClaimService(Rec("a", 6000));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->status, ClaimStatus::kExists);
  EXPECT_EQ(again->record.service.port, 5000);
  EXPECT_EQ(again->record.reason, "test");
  EXPECT_EQ(s().ListClaims("").value().size(), 1u);
}

TEST_P(StoreContract, ReleaseFreesTheClaimAndMovesTheRevision) {
  ASSERT_TRUE(s().ClaimService(Rec("a", 5000, ServiceProto::kBoth)));
  const auto rev = s().Revision().value();
  EXPECT_TRUE(s().ReleaseService("a").value());
  EXPECT_FALSE(s().ReleaseService("a").value());
  EXPECT_GT(s().Revision().value(), rev);
  EXPECT_TRUE(s().ListClaims("").value().empty());
  EXPECT_TRUE(s().ClaimService(Rec("b", 5000)));
}

TEST_P(StoreContract, ReleaseServicesIsAllOrNothing) {
  ASSERT_TRUE(s().ClaimService(Rec("a", 5000)));
  ASSERT_TRUE(s().ClaimService(Rec("b", 5001)));
  const auto rev = s().Revision().value();
  const std::vector<std::string> with_missing{"a", "nosuch"};
  auto r = s().ReleaseServices(with_missing);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(*r);
  EXPECT_EQ(s().Revision().value(), rev);
  EXPECT_TRUE(s().GetService("a").value());
  const std::vector<std::string> both{"a", "b", "a"};
  auto ok = s().ReleaseServices(both);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_TRUE(*ok);
  EXPECT_TRUE(s().ListServices().value().empty());
  EXPECT_TRUE(s().ListClaims("").value().empty());
}

// A failing step inside Atomically() leaves nothing of itself; a failing body leaves nothing.
TEST_P(StoreContract, AtomicallyCommitsAllOrNothing) {
  ASSERT_TRUE(s().ClaimService(Rec("held", 5002, ServiceProto::kUdp)));
  const auto rev = s().Revision().value();
  auto failed = s().Atomically([&]() -> Result<void> {
    BERTH_TRY(s().ClaimService(Rec("x", 5000)));
    // tcp 5002 is free, udp 5002 is held: the step fails and leaves no tcp claim behind.
    auto both = s().ClaimService(Rec("y", 5002, ServiceProto::kBoth));
    EXPECT_FALSE(both);
    auto claims = s().ListClaims("");
    EXPECT_TRUE(claims && claims->size() == 2u);
    return Fail(ErrorCode::kConflict, "stop");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(s().Revision().value(), rev);
  EXPECT_FALSE(s().GetService("x").value());
  auto done = s().Atomically([&]() -> Result<void> {
    BERTH_TRY(s().ClaimService(Rec("x", 5000)));
    BERTH_TRY(s().ClaimService(Rec("z", 5001)));
    return {};
  });
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(s().ListServices().value().size(), 3u);
  EXPECT_TRUE(s().CheckIntegrity().value().empty());
}

TEST_P(StoreContract, GroupsFamiliesAndServicesKeepEveryField) {
  Group g;
  g.name = "win";
  g.description = "Windows hosts";
  g.hosts = {"sql1", "sql2"};
  g.ephemeral = PortSet{{49152, 65535}};
  g.reserved = PortSet{{50000, 50001}};
  g.range = PortRange{2000, 30000};
  g.allow = PortSet{{135, 135}, {445, 445}};
  ASSERT_TRUE(s().PutGroup(g));
  Family f;
  f.name = "mssql";
  f.description = "SQL Server instances";
  f.base = 14330;
  f.size = 20;
  f.skip = PortSet{{14334, 14334}};
  ASSERT_TRUE(s().PutFamily(f));
  ServiceRecord r = Rec("mssql.sales", 14331, ServiceProto::kBoth, "win");
  r.service.family = "mssql";
  r.service.owner = "dba team";
  r.service.description = "it's \"sales\" / ü";
  r.service.tags = {"prod", "pci"};
  r.service.sources = {"10.0.0.0/8"};
  r.service.created = 1700000000;
  r.service.updated = 1700000001;
  ASSERT_TRUE(s().ClaimService(r));
  EXPECT_EQ(s().GetGroup("win").value(), g);
  EXPECT_EQ(s().ListGroups().value(), std::vector<Group>{g});
  EXPECT_EQ(s().GetFamily("mssql").value(), f);
  EXPECT_EQ(s().ListFamilies().value(), std::vector<Family>{f});
  auto back = s().GetService("mssql.sales").value();
  ASSERT_TRUE(back);
  EXPECT_TRUE(SameService(back->service, r.service));
  EXPECT_EQ(back->service.created, 1700000000);
  EXPECT_EQ(back->reason, "test");
  EXPECT_FALSE(s().GetGroup("nosuch").value());
}

TEST_P(StoreContract, ReplaceIsAllOrNothingAndKeepsUnchangedServices) {
  ASSERT_TRUE(s().ClaimService(Rec("keep", 5000)));
  const auto kept = s().GetService("keep").value().value();
  RegistryDoc bad;
  bad.services = {Rec("x", 6000).service, Rec("y", 6000).service};
  auto r = s().Replace(bad, "apply");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  auto list = s().ListServices().value();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].service.name, "keep");

  RegistryDoc good;
  Family fam;
  fam.name = "mssql";
  fam.base = 1433;
  good.families = {fam};
  Group grp;
  grp.name = "default";
  good.groups = {grp};
  good.services = {Rec("keep", 5000).service, Rec("y", 6000, ServiceProto::kBoth).service};
  ASSERT_TRUE(s().Replace(good, "apply"));
  auto doc = s().Export();
  ASSERT_TRUE(doc) << doc.error().message;
  ASSERT_EQ(doc->services.size(), 2u);
  EXPECT_EQ(doc->families, good.families);
  EXPECT_EQ(doc->groups, good.groups);
  auto keep = s().GetService("keep").value().value();
  EXPECT_EQ(keep.reason, "test");  // unchanged: its reason, times and revision stay
  EXPECT_EQ(keep.revision, kept.revision);
  EXPECT_EQ(keep.service.created, kept.service.created);
  EXPECT_EQ(s().GetService("y").value().value().reason, "apply");
  EXPECT_EQ(s().ListClaims("").value().size(), 3u);
  EXPECT_TRUE(s().CheckIntegrity().value().empty());
  // Replacing with an empty document empties it.
  ASSERT_TRUE(s().Replace(RegistryDoc{}, "apply"));
  EXPECT_TRUE(s().ListServices().value().empty());
  EXPECT_TRUE(s().ListClaims("").value().empty());
}

TEST_P(StoreContract, RecordScanKeepsScansApartAndFindsAServicesObservations) {
  Observation o{"h1", "web", Protocol::kTcp, 4000, 10, "app", 0, 0};
  auto first = s().RecordScan("h1", 100, {o});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_FALSE(first->previous);
  o.port = 4001;
  auto second = s().RecordScan("h1", 100, {o});  // the same second: moved one on
  ASSERT_TRUE(second);
  ASSERT_TRUE(second->previous);
  EXPECT_EQ(*second->previous, 100);
  EXPECT_EQ(second->time, 101);
  auto prev = s().ScanObservations("h1", 100).value();
  ASSERT_EQ(prev.size(), 1u);
  EXPECT_EQ(prev[0].port, 4000);
  EXPECT_EQ(prev[0].host, "h1");
  auto now = s().ScanObservations("h1", 101).value();
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].port, 4001);
  EXPECT_EQ(now[0].first_seen, 101);
  EXPECT_EQ(s().LastScan("h1").value(), std::optional<std::int64_t>(101));
  Observation other{"h/2", "web", Protocol::kUdp, 4002, 11, "app", 0, 0};
  ASSERT_TRUE(s().RecordScan("h/2", 200, {other}));
  auto seen = s().ServiceObservations("web").value();
  ASSERT_EQ(seen.size(), 3u);  // most recent first
  EXPECT_EQ(seen[0].host, "h/2");
  EXPECT_EQ(seen[0].last_seen, 200);
  EXPECT_EQ(s().Revision().value(), 0);  // observations are not the registry
}

TEST_P(StoreContract, ConcurrentClaimsOfOnePortHaveOneWinner) {
  constexpr int kClients = 8;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kClients; ++i) {
    stores.push_back(Open());
    ASSERT_NE(stores.back(), nullptr);
  }
  std::vector<std::thread> threads;
  std::vector<int> won(kClients, 0);
  std::vector<std::string> errors(kClients);
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto r = stores[static_cast<std::size_t>(i)]->ClaimService(Rec(fmt::format("s{}", i), 7000));
      if (r) {
        won[static_cast<std::size_t>(i)] = 1;
      } else if (r.error().code != ErrorCode::kConflict) {
        errors[static_cast<std::size_t>(i)] = r.error().message;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(std::count(won.begin(), won.end(), 1), 1);
  EXPECT_EQ(s().ListClaims("").value().size(), 1u);
}

TEST_P(StoreContract, ClaimedPortsFollowsOwnAndOtherWritersAndANewGeneration) {
  auto other = Open();
  ASSERT_NE(other, nullptr);
  auto index = s().ClaimedPorts("default");
  ASSERT_TRUE(index) << index.error().message;
  const ClaimIndex* idx = *index;
  ASSERT_NE(idx, nullptr);
  EXPECT_TRUE(idx->claimed[0].empty());
  ASSERT_TRUE(other->ClaimService(Rec("a", 7000)));
  ASSERT_TRUE(s().ClaimService(Rec("b", 7001, ServiceProto::kBoth)));
  auto again = s().ClaimedPorts("default");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, idx);  // the same index, brought up to date in place
  EXPECT_EQ(idx->claimed[0].Format(), "7000-7001");
  EXPECT_EQ(idx->claimed[1].Format(), "7001");
  ASSERT_EQ(idx->At("default", 7000).size(), 1u);
  EXPECT_EQ(idx->At("default", 7000)[0].service, "a");
  EXPECT_EQ(idx->At("default", 7001).size(), 2u);
  ASSERT_TRUE(other->ReleaseService("a").value());  // a deletion by another writer
  ASSERT_TRUE(s().ClaimedPorts("default"));
  EXPECT_EQ(idx->claimed[0].Format(), "7001");
  EXPECT_TRUE(idx->At("default", 7000).empty());
  RegistryDoc doc;  // a new generation on etcd
  Service c;
  c.name = "c";
  c.port = 7100;
  c.group = "default";
  doc.services.push_back(c);
  ASSERT_TRUE(other->Replace(doc, "test"));
  ASSERT_TRUE(s().ClaimedPorts("default"));
  EXPECT_EQ(idx->claimed[0].Format(), "7100");
  EXPECT_TRUE(idx->claimed[1].empty());
  // The same answers as ListClaims.
  PortSet listed;
  for (const Claim& cl : s().ListClaims("default").value()) listed.Add(cl.port);
  EXPECT_EQ(listed, idx->claimed[0]);
}


// ---- Assigns from a store that has seen the group before (etcd: "Guided claims" in
// docs/etcd-store.md: the claim starts from what the store remembers, without a read).

// One `berth assign NAME` through `store` (app::Assign, as the CLI, agent and server do): the
// port, or 0 with the failure in the test log.
Port AssignThrough(Store& store, const std::string& name, const std::string& group = "") {
  AssignRequest req;
  req.name = name;
  req.group = group;
  req.allow_iana = true;
  HostView host;
  host.hostname = "contract-host";
  auto steps = app::Assign(store, host, std::span(&req, 1));
  EXPECT_FALSE(steps.failed) << name << ": " << steps.failed->message;
  if (steps.failed || steps.done.size() != 1) return 0;
  const ServiceRecord& r = steps.done.front().record;
  // The revision the assign reports is the stored record's.
  auto stored = store.GetService(name);
  EXPECT_TRUE(stored && *stored) << name;
  if (stored && *stored) {
    EXPECT_EQ(r.revision, (*stored)->revision) << name;
  }
  return r.service.port;
}

TEST_P(StoreContract, AnAssignTakesTheRulesPortAfterOthersClaimedAndReleasedUnseen) {
  Family f;
  f.name = "f";
  f.base = 21000;
  f.size = 10;
  ASSERT_TRUE(s().PutFamily(f));
  auto other = Open();
  ASSERT_NE(other, nullptr);
  // A family hands out the first free port of its block in order: which port is right is
  // known without the hash.
  EXPECT_EQ(AssignThrough(s(), "f.a"), 21000);
  EXPECT_EQ(AssignThrough(s(), "f.b"), 21001);
  // Another writer claims the next port: this store has not seen it, and must not take it.
  EXPECT_EQ(AssignThrough(*other, "f.x"), 21002);
  EXPECT_EQ(AssignThrough(s(), "f.c"), 21003);
  // Another writer releases the first port: this store saw it claimed, and must take it.
  ASSERT_TRUE(other->ReleaseService("f.a").value());
  EXPECT_EQ(AssignThrough(s(), "f.d"), 21000);
  // And this store's own release is the other's next port.
  ASSERT_TRUE(s().ReleaseService("f.b").value());
  EXPECT_EQ(AssignThrough(*other, "f.y"), 21001);
  EXPECT_EQ(AssignThrough(s(), "f.e"), 21004);
  auto claims = s().ListClaims("default");
  ASSERT_TRUE(claims) << claims.error().message;
  std::vector<std::string> held;
  for (const Claim& c : *claims) {
    held.push_back(fmt::format("{}={}", c.port, c.service));
  }
  EXPECT_THAT(held, ::testing::ElementsAre("21000=f.d", "21001=f.y", "21002=f.x", "21003=f.c",
                                           "21004=f.e"));
  EXPECT_TRUE(s().CheckIntegrity().value().empty());
}

TEST_P(StoreContract, AnAssignFollowsAGroupChangedByAnotherWriter) {
  Group g;
  g.name = "g2";
  g.range = {30000, 30099};
  ASSERT_TRUE(s().PutGroup(g));
  auto other = Open();
  ASSERT_NE(other, nullptr);
  const Port a = AssignThrough(s(), "a", "g2");
  EXPECT_TRUE(a >= 30000 && a <= 30099) << a;
  // Another writer narrows the group: 30000-30089 become ephemeral on one of its hosts.
  g.ephemeral.Add(PortRange{30000, 30089});
  ASSERT_TRUE(other->PutGroup(g));
  for (const char* name : {"b", "c", "d"}) {
    const Port p = AssignThrough(s(), name, "g2");
    EXPECT_TRUE(p >= 30090 && p <= 30099) << name << " got " << p;
  }
}


// What a guided assign costs in requests to etcd (docs/etcd-store.md, "Guided claims"):
// counted, not timed.
TEST(EtcdGuidedClaims, AnAssignIsTwoRequestsColdAndOneWarmWhateverTheGroupsSize) {
  std::string why;
  auto cluster = EtcdCluster::Start(why);
  if (!cluster) BERTH_MISSING_PEER(why);
  auto open = [] {
    auto loc = ParseStoreUrl(EtcdCluster::Url("/guided"));
    EXPECT_TRUE(loc);
    auto s = loc ? OpenStore(*loc, OpenMode::kWrite) : Result<std::unique_ptr<Store>>(Fail(ErrorCode::kInternal, "no url"));
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  };
  auto filler = open();
  ASSERT_NE(filler, nullptr);
  // A group of 100 claims, written by another client.
  for (int i = 0; i < 100; ++i) ASSERT_NE(AssignThrough(*filler, fmt::format("fill{}", i)), 0);
  auto store = open();
  ASSERT_NE(store, nullptr);
  auto* etcd = dynamic_cast<EtcdStore*>(store.get());
  ASSERT_NE(etcd, nullptr);
  // `berth assign` in a new process: one read, one commit (plus the read of GetService that
  // AssignThrough makes to check the revision), not a listing of the 100 claims.
  std::size_t before = etcd->calls();
  ASSERT_NE(AssignThrough(*store, "cold"), 0);
  EXPECT_EQ(etcd->calls() - before, 2u + 1u);
  // The same store again, nothing else written meanwhile: the commit alone.
  for (const char* name : {"warm1", "warm2", "warm3"}) {
    before = etcd->calls();
    ASSERT_NE(AssignThrough(*store, name), 0);
    EXPECT_EQ(etcd->calls() - before, 1u + 1u) << name;
  }
  // Every port held once.
  auto claims = store->ListClaims("default");
  ASSERT_TRUE(claims) << claims.error().message;
  std::set<Port> ports;
  for (const Claim& c : *claims) EXPECT_TRUE(ports.insert(c.port).second) << c.port;
  EXPECT_EQ(ports.size(), 104u);
  EXPECT_TRUE(store->CheckIntegrity().value().empty());
}

// ---- Range claims (berth assign NAME --size N): one service holds a block of ports.

ServiceRecord RangeRec(std::string name, Port port, std::uint32_t size,
                       ServiceProto proto = ServiceProto::kTcp, std::string group = "default") {
  ServiceRecord r = Rec(std::move(name), port, proto, std::move(group));
  r.service.size = size;
  return r;
}

// The claim fails with kConflict naming `holder`, and leaves no record of `name`.
void ExpectClaimRefused(Store& store, const ServiceRecord& r, std::string_view holder) {
  auto c = store.ClaimService(r);
  ASSERT_FALSE(c) << r.service.name << " was claimed";
  EXPECT_EQ(c.error().code, ErrorCode::kConflict) << c.error().message;
  EXPECT_THAT(c.error().message, HasSubstr(fmt::format("already registered to '{}'", holder)));
  EXPECT_FALSE(store.GetService(r.service.name).value());
}

TEST_P(StoreContract, ARangeClaimHoldsEveryPortOfItsBlockAndOverlapsNoClaim) {
  ASSERT_TRUE(s().ClaimService(Rec("single", 5100)));
  ExpectClaimRefused(s(), RangeRec("around", 5000, 256), "single");  // a single port inside it
  auto r = s().ClaimService(RangeRec("rpc.dynamic", 5200, 256));  // 5200-5455
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, ClaimStatus::kClaimed);
  EXPECT_EQ(r->record.service.size, 256u);
  EXPECT_EQ(s().GetService("rpc.dynamic").value()->service.size, 256u);
  EXPECT_EQ(s().ListClaims("default").value().size(), 257u);  // one claim per port

  // From this handle and from another (another process): single ports at both ends and
  // inside, a range reaching in from below, a range inside, a range around it.
  auto other = Open();
  ASSERT_NE(other, nullptr);
  for (Store* store : {&s(), other.get()}) {
    for (Port p : {Port{5200}, Port{5300}, Port{5455}}) ExpectClaimRefused(*store, Rec("in", p), "rpc.dynamic");
    ExpectClaimRefused(*store, RangeRec("below", 5150, 60), "rpc.dynamic");
    ExpectClaimRefused(*store, RangeRec("inside", 5300, 10), "rpc.dynamic");
    ExpectClaimRefused(*store, RangeRec("over", 5101, 1000), "rpc.dynamic");
    ExpectClaimRefused(*store, Rec("both", 5455, ServiceProto::kBoth), "rpc.dynamic");
  }
  EXPECT_TRUE(other->ClaimService(RangeRec("after", 5456, 10)));  // adjacent: no overlap
  EXPECT_TRUE(other->ClaimService(Rec("udp", 5300, ServiceProto::kUdp)));  // the other slot
  ExpectClaimRefused(s(), Rec("late", 5460), "after");

  auto index = s().ClaimedPorts("default");
  ASSERT_TRUE(index) << index.error().message;
  EXPECT_EQ((*index)->claimed[0].Format(), "5100,5200-5465");
  EXPECT_EQ((*index)->claimed[1].Format(), "5300");
  ASSERT_EQ((*index)->At("default", 5300).size(), 2u);
  EXPECT_EQ((*index)->At("default", 5300)[0].service, "rpc.dynamic");
  EXPECT_TRUE(s().CheckIntegrity().value().empty());

  // Released, the whole block is free again, from either handle.
  ASSERT_TRUE(s().ReleaseService("rpc.dynamic").value());
  EXPECT_TRUE(other->ClaimService(Rec("in", 5300)));
  EXPECT_TRUE(s().ClaimService(RangeRec("again", 5200, 100)));
  EXPECT_EQ(s().ListClaims("default").value().size(), 1u + 1u + 1u + 10u + 100u);
  EXPECT_TRUE(s().CheckIntegrity().value().empty());
}

TEST_P(StoreContract, ARangeGoesThroughReplaceAndExportWhole) {
  ASSERT_TRUE(s().ClaimService(Rec("old", 7000)));
  RegistryDoc bad;  // a range over another service of the same document
  bad.services = {RangeRec("rpc.dynamic", 5000, 256).service, Rec("web", 5255).service};
  auto refused = s().Replace(bad, "apply");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_THAT(refused.error().message, HasSubstr("5255/tcp"));
  EXPECT_EQ(s().Export().value().services.size(), 1u);  // nothing changed

  RegistryDoc doc;
  doc.services = {RangeRec("rpc.dynamic", 5000, 256, ServiceProto::kBoth).service, Rec("web", 6000).service};
  ASSERT_TRUE(s().Replace(doc, "apply"));
  const RegistryDoc back = s().Export().value();
  ASSERT_EQ(back.services.size(), 2u);
  EXPECT_TRUE(SameService(back.services[0], doc.services[0]));
  EXPECT_EQ(back.services[0].size, 256u);
  EXPECT_EQ(s().ListClaims("").value().size(), 2u * 256u + 1u);
  EXPECT_TRUE(s().CheckIntegrity().value().empty());
  // What the document claimed holds against later claims, from another handle too.
  auto other = Open();
  ASSERT_NE(other, nullptr);
  ExpectClaimRefused(*other, Rec("in", 5128, ServiceProto::kUdp), "rpc.dynamic");
  ExpectClaimRefused(s(), RangeRec("across", 4990, 20), "rpc.dynamic");
  EXPECT_TRUE(other->ClaimService(Rec("next", 5256)));
}

// Clients claiming overlapping ranges and single ports at once: whatever wins, no port is
// held twice, and every loser was told of a conflict (not a failure).
TEST_P(StoreContract, ConcurrentRangeAndPortClaimsNeverOverlap) {
  const std::vector<ServiceRecord> wants = {
      RangeRec("r0", 5000, 40), RangeRec("r1", 5030, 40), RangeRec("r2", 5060, 40),
      RangeRec("r3", 5020, 10), Rec("p0", 5035),         Rec("p1", 5065),
      Rec("p2", 5005),          Rec("p3", 5099)};
  std::vector<std::unique_ptr<Store>> stores;
  for (std::size_t i = 0; i < wants.size(); ++i) {
    stores.push_back(Open());
    ASSERT_NE(stores.back(), nullptr);
  }
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  std::vector<std::string> errors(wants.size());
  for (std::size_t i = 0; i < wants.size(); ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < static_cast<int>(wants.size())) std::this_thread::yield();
      auto r = stores[i]->ClaimService(wants[i]);
      if (!r && r.error().code != ErrorCode::kConflict) errors[i] = r.error().message;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  const auto won = s().ListServices().value();
  ASSERT_FALSE(won.empty());
  std::size_t ports = 0;
  PortSet held;
  for (const ServiceRecord& w : won) {
    PortSet mine{PortsOf(w.service)};
    EXPECT_TRUE(held.Intersect(mine).empty()) << w.service.name << " overlaps another winner";
    held.Add(mine);
    ports += w.service.size;
  }
  EXPECT_EQ(s().ListClaims("").value().size(), ports);
  EXPECT_TRUE(s().CheckIntegrity().value().empty());
}

// ---- The fleet (berth agent and serve).

HostPresence Presence(std::string host, std::int64_t lease) {
  HostPresence p;
  p.host = std::move(host);
  p.lease = lease;
  p.ttl = 30;
  p.interval = 10;
  p.started = 1700000000;
  p.version = "test";
  return p;
}

// Polls `done` until it holds or 20 s pass (a lease expires on the store's own clock).
template <class F>
bool Eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

TEST_P(StoreContract, APresenceLivesAsLongAsItsLease) {
  auto lease = s().GrantLease(30);
  ASSERT_TRUE(lease) << lease.error().message;
  ASSERT_TRUE(s().PutPresence(Presence("web1", *lease)));
  auto hosts = s().ListHosts();
  ASSERT_TRUE(hosts) << hosts.error().message;
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_EQ((*hosts)[0].report.host, "web1");
  ASSERT_TRUE((*hosts)[0].presence);
  EXPECT_EQ(*(*hosts)[0].presence, Presence("web1", *lease));
  auto left = s().LeaseRemaining(*lease);
  ASSERT_TRUE(left && *left);
  EXPECT_GT(**left, 0);
  EXPECT_LE(**left, 30);
  auto renewed = s().KeepAlive(*lease);
  ASSERT_TRUE(renewed && *renewed);
  EXPECT_EQ(**renewed, 30);

  ASSERT_TRUE(s().RevokeLease(*lease));
  hosts = s().ListHosts();
  ASSERT_TRUE(hosts);
  EXPECT_TRUE(hosts->empty());  // no report was written: nothing is left of the host
  EXPECT_EQ(s().KeepAlive(*lease).value(), std::nullopt);
  EXPECT_EQ(s().LeaseRemaining(*lease).value(), std::nullopt);
  EXPECT_TRUE(s().RevokeLease(*lease));  // revoking twice is not a failure
  auto late = s().PutPresence(Presence("web1", *lease));
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::kNotFound) << late.error().message;
}

// A lease id is never granted again once its lease is gone: an agent that lost its lease
// (a partition) must not renew or revoke the one granted to another agent since.
TEST_P(StoreContract, ALeaseIdIsNeverGrantedTwice) {
  auto first = s().GrantLease(30);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(s().RevokeLease(*first));
  auto second = s().GrantLease(30);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_NE(*second, *first);
  EXPECT_EQ(s().KeepAlive(*first).value(), std::nullopt);
  ASSERT_TRUE(s().RevokeLease(*second));
}

TEST_P(StoreContract, AnUnrenewedLeaseExpiresAndTakesThePresenceWithIt) {
  auto lease = s().GrantLease(1);
  ASSERT_TRUE(lease) << lease.error().message;
  ASSERT_TRUE(s().PutPresence(Presence("web2", *lease)));
  HostReport report;
  report.host = "web2";
  report.ephemeral = {32768, 60999};
  ASSERT_TRUE(s().PutHostReport(report, {}));
  auto other = Open();  // another process sees it go
  ASSERT_NE(other, nullptr);
  EXPECT_TRUE(Eventually([&] {
    auto hosts = other->ListHosts();
    return hosts && hosts->size() == 1 && !(*hosts)[0].presence;
  }));
  auto hosts = other->ListHosts().value();
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(hosts[0].report, report);  // the report stays: a down host shows what it last said
  EXPECT_EQ(s().KeepAlive(*lease).value(), std::nullopt);
}

TEST_P(StoreContract, AHostReportKeepsEveryFieldAndItsFindings) {
  HostReport r;
  r.host = "db/1\x1b[31m";  // a hostile name is a key part, not a path
  r.group = "prod";
  r.ephemeral = {49152, 65535};
  r.reserved = PortSet{{5432, 5432}, {9000, 9010}};
  r.scanned = 1700000100;
  r.changed = 1700000000;
  r.digest = "abc123";
  r.listeners = 7;
  r.error = "";
  Finding f;
  f.id = FindingId::kEphemeralListener;
  f.severity = Severity::kError;
  f.subject = "python3 (pid 10)";
  f.proto = Protocol::kTcp;
  f.ports = PortSet{{50051, 50051}};
  f.pids = {10};
  f.why = "listens inside the ephemeral range";
  f.fix = "berth assign grpc\nberth reserve --apply";
  Finding g;
  g.id = FindingId::kReservedPortsEmpty;
  g.subject = "host";
  ASSERT_TRUE(s().PutHostReport(r, {f, g}));
  auto hosts = Open()->ListHosts();
  ASSERT_TRUE(hosts) << hosts.error().message;
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_EQ((*hosts)[0].report, r);
  EXPECT_FALSE((*hosts)[0].presence);
  auto findings = s().HostFindings(r.host);
  ASSERT_TRUE(findings) << findings.error().message;
  ASSERT_EQ(findings->size(), 2u);
  const Finding& back = (*findings)[0];
  EXPECT_EQ(back.id, f.id);
  EXPECT_EQ(back.severity, f.severity);
  EXPECT_EQ(back.subject, f.subject);
  EXPECT_EQ(back.proto, f.proto);
  EXPECT_EQ(back.ports, f.ports);
  EXPECT_EQ(back.pids, f.pids);
  EXPECT_EQ(back.why, f.why);
  EXPECT_EQ(back.fix, f.fix);
  EXPECT_FALSE((*findings)[1].proto);
  EXPECT_TRUE(s().HostFindings("nobody").value().empty());
  ASSERT_TRUE(s().PutHostReport(r, {}));  // replaced, not added to
  EXPECT_TRUE(s().HostFindings(r.host).value().empty());
  EXPECT_EQ(s().Revision().value(), 0);  // the fleet is not the registry
}

// A collected host (a Windows host scanned from its collection, docs/windows.md) has a report
// and no lease: it is listed with its source and collection time, and an agent that starts
// on it later replaces both.
TEST_P(StoreContract, ACollectedHostsReportIsListedWithoutALeaseUntilAnAgentReplacesIt) {
  HostReport r;
  r.host = "WIN-SQL01";
  r.group = "win";
  r.ephemeral = {49152, 65535};
  r.scanned = 1764713000;
  r.changed = 1764713000;
  r.listeners = 12;
  r.source = ReportSource::kCollected;
  r.collected = 1764712800;
  ASSERT_TRUE(s().PutHostReport(r, {}));
  auto hosts = Open()->ListHosts();
  ASSERT_TRUE(hosts) << hosts.error().message;
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_EQ((*hosts)[0].report, r);
  EXPECT_EQ((*hosts)[0].report.source, ReportSource::kCollected);
  EXPECT_EQ((*hosts)[0].report.collected, 1764712800);
  EXPECT_FALSE((*hosts)[0].presence);
  // An agent on it: its presence joins the collected report until its own report replaces it.
  const auto lease = s().GrantLease(600);
  ASSERT_TRUE(lease) << lease.error().message;
  ASSERT_TRUE(s().PutPresence(HostPresence{"WIN-SQL01", *lease, 600, 30, 10, 1764713100, "t"}));
  EXPECT_EQ(s().ListHosts().value().at(0).report.source, ReportSource::kCollected);
  HostReport agent = r;
  agent.source = ReportSource::kAgent;
  agent.collected = 0;
  agent.scanned = 1764713130;
  ASSERT_TRUE(s().PutHostReport(agent, {}));
  hosts = Open()->ListHosts();
  ASSERT_TRUE(hosts) << hosts.error().message;
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_EQ((*hosts)[0].report, agent);
  EXPECT_TRUE((*hosts)[0].presence);
}

// berth scan of a collected Windows host (app::ScanWindows on the fixture PowerShell 7 wrote)
// records its observations and writes its report with every finding the scan found, so the
// host joins the fleet view; scanned again unchanged, its report keeps its change time.
TEST_P(StoreContract, AScanOfACollectedWindowsHostWritesItsFleetReport) {
  auto host = app::LoadWindowsHost(std::string(BERTH_FIXTURES) + "/windows/ps7-collector.json");
  ASSERT_TRUE(host) << host.error().message;
  FakeClock clock(1764713000);
  const app::ScanRegistry reg{true, &s(), std::nullopt};
  auto scan = app::ScanWindows(app::ScanRequest{}, *host, "berth remedy", reg, clock);
  ASSERT_TRUE(scan) << scan.error().message;
  ASSERT_FALSE(scan->registry_error) << scan->registry_error->message;
  ASSERT_EQ(scan->findings.size(), 10u);

  auto other = Open();
  ASSERT_NE(other, nullptr);
  auto hosts = other->ListHosts();
  ASSERT_TRUE(hosts) << hosts.error().message;
  ASSERT_EQ(hosts->size(), 1u);
  const HostReport& r = (*hosts)[0].report;
  EXPECT_FALSE((*hosts)[0].presence);
  EXPECT_EQ(r.host, "WIN-SQL01");
  EXPECT_EQ(r.source, ReportSource::kCollected);
  EXPECT_EQ(r.collected, 1764712800);  // the collection's own time, 2025-12-02T22:00:00Z
  EXPECT_EQ(r.scanned, 1764713000);
  EXPECT_EQ(r.changed, 1764713000);
  EXPECT_EQ(r.listeners, 12u);
  EXPECT_EQ(r.ephemeral, (PortRange{49152, 65535}));
  EXPECT_EQ(r.group, "");  // no group lists it
  EXPECT_TRUE(r.digest.starts_with("fnv1a64:")) << r.digest;
  auto findings = other->HostFindings("WIN-SQL01");
  ASSERT_TRUE(findings) << findings.error().message;
  ASSERT_EQ(findings->size(), scan->findings.size());
  for (std::size_t i = 0; i < findings->size(); ++i) {
    EXPECT_EQ((*findings)[i].id, scan->findings[i].id) << i;
    EXPECT_EQ((*findings)[i].subject, scan->findings[i].subject) << i;
    EXPECT_EQ((*findings)[i].ports, scan->findings[i].ports) << i;
    EXPECT_EQ((*findings)[i].fix, scan->findings[i].fix) << i;
  }
  const auto last = other->LastScan("WIN-SQL01");
  ASSERT_TRUE(last && *last) << (last ? "no scan" : last.error().message);
  EXPECT_EQ(other->ScanObservations("WIN-SQL01", **last).value().size(), 12u);

  // Once a group lists it, the report names that group; unchanged otherwise, its change time stays.
  Group win;
  win.name = "win";
  win.hosts = {"WIN-SQL01"};
  ASSERT_TRUE(s().PutGroup(win));
  clock.Advance(60);
  ASSERT_TRUE(app::ScanWindows(app::ScanRequest{}, *host, "berth remedy", reg, clock));
  clock.Advance(60);
  ASSERT_TRUE(app::ScanWindows(app::ScanRequest{}, *host, "berth remedy", reg, clock));
  hosts = other->ListHosts();
  ASSERT_TRUE(hosts) << hosts.error().message;
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_EQ((*hosts)[0].report.group, "win");
  EXPECT_EQ((*hosts)[0].report.scanned, 1764713120);
  EXPECT_EQ((*hosts)[0].report.changed, 1764713060);  // the group changed it; the last scan did not
}

TEST_P(StoreContract, WaitForChangeWakesOnAWriteFromAnotherProcessAndTimesOutOtherwise) {
  auto first = s().WaitForChange(0, 0);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(s().WaitForChange(*first, 2000).value(), *first);  // nothing changed
  auto other = Open();
  ASSERT_NE(other, nullptr);
  std::atomic<std::int64_t> woke{-1};
  std::string error;
  std::thread waiter([&] {
    auto r = s().WaitForChange(*first, 20000);
    if (r) woke = *r;
    else error = r.error().message;
  });
  HostReport r;
  r.host = "web3";
  r.ephemeral = {32768, 60999};
  ASSERT_TRUE(other->PutHostReport(r, {}));
  waiter.join();
  EXPECT_EQ(error, "");
  EXPECT_GT(woke.load(), *first);
  // A registry write wakes it too.
  const std::int64_t after_report = woke.load();
  ASSERT_TRUE(other->ClaimService(Rec("web", 7100)));
  const auto after_claim = s().WaitForChange(after_report, 20000);
  ASSERT_TRUE(after_claim);
  EXPECT_GT(*after_claim, after_report);
}

TEST_P(StoreContract, AScanAndAReportCommitTogether) {
  HostReport r;
  r.host = "web4";
  r.ephemeral = {32768, 60999};
  const Observation o{"web4", "", Protocol::kTcp, 4000, 10, "app", 0, 0};
  auto failed = s().Atomically([&]() -> Result<void> {
    BERTH_TRY(s().RecordScan("web4", 100, {o}));
    BERTH_TRY(s().PutHostReport(r, {}));
    return Fail(ErrorCode::kInternal, "stop");
  });
  ASSERT_FALSE(failed);
  EXPECT_TRUE(s().ListHosts().value().empty());
  EXPECT_EQ(s().LastScan("web4").value(), std::nullopt);
  ASSERT_TRUE(s().Atomically([&]() -> Result<void> {
    BERTH_TRY(s().RecordScan("web4", 100, {o}));
    return s().PutHostReport(r, {});
  }));
  EXPECT_EQ(s().ListHosts().value().size(), 1u);
  EXPECT_EQ(s().LastScan("web4").value(), std::optional<std::int64_t>(100));
}

}  // namespace
}  // namespace berth::registry
