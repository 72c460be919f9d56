#include "registry/allocator.h"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>

#include "core/iana.h"
#include "registry/registry_test_util.h"

namespace berth::registry {
namespace {

using test::OpenOrDie;
using test::TempDir;

HostView Host() {
  HostView h;
  h.hostname = "testhost";
  h.config.ephemeral = {32768, 60999};
  return h;
}

// A group of no other host: `name`, placement in `range`.
Group GroupOf(std::string name, PortRange range) {
  Group g;
  g.name = std::move(name);
  g.range = range;
  return g;
}

// Group "win": one Windows host (not this one), Windows' ephemeral range, placement in `range`.
Group WinGroup(PortRange range) {
  Group g = GroupOf("win", range);
  g.hosts = {"winbox"};
  g.ephemeral = PortSet{{49152, 65535}};
  return g;
}

AssignRequest Req(std::string name) {
  AssignRequest r;
  r.name = std::move(name);
  return r;
}

TEST(RegistryAllocator, SameNameSamePortAndPolicyHolds) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  Allocator alloc(*store, Host());
  auto a = alloc.Assign(Req("web"));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_TRUE(a->created);
  const Port p = a->record.service.port;
  EXPECT_TRUE(kUserRange.contains(p));
  EXPECT_FALSE(PortRange(32768, 60999).contains(p));
  EXPECT_FALSE(IanaAssigned(p, Protocol::kTcp));
  auto again = alloc.Assign(Req("web"));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->record.service.port, p);
  // A fresh allocator over the same store (another process) agrees.
  Allocator other(*store, Host());
  auto from_other = other.Assign(Req("web"));
  ASSERT_TRUE(from_other) << from_other.error().message;
  EXPECT_EQ(from_other->record.service.port, p);
}

TEST(RegistryAllocator, RebuildingFromTheSameNamesGivesTheSamePorts) {
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) names.push_back("svc" + std::to_string(i));
  std::vector<Port> first, second;
  for (auto* out : {&first, &second}) {
    TempDir dir;
    auto store = OpenOrDie(dir.File("r.db"));
    ASSERT_TRUE(store);
    Allocator alloc(*store, Host());
    for (const auto& n : names) {
      auto a = alloc.Assign(Req(n));
      ASSERT_TRUE(a) << n << ": " << a.error().message;
      out->push_back(a->record.service.port);
    }
  }
  EXPECT_EQ(first, second);
  EXPECT_EQ(std::set<Port>(first.begin(), first.end()).size(), names.size());
}

TEST(RegistryAllocator, ExplicitPortExplainsEveryBrokenRule) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  HostView host = Host();
  host.listening_tcp.Add(40001);
  Allocator alloc(*store, host);
  AssignRequest r = Req("taken");
  r.port = 20000;
  r.allow_iana = true;
  auto taken = alloc.Assign(r);
  ASSERT_TRUE(taken) << taken.error().message;

  auto expect_rule = [&](Port port, bool allow_iana, std::string_view needle) {
    AssignRequest q = Req("probe");
    q.port = port;
    q.allow_iana = allow_iana;
    auto a = alloc.Assign(q);
    ASSERT_FALSE(a) << "port " << port << " was accepted";
    EXPECT_EQ(a.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(a.error().message.find(needle), std::string::npos) << a.error().message;
  };
  expect_rule(80, true, "outside group 'default''s range 1024-49151");
  expect_rule(40001, true, "ip_local_port_range 32768-60999");
  expect_rule(40001, true, "has a listener on this host");
  expect_rule(20000, true, "already registered to 'taken'");
  expect_rule(1434, false, "IANA assigns 1434/tcp 'ms-sql-m'");
  auto stored = store->GetService("probe");
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_FALSE(*stored) << "a refused request is never stored";
}

