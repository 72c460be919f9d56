#include "lint/conf_parse.h"

#include <algorithm>
#include <string>

#include "lint/conf_reader.h"
#include "lint/line_reader.h"
#include "lint/url_parse.h"

namespace berth::lint {

std::string_view BaseName(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::optional<HostPort> SplitHostPort(std::string_view s) {
  if (!s.empty() && s.front() == '[') {
    const std::size_t close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    HostPort hp{s.substr(1, close - 1), {}, 0};
    if (close + 1 < s.size() && s[close + 1] == ':') {
      hp.port = s.substr(close + 2);
      hp.port_offset = close + 2;
    }
    if (hp.address == "::") hp.address = {};
    return hp;
  }
  const std::size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) {
    if (ParsePortNumber(s)) return HostPort{{}, s, 0};
    return HostPort{s, {}, 0};  // an address alone
  }
  if (s.find(':') != colon) return HostPort{s, {}, 0};  // a bare IPv6 address
  HostPort hp{s.substr(0, colon), s.substr(colon + 1), colon + 1};
  if (hp.address == "*" || hp.address == "0.0.0.0") hp.address = {};
  return hp;
}

namespace {

// nginx: every `listen` statement (several may share a line: "server { listen 80; }").
void ReadNginx(const std::vector<Line>& lines, ConfReader& r) {
  for (const Line& line : lines) {
    std::string_view t = StripComment(line.text);
    std::size_t i = 0;
    while (i < t.size()) {
      // One statement: up to ';', '{' or '}'.
      std::size_t end = t.find_first_of(";{}", i);
      if (end == std::string_view::npos) end = t.size();
      std::string_view stmt = t.substr(i, end - i);
      std::size_t a = stmt.find_first_not_of(" \t");
      if (a != std::string_view::npos && stmt.substr(a).starts_with("listen") &&
          stmt.size() > a + 6 && (stmt[a + 6] == ' ' || stmt[a + 6] == '\t')) {
        std::size_t p = stmt.find_first_not_of(" \t", a + 6);
        if (p != std::string_view::npos) {
          std::size_t q = stmt.find_first_of(" \t", p);
          std::string_view target = stmt.substr(p, q == std::string_view::npos ? stmt.npos : q - p);
          std::string_view params = q == std::string_view::npos ? std::string_view{} : stmt.substr(q);
          auto hp = SplitHostPort(target);
          if (!target.starts_with("unix:") && hp) {
            std::string_view port_text = hp->port.empty() && hp->address.empty() ? target : hp->port;
            std::size_t port_off = hp->port.empty() ? 0 : hp->port_offset;
            // "listen 127.0.0.1;" is port 80 on that address: nginx's default.
            std::optional<Port> port = port_text.empty() ? std::optional<Port>(80)
                                                         : ParsePortNumber(port_text);
            if (port) {
              const int column = static_cast<int>(i + p + port_off) + 1;
              PortDecl& d = r.Add(line, column, "listen", PortRange{*port, *port});
              d.address = std::string(hp->address);
              d.service = "nginx";
              if (params.find(" udp") != std::string_view::npos ||
                  params.find("\tudp") != std::string_view::npos ||
                  params.find("quic") != std::string_view::npos) {
                d.proto = Protocol::kUdp;
              }
            }
          }
        }
      }
      i = end + 1;
    }
  }
}

// sshd_config: Port N (each), ListenAddress HOST:PORT (with a port).
void ReadSshd(const std::vector<Line>& lines, ConfReader& r) {
  for (const Line& line : lines) {
    std::string_view t = StripComment(line.text);
    auto kv = SplitKeyValue(t, " =");
    if (!kv || kv->value.empty()) continue;
    if (EqualsIgnoreCase(kv->key, "Match")) break;  // Port and ListenAddress are global only
    if (EqualsIgnoreCase(kv->key, "Port")) {
      auto port = ParsePortNumber(kv->value);
      if (!port) continue;
      PortDecl& d = r.Add(line, kv->value_column, "Port", PortRange{*port, *port});
      d.service = "sshd";
    } else if (EqualsIgnoreCase(kv->key, "ListenAddress")) {
      std::string_view v = kv->value;
      const std::size_t blank = v.find_first_of(" \t");  // "rdomain NAME" may follow
      if (blank != std::string_view::npos) v = v.substr(0, blank);
      auto hp = SplitHostPort(v);
      if (!hp || hp->port.empty()) continue;
      auto port = ParsePortNumber(hp->port);
      if (!port) continue;
      PortDecl& d = r.Add(line, kv->value_column + static_cast<int>(hp->port_offset),
                          "ListenAddress", PortRange{*port, *port});
      d.address = std::string(hp->address);
      d.service = "sshd";
    }
  }
}

// postgresql.conf: port = N.
void ReadPostgresql(const std::vector<Line>& lines, ConfReader& r) {
  for (const Line& line : lines) {
    auto kv = SplitKeyValue(StripComment(line.text), " =");
    if (!kv || !EqualsIgnoreCase(kv->key, "port")) continue;
    std::string_view v = Unquote(kv->value);
    auto port = ParsePortNumber(v);
    if (!port) continue;
    const int column = kv->value_column + (v.size() == kv->value.size() ? 0 : 1);
    PortDecl& d = r.Add(line, column, "port", PortRange{*port, *port});
    d.service = "postgresql";
  }
}

// redis.conf: port, tls-port; with cluster-enabled yes, the cluster bus on cluster-port or
// port + 10000. Port 0 turns the listener off in Redis: not a declaration.
void ReadRedis(const std::vector<Line>& lines, ConfReader& r) {
  bool cluster = false;
  std::optional<Port> cluster_port;
  const std::size_t first = r.out->size();
  for (const Line& line : lines) {
    auto kv = SplitKeyValue(StripComment(line.text), " ");
    if (!kv) continue;
    std::string key = AsciiLower(kv->key);
    std::string_view v = Unquote(kv->value);
    if (key == "cluster-enabled") cluster = EqualsIgnoreCase(v, "yes");
    if (key == "cluster-port") {
      cluster_port = ParsePortNumber(v);
      continue;
    }
    if (key != "port" && key != "tls-port") continue;
    auto port = ParsePortNumber(v);
    if (!port || *port == 0) continue;
    PortDecl& d = r.Add(line, kv->value_column, key, PortRange{*port, *port});
    d.service = "redis";
  }
  if (!cluster) return;
  const std::size_t last = r.out->size();
  for (std::size_t i = first; i < last; ++i) {
    const PortDecl base = (*r.out)[i];
    if (base.key_path != "port") continue;
    PortDecl d = base;
    d.kind = DeclKind::kDerived;
    d.key_path = "cluster-port";
    if (cluster_port && *cluster_port != 0) {
      d.ports = PortRange{*cluster_port, *cluster_port};
      d.derived_from = "Redis cluster bus: cluster-port";
    } else {
      if (base.ports.low > 65535 - 10000) continue;
      const auto bus = static_cast<Port>(base.ports.low + 10000);
      d.ports = PortRange{bus, bus};
      d.derived_from = "Redis cluster bus: port + 10000 (cluster-enabled yes)";
    }
    r.out->push_back(std::move(d));
  }
}

// The option groups mysqld and mariadbd read ([mysqld], [server], [mysqld-10.11], [mariadb],
// [mariadb-10.11], [mariadbd], [mariadbd-11], MariaDB's [client-server] and [galera]: the
// load_default_groups of MariaDB's sql/mysqld.cc), and those the clients read ([client],
// [mysql], MariaDB's [mariadb-client] and [client-mariadb]). `section` is lower case, brackets
// included.
bool IsMysqlServerGroup(std::string_view section) {
  return section == "[mysqld]" || section == "[server]" || section.starts_with("[mysqld-") ||
         section == "[mariadb]" || section == "[mariadbd]" || section.starts_with("[mariadbd-") ||
         (section.starts_with("[mariadb-") && section != "[mariadb-client]") ||
         section == "[client-server]" || section == "[galera]";
}

bool IsMysqlClientGroup(std::string_view section) {
  return section == "[client]" || section == "[mysql]" || section == "[mariadb-client]" ||
         section == "[client-mariadb]";
}

// my.cnf: port in the server groups (a listen port; [client-server], which MariaDB's server
// and clients both read, too) and in the client groups (a target); the X Plugin's
// mysqlx_port, or its default 33060 when a MySQL (not MariaDB) server section sets a port and
// does not turn the plugin off.
void ReadMysql(const std::vector<Line>& lines, ConfReader& r) {
  std::string section;
  bool mariadb = AsciiLower(r.file).find("mariadb") != std::string::npos;
  bool mysqlx_off = false;
  bool mysqlx_port = false;
  bool server_port = false;
  std::size_t server_index = 0;
  for (const Line& line : lines) {
    std::string_view t = Trim(StripComment(line.text));
    if (t.empty() || t.front() == ';') continue;
    if (t.front() == '[') {
      section = AsciiLower(t);
      // Groups only MariaDB reads: such a file is MariaDB's, which has no X Plugin.
      if (section.starts_with("[mariadb") || section == "[client-server]" ||
          section == "[client-mariadb]") {
        mariadb = true;
      }
      continue;
    }
    const bool server = IsMysqlServerGroup(section);
    const bool client = IsMysqlClientGroup(section);
    auto kv = SplitKeyValue(StripComment(line.text), " =");
    if (!kv) continue;
    std::string key = AsciiLower(kv->key);
    for (char& c : key) if (c == '-') c = '_';
    std::string_view v = Unquote(kv->value);
    if (server && (key == "skip_mysqlx" || (key == "mysqlx" && (EqualsIgnoreCase(v, "off") ||
                                                              v == "0")))) {
      mysqlx_off = true;
    }
    if (key != "port" && key != "mysqlx_port") continue;
    if (!server && !client) continue;
    auto port = ParsePortNumber(v);
    if (!port) continue;
    PortDecl& d = r.Add(line, kv->value_column, section + "." + key, PortRange{*port, *port});
    d.service = "mysql";
    if (client) {
      d.kind = DeclKind::kTarget;
    } else if (key == "mysqlx_port") {
      d.kind = DeclKind::kDerived;
      d.derived_from = "MySQL X Plugin: mysqlx_port";
      mysqlx_port = true;
    } else if (!server_port) {
      server_index = r.out->size() - 1;
      server_port = true;
    }
  }
  if (server_port && !mariadb && !mysqlx_off && !mysqlx_port) {
    PortDecl d = (*r.out)[server_index];
    d.kind = DeclKind::kDerived;
    d.key_path = "mysqlx_port";
    d.ports = PortRange{33060, 33060};
    d.derived_from = "MySQL X Plugin: on by default in MySQL 8 on mysqlx_port 33060";
    r.out->push_back(std::move(d));
  }
}

// .env (KEY=VALUE, optionally "export KEY=VALUE") and .properties (key=value, key: value).
void ReadKeyValues(const std::vector<Line>& lines, ConfReader& r, std::string_view separators) {
  std::string app_name;
  const std::size_t first = r.out->size();
  for (const Line& line : lines) {
    std::string_view t = Trim(line.text);
    if (t.empty() || t.front() == '#' || t.front() == '!') continue;
    std::string_view body = line.text;
    std::size_t skip = 0;
    if (r.format == ConfigFormat::kEnv) {
      const std::size_t at = body.find("export ");
      if (at != std::string_view::npos && Trim(body.substr(0, at)).empty()) skip = at + 7;
    }
    auto kv = SplitKeyValue(body.substr(skip), separators);
    if (!kv) continue;
    if (kv->key == "spring.application.name") app_name = std::string(Unquote(kv->value));
    std::string_view v = Unquote(kv->value);
    if (!IsPortKey(kv->key)) {
      // DATABASE_URL=postgres://db:5432/app: the ports of URLs in the value.
      for (const UrlPort& u : FindUrlPorts(v)) {
        const auto at = static_cast<std::size_t>(v.data() - line.text.data()) + u.port_offset;
        SetUrlPort(r.Add(line, static_cast<int>(at) + 1, std::string(kv->key), {}), u, kv->key);
      }
      continue;
    }
    const int column = static_cast<int>(skip) + kv->value_column +
                       (v.size() == kv->value.size() ? 0 : 1);
    Dynamic dynamic = Dynamic::kNo;
    PortRange ports{};
    if (auto port = ParsePortNumber(v)) {
      ports = PortRange{*port, *port};
      if (*port == 0) dynamic = Dynamic::kZero;
    } else if (v.find("${random.int") != std::string_view::npos) {
      dynamic = Dynamic::kRandom;
    } else {
      continue;
    }
    PortDecl& d = r.Add(line, column, std::string(kv->key), ports);
    d.dynamic = dynamic;
    d.kind = IsListenKey(kv->key) ? DeclKind::kListen : DeclKind::kTarget;
  }
  if (!app_name.empty()) {
    for (std::size_t i = first; i < r.out->size(); ++i) (*r.out)[i].service = app_name;
  }
}

}  // namespace

// A key that names a port: one of its words (split at _ . - and lower/upper case changes)
// is "port". Listen ports are the ones a server takes; other port keys are a client's
// target.
bool IsPortKey(std::string_view key) {
  std::string word;
  auto is_port = [&word] { return word == "port"; };
  for (std::size_t i = 0; i <= key.size(); ++i) {
    const char c = i < key.size() ? key[i] : '_';
    const bool upper = c >= 'A' && c <= 'Z';
    const bool boundary = c == '_' || c == '.' || c == '-' ||
                          (upper && i > 0 && key[i - 1] >= 'a' && key[i - 1] <= 'z');
    if (boundary) {
      if (is_port()) return true;
      word.clear();
      if (c == '_' || c == '.' || c == '-') continue;
    }
    word += upper ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return false;
}

bool IsListenKey(std::string_view key) {
  const std::string k = AsciiLower(key);
  return k == "port" || k == "server.port" || k == "server_port" || k == "management.server.port" ||
         k == "http_port" || k == "https_port" || k == "app_port" || k == "listen_port" ||
         k.find("listen") != std::string::npos;
}

Result<std::vector<PortDecl>> ParseConfPorts(ConfigFormat format, std::string_view file,
                                            std::string_view text) {
  std::vector<PortDecl> out;
  const std::vector<Line> lines = BERTH_TRY(SplitLines(text));
  ConfReader r{format, file, text, &out};
  switch (format) {
    case ConfigFormat::kSystemdSocket: ReadSystemdSocket(lines, r); break;
    case ConfigFormat::kSystemdService: ReadSystemdService(lines, r); break;
    case ConfigFormat::kNginx: ReadNginx(lines, r); break;
    case ConfigFormat::kSshd: ReadSshd(lines, r); break;
    case ConfigFormat::kPostgresql: ReadPostgresql(lines, r); break;
    case ConfigFormat::kRedis: ReadRedis(lines, r); break;
    case ConfigFormat::kMysql: ReadMysql(lines, r); break;
    case ConfigFormat::kEnv: ReadKeyValues(lines, r, "="); break;
    case ConfigFormat::kProperties: ReadKeyValues(lines, r, "=: "); break;
    case ConfigFormat::kHaproxy: ReadHaproxy(lines, r); break;
    case ConfigFormat::kApache: ReadApache(lines, r); break;
    case ConfigFormat::kOdbc: ReadOdbcIni(lines, r); break;
    case ConfigFormat::kFreetds: ReadFreetds(lines, r); break;
    default: break;
  }
  return out;
}

}  // namespace berth::lint
