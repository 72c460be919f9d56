#include "base/file.h"

#include <dirent.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "host/sysctl.h"
#include "support/test_support.h"

namespace berth {
namespace {

class AtomicFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-atomic-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { (void)test::Run({"rm", "-rf", dir_}); }
  int Entries() const {
    int n = 0;
    DIR* d = ::opendir(dir_.c_str());
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
    return n;
  }
  std::string dir_;
};

TEST_F(AtomicFile, WritesAndReplaces) {
  const std::string p = dir_ + "/rules.nft";
  ASSERT_TRUE(WriteFileAtomic(p, "one\n", 0600));
  EXPECT_EQ(*ReadSmallFile(p), "one\n");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const ino_t first = st.st_ino;
  ASSERT_TRUE(WriteFileAtomic(p, std::string(100000, 'x')));
  EXPECT_EQ(ReadSmallFile(p)->size(), 100000u);
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_NE(st.st_ino, first);  // a new file renamed over the old one, not rewritten in place
  EXPECT_EQ(Entries(), 1);       // no temporary file left behind
}

TEST_F(AtomicFile, FailureLeavesNothing) {
  auto r = WriteFileAtomic(dir_ + "/missing/dir/file", "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(WriteFileAtomic(dir_ + "/", "x"));
  // Renaming over a directory fails after the temp file was written: it must be removed.
  ASSERT_EQ(::mkdir((dir_ + "/taken").c_str(), 0700), 0);
  EXPECT_FALSE(WriteFileAtomic(dir_ + "/taken", "x"));
  EXPECT_EQ(Entries(), 1);
}

}  // namespace
}  // namespace berth