TEST(RegistryAllocator, AdoptingWaivesTheListenerAndWarnsOfTheEphemeralRange) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  HostView host = Host();
  host.listening_tcp.Add(20100);
  host.listening_tcp.Add(40002);
  Allocator alloc(*store, host);

  // Not adopted: the listener is a conflict, and the hint points at adopting it.
  AssignRequest plain = Req("web");
  plain.port = 20100;
  auto refused = alloc.Assign(plain);
  ASSERT_FALSE(refused);
  EXPECT_NE(std::find(refused.error().hints.begin(), refused.error().hints.end(),
                      Hint{Remedy::kAdoptListener, "web", "20100/tcp"}),
            refused.error().hints.end());

  AssignRequest adopt = plain;
  adopt.adopt = PortSet{{20100, 20100}};
  auto a = alloc.Assign(adopt);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->record.service.port, 20100);
  EXPECT_TRUE(a->warnings.empty());

  // Inside the ephemeral range: registered, with a warning and the reserve remedy.
  AssignRequest eph = Req("eph");
  eph.port = 40002;
  eph.adopt = PortSet{{40002, 40002}};
  auto e = alloc.Assign(eph);
  ASSERT_TRUE(e) << e.error().message;
  ASSERT_EQ(e->warnings.size(), 1u);
  EXPECT_NE(e->warnings[0].text.find("ip_local_port_range 32768-60999"), std::string::npos);
  EXPECT_NE(e->warnings[0].text.find("while 'eph' is down"), std::string::npos);
  ASSERT_TRUE(e->warnings[0].hint);
  EXPECT_EQ(e->warnings[0].hint->remedy, Remedy::kReservePorts);

  // Every other rule still holds: another name on an adopted port, IANA, the range.
  AssignRequest twice = Req("api");
  twice.port = 20100;
  twice.adopt = PortSet{{20100, 20100}};
  auto t = alloc.Assign(twice);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("already registered to 'web'"), std::string::npos);
  AssignRequest low = Req("low");
  low.port = 80;
  low.adopt = PortSet{{80, 80}};
  EXPECT_FALSE(alloc.Assign(low));
  // The adopted set covers only its ports: a listener elsewhere still refuses.
  AssignRequest other = Req("other");
  other.port = 40002;
  other.adopt = PortSet{{20100, 20100}};
  EXPECT_FALSE(alloc.Assign(other));
}

TEST(RegistryAllocator, AConventionalPortOfAnotherProductIsAWarningNotARefusal) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  Allocator alloc(*store, Host());
  AssignRequest billing = Req("billing");
  billing.port = 9090;
  billing.allow_iana = true;  // IANA gives 9090 to websm
  auto a = alloc.Assign(billing);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->record.service.port, 9090);
  ASSERT_EQ(a->warnings.size(), 1u);
  EXPECT_EQ(a->warnings[0].rule, Rule::kConventional);
  EXPECT_EQ(a->warnings[0].text,
            "9090/tcp is where Prometheus (server: web UI, API) and Cockpit (web console) listen "
            "by convention (IANA gives it to websm), and 'billing' is not one of them: a client, "
            "scraper or dashboard that assumes the convention reaches 'billing', and installing "
            "one of them there finds the port taken");
  // Asked again, the registered name comes back without a new warning.
  auto again = alloc.Assign(billing);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->created);
  EXPECT_TRUE(again->warnings.empty());
  // The product itself is at home there (and so is a UDP-only service: the table is TCP's).
  AssignRequest grafana = Req("grafana");
  grafana.port = 3000;
  grafana.allow_iana = true;
  auto g = alloc.Assign(grafana);
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_TRUE(g->warnings.empty());
  EXPECT_FALSE(ConventionalWarning(9200, ServiceProto::kUdp, "search"));
  EXPECT_TRUE(ConventionalWarning(9200, ServiceProto::kBoth, "search"));
}

TEST(RegistryAllocator, ChangingAnExistingNameIsAConflict) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  Allocator alloc(*store, Host());
  auto web = alloc.Assign(Req("web"));
  ASSERT_TRUE(web) << web.error().message;
  const Port p = web->record.service.port;
  AssignRequest r = Req("web");
  r.port = static_cast<Port>(p == 20001 ? 20003 : 20001);
  r.allow_iana = true;
  auto a = alloc.Assign(r);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, ErrorCode::kConflict);
  EXPECT_EQ(a.error().hints, (std::vector<Hint>{{Remedy::kReleaseFirst, "web"}}));
}

TEST(RegistryAllocator, BothClaimsBothSlots) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  Allocator alloc(*store, Host());
  AssignRequest r = Req("dns");
  r.proto = ServiceProto::kBoth;
  auto a = alloc.Assign(r);
  ASSERT_TRUE(a) << a.error().message;
  const Port p = a->record.service.port;
  EXPECT_FALSE(IanaAssigned(p, Protocol::kTcp));
  EXPECT_FALSE(IanaAssigned(p, Protocol::kUdp));
  auto claims = store->ListClaims("default");
  ASSERT_TRUE(claims) << claims.error().message;
  ASSERT_EQ(claims->size(), 2u);
  AssignRequest u = Req("other");
  u.proto = ServiceProto::kUdp;
  u.port = p;
  EXPECT_FALSE(alloc.Assign(u));
}

