#include "core/conventional_ports.h"

#include <algorithm>
#include <array>
#include <tuple>

#include <fmt/core.h>

#include "core/iana.h"

namespace berth {
namespace {

constexpr Protocol kTcp = Protocol::kTcp;

// Curated: a product's default port that IANA gives to another service or to none. A port
// IANA assigns to the product itself (redis 6379, mongodb 27017, OpenTelemetry's 4317) is
// not here: the IANA table already says it. Sorted by (port, protocol).
constexpr std::array<ConventionalPort, 29> kTable{{
    {2181, kTcp, "ZooKeeper", "client port", "zookeeper",
     "https://zookeeper.apache.org/doc/current/zookeeperStarted.html"},
    {3000, kTcp, "Grafana", "web UI", "grafana",
     "https://grafana.com/docs/grafana/latest/setup-grafana/configure-grafana/#http_port"},
    {3100, kTcp, "Grafana Loki", "HTTP API", "loki",
     "https://grafana.com/docs/loki/latest/configure/#server"},
    {4318, kTcp, "OpenTelemetry", "OTLP/HTTP receiver", "otel opentelemetry",
     "https://opentelemetry.io/docs/specs/otlp/#otlphttp-default-port"},
    {5000, kTcp, "Docker Registry", "registry API", "registry distribution",
     "https://distribution.github.io/distribution/about/deploying/"},
    {5000, kTcp, "Flask", "development server", "flask",
     "https://flask.palletsprojects.com/en/latest/cli/#run-the-development-server"},
    {5601, kTcp, "Kibana", "web UI", "kibana",
     "https://www.elastic.co/guide/en/kibana/current/settings.html"},
    {6443, kTcp, "Kubernetes", "API server", "kubeapiserver apiserver kubernetes k3s",
     "https://kubernetes.io/docs/reference/networking/ports-and-protocols/"},
    {8086, kTcp, "InfluxDB", "HTTP API", "influx",
     "https://docs.influxdata.com/influxdb/v2/reference/config-options/#http-bind-address"},
    {8200, kTcp, "HashiCorp Vault", "API", "vault",
     "https://developer.hashicorp.com/vault/docs/configuration/listener/tcp"},
    {8500, kTcp, "HashiCorp Consul", "HTTP API", "consul",
     "https://developer.hashicorp.com/consul/docs/install/ports"},
    {8888, kTcp, "Jupyter", "notebook server", "jupyter",
     "https://jupyter-server.readthedocs.io/en/latest/other/full-config.html"},
    {8983, kTcp, "Apache Solr", "web UI and API", "solr",
     "https://solr.apache.org/guide/solr/latest/deployment-guide/taking-solr-to-production.html"},
    {9000, kTcp, "MinIO", "S3 API", "minio",
     "https://min.io/docs/minio/linux/reference/minio-server/minio-server.html"},
    {9000, kTcp, "PHP-FPM", "FastCGI pool", "phpfpm",
     "https://www.php.net/manual/en/install.fpm.configuration.php"},
    {9042, kTcp, "Apache Cassandra", "CQL native transport", "cassandra scylla",
     "https://cassandra.apache.org/doc/latest/cassandra/managing/configuration/cass_yaml_file.html"},
    {9090, kTcp, "Prometheus", "server: web UI, API", "prometheus",
     "https://github.com/prometheus/prometheus/wiki/Default-port-allocations"},
    {9090, kTcp, "Cockpit", "web console", "cockpit",
     "https://cockpit-project.org/guide/latest/listen.html"},
    {9091, kTcp, "Prometheus Pushgateway", "push API", "pushgateway",
     "https://github.com/prometheus/prometheus/wiki/Default-port-allocations"},
    {9092, kTcp, "Apache Kafka", "broker", "kafka",
     "https://kafka.apache.org/documentation/#brokerconfigs_listeners"},
    {9093, kTcp, "Prometheus Alertmanager", "web UI, API", "alertmanager",
     "https://github.com/prometheus/prometheus/wiki/Default-port-allocations"},
    {9100, kTcp, "Prometheus node_exporter", "metrics", "nodeexporter",
     "https://github.com/prometheus/prometheus/wiki/Default-port-allocations"},
    {9200, kTcp, "Elasticsearch", "REST API", "elasticsearch opensearch",
     "https://www.elastic.co/guide/en/elasticsearch/reference/current/modules-network.html"},
    {9300, kTcp, "Elasticsearch", "transport between nodes", "elasticsearch opensearch",
     "https://www.elastic.co/guide/en/elasticsearch/reference/current/modules-network.html"},
    {9411, kTcp, "Zipkin", "collector and UI", "zipkin",
     "https://zipkin.io/pages/quickstart.html"},
    {10250, kTcp, "Kubernetes", "kubelet API", "kubelet",
     "https://kubernetes.io/docs/reference/networking/ports-and-protocols/"},
    {15672, kTcp, "RabbitMQ", "management UI and API", "rabbitmq",
     "https://www.rabbitmq.com/docs/networking#ports"},
    {16686, kTcp, "Jaeger", "query UI", "jaeger",
     "https://www.jaegertracing.io/docs/latest/deployment/"},
    {50051, kTcp, "gRPC", "the examples' server, copied by many services", "",
     "https://grpc.io/docs/languages/python/quickstart/"},
}};

}  // namespace

std::string LettersAndDigits(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out += c;
  }
  return out;
}

