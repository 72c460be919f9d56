// A real `berth serve` for the tests: a fresh SQLite registry in a temporary directory, a
// token file (mode 600), the server on 127.0.0.1 with a port the kernel picks (read from its
// "listening on" line through a pipe), stopped by its pid with SIGTERM (SIGKILL if it does
// not stop) in the destructor, so a failing test cleans up too. Plus raw HTTP over a socket
// for what a well-behaved client would never send. Test-only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace berth::test {

inline constexpr std::string_view kServeToken = "test-token-0123456789abcdef";

struct HttpReply {
  int status = 0;          // 0: no reply (the connection was closed first)
  std::string head;        // status line and headers
  std::string body;
  bool closed = false;     // the server closed the connection after the reply
  std::string Header(std::string_view name) const;  // "" when absent (case-insensitive)
};

class ServeProcess {
 public:
  struct Options {
    std::vector<std::string> extra_args;
    bool token = true;
    std::string token_mode = "600";
    // Runs the server through this command (e.g. ip netns exec NAME): its requests must then
    // be made from that namespace too (InNetns).
    std::vector<std::string> prefix;
  };
  ServeProcess();  // a fresh registry; not started
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  const std::string& dir() const { return dir_; }
  std::string db() const { return dir_ + "/registry.db"; }
  // The registry: this directory's SQLite file unless UseStore named another (etcd://...).
  std::string store_url() const { return store_.empty() ? "sqlite://" + db() : store_; }
  void UseStore(std::string url) { store_ = std::move(url); }
  std::string token_file() const { return dir_ + "/token"; }

  // Starts the server and waits (with a deadline) for its "listening on" line. False (with
  // what it printed in `error`) when it exits or says nothing within 20 s.
  bool Start(const Options& options);
  bool Start() { return Start(Options{}); }
  // SIGTERM, then waits for the exit (pidfd); returns the exit status or -1.
  int Stop(std::chrono::milliseconds deadline = std::chrono::seconds(20));
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  const std::string& error() const { return error_; }
  // Everything the server wrote on stderr so far (after Stop: all of it).
  std::string Stderr();

  // One request over a new connection, read until the reply is complete or the server closes.
  HttpReply Raw(const std::string& request,
                std::chrono::milliseconds deadline = std::chrono::seconds(20)) const;
  HttpReply Get(const std::string& path) const;
  HttpReply Post(const std::string& path, const std::string& body,
                 std::optional<std::string> token) const;

  // Runs serve_fixture (tests/server/serve_fixture.cc) on this registry.
  void Fixture(const std::vector<std::string>& args) const;

 private:
  std::string dir_;
  std::string store_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int err_fd_ = -1;  // the read end of the server's stderr
  std::string err_;
  int port_ = 0;
  std::string error_;
};

// A connected TCP socket to 127.0.0.1:port (owned by the caller), or -1.
int ConnectLoopback(int port);

// GET /api/v1/events held open: the server's "change" events, one at a time.
class EventStream {
 public:
  explicit EventStream(int port);
  ~EventStream();
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;
  // Waits for the next "event: change" (the first arrives at once). False at the deadline
  // or when the server closed the stream.
  bool Next(std::chrono::milliseconds deadline = std::chrono::seconds(20));
  bool closed() const { return closed_; }
  // The "data:" line of the event Next found last ({"revision":R,"generation":G}).
  const std::string& data() const { return last_; }

 private:
  int fd_ = -1;
  std::string data_;
  std::string last_;
  bool closed_ = false;
};

// Calls `done` after each change event until it returns true or 20 s pass; the stream is
// opened before the first call, so no change between the call and the wait is missed.
bool UntilChanged(int port, const std::function<bool()>& done);

}  // namespace berth::test