TEST(RegistryAllocator, FamilySkipsTheBrowserPort) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  Family fam;
  fam.name = "mssql";
  fam.base = 1433;
  fam.size = 10;
  ASSERT_TRUE(store->PutFamily(fam));
  Allocator alloc(*store, Host());
  std::vector<Port> ports;
  for (const char* n : {"mssql.instance1", "mssql.instance2", "mssql.instance3"}) {
    AssignRequest r = Req(n);  // family inferred from the first label
    r.allow_iana = true;
    auto a = alloc.Assign(r);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->record.service.family, "mssql");
    ports.push_back(a->record.service.port);
  }
  EXPECT_EQ(ports[0], 1433);
  EXPECT_NE(ports[1], 1434);
  EXPECT_NE(ports[2], 1434);
  EXPECT_EQ(ports[1], 1435);  // the next free port after the browser's
  // Without allow_iana every IANA-assigned port of the block is skipped too: the first port
  // after 1436 that IANA leaves free, or (the table decides, not the result) none, and the
  // error names both ways out as data.
  std::optional<Port> expected;
  for (Port p = 1437; p <= 1442 && !expected; ++p) {
    if (!IanaAssigned(p, Protocol::kTcp)) expected = p;
  }
  auto strict = alloc.Assign(Req("mssql.instance4"));
  if (expected) {
    ASSERT_TRUE(strict) << strict.error().message;
    EXPECT_EQ(strict->record.service.port, *expected);
  } else {
    ASSERT_FALSE(strict);
    EXPECT_EQ(strict.error().hints,
              (std::vector<Hint>{{Remedy::kWidenFamily, "mssql", "1433"}, {Remedy::kAllowIana}}));
    EXPECT_EQ(strict.error().message.find("--"), std::string::npos) << strict.error().message;
  }
}

TEST(RegistryAllocator, GroupEphemeralRangesOfOtherHostsAreAvoided) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  const Group g = WinGroup({40000, 50000});
  ASSERT_TRUE(store->PutGroup(g));
  Allocator alloc(*store, Host());  // this host is not in the group
  for (int i = 0; i < 50; ++i) {
    AssignRequest r = Req("w" + std::to_string(i));
    r.group = "win";
    r.allow_iana = true;
    auto a = alloc.Assign(r);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_GE(a->record.service.port, 40000);
    EXPECT_LT(a->record.service.port, 49152);
  }
  AssignRequest unknown = Req("x");
  unknown.group = "nosuch";
  auto a = alloc.Assign(unknown);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().message, "unknown group 'nosuch'");
  EXPECT_EQ(a.error().hints,
            (std::vector<Hint>{{Remedy::kCreateGroup, "nosuch"}, {Remedy::kUseDefaultGroup}}));
}

// Placement never lands on a port another product uses by convention, IANA allowed or not:
// the group 9410-9412 holds Zipkin's 9411, and three services fill only 9410 and 9412.
TEST(RegistryAllocator, PlacementSkipsConventionalPorts) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->PutGroup(GroupOf("z", {9410, 9412})));
  Allocator alloc(*store, Host());
  std::vector<Port> got;
  for (int i = 0; i < 3; ++i) {
    AssignRequest r = Req("svc" + std::to_string(i));
    r.group = "z";
    r.allow_iana = true;
    auto a = alloc.Assign(r);
    if (i < 2) {
      ASSERT_TRUE(a) << a.error().message;
      EXPECT_TRUE(a->warnings.empty());
      got.push_back(a->record.service.port);
    } else {
      EXPECT_FALSE(a) << "placed on " << a->record.service.port;
    }
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<Port>{9410, 9412}));
}

