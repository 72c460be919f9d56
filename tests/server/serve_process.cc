#include "server/serve_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include "support/test_support.h"

namespace berth::test {
namespace {

using SteadyClock = std::chrono::steady_clock;

int MsLeft(SteadyClock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  return static_cast<int>(std::max<std::int64_t>(0, left.count()));
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

std::string HttpReply::Header(std::string_view name) const {
  const std::string want = Lower(std::string(name)) + ":";
  std::size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string::npos) {
    pos += 2;
    if (Lower(head.substr(pos, want.size())) == want) {
      const auto end = head.find("\r\n", pos);
      std::string v = head.substr(pos + want.size(), end - pos - want.size());
      return v.substr(v.find_first_not_of(' ') == std::string::npos ? v.size()
                                                                    : v.find_first_not_of(' '));
    }
  }
  return "";
}

int ConnectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

ServeProcess::ServeProcess() {
  char tmpl[] = "/tmp/berth-serve-test-XXXXXX";
  dir_ = ::mkdtemp(tmpl);
}

ServeProcess::~ServeProcess() {
  if (pid_ > 0) Stop();
  if (err_fd_ >= 0) ::close(err_fd_);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

bool ServeProcess::Start(const Options& options) {
  std::vector<std::string> argv = {BerthBinary(), "serve", "--store", store_url(), "--listen",
                                   "127.0.0.1:0"};
  if (options.token) {
    std::ofstream(token_file()) << kServeToken << "\n";
    ::chmod(token_file().c_str(), static_cast<mode_t>(std::stoi(options.token_mode, nullptr, 8)));
    argv.insert(argv.end(), {"--token-file", token_file()});
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  argv.insert(argv.begin(), options.prefix.begin(), options.prefix.end());
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return false;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(pipe_fds[1], 2);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  err_fd_ = pipe_fds[0];
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  const auto deadline = SteadyClock::now() + std::chrono::seconds(20);
  static const std::regex kListening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
  std::smatch m;
  while (!std::regex_search(err_, m, kListening)) {
    pollfd p{err_fd_, POLLIN, 0};
    if (::poll(&p, 1, MsLeft(deadline)) <= 0) break;
    char buf[4096];
    const ssize_t n = ::read(err_fd_, buf, sizeof buf);
    if (n <= 0) break;
    err_.append(buf, static_cast<std::size_t>(n));
  }
  if (!std::regex_search(err_, m, kListening)) {
    error_ = err_;
    Stop(std::chrono::seconds(5));
    return false;
  }
  port_ = std::stoi(m[1]);
  return true;
}

std::string ServeProcess::Stderr() {
  for (;;) {
    pollfd p{err_fd_, POLLIN, 0};
    if (err_fd_ < 0 || ::poll(&p, 1, 0) <= 0) break;
    char buf[4096];
    const ssize_t n = ::read(err_fd_, buf, sizeof buf);
    if (n <= 0) break;
    err_.append(buf, static_cast<std::size_t>(n));
  }
  return err_;
}

int ServeProcess::Stop(std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  pollfd p{pidfd_, POLLIN, 0};
  if (pidfd_ < 0 || ::poll(&p, 1, static_cast<int>(deadline.count())) <= 0) {
    ::kill(pid_, SIGKILL);
  }
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
  Stderr();
  // The rest of stderr, now that the writer is gone.
  for (;;) {
    char buf[4096];
    const ssize_t n = err_fd_ < 0 ? 0 : ::read(err_fd_, buf, sizeof buf);
    if (n <= 0) break;
    err_.append(buf, static_cast<std::size_t>(n));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

HttpReply ServeProcess::Raw(const std::string& request, std::chrono::milliseconds deadline) const {
  HttpReply r;
  const int fd = ConnectLoopback(port_);
  if (fd < 0) return r;
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  const auto until = SteadyClock::now() + deadline;
  std::string data;
  for (;;) {
    // Complete when the head is in and the body has its Content-Length.
    const auto head_end = data.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      r.head = data.substr(0, head_end);
      const std::string length = r.Header("Content-Length");
      if (!length.empty() && data.size() >= head_end + 4 + std::stoul(length)) break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, MsLeft(until)) <= 0) break;
    char buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      r.closed = true;
      break;
    }
    data.append(buf, static_cast<std::size_t>(n));
  }
  if (!r.closed) {
    // Did the server close after the reply? Look without waiting long.
    pollfd p{fd, POLLIN, 0};
    char c;
    r.closed = ::poll(&p, 1, 200) > 0 && ::recv(fd, &c, 1, MSG_PEEK) <= 0;
  }
  ::close(fd);
  const auto head_end = data.find("\r\n\r\n");
  if (head_end == std::string::npos) return r;
  r.head = data.substr(0, head_end);
  r.body = data.substr(head_end + 4);
  if (r.head.rfind("HTTP/1.1 ", 0) == 0) r.status = std::stoi(r.head.substr(9, 3));
  return r;
}

HttpReply ServeProcess::Get(const std::string& path) const {
  return Raw("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
             "\r\nConnection: close\r\n\r\n");
}

HttpReply ServeProcess::Post(const std::string& path, const std::string& body,
                             std::optional<std::string> token) const {
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                    "\r\nConnection: close\r\nContent-Type: application/json\r\n";
  if (token) req += "Authorization: Bearer " + *token + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return Raw(req);
}

EventStream::EventStream(int port) : fd_(ConnectLoopback(port)) {
  const std::string req = "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:" +
                          std::to_string(port) + "\r\n\r\n";
  if (fd_ >= 0) ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL);
}

EventStream::~EventStream() {
  if (fd_ >= 0) ::close(fd_);
}

bool EventStream::Next(std::chrono::milliseconds deadline) {
  const auto until = SteadyClock::now() + deadline;
  for (;;) {
    const auto at = data_.find("event: change");
    if (at != std::string::npos) {
      const auto end = data_.find("\n\n", at);
      if (end != std::string::npos) {
        const auto line = data_.find("\ndata: ", at);
        last_ = line < end ? data_.substr(line + 7, data_.find('\n', line + 1) - line - 7) : "";
        data_.erase(0, end + 2);
        return true;
      }
    }
    pollfd p{fd_, POLLIN, 0};
    if (fd_ < 0 || ::poll(&p, 1, MsLeft(until)) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    data_.append(buf, static_cast<std::size_t>(n));
  }
}

bool UntilChanged(int port, const std::function<bool()>& done) {
  EventStream events(port);
  const auto until = SteadyClock::now() + std::chrono::seconds(20);
  while (events.Next(std::chrono::milliseconds(MsLeft(until)))) {
    if (done()) return true;
  }
  return done();
}

void ServeProcess::Fixture(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {BERTH_SERVE_FIXTURE, store_url()};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult r = Run(argv);
  ASSERT_EQ(r.exit_code, 0) << "serve_fixture failed: " << r.err;
}

}  // namespace berth::test
