#include "lint/port_decl.h"

#include <array>

namespace berth::lint {

std::string_view DeclKindName(DeclKind k) {
  switch (k) {
    case DeclKind::kListen: return "listen";
    case DeclKind::kPublish: return "publish";
    case DeclKind::kTarget: return "target";
    case DeclKind::kInternal: return "internal";
    case DeclKind::kDerived: return "derived";
    case DeclKind::kNodePortRange: return "node-port-range";
  }
  return "listen";
}

std::string_view ConfigFormatName(ConfigFormat f) {
  switch (f) {
    case ConfigFormat::kCompose: return "compose";
    case ConfigFormat::kKubernetes: return "kubernetes";
    case ConfigFormat::kYaml: return "yaml";
    case ConfigFormat::kSystemdSocket: return "systemd-socket";
    case ConfigFormat::kSystemdService: return "systemd-service";
    case ConfigFormat::kNginx: return "nginx";
    case ConfigFormat::kSshd: return "sshd";
    case ConfigFormat::kPostgresql: return "postgresql";
    case ConfigFormat::kRedis: return "redis";
    case ConfigFormat::kMysql: return "mysql";
    case ConfigFormat::kEnv: return "env";
    case ConfigFormat::kProperties: return "properties";
    case ConfigFormat::kHaproxy: return "haproxy";
    case ConfigFormat::kApache: return "apache";
    case ConfigFormat::kOdbc: return "odbc";
    case ConfigFormat::kFreetds: return "freetds";
    case ConfigFormat::kJson: return "json";
    case ConfigFormat::kXml: return "xml";
    case ConfigFormat::kEnvoy: return "envoy";
    case ConfigFormat::kText: return "text";
  }
  return "text";
}

namespace {
constexpr std::array kRules{LintRule::kDynamicPort,      LintRule::kEphemeralPort,
                            LintRule::kPortCollision,    LintRule::kPortMapper,
                            LintRule::kPortMapperClient,
                            LintRule::kRegistryMismatch, LintRule::kSexagesimal,
                            LintRule::kSqlClientHostPort, LintRule::kIanaOtherService,
                            LintRule::kConventionalPort, LintRule::kNodePortRange};
}  // namespace

std::span<const LintRule> AllLintRules() { return kRules; }

std::string_view LintRuleName(LintRule r) {
  switch (r) {
    case LintRule::kDynamicPort: return "dynamic-port";
    case LintRule::kEphemeralPort: return "ephemeral-port";
    case LintRule::kPortCollision: return "port-collision";
    case LintRule::kPortMapper: return "port-mapper";
    case LintRule::kPortMapperClient: return "port-mapper-client";
    case LintRule::kRegistryMismatch: return "registry-mismatch";
    case LintRule::kSexagesimal: return "compose-sexagesimal";
    case LintRule::kSqlClientHostPort: return "sqlclient-host-port";
    case LintRule::kIanaOtherService: return "iana-other-service";
    case LintRule::kConventionalPort: return "conventional-port";
    case LintRule::kNodePortRange: return "node-port-range";
  }
  return "dynamic-port";
}

std::string_view LintRuleSummary(LintRule r) {
  switch (r) {
    case LintRule::kDynamicPort:
      return "A server or published port that is not fixed: port 0, a random placeholder, or a "
             "Compose entry with the container port only.";
    case LintRule::kEphemeralPort:
      return "A server port inside the ephemeral range (Linux 32768-60999; Windows 49152-65535 "
             "for files that target Windows), derived ports included.";
    case LintRule::kPortCollision:
      return "Two services declare the same host port and protocol on overlapping addresses.";
    case LintRule::kPortMapper:
      return "A server declared on a port mapper's port (rpcbind 111, the MS-RPC endpoint mapper "
             "135, the SQL Server Browser 1434/udp): it hands out dynamic ports.";
    case LintRule::kPortMapperClient:
      return "A client that needs a port mapper: a SQL Server named instance without a port "
             "asks the SQL Server Browser on UDP 1434 at every connection; a systemd unit that "
             "requires or wants rpcbind.";
    case LintRule::kRegistryMismatch:
      return "The port differs from the one the berth registry holds for the service.";
    case LintRule::kSexagesimal:
      return "An unquoted Compose HOST:CONTAINER entry that YAML 1.1 reads as a base-60 number.";
    case LintRule::kSqlClientHostPort:
      return "Server=HOST:PORT in a SqlClient connection string: the port goes after a comma.";
    case LintRule::kIanaOtherService:
      return "A server port that IANA assigns to another service than the one declaring it.";
    case LintRule::kConventionalPort:
      return "A server port that well-known products use by convention (Prometheus and Cockpit "
             "on 9090, Grafana 3000, Elasticsearch 9200, gRPC's 50051), declared by another "
             "service.";
    case LintRule::kNodePortRange:
      return "A Kubernetes --service-node-port-range that overlaps the ephemeral range: every "
             "node opens its NodePorts there.";
  }
  return {};
}

Severity LintRuleSeverity(LintRule r) {
  switch (r) {
    case LintRule::kPortCollision:
    case LintRule::kSqlClientHostPort: return Severity::kError;
    case LintRule::kIanaOtherService:
    case LintRule::kConventionalPort: return Severity::kInfo;
    default: return Severity::kWarning;
  }
}

}  // namespace berth::lint
