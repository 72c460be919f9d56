#include "lint/yaml_parse.h"

#include <optional>
#include <string>

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include "lint/compose_port.h"
#include "lint/conf_parse.h"
#include "lint/line_reader.h"
#include "lint/url_parse.h"

namespace berth::lint {
namespace {

bool Plain(const YAML::Node& n) { return n.Tag() == "?"; }

// An image reference's base name: "docker.io/bitnami/postgresql:16@sha256:..." -> "postgresql".
std::string ImageName(std::string_view ref) {
  ref = ref.substr(0, ref.find('@'));
  ref = ref.substr(ref.rfind('/') + 1);
  return std::string(ref.substr(0, ref.find(':')));
}

// map[key], or an undefined node (never yaml-cpp's "zombie", whose every accessor throws).
YAML::Node Get(const YAML::Node& map, const char* key) {
  if (!map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node child = map[key];
  return child ? child : YAML::Node(YAML::NodeType::Undefined);
}

class YamlReader {
 public:
  YamlReader(std::string_view file, std::string_view text, bool compose_name)
      : file_(file), text_(text), compose_name_(compose_name) {}

  // Reads one document whose first line is line `line_offset` + 1 of the file.
  Result<void> Read(const YAML::Node& doc, int line_offset, std::size_t byte_offset) {
    line_offset_ = line_offset;
    byte_offset_ = byte_offset;
    const std::size_t first = out_.size();
    windows_ = false;
    service_.clear();
    image_.clear();
    kind_.clear();
    ConfigFormat format = ConfigFormat::kYaml;
    if (IsCompose(doc)) {
      format = ConfigFormat::kCompose;
      Compose(doc);
    } else if (doc.IsMap() && Get(doc, "apiVersion").IsScalar() && Get(doc, "kind").IsScalar()) {
      format = ConfigFormat::kKubernetes;
      kind_ = Get(doc, "kind").Scalar();
      const YAML::Node name = Get(Get(doc, "metadata"), "name");
      service_ = name.IsScalar() ? name.Scalar() : std::string();
      Kubernetes(doc, "", 0);
    } else if (doc.IsMap() && (Get(doc, "static_resources").IsMap() ||
                               Get(Get(doc, "admin"), "address").IsMap())) {
      format = ConfigFormat::kEnvoy;
      Envoy(doc, "", 0, false);
    } else {
      Generic(doc, "", 0);
    }
    if (!error_) Urls(doc, format, "", "", 0);
    if (error_) return std::unexpected(*error_);
    if (windows_) {
      for (std::size_t i = first; i < out_.size(); ++i) out_[i].windows = true;
    }
    return {};
  }

  std::vector<PortDecl> Take() { return std::move(out_); }

 private:
  // Counts a visit; false (with the error set) once the budget or the depth is exceeded.
  bool Visit(const YAML::Node& n, int depth) { return Visit(n, depth, visited_); }
  bool Visit(const YAML::Node& n, int depth, std::size_t& visited) {
    if (error_) return false;
    if (++visited > kMaxYamlNodes) {
      Stop(n, fmt::format("more than {} YAML nodes (aliases counted at each use): refusing an "
                          "alias bomb or a file too large to be a configuration file",
                          kMaxYamlNodes));
      return false;
    }
    if (depth > kMaxYamlDepth) {
      Stop(n, fmt::format("nested deeper than {} levels", kMaxYamlDepth));
      return false;
    }
    return true;
  }
  void Stop(const YAML::Node& n, std::string why) {
    const YAML::Mark m = n.Mark();
    error_ = Error{ErrorCode::kMalformed,
                   fmt::format("line {} column {}: {}", line_offset_ + m.line + 1, m.column + 1, why)};
  }

  bool IsCompose(const YAML::Node& doc) {
    if (!doc.IsMap() || !Get(doc, "services").IsMap()) return false;
    if (compose_name_) return true;
    const YAML::Node services = Get(doc, "services");
    for (auto it = services.begin(); it != services.end(); ++it) {
      const YAML::Node svc = it->second;
      if (svc.IsMap() && (Get(svc, "image") || Get(svc, "build") || Get(svc, "ports"))) return true;
    }
    return false;
  }

  PortDecl& Add(const YAML::Node& at, int extra_column, std::string key_path, PortRange ports,
                ConfigFormat format) {
    const YAML::Mark m = at.Mark();
    PortDecl d;
    d.where = Location{std::string(file_), line_offset_ + m.line + 1, m.column + 1 + extra_column};
    d.offset = byte_offset_ + static_cast<std::size_t>(m.pos + extra_column);
    d.key_path = std::move(key_path);
    d.format = format;
    d.ports = ports;
    d.service = service_;
    d.image = image_;
    out_.push_back(std::move(d));
    return out_.back();
  }

  void Compose(const YAML::Node& doc) {
    const YAML::Node services = Get(doc, "services");
    for (auto it = services.begin(); it != services.end(); ++it) {
      if (!Visit(it->second, 1)) return;
      if (!it->first.IsScalar() || !it->second.IsMap()) continue;
      service_ = it->first.Scalar();
      const YAML::Node svc = it->second;
      image_ = Get(svc, "image").IsScalar() ? ImageName(Get(svc, "image").Scalar()) : std::string();
      const std::string path = "services." + service_;
      if (Get(svc, "platform").IsScalar() && Get(svc, "platform").Scalar().starts_with("windows")) {
        windows_ = true;
      }
      const YAML::Node ports = Get(svc, "ports");
      if (ports.IsSequence()) {
        for (std::size_t i = 0; i < ports.size(); ++i) {
          if (!Visit(ports[i], 3)) return;
          const std::string item = fmt::format("{}.ports[{}]", path, i);
          if (ports[i].IsScalar()) ComposeShort(ports[i], item);
          else if (ports[i].IsMap()) ComposeLong(ports[i], item);
        }
      }
      const YAML::Node expose = Get(svc, "expose");
      if (expose.IsSequence()) {
        for (std::size_t i = 0; i < expose.size(); ++i) {
          if (!Visit(expose[i], 3) ) return;
          if (!expose[i].IsScalar()) continue;
          std::string text = expose[i].Scalar();
          Protocol proto = Protocol::kTcp;
          if (const std::size_t slash = text.find('/'); slash != std::string::npos) {
            auto p = ParseProtocol(text.substr(slash + 1));
            if (!p) continue;
            proto = *p;
            text.resize(slash);
          }
          auto range = ParsePortOrRange(text);
          if (!range) continue;
          PortDecl& d = Add(expose[i], Plain(expose[i]) ? 0 : 1,
                            fmt::format("{}.expose[{}]", path, i), *range, ConfigFormat::kCompose);
          d.kind = DeclKind::kInternal;
          d.isolated = true;
          d.proto = proto;
        }
      }
    }
    service_.clear();
    image_.clear();
  }

  void ComposeShort(const YAML::Node& n, const std::string& path) {
    const std::string& text = n.Scalar();
    auto sp = ParseComposePort(text);
    if (!sp) return;
    const int quote = Plain(n) ? 0 : 1;
    if (sp->host) {
      PortDecl& d = Add(n, quote + static_cast<int>(sp->host_offset), path, *sp->host,
                        ConfigFormat::kCompose);
      d.kind = DeclKind::kPublish;
      d.proto = sp->proto;
      d.address = sp->address;
      d.sexagesimal = Plain(n) && IsSexagesimal(text);
      d.text = text;
      d.text_offset = byte_offset_ + static_cast<std::size_t>(n.Mark().pos + quote);
      if (sp->host->high == 0) d.dynamic = Dynamic::kZero;
    } else {
      PortDecl& d = Add(n, quote, path, sp->container, ConfigFormat::kCompose);
      d.kind = DeclKind::kPublish;
      d.dynamic = Dynamic::kUnpublished;
      d.proto = sp->proto;
      d.address = sp->address;
    }
    PortDecl& t = Add(n, quote, path, sp->container, ConfigFormat::kCompose);
    t.kind = DeclKind::kTarget;
    t.isolated = true;
    t.proto = sp->proto;
  }

  void ComposeLong(const YAML::Node& n, const std::string& path) {
    const YAML::Node target = Get(n, "target");
    if (!target.IsScalar()) return;
    auto container = ParsePortOrRange(target.Scalar());
    if (!container) return;
    Protocol proto = Protocol::kTcp;
    if (Get(n, "protocol").IsScalar()) {
      auto p = ParseProtocol(Get(n, "protocol").Scalar());
      if (p) proto = *p;
    }
    std::string address = Get(n, "host_ip").IsScalar() ? Get(n, "host_ip").Scalar() : std::string();
    if (address == "0.0.0.0" || address == "::") address.clear();
    const YAML::Node published = Get(n, "published");
    if (published.IsScalar() && !published.Scalar().empty()) {
      auto host = ParsePortOrRange(published.Scalar());
      if (host) {
        PortDecl& d = Add(published, Plain(published) ? 0 : 1, path + ".published", *host,
                          ConfigFormat::kCompose);
        d.kind = DeclKind::kPublish;
        d.proto = proto;
        d.address = address;
        if (host->high == 0) d.dynamic = Dynamic::kZero;
      }
    } else {
      PortDecl& d = Add(target, 0, path + ".target", *container, ConfigFormat::kCompose);
      d.kind = DeclKind::kPublish;
      d.dynamic = Dynamic::kUnpublished;
      d.proto = proto;
      d.address = address;
    }
    PortDecl& t = Add(target, 0, path + ".target", *container, ConfigFormat::kCompose);
    t.kind = DeclKind::kTarget;
    t.isolated = true;
    t.proto = proto;
  }

  // kube-apiserver's --service-node-port-range, as a flag in a command or args list
  // ("--service-node-port-range=30000-40000"), a key (kubeadm's extraArgs, k3s's config.yaml)
  // or kubeadm v1beta4's {name: service-node-port-range, value: ...}. `map` holds `key`: `v`
  // (key "" for an item of a list).
  void NodePortRange(const YAML::Node& map, std::string_view key, const YAML::Node& v,
                     const std::string& path, ConfigFormat format) {
    static constexpr std::string_view kFlag = "service-node-port-range";
    if (!v.IsScalar()) return;
    std::string_view text = v.Scalar();
    int skip = 0;
    const YAML::Node name = Get(map, "name");
    if (key.empty() && text.starts_with("--") && text.substr(2).starts_with(kFlag) &&
        text.size() > kFlag.size() + 2 && text[kFlag.size() + 2] == '=') {
      skip = static_cast<int>(kFlag.size()) + 3;
      text.remove_prefix(static_cast<std::size_t>(skip));
    } else if (key != kFlag && !(key == "value" && name.IsScalar() && name.Scalar() == kFlag)) {
      return;
    }
    auto range = ParsePortOrRange(text);
    if (!range || range->low == 0) return;
    PortDecl& d = Add(v, (Plain(v) ? 0 : 1) + skip, path, *range, format);
    d.kind = DeclKind::kNodePortRange;
  }

  void Kubernetes(const YAML::Node& n, const std::string& path, int depth) {
    if (!Visit(n, depth)) return;
    if (n.IsSequence()) {
      for (std::size_t i = 0; i < n.size(); ++i) {
        NodePortRange(n, "", n[i], fmt::format("{}[{}]", path, i), ConfigFormat::kKubernetes);
        Kubernetes(n[i], fmt::format("{}[{}]", path, i), depth + 1);
        if (error_) return;
      }
      return;
    }
    if (!n.IsMap()) return;
    Protocol proto = Protocol::kTcp;
    if (Get(n, "protocol").IsScalar()) {
      if (auto p = ParseProtocol(Get(n, "protocol").Scalar())) proto = *p;
    }
    const bool in_ports_list = path.ends_with("]") && path.rfind(".ports[") != std::string::npos;
    // A container's image names what serves its ports, for the walk below it.
    const std::string outer_image = image_;
    if (Get(n, "image").IsScalar()) image_ = ImageName(Get(n, "image").Scalar());
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      const std::string& key = it->first.Scalar();
      const std::string child = path.empty() ? key : path + "." + key;
      const YAML::Node v = it->second;
      if (key == "kubernetes.io/os" && v.IsScalar() && v.Scalar() == "windows") windows_ = true;
      NodePortRange(n, key, v, child, ConfigFormat::kKubernetes);
      if (v.IsScalar()) {
        std::optional<DeclKind> kind;
        bool isolated = false;
        if (key == "containerPort") {
          kind = DeclKind::kListen;
          isolated = true;
        } else if (key == "hostPort" || key == "nodePort") {
          kind = DeclKind::kPublish;
        } else if (key == "targetPort" && in_ports_list) {
          kind = DeclKind::kTarget;
          isolated = true;
        } else if (key == "port" && in_ports_list && kind_ == "Service") {
          kind = DeclKind::kInternal;
          isolated = true;
        }
        if (!kind) continue;
        auto port = ParsePortNumber(v.Scalar());
        if (!port) continue;  // a named targetPort, a template
        PortDecl& d = Add(v, Plain(v) ? 0 : 1, child, PortRange{*port, *port},
                          ConfigFormat::kKubernetes);
        d.kind = *kind;
        d.isolated = isolated;
        d.proto = proto;
        if (key == "hostPort" && Get(n, "hostIP").IsScalar()) d.address = Get(n, "hostIP").Scalar();
        if (*port == 0 && *kind != DeclKind::kTarget) d.dynamic = Dynamic::kZero;
        continue;
      }
      Kubernetes(v, child, depth + 1);
      if (error_) return;
    }
    image_ = outer_image;
  }

  // Envoy's bootstrap: each socket_address {address, port_value, protocol}; the listeners'
  // and the admin interface's are *listen* (service: the listener's name, or envoy-admin),
  // the clusters' endpoints *target*. `listen` says which side of the tree `n` is in.
  void Envoy(const YAML::Node& n, const std::string& path, int depth, bool listen) {
    if (!Visit(n, depth)) return;
    if (n.IsSequence()) {
      for (std::size_t i = 0; i < n.size(); ++i) {
        const std::string item = fmt::format("{}[{}]", path, i);
        if (path == "static_resources.listeners") {
          service_ = Get(n[i], "name").IsScalar() ? Get(n[i], "name").Scalar() : std::string();
        }
        Envoy(n[i], item, depth + 1, listen);
        if (error_) return;
      }
      if (path == "static_resources.listeners") service_.clear();
      return;
    }
    if (!n.IsMap()) return;
    const YAML::Node port = Get(n, "port_value");
    if (path.ends_with("socket_address") && port.IsScalar()) {
      auto value = ParsePortNumber(port.Scalar());
      if (!value) return;
      PortDecl& d = Add(port, Plain(port) ? 0 : 1, path + ".port_value", PortRange{*value, *value},
                        ConfigFormat::kEnvoy);
      d.kind = listen ? DeclKind::kListen : DeclKind::kTarget;
      if (*value == 0 && listen) d.dynamic = Dynamic::kZero;
      const YAML::Node address = Get(n, "address");
      if (address.IsScalar() && address.Scalar() != "0.0.0.0" && address.Scalar() != "::") {
        d.address = address.Scalar();
      }
      const YAML::Node protocol = Get(n, "protocol");
      if (protocol.IsScalar() && protocol.Scalar() == "UDP") {
        d.proto = Protocol::kUdp;
        // Listener names are unique, so berth export --format envoy names the UDP side of a
        // service on both protocols NAME_udp ('_' is in no registry name): NAME's port.
        if (listen && d.service.size() > 4 && d.service.ends_with("_udp")) {
          d.service.resize(d.service.size() - 4);
        }
      }
      if (path.starts_with("admin.")) d.service = "envoy-admin";
      return;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      const std::string& key = it->first.Scalar();
      const std::string child = path.empty() ? key : path + "." + key;
      Envoy(it->second, child, depth + 1,
            child == "admin" || child == "static_resources.listeners" ? true
            : child == "static_resources.clusters"                    ? false
                                                                      : listen);
      if (error_) return;
    }
  }

  // The ports of URLs in every scalar of a document (`DATABASE_URL: postgres://db:5432/app`;
  // in a list, `- DATABASE_URL=postgres://...` is keyed by its name, and a Kubernetes env
  // entry's value by its `name`), with their own budget of
  // visits. A port is placed only where the scalar is written on one line as it reads (plain,
  // or quoted with no escape before the port): a folded, block or escaped scalar is skipped
  // rather than placed wrongly. In a Compose service or a Kubernetes manifest the program
  // runs in its own network namespace: a listen URL there is isolated from the host.
  void Urls(const YAML::Node& n, ConfigFormat format, const std::string& path,
            std::string_view key, int depth) {
    if (!Visit(n, depth, url_visited_)) return;
    if (n.IsSequence()) {
      for (std::size_t i = 0; i < n.size() && !error_; ++i) {
        Urls(n[i], format, fmt::format("{}[{}]", path, i), key, depth + 1);
      }
    } else if (n.IsMap()) {
      // {name: BIND_URL, value: http://...} (a Kubernetes env entry): the name is the key.
      const YAML::Node name = Get(n, "name");
      for (auto it = n.begin(); it != n.end() && !error_; ++it) {
        if (!it->first.IsScalar()) continue;
        const std::string& k = it->first.Scalar();
        const std::string_view named = k == "value" && name.IsScalar() ? name.Scalar() : k;
        Urls(it->second, format, path.empty() ? k : path + "." + k, named, depth + 1);
      }
    } else if (n.IsScalar()) {
      UrlScalar(n, format, path, key);
    }
  }

  void UrlScalar(const YAML::Node& n, ConfigFormat format, const std::string& path,
                 std::string_view key) {
    const std::string_view v = n.Scalar();
    const std::size_t scheme = v.find("://");
    if (scheme == std::string_view::npos) return;
    if (path.ends_with(']')) {
      const std::size_t eq = v.find('=');
      if (eq < scheme) key = v.substr(0, eq);
    }
    const int quote = Plain(n) ? 0 : 1;
    if (n.Mark().pos < 0) return;
    const std::size_t start = byte_offset_ + static_cast<std::size_t>(n.Mark().pos + quote);
    if (start > text_.size()) return;
    const std::string_view raw = text_.substr(start);
    for (const UrlPort& u : FindUrlPorts(v)) {
      const std::size_t end = u.port_offset + u.port_size;
      const std::string_view read = v.substr(0, end);
      if (raw.substr(0, end) != read || read.find('\n') != std::string_view::npos) continue;
      PortDecl& d = Add(n, quote + static_cast<int>(u.port_offset), path, {}, format);
      SetUrlPort(d, u, key);
      if (format == ConfigFormat::kCompose) {
        // The Compose service the scalar is under ("services.NAME...."), if any.
        std::string_view rest = path;
        d.service.clear();
        d.image.clear();
        if (rest.starts_with("services.")) {
          rest.remove_prefix(std::string_view("services.").size());
          d.service = std::string(rest.substr(0, rest.find_first_of(".[")));
        }
      }
      d.isolated = format == ConfigFormat::kCompose || format == ConfigFormat::kKubernetes;
    }
  }

  void Generic(const YAML::Node& n, const std::string& path, int depth) {
    if (!Visit(n, depth)) return;
    if (n.IsSequence()) {
      for (std::size_t i = 0; i < n.size(); ++i) {
        NodePortRange(n, "", n[i], fmt::format("{}[{}]", path, i), ConfigFormat::kYaml);
        Generic(n[i], fmt::format("{}[{}]", path, i), depth + 1);
        if (error_) return;
      }
      return;
    }
    if (!n.IsMap()) return;
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      const std::string& key = it->first.Scalar();
      const std::string child = path.empty() ? key : path + "." + key;
      const YAML::Node v = it->second;
      if (child == "spring.application.name" && v.IsScalar()) service_ = v.Scalar();
      NodePortRange(n, key, v, child, ConfigFormat::kYaml);
      if (!v.IsScalar()) {
        Generic(v, child, depth + 1);
        if (error_) return;
        continue;
      }
      if (!IsPortKey(key)) continue;
      Dynamic dynamic = Dynamic::kNo;
      PortRange ports{};
      if (auto port = ParsePortNumber(v.Scalar())) {
        ports = PortRange{*port, *port};
        if (*port == 0) dynamic = Dynamic::kZero;
      } else if (v.Scalar().find("${random.int") != std::string::npos) {
        dynamic = Dynamic::kRandom;
      } else {
        continue;
      }
      PortDecl& d = Add(v, Plain(v) ? 0 : 1, child, ports, ConfigFormat::kYaml);
      d.dynamic = dynamic;
      d.kind = IsListenKey(child) ? DeclKind::kListen : DeclKind::kTarget;
    }
  }

