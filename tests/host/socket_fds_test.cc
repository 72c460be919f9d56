// The task_file BPF iterator (host/socket_fds.h) against this process's own fds: a socket it
// opens is reported with its pid, fd and inode; a file that is not a socket is not. Root.
#include "host/socket_fds.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <vector>

#include "base/unique_fd.h"
#include "support/test_support.h"

namespace berth {
namespace {

TEST(SocketFdIterator, ReportsThisProcessSocketsAndNothingElse) {
  BERTH_REQUIRE_ROOT();
  ASSERT_EQ(SocketFdIteratorBlocker(), "");  // init PID namespace, kernel BTF: CI's machine too
  UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  UniqueFd file(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_GE(sock.get(), 0);
  ASSERT_GE(file.get(), 0);
  struct stat st {};
  ASSERT_EQ(::fstat(sock.get(), &st), 0);

  auto it = SocketFdIterator::Load();
  ASSERT_TRUE(it) << it.error().message;
  for (int walk = 0; walk < 2; ++walk) {  // a loaded iterator walks again on each Read
    std::vector<SocketFdRecord> mine;
    auto n = it->Read([&](std::span<const SocketFdRecord> batch) {
      for (const SocketFdRecord& r : batch) {
        if (r.pid == static_cast<std::uint32_t>(::getpid())) mine.push_back(r);
      }
    });
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_GE(*n, mine.size());
    bool found = false;
    for (const SocketFdRecord& r : mine) {
      EXPECT_NE(r.fd, static_cast<std::uint32_t>(file.get()));
      if (r.fd == static_cast<std::uint32_t>(sock.get())) {
        EXPECT_EQ(r.inode, st.st_ino);
        found = true;
      }
    }
    EXPECT_TRUE(found) << "walk " << walk << ": " << mine.size() << " socket fds of this process";
  }
}

}  // namespace
}  // namespace berth
