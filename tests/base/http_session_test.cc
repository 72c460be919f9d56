// HttpSession and HttpSend against a scripted HTTP/1.1 server on 127.0.0.1, in a thread of
// the test: it counts the connections it accepted and the requests it read whole, so the
// tests see on the server's side which connection carried which request, and how often.
#include "base/http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/unique_fd.h"

namespace berth {
namespace {

// What the server does with the request it has just read whole.
enum class Act {
  kReply,               // a small 200 reply; the connection stays open
  kReplyThenClose,      // the same, then it closes the now idle connection itself
  kTrickle,             // headers for a long body, then one byte every 20 ms while it can
  kCloseAfterReading,   // closes the connection without a reply
  kBigReply,            // a 200 reply with a 4,000-byte body
};

class ScriptedServer {
 public:
  // The n-th request read (from 0) gets script[n]; past the end, the last entry.
  explicit ScriptedServer(std::vector<Act> script) : script_(std::move(script)) {
    listen_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(listen_.get(), reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(::listen(listen_.get(), 8), 0);
    EXPECT_EQ(::getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
    port_ = ntohs(a.sin_port);
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    stop_read_ = UniqueFd(fds[0]);
    stop_write_ = UniqueFd(fds[1]);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    (void)!::write(stop_write_.get(), "x", 1);
    thread_.join();
  }

  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() {
    std::lock_guard lock(mutex_);
    return connections_;
  }
  int requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  // Waits until the server has closed `n` idle connections after kReplyThenClose and the
  // client's end of each has received the close (it is in CLOSE_WAIT).
  void WaitIdleClosed(int n) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return idle_closed_ >= n; });
  }