  std::string_view file_;
  std::string_view text_;  // the whole file
  bool compose_name_;
  std::vector<PortDecl> out_;
  std::optional<Error> error_;
  std::size_t visited_ = 0;
  std::size_t url_visited_ = 0;
  bool windows_ = false;
  std::string service_;
  std::string image_;
  std::string kind_;
  int line_offset_ = 0;
  std::size_t byte_offset_ = 0;
};

struct Document {
  std::string_view text;
  int first_line = 0;  // 0-based line of the file where it starts
};

bool Marker(std::string_view line, std::string_view m) {
  return line.starts_with(m) &&
         (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r' || line[3] == '\n');
}

// The documents of a stream, split at the markers "---" and "..." (which end any content,
// block scalars included, when they start a line). yaml-cpp 0.7's LoadAll can loop forever
// on invalid input (jbeder/yaml-cpp#1040, fixed by #1319 in 0.8.1); loading one document at a
// time with Load does not, and keeps the number of documents bounded.
Result<std::vector<Document>> SplitDocuments(std::string_view text) {
  std::vector<Document> docs;
  std::size_t start = 0;
  int start_line = 0;
  int line_no = 0;
  auto close = [&](std::size_t end) {
    if (end > start) docs.push_back(Document{text.substr(start, end - start), start_line});
  };
  for (std::size_t pos = 0; pos < text.size(); ++line_no) {
    std::size_t nl = text.find('\n', pos);
    const std::size_t next = nl == std::string_view::npos ? text.size() : nl + 1;
    const std::string_view line = text.substr(pos, next - pos);
    if (Marker(line, "---")) {
      close(pos);
      start = pos;
      start_line = line_no;
    } else if (Marker(line, "...")) {
      close(next);
      start = next;
      start_line = line_no + 1;
    }
    if (docs.size() > kMaxYamlDocuments) {
      return Fail(ErrorCode::kMalformed,
                  fmt::format("more than {} YAML documents", kMaxYamlDocuments));
    }
    pos = next;
  }
  close(text.size());
  return docs;
}

}  // namespace

Result<std::vector<PortDecl>> ParseYamlPorts(std::string_view file, std::string_view text,
                                            bool compose_name) {
  if (text.find('\0') != std::string_view::npos) {
    return Fail(ErrorCode::kMalformed, "a NUL byte: binary content, not YAML");
  }
  const std::vector<Document> docs = BERTH_TRY(SplitDocuments(text));
  YamlReader reader(file, text, compose_name);
  for (const Document& d : docs) {
    // yaml-cpp reports errors by exception; they end here, at the library's boundary.
    try {
      const YAML::Node doc = YAML::Load(std::string(d.text));
      BERTH_TRY(reader.Read(doc, d.first_line, static_cast<std::size_t>(d.text.data() - text.data())));
    } catch (const YAML::Exception& e) {
      return Fail(ErrorCode::kMalformed,
                  fmt::format("invalid YAML at line {} column {}: {}",
                              d.first_line + e.mark.line + 1, e.mark.column + 1, e.msg));
    }
  }
  return reader.Take();
}

}  // namespace berth::lint
