#include <algorithm>
#include <array>
#include <string>

#include <fmt/core.h>

#include "lint/conf_reader.h"

namespace berth::lint {
namespace {

// Calls each(line, kv) for every key=value line of `wanted` ("[Socket]", "[Unit]"); comments
// and other sections are skipped.
template <class Each>
void ForEachKeyIn(const std::vector<Line>& lines, std::string_view wanted, Each each) {
  std::string section;
  for (const Line& line : lines) {
    std::string_view t = Trim(line.text);
    if (t.empty() || t.front() == '#' || t.front() == ';') continue;
    if (t.front() == '[') {
      section = std::string(t);
      continue;
    }
    if (section != wanted) continue;
    if (auto kv = SplitKeyValue(line.text, "=")) each(line, *kv);
  }
}

// A program whose port flags berth reads in ExecStart=: each flag takes the port as the next
// word or after '=' (long flags). Only these: elsewhere -p means anything.
struct PortFlag {
  std::string_view flag;
  Protocol proto = Protocol::kTcp;
  bool node_port_range = false;  // kube-apiserver's range of NodePorts, not a port
};
struct KnownProgram {
  std::string_view program;  // the executable's base name
  std::string_view service;  // "" = the unit's name
  std::array<PortFlag, 4> flags;
};
constexpr PortFlag Tcp(std::string_view flag) { return PortFlag{flag, Protocol::kTcp}; }
constexpr PortFlag Udp(std::string_view flag) { return PortFlag{flag, Protocol::kUdp}; }
constexpr PortFlag kNodePorts{"--service-node-port-range", Protocol::kTcp, true};
constexpr std::array<KnownProgram, 12> kKnownPrograms{{
    {"redis-server", "redis", {Tcp("--port"), Tcp("--tls-port"), {}, {}}},
    {"redis-sentinel", "redis-sentinel", {Tcp("--port"), {}, {}, {}}},
    {"memcached", "memcached", {Tcp("-p"), Tcp("--port"), Udp("-U"), Udp("--udp-port")}},
    {"sshd", "sshd", {Tcp("-p"), {}, {}, {}}},
    {"mongod", "mongodb", {Tcp("--port"), {}, {}, {}}},
    {"postgres", "postgresql", {Tcp("-p"), {}, {}, {}}},
    {"postmaster", "postgresql", {Tcp("-p"), {}, {}, {}}},
    {"mysqld", "mysql", {Tcp("--port"), Tcp("-P"), {}, {}}},
    {"mariadbd", "mysql", {Tcp("--port"), Tcp("-P"), {}, {}}},
    {"uvicorn", "", {Tcp("--port"), {}, {}, {}}},
    {"kube-apiserver", "kube-apiserver", {kNodePorts, {}, {}, {}}},
    {"k3s", "k3s", {kNodePorts, {}, {}, {}}},  // k3s server --service-node-port-range
}};

// At most this many words of one command line are read (continuation lines included).
constexpr std::size_t kMaxExecWords = 4096;

struct Word {
  const Line* line;
  std::string_view text;  // quotes removed; a view into line->text
};

// The words of ExecStart='s value from `index` on, across lines ending in '\'.
std::vector<Word> ExecWords(const std::vector<Line>& lines, std::size_t index, std::string_view value) {
  std::vector<Word> words;
  for (;;) {
    std::string_view v = Trim(value);
    const bool more = !v.empty() && v.back() == '\\';
    if (more) v.remove_suffix(1);
    for (std::size_t i = 0; i < v.size() && words.size() < kMaxExecWords;) {
      while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
      std::size_t end = i;
      while (end < v.size() && v[end] != ' ' && v[end] != '\t') ++end;
      if (end > i) words.push_back(Word{&lines[index], Unquote(v.substr(i, end - i))});
      i = end;
    }
    if (!more || ++index >= lines.size()) break;
    value = lines[index].text;
  }
  return words;
}

// systemd .service: ExecStart= of a known program (kKnownPrograms) with a port flag, in
// [Service]: --port N, --port=N, -p N. The service is the program's (redis), or the unit's.
void ReadExecStartPorts(const std::vector<Line>& lines, ConfReader& r, std::string_view unit) {
  std::string section;
  for (std::size_t n = 0; n < lines.size(); ++n) {
    const Line& line = lines[n];
    std::string_view t = Trim(line.text);
    if (t.empty() || t.front() == '#' || t.front() == ';') continue;
    if (t.front() == '[') {
      section = std::string(t);
      continue;
    }
    if (section != "[Service]") continue;
    auto kv = SplitKeyValue(line.text, "=");
    if (!kv || kv->key != "ExecStart") continue;
    const std::vector<Word> words = ExecWords(lines, n, kv->value);
    std::size_t first = 0;
    std::string_view program;
    for (; first < words.size(); ++first) {
      std::string_view w = words[first].text;
      bool argv0 = false;
      while (!w.empty() && (w.front() == '@' || w.front() == '-' || w.front() == ':' ||
                            w.front() == '+' || w.front() == '!')) {
        argv0 = argv0 || w.front() == '@';
        w.remove_prefix(1);
      }
      if (w.empty()) continue;
      program = BaseName(w);
      if (argv0) ++first;  // "@/usr/bin/x argv0 ...": the next word is argv[0]
      break;
    }
    const auto known = std::find_if(kKnownPrograms.begin(), kKnownPrograms.end(),
                                    [&](const KnownProgram& k) { return k.program == program; });
    if (known == kKnownPrograms.end()) continue;
    for (std::size_t i = first + 1; i < words.size(); ++i) {
      const std::string_view w = words[i].text;
      for (const PortFlag& f : known->flags) {
        if (f.flag.empty()) continue;
        std::optional<Word> value;
        if (w == f.flag && i + 1 < words.size()) {
          value = words[i + 1];
        } else if (f.flag.starts_with("--") && w.size() > f.flag.size() && w.starts_with(f.flag) &&
                   w[f.flag.size()] == '=') {
          value = Word{words[i].line, w.substr(f.flag.size() + 1)};
        }
        if (!value) continue;
        // 0 turns the listener off in redis and memcached; no other of them takes it.
        std::optional<PortRange> ports;
        if (f.node_port_range) {
          ports = ParsePortOrRange(value->text);
        } else if (auto port = ParsePortNumber(value->text)) {
          ports = PortRange{*port, *port};
        }
        if (!ports || ports->high == 0) continue;
        const int column = static_cast<int>(value->text.data() - value->line->text.data()) + 1;
        PortDecl& d = r.Add(*value->line, column, fmt::format("ExecStart {}", f.flag), *ports);
        d.proto = f.proto;
        if (f.node_port_range) d.kind = DeclKind::kNodePortRange;
        d.service = std::string(known->service.empty() ? unit : known->service);
      }
    }
  }
}

}  // namespace

// systemd: ListenStream=/ListenDatagram= in [Socket]; paths, netlink and vsock are skipped.
void ReadSystemdSocket(const std::vector<Line>& lines, ConfReader& r) {
  std::string_view base = BaseName(r.file);
  if (base.ends_with(".socket")) base.remove_suffix(7);
  ForEachKeyIn(lines, "[Socket]", [&](const Line& line, const auto& kv) {
    Protocol proto;
    if (kv.key == "ListenStream") proto = Protocol::kTcp;
    else if (kv.key == "ListenDatagram") proto = Protocol::kUdp;
    else return;
    if (kv.value.empty() || kv.value.front() == '/' || kv.value.front() == '@' ||
        kv.value.starts_with("vsock:")) {
      return;
    }
    auto hp = SplitHostPort(kv.value);
    if (!hp || hp->port.empty()) return;
    auto port = ParsePortNumber(hp->port);
    if (!port) return;
    PortDecl& d = r.Add(line, kv.value_column + static_cast<int>(hp->port_offset),
                        std::string(kv.key), PortRange{*port, *port});
    d.proto = proto;
    d.address = std::string(hp->address);
    d.service = std::string(base);
    if (*port == 0) d.dynamic = Dynamic::kZero;
  });
}

// systemd .service: Requires=, Wants=, BindsTo=, Requisite= in [Unit] naming rpcbind (its
// socket, service or target, or its portmap alias): the unit's RPC services register with
// the port mapper. rpcbind's own units are the mapper, not its clients.
void ReadSystemdService(const std::vector<Line>& lines, ConfReader& r) {
  std::string_view base = BaseName(r.file);
  if (base.ends_with(".service")) base.remove_suffix(8);
  ReadExecStartPorts(lines, r, base);
  if (base == "rpcbind" || base == "portmap") return;
  ForEachKeyIn(lines, "[Unit]", [&](const Line& line, const auto& kv) {
    if (kv.key != "Requires" && kv.key != "Wants" && kv.key != "BindsTo" &&
        kv.key != "Requisite") {
      return;
    }
    for (std::size_t i = 0; i < kv.value.size();) {
      const std::size_t end = std::min(kv.value.find_first_of(" \t", i), kv.value.size());
      const std::string_view unit = kv.value.substr(i, end - i);
      if (unit == "rpcbind.socket" || unit == "rpcbind.service" || unit == "rpcbind.target" ||
          unit == "portmap.service") {
        PortDecl& d = r.Add(line, kv.value_column + static_cast<int>(i), std::string(kv.key),
                            PortRange{111, 111});
        d.kind = DeclKind::kTarget;
        d.mapper = Mapper::kRpcbind;
        d.instance = std::string(unit);
        d.service = std::string(base);
        break;
      }
      i = kv.value.find_first_not_of(" \t", end);
      if (i == std::string_view::npos) break;
    }
  });
}

}  // namespace berth::lint