 private:
  // True when the stop pipe became readable while waiting for `fd` (or for `ms` to pass).
  bool Wait(int fd, int ms) {
    pollfd p[2] = {{fd, POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
    ::poll(p, 2, ms);
    return p[1].revents != 0;
  }

  void Serve() {
    for (;;) {
      if (Wait(listen_.get(), -1)) return;
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      UniqueFd conn(::accept4(listen_.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
      if (!conn.valid()) continue;
      {
        std::lock_guard lock(mutex_);
        ++connections_;
      }
      if (ServeConnection(conn, ntohs(peer.sin_port))) return;
    }
  }

  // Serves requests on `conn` until it ends; true when the test is stopping the server.
  bool ServeConnection(UniqueFd& conn, int peer_port) {
    std::string in;
    for (;;) {
      // One request: headers, then Content-Length bytes of body.
      std::size_t end;
      while ((end = in.find("\r\n\r\n")) == std::string::npos || in.size() < end + 4 + BodyLength(in, end)) {
        if (Wait(conn.get(), -1)) return true;
        char buf[4096];
        const ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
        if (n <= 0) return false;  // the client closed it
        in.append(buf, static_cast<std::size_t>(n));
      }
      const std::size_t whole = end + 4 + BodyLength(in, end);
      const bool client_closes = Lower(in.substr(0, end)).find("connection: close") != std::string::npos;
      in.erase(0, whole);
      Act act;
      {
        std::lock_guard lock(mutex_);
        act = script_[std::min<std::size_t>(static_cast<std::size_t>(requests_), script_.size() - 1)];
        ++requests_;
      }
      switch (act) {
        case Act::kReply:
        case Act::kReplyThenClose:
          if (!Write(conn, Reply("{}"))) return false;
          break;
        case Act::kBigReply:
          if (!Write(conn, Reply(std::string(4000, 'x')))) return false;
          break;
        case Act::kCloseAfterReading:
          return false;
        case Act::kTrickle:
          if (!Write(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")) return false;
          for (;;) {
            if (Wait(-1, 20)) return true;  // pacing the bytes, not synchronising with the test
            if (!Write(conn, "x")) return false;
          }
      }
      if (client_closes) return false;
      if (act == Act::kReplyThenClose) {
        conn = UniqueFd();
        WaitForCloseWait(peer_port);
        {
          std::lock_guard lock(mutex_);
          ++idle_closed_;
        }
        cv_.notify_all();
        return false;
      }
    }
  }

  // Until the client's socket on `port` (connected to ours) has taken our FIN: state 08
  // (CLOSE_WAIT) in /proc/net/tcp. Only then does the client's next request find the
  // connection closed, which is what the test is about.
  void WaitForCloseWait(int port) {
    // Our lines read "0100007F:CLIENT 0100007F:SERVER 08" (addresses as the kernel's u32).
    char want[40];
    std::snprintf(want, sizeof want, ":%04X 0100007F:%04X 08", port, port_);
    for (;;) {
      std::ifstream tcp("/proc/net/tcp");
      std::stringstream all;
      all << tcp.rdbuf();
      if (all.str().find(want) != std::string::npos) return;
      std::this_thread::yield();
    }
  }

  static std::size_t BodyLength(const std::string& in, std::size_t header_end) {
    const std::string head = Lower(in.substr(0, header_end));
    const auto at = head.find("content-length:");
    return at == std::string::npos ? 0 : std::stoul(head.substr(at + 15));
  }
  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  static std::string Reply(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  static bool Write(const UniqueFd& conn, std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(conn.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  std::vector<Act> script_;
  UniqueFd listen_, stop_read_, stop_write_;
  int port_ = 0;
  std::mutex mutex_;
  std::condition_variable cv_;
  int connections_ = 0, requests_ = 0, idle_closed_ = 0;
  std::thread thread_;
};

// Generous per-read timeouts, so that only the total deadline can end a trickled reply.
constexpr HttpLimits kLimits{5000, 20000, 1000};

TEST(HttpSession, SuccessiveRequestsShareOneConnection) {
  ScriptedServer server({Act::kReply});
  HttpSession session(server.origin(), {}, kLimits);
  for (int i = 0; i < 5; ++i) {
    auto r = session.Send("POST", "/v3/kv/range", "{}", {{"Authorization", "token"}});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "{}");
  }
  EXPECT_EQ(server.requests(), 5);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(session.connections_opened(), 1u);
}

TEST(HttpSession, OneShotRequestsOpenAConnectionEach) {
  ScriptedServer server({Act::kReply});
  for (int i = 0; i < 3; ++i) {
    auto r = HttpSend(server.origin(), "POST", "/", "{}", {}, kLimits);
    ASSERT_TRUE(r) << r.error().message;
  }
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(server.connections(), 3);
}

TEST(HttpSession, TotalDeadlineEndsATrickledReplyOnAReusedConnection) {
  ScriptedServer server({Act::kReply, Act::kTrickle, Act::kReply});
  HttpSession session(server.origin(), {}, kLimits);
  ASSERT_TRUE(session.Send("POST", "/", "{}", {}));
  HttpLimits limits = kLimits;
  limits.total_ms = 300;
  limits.max_body = 1 << 20;
  auto r = session.Send("POST", "/", "{}", {}, limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_EQ(r.error().message, "did not finish within 300 ms");
  EXPECT_EQ(server.connections(), 1);  // the trickled reply came on the reused connection
  // The deadline closed that connection: the next request opens another and is answered.
  auto next = session.Send("POST", "/", "{}", {});
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(server.requests(), 3);
}

TEST(HttpSession, IdleConnectionClosedByTheServerIsReplacedAndTheRequestSentOnce) {
  ScriptedServer server({Act::kReplyThenClose, Act::kReply});
  HttpSession session(server.origin(), {}, kLimits);
  ASSERT_TRUE(session.Send("POST", "/v3/kv/put", "{}", {}));
  server.WaitIdleClosed(1);
  auto r = session.Send("POST", "/v3/kv/put", "{\"n\":2}", {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(server.requests(), 2);  // each request read once: none written to the closed one
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(session.connections_opened(), 2u);
}

TEST(HttpSession, RequestBrokenAfterSendingIsReportedAndNotResent) {
  ScriptedServer server({Act::kReply, Act::kCloseAfterReading, Act::kReply});
  HttpSession session(server.origin(), {}, kLimits);
  ASSERT_TRUE(session.Send("POST", "/v3/kv/put", "{}", {}));
  auto r = session.Send("POST", "/v3/kv/put", "{\"n\":2}", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_TRUE(r.error().message.starts_with("failed after sending the request")) << r.error().message;
  EXPECT_EQ(server.requests(), 2);
  EXPECT_EQ(server.connections(), 1);
  // The next request is the third the server reads, on a second connection: the broken one
  // was not sent again before it, on any connection.
  ASSERT_TRUE(session.Send("POST", "/v3/kv/range", "{}", {}));
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpSession, BodyOverTheCapClosesTheConnection) {
  ScriptedServer server({Act::kBigReply, Act::kReply});
  HttpSession session(server.origin(), {}, kLimits);
  auto r = session.Send("POST", "/", "{}", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kMalformed);
  EXPECT_EQ(r.error().message, "a reply body over 1000 bytes");
  // The rest of that body is not read as the next reply: a new connection.
  auto next = session.Send("POST", "/", "{}", {});
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->body, "{}");
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpSession, HeaderWithAControlCharacterSendsNothing) {
  ScriptedServer server({Act::kReply});
  HttpSession session(server.origin(), {}, kLimits);
  auto r = session.Send("POST", "/", "{}", {{"Authorization", "a\r\nX-Injected: 1"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(session.Send("POST", "/", "{}", {}));
  EXPECT_EQ(server.requests(), 1);
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpSession, RefusedConnectionIsUnavailable) {
  std::string origin;
  {
    ScriptedServer gone({Act::kReply});
    origin = gone.origin();
  }  // its port is closed now
  HttpSession session(origin, {}, kLimits);
  auto r = session.Send("POST", "/", "{}", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace berth
