#include "core/finding_id.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace berth {
namespace {

std::string ReadDoc(const std::string& relative) {
  std::ifstream in(std::string(BERTH_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(FindingId, EveryIdHasAUniqueKebabCaseNameThatParsesBack) {
  std::set<std::string_view> names;
  for (FindingId id : AllFindingIds()) {
    const std::string_view name = FindingIdName(id);
    EXPECT_NE(name, "unknown") << static_cast<int>(id);
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz-"), std::string_view::npos)
        << name;
    EXPECT_EQ(ParseFindingId(name), id) << name;
  }
  EXPECT_EQ(names.size(), AllFindingIds().size());
  EXPECT_EQ(ParseFindingId("Ephemeral-Listener"), std::nullopt);
  EXPECT_EQ(ParseFindingId(""), std::nullopt);
}

TEST(FindingId, DocsFindingsMdDocumentsEveryName) {
  const std::string doc = ReadDoc("docs/findings.md");
  ASSERT_FALSE(doc.empty()) << "docs/findings.md not found under " << BERTH_SOURCE_DIR;
  for (FindingId id : AllFindingIds()) {
    const std::string quoted = "`" + std::string(FindingIdName(id)) + "`";
    EXPECT_NE(doc.find(quoted), std::string::npos)
        << FindingIdName(id) << " is not documented in docs/findings.md";
  }
}

}  // namespace
}  // namespace berth
