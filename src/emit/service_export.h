// Exports of registered services for the systems that must find them on their static
// ports: Kubernetes Service manifests, Docker Compose ports fragments, Consul service
// definitions, Prometheus file_sd targets and /etc/services lines. Pure: text goes to a
// Sink. Thread-safe. Free text is escaped for each language (docs/enforce.md).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/service.h"
#include "probe/consul_client.h"  // ConsulRegistration
#include "emit/scan_render.h"

namespace berth {

// The tag that makes a service a Prometheus scrape target (its port serves /metrics).
inline constexpr std::string_view kMetricsTag = "metrics";

struct ExportOptions {
  std::string group;               // "" = every group
  std::string host = "localhost";  // Prometheus targets: host part of host:port
  std::string k8s_namespace;       // metadata.namespace; "" leaves it out
};

// The formats RenderServiceExport accepts, for --help text.
inline constexpr std::string_view kServiceExportFormats = "k8s, compose, consul, prometheus, services";

// Renders the selected services in `format` (k8s, compose, consul, prometheus, services).
// Failure: kInvalidArgument for an unknown format, an invalid service name, a name that
// does not fit the target (k8s names are 63 characters at most), two services mapping to
// the same target name, or an invalid host / namespace (a Prometheus host is a name or an
// address, never host:port); kNotFound when nothing is selected (for prometheus: no TCP
// service tagged kMetricsTag).
[[nodiscard]] Result<void> RenderServiceExport(std::string_view format,
                                               std::span<const Service> services,
                                               const ExportOptions& options, const Sink& sink);

// One service's body for Consul's PUT /v1/agent/service/register (the API's field names:
// ID, Name, Port, Tags, Meta), the same content as the consul export.
// Failure: as RenderServiceExport.
[[nodiscard]] Result<std::vector<ConsulRegistration>> ConsulRegistrations(
    std::span<const Service> services, const ExportOptions& options);

// "mssql.instance1" -> "mssql-instance1": a DNS-1035 label for Kubernetes and Consul.
// Failure: kInvalidArgument when longer than 63 characters or not starting with a letter.
[[nodiscard]] Result<std::string> DnsLabelName(std::string_view service_name);

}  // namespace berth