std::span<const ConventionalPort> ConventionalPorts() { return kTable; }

std::span<const ConventionalPort> ConventionalAt(Port port, Protocol proto) {
  const auto key = [](const ConventionalPort& c) { return std::tuple(c.port, c.proto); };
  const auto [first, last] = std::equal_range(
      kTable.begin(), kTable.end(), ConventionalPort{port, proto, {}, {}, {}, {}},
      [&](const ConventionalPort& a, const ConventionalPort& b) { return key(a) < key(b); });
  return {first, last};
}

bool IsConventionalOwner(const ConventionalPort& c, std::string_view name) {
  const std::string have = LettersAndDigits(name);
  if (have.empty()) return false;
  std::string_view words = c.names;
  while (!words.empty()) {
    const std::size_t space = words.find(' ');
    const std::string_view word = words.substr(0, space);
    if (!word.empty() && have.find(word) != std::string::npos) return true;
    words = space == std::string_view::npos ? std::string_view() : words.substr(space + 1);
  }
  return false;
}

std::span<const ConventionalPort> ConventionalOthers(Port port, Protocol proto,
                                                     std::string_view name) {
  const std::span<const ConventionalPort> at = ConventionalAt(port, proto);
  for (const ConventionalPort& c : at) {
    if (IsConventionalOwner(c, name)) return {};
  }
  return at;
}

std::string ConventionalText(std::span<const ConventionalPort> entries) {
  if (entries.empty()) return {};
  std::string products;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) products += i + 1 == entries.size() ? " and " : ", ";
    products += fmt::format("{} ({})", entries[i].product, entries[i].use);
  }
  const ConventionalPort& c = entries.front();
  const auto iana = IanaLookup(c.port, c.proto);
  return fmt::format("{}/{} is where {} {} by convention ({})", c.port, ProtocolName(c.proto),
                     products, entries.size() == 1 ? "listens" : "listen",
                     iana ? fmt::format("IANA gives it to {}", iana->service)
                          : std::string("IANA gives it to no service"));
}

std::string ConventionalWhy(std::span<const ConventionalPort> others, std::string_view name) {
  const bool owned = std::any_of(others.begin(), others.end(),
                                 [](const ConventionalPort& c) { return !c.names.empty(); });
  if (!owned) {
    return fmt::format("{}: services that copy it collide when two share a host, and a client "
                       "that assumes the convention reaches '{}'",
                       ConventionalText(others), name);
  }
  const std::string_view them = others.size() == 1 ? "it" : "one of them";
  return fmt::format("{}, and '{}' is not {}: a client, scraper or dashboard that assumes the "
                     "convention reaches '{}', and installing {} there finds the port taken",
                     ConventionalText(others), name, them, name, them);
}

}  // namespace berth