TEST(RegistryAllocator, FullSpaceSaysHowToWiden) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->PutGroup(GroupOf("tiny", {20000, 20001})));
  Allocator alloc(*store, Host());
  for (int i = 0; i < 2; ++i) {
    AssignRequest r = Req("t" + std::to_string(i));
    r.group = "tiny";
    r.allow_iana = true;
    auto a = alloc.Assign(r);
    ASSERT_TRUE(a) << a.error().message;
  }
  AssignRequest r = Req("t2");
  r.group = "tiny";
  r.allow_iana = true;
  auto a = alloc.Assign(r);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(a.error().message.find("range 20000-20001"), std::string::npos) << a.error().message;
  EXPECT_EQ(a.error().message.find("--"), std::string::npos) << a.error().message;
  // allow_iana was given, so widening is the one way out.
  EXPECT_EQ(a.error().hints, (std::vector<Hint>{{Remedy::kWidenGroupRange, "tiny"}}));
}

// berth assign rpc.dynamic --size 256 --group win: a run of consecutive ports, each one
// passing every rule a single port must (range, ephemeral ranges of the group's hosts, IANA,
// claims, listeners), deterministic, idempotent, and never over another claim.
TEST(RegistryAllocator, ARangeIsARunOfPortsThatEachPassEveryRule) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  const Group g = WinGroup({1024, 49151});
  ASSERT_TRUE(store->PutGroup(g));
  HostView host = Host();
  host.remote_ephemeral = PortSet{{30000, 30999}};
  Allocator alloc(*store, host);
  ASSERT_TRUE(alloc.Assign(Req("web")));  // a single claim the range must avoid
  AssignRequest r = Req("rpc.dynamic");
  r.group = "win";
  r.size = 256;
  auto a = alloc.Assign(r);
  ASSERT_TRUE(a) << a.error().message;
  const Service& s = a->record.service;
  EXPECT_EQ(s.size, 256u);
  const PortRange block = PortsOf(s);
  for (std::uint32_t p = block.low; p <= block.high; ++p) {
    const Port port = static_cast<Port>(p);
    EXPECT_TRUE(g.range.contains(port)) << p;
    EXPECT_FALSE(g.ephemeral.contains(port) || host.remote_ephemeral.contains(port)) << p;
    EXPECT_FALSE(IanaAssigned(port, Protocol::kTcp)) << p;
    EXPECT_NE(port, 1434);
  }
  EXPECT_NE(a->record.reason.find("a range of 256 ports"), std::string::npos) << a->record.reason;
  // The same name again: the same block, from a fresh allocator (another process) too.
  Allocator other(*store, host);
  auto again = other.Assign(r);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->record.service.port, s.port);
  // Asking it for another size is a conflict: a name keeps its ports.
  r.size = 128;
  auto resized = other.Assign(r);
  ASSERT_FALSE(resized);
  EXPECT_EQ(resized.error().code, ErrorCode::kConflict);
  // A second range in the group lies beside it, never over it; a single port never inside it.
  AssignRequest second = Req("rpc.second");
  second.group = "win";
  second.size = 256;
  auto b = other.Assign(second);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_FALSE(PortsOf(b->record.service).overlaps(block));
  for (int i = 0; i < 40; ++i) {
    AssignRequest one = Req("w" + std::to_string(i));
    one.group = "win";
    auto w = other.Assign(one);
    ASSERT_TRUE(w) << w.error().message;
    EXPECT_FALSE(block.contains(w->record.service.port));
    EXPECT_FALSE(PortsOf(b->record.service).contains(w->record.service.port));
  }
  EXPECT_TRUE(store->CheckIntegrity().value().empty());
}

// Claims cut the group's range 20000-20999 into runs of 100, 399 and 499 ports: a block of
// 450 can only lie in the last, one of 500 fits nowhere (and says how to widen).
TEST(RegistryAllocator, ARangeFindsTheOneRunLongEnough) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->PutGroup(GroupOf("tiny", {20000, 20999})));
  Allocator alloc(*store, Host());
  for (Port p : {Port{20100}, Port{20500}}) {
    AssignRequest one = Req("at" + std::to_string(p));
    one.group = "tiny";
    one.port = p;
    one.allow_iana = true;
    ASSERT_TRUE(alloc.Assign(one));
  }
  for (const char* name : {"a", "b", "c", "d", "e"}) {  // several names: several hash starts
    Allocator one(*store, Host());  // a proposal is held as claimed: one allocator each
    AssignRequest r = Req(std::string("rpc.") + name);
    r.group = "tiny";
    r.size = 450;
    r.allow_iana = true;
    auto proposal = one.Propose(r);
    ASSERT_TRUE(proposal) << name << ": " << proposal.error().message;
    const PortRange got = PortsOf(proposal->record.service);
    EXPECT_GE(got.low, 20501) << name;
    EXPECT_LE(got.high, 20999) << name;
  }
  Allocator fresh(*store, Host());
  AssignRequest big = Req("rpc.big");
  big.group = "tiny";
  big.size = 500;
  big.allow_iana = true;
  auto none = fresh.Assign(big);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(none.error().message.find("no 500 consecutive free ports for 'rpc.big' in group 'tiny'"),
            std::string::npos)
      << none.error().message;
  EXPECT_EQ(none.error().hints, (std::vector<Hint>{{Remedy::kWidenGroupRange, "tiny"}}));
}

