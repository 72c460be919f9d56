#include "base/file.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

// Files named by the user: only regular files are read, and only up to a cap. Before, a
// FIFO blocked open() for ever and /dev/zero was read until memory ran out.
TEST_F(AtomicFile, ReadersRefuseWhatIsNotARegularFile) {
  for (auto read : {&ReadWholeFile, &ReadSmallFile}) {
    auto zero = read("/dev/zero");
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(zero.error().message.find("/dev/zero: it is a character device"), std::string::npos)
        << zero.error().message;
    auto dir = read(dir_);
    ASSERT_FALSE(dir);
    EXPECT_NE(dir.error().message.find("a directory"), std::string::npos) << dir.error().message;
  }
  // A FIFO with no writer: refused at once (open() would block without O_NONBLOCK; the read
  // runs in a child so that a regression fails the test instead of hanging it).
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::alarm(60);  // safety net only
    auto r = ReadWholeFile(fifo);
    ::_exit(!r && r.error().message.find("a FIFO") != std::string::npos ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the read of a FIFO did not return (killed by a signal)";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(AtomicFile, ReadersCapTheSize) {
  const std::string big = dir_ + "/big";
  ASSERT_TRUE(WriteFileAtomic(big, std::string(kMaxSmallFile + 1, 'x')));
  auto small = ReadSmallFile(big);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().code, ErrorCode::kMalformed);
  EXPECT_NE(small.error().message.find("larger than 1 MiB"), std::string::npos) << small.error().message;
  auto whole = ReadWholeFile(big);
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_EQ(whole->size(), kMaxSmallFile + 1);
  ASSERT_EQ(::truncate(big.c_str(), static_cast<off_t>(kMaxUserFile + 1)), 0);  // sparse
  auto huge = ReadWholeFile(big);
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().message.find("larger than 16 MiB"), std::string::npos) << huge.error().message;
}

}  // namespace
}  // namespace berth
