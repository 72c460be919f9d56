// The lint model: a *port declaration* found in a configuration file (where it is, what it
// declares: a server's listen port, a published host port, a client's target, ...), the
// rules berth lint applies to a set of them, and the findings those rules make. Every reader
// (YAML, the line formats, connection strings) fills the same PortDecl, so the rules know
// nothing of formats. Pure values; no I/O; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.h"
#include "core/port.h"

namespace berth::lint {

// What a declared port is to the host it runs on.
enum class DeclKind : std::uint8_t {
  kListen,    // a server binds it (nginx listen, sshd Port, a Kubernetes containerPort)
  kPublish,   // a host port forwarded to a container or pod (Compose ports:, hostPort, nodePort)
  kTarget,    // where traffic goes: a container port behind a published one, a client's server
  kInternal,  // only inside a container or cluster network (Compose expose:, a Service port)
  kDerived,   // opened because of another setting (Redis cluster bus, MySQL X Plugin)
  // The range Kubernetes hands NodePorts from (kube-apiserver --service-node-port-range):
  // every node opens each NodePort, but no port of it is a declaration of its own.
  kNodePortRange,
};
// "listen", "publish", "target", "internal", "derived", "node-port-range"
std::string_view DeclKindName(DeclKind k);

// Why a declaration has no fixed port.
enum class Dynamic : std::uint8_t {
  kNo,
  kZero,         // port 0: the kernel picks one from the ephemeral range
  kRandom,       // a placeholder that draws a random port (Spring's ${random.int...})
  kUnpublished,  // a Compose ports: entry with the container port only: Docker picks the host port
};

// Which port mapper a client needs before it can connect.
enum class Mapper : std::uint8_t {
  kNone,
  kSqlBrowser,  // SQL Server Browser, UDP 1434: a named instance without a port
  kRpcbind,     // ONC RPC's rpcbind, 111: a systemd unit that requires or wants it
};

// The formats berth lint reads.
enum class ConfigFormat : std::uint8_t {
  kCompose,      // docker-compose.yml, compose.yaml
  kKubernetes,   // a YAML document with apiVersion and kind
  kYaml,         // other YAML (Spring application.yml, ...): keys named port
  kSystemdSocket,
  kSystemdService,  // .service units: their dependence on rpcbind
  kNginx,
  kSshd,
  kPostgresql,
  kRedis,
  kMysql,        // my.cnf and its conf.d files
  kEnv,          // .env files
  kProperties,   // Java .properties (Spring application.properties)
  kHaproxy,      // haproxy.cfg
  kApache,       // apache2.conf, httpd.conf, ports.conf, sites-enabled/*.conf
  kOdbc,         // odbc.ini: DSNs with Server= and Port=
  kFreetds,      // freetds.conf: servers with host, port, instance
  kJson,         // appsettings*.json, *config*.json, *settings*.json: keys named port
  kXml,          // web.config, app.config, *.config, server.xml: attributes named port
  kEnvoy,        // Envoy's bootstrap YAML: listeners' and clusters' socket_address
  kText,         // any other text: connection strings only
};
std::string_view ConfigFormatName(ConfigFormat f);  // "compose", "kubernetes", ...

// A place in a file: 1-based line and column (columns count bytes).
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
  friend bool operator==(const Location&, const Location&) = default;
};

struct PortDecl {
  Location where;
  std::string key_path;  // "services.web.ports[0]", "server.listen", "Port"
  ConfigFormat format = ConfigFormat::kText;
  DeclKind kind = DeclKind::kListen;
  Protocol proto = Protocol::kTcp;
  std::string address;   // "" (every address), "127.0.0.1", "::1", a host name for targets
  PortRange ports{};     // meaningful unless dynamic != kNo or mapper != kNone
  Dynamic dynamic = Dynamic::kNo;
  Mapper mapper = Mapper::kNone;
  std::string instance;  // the named instance a Mapper::kSqlBrowser client asks for
  std::string service;   // who declares it: a Compose service, a manifest's name, "nginx"
  std::string image;     // what serves it, when the file says: a Compose service's or a
                         // container's image, its base name ("postgres" for postgres:16)
  std::string derived_from;  // for kDerived: how ("cluster bus: port + 10000")
  bool windows = false;  // the file targets Windows hosts (its dynamic range applies too)
  bool isolated = false;  // in a container's or pod's own network namespace (a Kubernetes
                          // containerPort, a Service port): it shares no port with the host
  bool sexagesimal = false;  // an unquoted Compose "a:b" that YAML 1.1 reads as base 60
  bool host_port = false;    // a SqlClient "Server=HOST:PORT" (the port belongs after a comma)
  bool in_url = false;       // the port of a URL the key holds (DATABASE_URL=postgres://db:5432)
  std::size_t offset = 0;    // byte offset of `where` in the file
  std::string text;          // the whole value a fix may rewrite: a Compose short-syntax entry,
                             // a connection string's server value ("" for other declarations)
  std::size_t text_offset = 0;  // byte offset of `text` in the file
};

// A rewrite of one span of a file: `expected` at byte `offset` becomes `replacement`. Made only
// where the change is unambiguous; applied only if the file still holds `expected` there.
struct Edit {
  std::size_t offset = 0;
  std::string expected;
  std::string replacement;
  friend bool operator==(const Edit&, const Edit&) = default;
};

// The rules, each with a stable id (docs/lint.md).
enum class LintRule : std::uint8_t {
  kDynamicPort,        // port 0, a random placeholder, a container-only Compose entry
  kEphemeralPort,      // a host port inside Linux's ephemeral range (Windows' too, for Windows)
  kPortCollision,      // two services declare the same host port/protocol
  kPortMapper,         // a declaration that runs a port mapper (rpcbind 111, epmap 135, 1434/udp)
  kPortMapperClient,   // a client that needs a port mapper (a named instance, no port; a unit
                       // that requires rpcbind)
  kRegistryMismatch,   // the registry holds another port for this service
  kSexagesimal,        // an unquoted Compose "a:b" with b < 60: YAML 1.1 reads a number
  kSqlClientHostPort,  // Server=HOST:PORT: SqlClient wants HOST,PORT
  kIanaOtherService,   // IANA assigns the port to another service (info)
  kConventionalPort,   // other products use the port by convention (info)
  kNodePortRange,      // --service-node-port-range overlaps the ephemeral range
};
std::span<const LintRule> AllLintRules();
std::string_view LintRuleName(LintRule r);  // "dynamic-port", ...
std::string_view LintRuleSummary(LintRule r);  // one sentence, for SARIF's rule list
Severity LintRuleSeverity(LintRule r);         // the severity its findings carry

struct LintFinding {
  LintRule rule = LintRule::kDynamicPort;
  Severity severity = Severity::kWarning;
  Location where;
  std::string key_path;
  std::optional<Protocol> proto;
  PortSet ports;
  std::string why;   // one line
  std::string fix;   // a concrete change; may span lines
  std::vector<Location> related;  // the other declarations of a collision
  std::optional<Edit> edit;       // the rewrite --fix applies, when one is certain
};

// A file that could not be read or parsed: the others are still linted.
struct FileError {
  std::string file;
  Error error;
};

}  // namespace berth::lint