TEST(RegistryAllocator, AnExplicitRangeNamesEachRuleItsPortsBreak) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  Allocator alloc(*store, Host());  // ephemeral 32768-60999 (the default group holds this host)
  AssignRequest held = Req("held");
  held.port = Port{20050};
  ASSERT_TRUE(alloc.Assign(held));
  // 1400-1499 holds 1434 (IANA ms-sql-m, the SQL Server Browser) and other IANA ports.
  AssignRequest r = Req("rpc.dynamic");
  r.size = 100;
  r.port = Port{1400};
  auto iana = alloc.Assign(r);
  ASSERT_FALSE(iana);
  EXPECT_EQ(iana.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(iana.error().message.find("cannot register 'rpc.dynamic' on 1400-1499/tcp"), std::string::npos)
      << iana.error().message;
  EXPECT_NE(iana.error().message.find("break this rule, the first: IANA assigns 1400/tcp"), std::string::npos)
      << iana.error().message;
  EXPECT_EQ(iana.error().hints, (std::vector<Hint>{{Remedy::kAllowIana}}));
  // Over a claim and into the ephemeral range: one line per rule, naming the ports.
  r.port = Port{20000};
  r.size = 16000;  // 20000-35999
  r.allow_iana = true;
  auto over = alloc.Assign(r);
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message.find("already registered to 'held'"), std::string::npos) << over.error().message;
  EXPECT_NE(over.error().message.find("3232 ports of the range (32768-35999) break this rule"), std::string::npos)
      << over.error().message;
  EXPECT_FALSE(store->GetService("rpc.dynamic").value());
  // Past 65535, too large, or in a family's block: refused before anything is read.
  r.port = Port{65500};
  r.size = 100;
  EXPECT_EQ(alloc.Assign(r).error().code, ErrorCode::kInvalidArgument);
  r.port.reset();
  r.size = kMaxServiceSize + 1;
  EXPECT_EQ(alloc.Assign(r).error().code, ErrorCode::kInvalidArgument);
  r.size = 10;
  r.family = "mssql";
  EXPECT_EQ(alloc.Assign(r).error().code, ErrorCode::kInvalidArgument);
  // A fitting block: taken as asked.
  r.family.clear();
  r.port = Port{21000};
  auto ok = alloc.Assign(r);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(FormatRange(PortsOf(ok->record.service)), "21000-21009");
  EXPECT_EQ(store->ListClaims("default").value().size(), 11u);
}

TEST(RegistryAllocator, InvalidNamesAreRejectedWithTheRule) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  Allocator alloc(*store, Host());
  for (const std::string& bad : std::vector<std::string>{"Web", "a..b", "-x", "x y", "a;rm", std::string(64, 'a')}) {
    auto a = alloc.Assign(Req(bad));
    ASSERT_FALSE(a) << bad;
    EXPECT_NE(a.error().message.find("lowercase DNS labels"), std::string::npos);
  }
  auto services = store->ListServices();
  ASSERT_TRUE(services) << services.error().message;
  EXPECT_TRUE(services->empty());
}

}  // namespace
}  // namespace berth::registry

