// berth's registry commands end to end: the real binary on a registry in a temp directory.
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "registry/registry_test_util.h"
#include "support/test_support.h"

namespace berth::test {
namespace {

class RegistryCli : public ::testing::Test {
 protected:
  CommandResult Berth(std::vector<std::string> args) {
    args.push_back("--db");
    args.push_back(db_);
    return RunBerth(args);
  }
  void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
  TempDir dir_;
  std::string db_ = dir_.File("registry.db");
};

TEST_F(RegistryCli, AssignIsIdempotentAndShowExplains) {
  auto a = Berth({"assign", "web"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto b = Berth({"assign", "web"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  const int port = std::stoi(a.out);
  auto show = Berth({"show", "web", "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto j = nlohmann::json::parse(show.out);
  EXPECT_EQ(j["port"].get<int>(), port);
  EXPECT_NE(j["reason"].get<std::string>().find("FNV-1a"), std::string::npos);
  EXPECT_TRUE(j["last_seen"].is_null());
  auto list = Berth({"list", "--json"});
  ASSERT_EQ(list.exit_code, 0);
  auto l = nlohmann::json::parse(list.out);
  EXPECT_EQ(l["schema"], "berth.registry/2");
  ASSERT_EQ(l["services"].size(), 1u);
  EXPECT_EQ(l["services"][0]["name"], "web");
  auto rel = Berth({"release", "web"});
  EXPECT_EQ(rel.exit_code, 0) << rel.err;
  EXPECT_EQ(Berth({"release", "web"}).exit_code, 2);
  EXPECT_EQ(Berth({"release", "web", "--missing-ok"}).exit_code, 0);
}

// A range claim through the commands: assign prints the block, list and show and --json carry
// it, export/import round-trip it, a port inside it is refused with its holder, release frees
// it all, and pin refuses it (a pool, not one program's port).
TEST_F(RegistryCli, ARangeClaimThroughEveryRegistryCommand) {
  auto a = Berth({"assign", "rpc.dynamic", "--size", "256", "--port", "20000", "--allow-iana"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, "20000-20255\n");
  EXPECT_NE(Berth({"list"}).out.find("rpc.dynamic  20000-20255"), std::string::npos);
  EXPECT_NE(Berth({"show", "rpc.dynamic"}).out.find("port        20000-20255/tcp (a range of 256 ports)"),
            std::string::npos);
  const auto shown = nlohmann::json::parse(Berth({"show", "rpc.dynamic", "--json"}).out);
  EXPECT_EQ(shown.at("port"), 20000);
  EXPECT_EQ(shown.at("size"), 256);
  auto inside = Berth({"assign", "web", "--port", "20100"});
  EXPECT_EQ(inside.exit_code, 2);
  EXPECT_NE(inside.err.find("20100/tcp is already registered to 'rpc.dynamic'"), std::string::npos) << inside.err;
  auto pin = RunBerth({"pin", "rpc.dynamic", "--db", db_, "--", "true"});
  EXPECT_EQ(pin.exit_code, 2);
  EXPECT_NE(pin.err.find("holds a range of 256 ports (20000-20255)"), std::string::npos) << pin.err;

  const std::string file = dir_.File("export.toml");
  ASSERT_EQ(Berth({"export", "-o", file}).exit_code, 0);
  const std::string other = dir_.File("other.db");
  ASSERT_EQ(RunBerth({"import", file, "--db", other}).exit_code, 0);
  EXPECT_EQ(RunBerth({"export", "--db", other}).out, Berth({"export"}).out);
  EXPECT_NE(Berth({"export"}).out.find("size = 256"), std::string::npos);

  ASSERT_EQ(Berth({"release", "rpc.dynamic"}).exit_code, 0);
  EXPECT_EQ(Berth({"assign", "web", "--port", "20100"}).exit_code, 0) << "20100 is free again";
}

// A port other products use by convention is registered with a warning on stderr; stdout
// stays the port alone, for scripts. The product itself is at home there.
TEST_F(RegistryCli, AssignWarnsOfAConventionalPortOfAnotherProduct) {
  auto a = Berth({"assign", "billing", "--port", "15672"});  // RabbitMQ's management UI
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, "15672\n");
  EXPECT_NE(a.err.find("berth: warning: 15672/tcp is where RabbitMQ (management UI and API) "
                       "listens by convention (IANA gives it to no service), and 'billing' is "
                       "not it"), std::string::npos) << a.err;
  auto again = Berth({"assign", "billing", "--port", "15672"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.err, "");  // already registered: nothing new to warn of
  auto product = Berth({"assign", "rabbitmq", "--port", "16686", "--json"});  // Jaeger's
  ASSERT_EQ(product.exit_code, 0) << product.err;
  EXPECT_NE(product.err.find("Jaeger"), std::string::npos) << product.err;
  auto at_home = Berth({"assign", "zipkin", "--port", "9411"});
  ASSERT_EQ(at_home.exit_code, 0) << at_home.err;
  EXPECT_EQ(at_home.err, "");
}

// berth plan and apply of a berth.toml entry on such a port say the same (docs/registry.md);
// --json carries it in warnings.
TEST_F(RegistryCli, PlanAndApplyWarnOfAConventionalPortOfAnotherProduct) {
  const std::string file = dir_.File("berth.toml");
  Write(file, "[[service]]\nname = \"billing\"\nport = 15672\n");
  const std::string sentence = "service billing: 15672/tcp is where RabbitMQ (management UI and API) "
                               "listens by convention";
  auto plan = Berth({"plan", file});
  EXPECT_EQ(plan.exit_code, 1) << plan.err;  // something to change
  EXPECT_NE(plan.err.find("berth: warning: " + sentence), std::string::npos) << plan.err;
  auto json = Berth({"plan", file, "--json"});
  const auto doc = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << json.out;
  ASSERT_EQ(doc["warnings"].size(), 1u) << json.out;
  EXPECT_EQ(doc["warnings"][0].get<std::string>().find(sentence), 0u) << json.out;
  auto apply = Berth({"apply", file});
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_NE(apply.err.find("berth: warning: " + sentence), std::string::npos) << apply.err;
  EXPECT_EQ(Berth({"plan", file}).err, "");  // applied: nothing new to warn of
}

TEST_F(RegistryCli, BadNameIsAnErrorThatSaysWhatIsAllowed) {
  auto r = Berth({"assign", "My_Service"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("lowercase DNS labels"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(db_));  // nothing was written, not even a file
}

TEST_F(RegistryCli, ReadCommandsDoNotCreateTheRegistry) {
  auto r = Berth({"list"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(db_));
  EXPECT_EQ(Berth({"show", "nothing"}).exit_code, 2);
}

TEST_F(RegistryCli, UnwritableRegistryDirectoryIsExplained) {
  Write(dir_.File("plain"), "x");
  auto r = RunBerth({"assign", "web", "--db", dir_.File("plain/registry.db")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not writable"), std::string::npos) << r.err;
}

TEST_F(RegistryCli, ExportImportRoundTripsExactly) {
  ASSERT_EQ(Berth({"group", "add", "win", "--host", "w1", "--ephemeral", "49152-65535"}).exit_code, 0);
  ASSERT_EQ(Berth({"family", "add", "mssql", "--base", "1433", "--size", "10"}).exit_code, 0);
  ASSERT_EQ(Berth({"assign", "mssql.a", "mssql.b", "--allow-iana"}).exit_code, 0);
  ASSERT_EQ(Berth({"assign", "dns", "--proto", "both", "--owner", "net \"ops\"", "--tag", "x"}).exit_code, 0);
  ASSERT_EQ(Berth({"assign", "winapp", "--group", "win"}).exit_code, 0);
  auto first = Berth({"export", "--format", "toml"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  Write(dir_.File("e.toml"), first.out);
  const std::string db2 = dir_.File("copy.db");
  auto imp = RunBerth({"import", dir_.File("e.toml"), "--db", db2});
  ASSERT_EQ(imp.exit_code, 0) << imp.err;
  auto second = RunBerth({"export", "--format", "toml", "--db", db2});
  ASSERT_EQ(second.exit_code, 0);
  EXPECT_EQ(first.out, second.out);
  // Applying the export to its own registry changes nothing.
  auto plan = Berth({"plan", dir_.File("e.toml")});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("no changes"), std::string::npos) << plan.out;
}

TEST_F(RegistryCli, PlanShowsAndApplyMakesTheChanges) {
  ASSERT_EQ(Berth({"assign", "old"}).exit_code, 0);
  Write(dir_.File("b.toml"), "[[service]]\nname = \"new\"\nport = 20001\n\n[[service]]\nname = \"auto\"\n");
  auto plan = Berth({"plan", dir_.File("b.toml")});
  ASSERT_EQ(plan.exit_code, 1) << plan.err;  // 1: there are changes to make
  EXPECT_NE(plan.out.find("+ service new: 20001/tcp"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("- service old"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("2 to add, 0 to change, 1 to remove"), std::string::npos) << plan.out;
  auto before = Berth({"list", "--json"});
  EXPECT_EQ(nlohmann::json::parse(before.out)["services"].size(), 1u);  // plan wrote nothing
  // Removing 'old' needs --prune: without it apply refuses and writes nothing.
  auto refused = Berth({"apply", dir_.File("b.toml")});
  EXPECT_EQ(refused.exit_code, 2) << refused.out;
  EXPECT_NE(refused.err.find("service old"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--prune"), std::string::npos) << refused.err;
  EXPECT_EQ(Berth({"list", "--json"}).out, before.out);
  auto apply = Berth({"apply", "--prune", dir_.File("b.toml")});
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  auto after = nlohmann::json::parse(Berth({"list", "--json"}).out)["services"];
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0]["name"], "auto");
  EXPECT_NE(after[0]["port"].get<int>(), 0);
  EXPECT_EQ(after[1]["port"].get<int>(), 20001);
}

TEST_F(RegistryCli, BadFilesWriteNothing) {
  ASSERT_EQ(Berth({"assign", "keep"}).exit_code, 0);
  const std::string before = Berth({"export"}).out;
  struct Case {
    std::string text, needle;
  };
  const std::vector<Case> cases = {
      {"[[service]]\nname = \"a\"\nport = [\n", "bad.toml:3:"},
      {"[[service]]\nname = \"a\"\nport = 99999\n", "bad.toml:3:8: 'port' must be an integer 1-65535"},
      {"[[service]]\nname = \"a\"\ncolour = 1\n", "bad.toml:3:1: unknown key 'colour'"},
      {"[[service]]\nname = \"a\"\n[[service]]\nname = \"a\"\n", "duplicate service 'a'"},
  };
  for (const Case& c : cases) {
    Write(dir_.File("bad.toml"), c.text);
    for (const char* cmd : {"apply", "import"}) {
      auto r = RunBerth({cmd, dir_.File("bad.toml"), "--db", db_});
      EXPECT_EQ(r.exit_code, 2) << c.text;
      EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("nothing was written"), std::string::npos) << r.err;
    }
  }
  EXPECT_EQ(Berth({"export"}).out, before);
}

TEST_F(RegistryCli, CorruptRegistryIsRefused) {
  Write(db_, std::string(4096, 'z'));
  auto r = Berth({"assign", "web"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("will not modify it"), std::string::npos) << r.err;
  std::ifstream in(db_);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, std::string(4096, 'z'));
}

TEST_F(RegistryCli, StoreUrlNamesTheSameRegistryAsDb) {
  auto a = Berth({"assign", "web"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto by_url = RunBerth({"list", "--store", "sqlite://" + db_});
  ASSERT_EQ(by_url.exit_code, 0) << by_url.err;
  auto by_db = Berth({"list"});
  EXPECT_EQ(by_url.out, by_db.out);
  EXPECT_NE(by_url.out.find("web"), std::string::npos);
  auto both = RunBerth({"list", "--store", "sqlite://" + db_, "--db", db_});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("give one"), std::string::npos) << both.err;
  auto bad = RunBerth({"list", "--store", "redis://x"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("sqlite:///PATH"), std::string::npos) << bad.err;
}

// The registry gives remedies as data; the command line words them as its own flags and
// commands on a "berth: fix:" line, and each one works exactly as printed.
TEST_F(RegistryCli, RemediesAreWordedAsFlagsAndWorkAsPrinted) {
  auto unknown = Berth({"assign", "a", "--group", "tiny"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(unknown.err,
            "berth: error: unknown group 'tiny'\n"
            "berth: fix: create the group with 'berth group add tiny --host NAME --ephemeral "
            "LOW-HIGH'; or leave --group out for the default group\n");
  ASSERT_EQ(Berth({"group", "add", "tiny", "--range", "20000-20000"}).exit_code, 0);
  ASSERT_EQ(Berth({"assign", "a", "--group", "tiny", "--allow-iana"}).exit_code, 0);
  auto full = Berth({"assign", "b", "--group", "tiny", "--allow-iana"});
  EXPECT_EQ(full.exit_code, 2);
  EXPECT_NE(full.err.find("range 20000-20000 is full"), std::string::npos) << full.err;
  const std::string widen =
      "berth: fix: widen the group's range with 'berth group add tiny --range LOW-HIGH'\n";
  ASSERT_GE(full.err.size(), widen.size()) << full.err;
  EXPECT_EQ(full.err.substr(full.err.size() - widen.size()), widen) << full.err;
  // The printed fix, with LOW-HIGH filled in, is what makes the next assign work.
  ASSERT_EQ(Berth({"group", "add", "tiny", "--range", "20000-20001"}).exit_code, 0);
  auto widened = Berth({"assign", "b", "--group", "tiny", "--allow-iana"});
  EXPECT_EQ(widened.exit_code, 0) << widened.err;
  EXPECT_EQ(widened.out, "20001\n");

  // 5432 is IANA's postgresql: refused, then taken with the flag the fix names.
  auto iana = Berth({"assign", "pg", "--port", "5432"});
  EXPECT_EQ(iana.exit_code, 2);
  EXPECT_NE(iana.err.find("IANA assigns 5432"), std::string::npos) << iana.err;
  EXPECT_NE(iana.err.find("\nberth: fix: pass --allow-iana to take an IANA-assigned port anyway\n"),
            std::string::npos)
      << iana.err;
  EXPECT_EQ(Berth({"assign", "pg", "--port", "5432", "--allow-iana"}).exit_code, 0);
  auto moved = Berth({"assign", "pg", "--port", "5433", "--allow-iana"});
  EXPECT_EQ(moved.exit_code, 2);
  EXPECT_NE(moved.err.find("\nberth: fix: run 'berth release pg' first to move it\n"),
            std::string::npos)
      << moved.err;
  ASSERT_EQ(Berth({"release", "pg"}).exit_code, 0);
  EXPECT_EQ(Berth({"assign", "pg", "--port", "5433", "--allow-iana"}).exit_code, 0);
}

// A multi-name command is all or nothing: a failing name leaves the registry as it was.
TEST_F(RegistryCli, ReleaseOfSeveralNamesIsAllOrNothing) {
  ASSERT_EQ(Berth({"assign", "a", "b"}).exit_code, 0);
  const std::string before = Berth({"list", "--json"}).out;
  auto r = Berth({"release", "a", "nosuch"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'nosuch' is not registered"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was released"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Berth({"list", "--json"}).out, before);  // same services, same revision
  auto ok = Berth({"release", "a", "nosuch", "b", "a", "--missing-ok"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  auto l = nlohmann::json::parse(Berth({"list", "--json"}).out);
  EXPECT_TRUE(l["services"].empty());
}

// A family block that does not fit below 65536 used to be stored as given.
TEST_F(RegistryCli, FamilyBlockMustFitAndListsAreAligned) {
  auto big = Berth({"family", "add", "big", "--base", "65530", "--size", "100"});
  EXPECT_EQ(big.exit_code, 2);
  EXPECT_NE(big.err.find("would end at 65629, past port 65535; at most 6 fit"), std::string::npos)
      << big.err;
  ASSERT_EQ(Berth({"family", "add", "big", "--base", "65530", "--size", "6"}).exit_code, 0);
  ASSERT_EQ(Berth({"family", "add", "mssql", "--base", "1433", "--size", "10"}).exit_code, 0);
  ASSERT_EQ(Berth({"group", "add", "db", "--range", "20000-20999", "--host", "db1"}).exit_code, 0);
  ASSERT_EQ(Berth({"group", "add", "webfarm", "--range", "8000-8999"}).exit_code, 0);
  // Each list is a table: a header, then every column starts at the same offset on each line.
  for (const char* what : {"family", "group"}) {
    auto l = Berth({what, "list"});
    ASSERT_EQ(l.exit_code, 0) << l.err;
    std::vector<std::string> lines;
    std::istringstream in(l.out);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    ASSERT_EQ(lines.size(), 3u) << l.out;
    EXPECT_TRUE(lines[0].starts_with("NAME")) << l.out;
    auto starts = [](const std::string& s) {
      std::vector<std::size_t> at;
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != ' ' && (i == 0 || s[i - 1] == ' ')) at.push_back(i);
      }
      return at;
    };
    EXPECT_EQ(starts(lines[1]), starts(lines[0])) << l.out;
    EXPECT_EQ(starts(lines[2]), starts(lines[0])) << l.out;
  }
}

TEST_F(RegistryCli, AssignOfSeveralNamesIsAllOrNothing) {
  // A one-port family: its second instance has no port left.
  ASSERT_EQ(Berth({"family", "add", "tiny", "--base", "20000", "--size", "1"}).exit_code, 0);
  ASSERT_EQ(Berth({"assign", "web"}).exit_code, 0);
  const std::string before = Berth({"list", "--json"}).out;
  auto r = Berth({"assign", "tiny.one", "other", "tiny.two"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.err.find("tiny"), std::string::npos) << r.err;
  EXPECT_EQ(Berth({"list", "--json"}).out, before);  // tiny.one and other were not kept
}

TEST_F(RegistryCli, PlanAndApplyJson) {
  ASSERT_EQ(Berth({"assign", "old"}).exit_code, 0);
  Write(dir_.File("p.toml"), "[[service]]\nname = \"new\"\nport = 20001\n");
  auto plan = Berth({"plan", "--json", dir_.File("p.toml")});
  ASSERT_EQ(plan.exit_code, 1) << plan.err;
  auto j = nlohmann::json::parse(plan.out);
  EXPECT_EQ(j["schema"], "berth.plan/1");
  EXPECT_EQ(j["status"], "planned");
  ASSERT_EQ(j["changes"].size(), 2u);
  EXPECT_EQ(j["changes"][0]["kind"], "add");
  EXPECT_EQ(j["changes"][0]["what"], "service");
  EXPECT_EQ(j["changes"][0]["name"], "new");
  EXPECT_EQ(j["changes"][0]["detail"], "20001/tcp");
  EXPECT_EQ(j["changes"][1]["kind"], "remove");
  EXPECT_EQ(j["changes"][1]["name"], "old");
  auto apply = Berth({"apply", "--json", "--prune", dir_.File("p.toml")});
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_EQ(nlohmann::json::parse(apply.out)["status"], "applied");
  auto again = Berth({"plan", "--json", dir_.File("p.toml")});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(nlohmann::json::parse(again.out)["changes"].empty());
  EXPECT_EQ(Berth({"plan", dir_.File("missing.toml")}).exit_code, 2);
}

// Values berth used to accept silently.
TEST_F(RegistryCli, RefusesValuesItUsedToAcceptSilently) {
  for (const char* port : {"0", "0x50", "080x", "+80", "65536", "-1"}) {
    auto r = Berth({"assign", "web", "--port", port});
    EXPECT_EQ(r.exit_code, 2) << "--port " << port << ": " << r.out;
    EXPECT_NE(r.err.find("--port"), std::string::npos) << r.err;
  }
  EXPECT_EQ(Berth({"assign", "web", "--port", "20080"}).out, "20080\n");
  auto proto = Berth({"list", "--proto", "sctp"});
  EXPECT_EQ(proto.exit_code, 2) << proto.out;
  auto group = Berth({"export", "--format", "toml", "--group", "db"});
  EXPECT_EQ(group.exit_code, 2) << group.out;
  EXPECT_NE(group.err.find("--group"), std::string::npos) << group.err;
  auto k8s = Berth({"export", "--format", "k8s", "--consul-url", "http://127.0.0.1:1"});
  EXPECT_EQ(k8s.exit_code, 2) << k8s.out;
  EXPECT_NE(k8s.err.find("--consul-url"), std::string::npos) << k8s.err;
  // A mistyped registry path: no directories are created for it.
  const std::string typo = dir_.File("no/such/dir/registry.db");
  auto r = RunBerth({"assign", "web", "--db", typo});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_.File("no")));
  auto env = test::Run({"env", "BERTH_DB=" + typo, BerthBinary(), "assign", "web"});
  EXPECT_EQ(env.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir_.File("no")));
}

}  // namespace
}  // namespace berth::test
