// berth serve against clients that misbehave on purpose (docs/serve.md, "Hardening"): a
// client that sends its headers a byte at a time (slowloris), one that sends headers without
// end, many idle connections; and SIGTERM with an event stream open. Real server, real
// sockets. Nothing here asserts a duration: each waits for an event, with a deadline.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "server/serve_process.h"

namespace berth::test {
namespace {

// Sends `request` one byte at a time, `gap` apart, until the server closes the connection
// (true) or the bytes run out (false). The gap is the client's pace, waited on the socket:
// a close from the server ends it at once.
bool TrickleUntilClosed(int fd, const std::string& request, std::chrono::milliseconds gap,
                        std::atomic<bool>& open) {
  for (char c : request) {
    if (::send(fd, &c, 1, MSG_NOSIGNAL) != 1) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(gap.count())) > 0) {
      char buf[512];
      if (::recv(fd, buf, sizeof buf, 0) <= 0) break;
    }
  }
  // Either way, wait for the server's close (bounded: the server's deadline, or this one).
  pollfd p{fd, POLLIN, 0};
  char buf[512];
  const bool closed = ::poll(&p, 1, 30000) > 0 && ::recv(fd, buf, sizeof buf, 0) <= 0;
  open = false;
  return closed;
}

TEST(ServeHardening, ASlowClientIsCutOffWhileOthersAreServed) {
  ServeProcess serve;
  ServeProcess::Options options;
  // The slow clients stay open for the request timeout; the requests below must find them
  // open, also when a loaded machine (make test runs three tests at once, under ASan) takes
  // a second or two to answer the first one: 2 s was seen to pass before any answer came.
  options.extra_args = {"--request-timeout", "8", "--threads", "2"};
  ASSERT_TRUE(serve.Start(options)) << serve.error();
  // More slow clients than workers: they must not starve the others.
  std::vector<int> fds;
  std::vector<std::thread> slow;
  std::atomic<bool> open[3] = {true, true, true};
  bool closed[3] = {false, false, false};
  const std::string request = "GET /api/v1/hosts HTTP/1.1\r\nHost: 127.0.0.1:" +
                              std::to_string(serve.port()) + "\r\n" +
                              std::string(2000, 'X') + ": y\r\n\r\n";
  for (int i = 0; i < 3; ++i) {
    fds.push_back(ConnectLoopback(serve.port()));
    ASSERT_GE(fds.back(), 0);
    slow.emplace_back([&, i] {
      closed[i] = TrickleUntilClosed(fds[i], request, std::chrono::milliseconds(100), open[i]);
    });
  }
  // Served while the slow clients are connected: each of these answers before the server
  // closed all of them (two workers are held by slow clients at any time, at most).
  int served_while_slow = 0;
  for (int i = 0; i < 20 && (open[0] || open[1] || open[2]); ++i) {
    const HttpReply r = serve.Get("/api/v1/hosts");
    EXPECT_EQ(r.status, 200);
    if (r.status == 200 && (open[0] || open[1] || open[2])) ++served_while_slow;
  }
  EXPECT_GT(served_while_slow, 0);
  for (std::thread& t : slow) t.join();
  for (int fd : fds) ::close(fd);
  for (bool c : closed) EXPECT_TRUE(c) << "the server must close a client that is too slow";
  EXPECT_EQ(serve.Get("/api/v1/hosts").status, 200);
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();
}

TEST(ServeHardening, EndlessHeadersAreCutOffAtTheirCap) {
  ServeProcess serve;
  ASSERT_TRUE(serve.Start()) << serve.error();
  const int fd = ConnectLoopback(serve.port());
  ASSERT_GE(fd, 0);
  std::string head = "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(serve.port()) + "\r\n";
  const std::string line = "X-Filler: " + std::string(100, 'a') + "\r\n";
  // Far past the 16 KiB cap: the server stops reading, answers 400 and closes.
  bool closed = false;
  std::string reply;
  char buf[4096];
  ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  for (int i = 0; i < 20000 && !closed; ++i) {
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) < 0) closed = true;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) closed = true;
      if (n > 0) reply.append(buf, static_cast<std::size_t>(n));
    }
  }
  pollfd p{fd, POLLIN, 0};
  while (!closed && ::poll(&p, 1, 20000) > 0) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) closed = true;
    if (n > 0) reply.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(reply.substr(0, 12), "HTTP/1.1 400") << reply;
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_EQ(serve.Get("/api/v1/hosts").status, 200);
}

TEST(ServeHardening, SigtermStopsCleanlyWithAnEventStreamOpen) {
  ServeProcess serve;
  ASSERT_TRUE(serve.Start()) << serve.error();
  EventStream events(serve.port());
  ASSERT_TRUE(events.Next());  // the stream is open and has sent its first event
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();
  EXPECT_NE(serve.Stderr().find("berth serve: stopped"), std::string::npos) << serve.Stderr();
  EXPECT_FALSE(events.Next(std::chrono::seconds(5)));
  EXPECT_TRUE(events.closed());
}

TEST(ServeHardening, EventStreamsAreCapped) {
  ServeProcess serve;
  ServeProcess::Options options;
  options.extra_args = {"--threads", "4"};
  ASSERT_TRUE(serve.Start(options)) << serve.error();
  EventStream a(serve.port()), b(serve.port());
  ASSERT_TRUE(a.Next());
  ASSERT_TRUE(b.Next());
  const HttpReply r = serve.Get("/api/v1/events");
  EXPECT_EQ(r.status, 503) << r.head;
  EXPECT_NE(r.body.find("too_many_streams"), std::string::npos);
  EXPECT_EQ(serve.Get("/api/v1/hosts").status, 200);  // reads still answer
}

}  // namespace
}  // namespace berth::test