namespace berth::registry {
namespace {

TEST(RegistryAllocator, UnpinnedRequestReturnsTheRegistrationFromAnyGroup) {
  test::TempDir dir;
  auto store = test::OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  Group g;
  g.name = "one";
  g.range = {20000, 20000};
  ASSERT_TRUE(store->PutGroup(g));
  HostView host;
  Allocator alloc(*store, host);
  AssignRequest r;
  r.name = "only";
  r.group = "one";
  r.allow_iana = true;
  auto first = alloc.Assign(r);
  ASSERT_TRUE(first) << first.error().message;
  r.group = "";  // not pinned: the claim path reports the existing name
  auto again = Allocator(*store, host).Assign(r);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->record.service.port, 20000);
  auto released = store->ReleaseService("only");
  ASSERT_TRUE(released) << released.error().message;
  EXPECT_TRUE(*released);
  auto claims = store->ListClaims("");
  ASSERT_TRUE(claims) << claims.error().message;
  EXPECT_TRUE(claims->empty());
}

TEST(RegistryAllocator, ProposeMatchesAssignWithoutWriting) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  Allocator proposer(*store, Host());
  auto p = proposer.Propose(Req("mssql.sqlexpress"));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_FALSE(p->registered);
  EXPECT_NE(p->record.reason.find("name hash"), std::string::npos) << p->record.reason;
  auto stored = store->GetService("mssql.sqlexpress");
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_FALSE(*stored) << "a proposal is never stored";
  auto claims = store->ListClaims("default");
  ASSERT_TRUE(claims) << claims.error().message;
  EXPECT_TRUE(claims->empty());
  // Asked again it gives the same; a different name never gets the same port.
  auto again = proposer.Propose(Req("mssql.sqlexpress"));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->record.service.port, p->record.service.port);
  std::set<Port> ports{p->record.service.port};
  for (int i = 0; i < 50; ++i) {
    auto other = proposer.Propose(Req("rpc.p" + std::to_string(i)));
    ASSERT_TRUE(other) << i << ": " << other.error().message;
    ports.insert(other->record.service.port);
  }
  EXPECT_EQ(ports.size(), 51u);
  // Assign then gives the proposed port (same rule, same claims), and a proposal for a
  // registered name is that registration.
  Allocator assigner(*store, Host());
  auto a = assigner.Assign(Req("mssql.sqlexpress"));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->record.service.port, p->record.service.port);
  auto held = Allocator(*store, Host()).Propose(Req("mssql.sqlexpress"));
  ASSERT_TRUE(held) << held.error().message;
  EXPECT_TRUE(held->registered);
  EXPECT_EQ(held->record.service.port, p->record.service.port);
}

TEST(RegistryAllocator, ProposePrefersAPortOnlyWhenItBreaksNoRule) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  AssignRequest taken = Req("other");
  taken.port = 32765;
  auto other = Allocator(*store, Host()).Assign(taken);
  ASSERT_TRUE(other) << other.error().message;
  Allocator alloc(*store, Host());
  AssignRequest mountd = Req("nfs.mountd");
  mountd.port = 20048;  // IANA "mountd": fine with allow_iana
  mountd.allow_iana = true;
  mountd.proto = ServiceProto::kBoth;
  auto m = alloc.Propose(mountd);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->record.service.port, 20048);
  EXPECT_EQ(m->record.service.proto, ServiceProto::kBoth);
  AssignRequest statd = Req("nfs.statd");
  statd.port = 32765;  // claimed by "other": placed elsewhere, and the reason says why
  auto s = alloc.Propose(statd);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_NE(s->record.service.port, 32765);
  EXPECT_NE(s->record.reason.find("preferred port 32765 not used"), std::string::npos) << s->record.reason;
  EXPECT_NE(s->record.reason.find("'other'"), std::string::npos) << s->record.reason;
}

TEST(RegistryAllocator, ProposeKeepsOutOfTheTargetsEphemeralRange) {
  TempDir dir;
  auto store = OpenOrDie(dir.File("r.db"));
  ASSERT_TRUE(store);
  HostView h = Host();
  auto remote = PortSet::Parse("1024-20000");  // the probed hosts' range
  ASSERT_TRUE(remote) << remote.error().message;
  h.remote_ephemeral = *remote;
  Allocator alloc(*store, h);
  for (int i = 0; i < 200; ++i) {
    auto p = alloc.Propose(Req("svc" + std::to_string(i)));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_GT(p->record.service.port, 20000);
    EXPECT_LT(p->record.service.port, 32768);  // this host's own range stays out too
  }
  AssignRequest pref = Req("pinned");
  pref.port = 10000;
  auto p = alloc.Propose(pref);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_NE(p->record.reason.find("the probed hosts' ephemeral range 1024-20000"), std::string::npos)
      << p->record.reason;
}

}  // namespace
}  // namespace berth::registry
