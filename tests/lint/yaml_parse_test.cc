// The YAML reader: Compose short and long syntax, Kubernetes documents, plain YAML, each
// declaration's position; and hostile YAML (alias bombs, deep nesting, invalid text).
#include "lint/yaml_parse.h"

#include <gtest/gtest.h>

#include <string>

#include <fmt/core.h>

#include "lint/compose_port.h"

namespace berth::lint {
namespace {

const PortDecl* Find(const std::vector<PortDecl>& decls, std::string_view key, DeclKind kind) {
  for (const PortDecl& d : decls) {
    if (d.key_path == key && d.kind == kind) return &d;
  }
  return nullptr;
}

TEST(YamlParse, KubernetesNodePortRangeInEachPlaceItIsSet) {
  const std::string text =
      "apiVersion: v1\n"
      "kind: Pod\n"
      "metadata:\n"
      "  name: kube-apiserver\n"
      "spec:\n"
      "  containers:\n"
      "  - command:\n"
      "    - kube-apiserver\n"
      "    - --service-node-port-range=30000-40000\n"
      "    - \"--service-node-port-range-x=1-2\"\n"
      "    image: registry.k8s.io/kube-apiserver:v1.29.0\n"
      "---\n"
      "apiVersion: kubeadm.k8s.io/v1beta3\n"
      "kind: ClusterConfiguration\n"
      "apiServer:\n"
      "  extraArgs:\n"
      "    service-node-port-range: \"30000-32767\"\n"
      "---\n"
      "apiVersion: kubeadm.k8s.io/v1beta4\n"
      "kind: ClusterConfiguration\n"
      "apiServer:\n"
      "  extraArgs:\n"
      "  - name: service-node-port-range\n"
      "    value: 31000-45000\n";
  auto r = ParseYamlPorts("kube.yaml", text, false);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  const PortDecl& pod = (*r)[0];
  EXPECT_EQ(pod.kind, DeclKind::kNodePortRange);
  EXPECT_EQ(pod.key_path, "spec.containers[0].command[1]");
  EXPECT_EQ(pod.ports, (PortRange{30000, 40000}));
  EXPECT_EQ(pod.where.line, 9);
  EXPECT_EQ(pod.where.column, 33);  // the range after the flag's '='
  EXPECT_EQ(pod.service, "kube-apiserver");
  EXPECT_EQ(pod.image, "kube-apiserver");
  EXPECT_EQ(text.substr(pod.offset, 11), "30000-40000");
  const PortDecl& v3 = (*r)[1];
  EXPECT_EQ(v3.key_path, "apiServer.extraArgs.service-node-port-range");
  EXPECT_EQ(v3.ports, (PortRange{30000, 32767}));
  EXPECT_EQ(v3.where.line, 17);
  EXPECT_EQ(v3.where.column, 31);  // after the quote
  const PortDecl& v4 = (*r)[2];
  EXPECT_EQ(v4.key_path, "apiServer.extraArgs[0].value");
  EXPECT_EQ(v4.ports, (PortRange{31000, 45000}));
  EXPECT_EQ(v4.where.line, 24);
  // k3s's config.yaml is plain YAML.
  auto k3s = ParseYamlPorts("config.yaml", "write-kubeconfig-mode: \"0644\"\nservice-node-port-range: 30000-40000\n", false);
  ASSERT_TRUE(k3s.has_value()) << k3s.error().message;
  ASSERT_EQ(k3s->size(), 1u);
  EXPECT_EQ((*k3s)[0].kind, DeclKind::kNodePortRange);
  EXPECT_EQ((*k3s)[0].format, ConfigFormat::kYaml);
}

TEST(YamlParse, EnvoyListenersListenAndClustersAreTargets) {
  const std::string text =
      "admin:\n"
      "  address:\n"
      "    socket_address: { address: 127.0.0.1, port_value: 9901 }\n"
      "static_resources:\n"
      "  listeners:\n"
      "  - name: ingress\n"
      "    address:\n"
      "      socket_address: { address: 0.0.0.0, port_value: 10000 }\n"
      "  - name: dns\n"
      "    address:\n"
      "      socket_address: {address: \"::\", port_value: \"5353\", protocol: UDP}\n"
      "  clusters:\n"
      "  - name: backend\n"
      "    load_assignment:\n"
      "      endpoints:\n"
      "      - lb_endpoints:\n"
      "        - endpoint:\n"
      "            address:\n"
      "              socket_address: { address: shop.internal, port_value: 8080 }\n";
  auto r = ParseYamlPorts("envoy.yaml", text, false);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 4u);
  const auto& d = *r;
  EXPECT_EQ(d[0].format, ConfigFormat::kEnvoy);
  EXPECT_EQ(d[0].key_path, "admin.address.socket_address.port_value");
  EXPECT_EQ(d[0].kind, DeclKind::kListen);
  EXPECT_EQ(d[0].address, "127.0.0.1");
  EXPECT_EQ(d[0].service, "envoy-admin");
  EXPECT_EQ(d[0].where.line, 3);
  EXPECT_EQ(d[0].where.column, 55);
  EXPECT_EQ(d[1].key_path, "static_resources.listeners[0].address.socket_address.port_value");
  EXPECT_EQ(d[1].service, "ingress");
  EXPECT_EQ(d[1].address, "");
  EXPECT_EQ(d[1].ports, (PortRange{10000, 10000}));
  EXPECT_EQ(d[2].service, "dns");
  EXPECT_EQ(d[2].proto, Protocol::kUdp);
  EXPECT_EQ(d[2].where.column, 52);  // after the quote
  EXPECT_EQ(d[3].kind, DeclKind::kTarget);
  EXPECT_EQ(d[3].address, "shop.internal");
  EXPECT_EQ(d[3].service, "");
  EXPECT_EQ(text.substr(d[3].offset, 4), "8080");
}

// berth export --format envoy: a service on both protocols has two listeners, the UDP one
// named NAME_udp (listener names are unique); both declare NAME's port. A TCP listener keeps
// its name as it is.
TEST(YamlParse, EnvoyUdpSideOfAServiceIsTheService) {
  const std::string text =
      "static_resources:\n"
      "  listeners:\n"
      "  - name: \"site\"\n"
      "    address: {socket_address: {address: \"0.0.0.0\", port_value: 8080}}\n"
      "  - name: \"site_udp\"\n"
      "    address: {socket_address: {protocol: UDP, address: \"0.0.0.0\", port_value: 8080}}\n"
      "  - name: \"tcp_udp\"\n"
      "    address: {socket_address: {address: \"0.0.0.0\", port_value: 8081}}\n";
  auto r = ParseYamlPorts("envoy.yaml", text, false);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].service, "site");
  EXPECT_EQ((*r)[1].service, "site");
  EXPECT_EQ((*r)[1].proto, Protocol::kUdp);
  EXPECT_EQ((*r)[2].service, "tcp_udp");
}

TEST(YamlParse, ComposeImagesNameWhatServesThePorts) {
  const std::string text =
      "services:\n"
      "  metrics:\n"
      "    image: docker.io/prom/prometheus:v2.51.0@sha256:0123\n"
      "    ports: [\"9090:9090\"]\n"
      "  web:\n"
      "    build: .\n"
      "    ports: [\"8080:80\"]\n";
  auto r = ParseYamlPorts("compose.yaml", text, true);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(Find(*r, "services.metrics.ports[0]", DeclKind::kPublish)->image, "prometheus");
  EXPECT_EQ(Find(*r, "services.web.ports[0]", DeclKind::kPublish)->image, "");
}

TEST(YamlParse, ComposeShortSyntaxWithPositions) {
  const std::string text =
      "services:\n"
      "  web:\n"
      "    image: nginx\n"
      "    ports:\n"
      "      - \"8080:80\"\n"
      "      - 127.0.0.1:9443:443/udp\n"
      "      - \"[::1]:7000-7001:7000-7001\"\n"
      "      - 9000\n";
  auto r = ParseYamlPorts("c.yaml", text, true);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const PortDecl* a = Find(*r, "services.web.ports[0]", DeclKind::kPublish);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->ports, (PortRange{8080, 8080}));
  EXPECT_EQ(a->where.line, 5);
  EXPECT_EQ(a->where.column, 10);  // the 8 after the quote
  EXPECT_EQ(a->service, "web");
  EXPECT_EQ(a->format, ConfigFormat::kCompose);
  const PortDecl* t = Find(*r, "services.web.ports[0]", DeclKind::kTarget);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->ports, (PortRange{80, 80}));
  EXPECT_TRUE(t->isolated);

  const PortDecl* b = Find(*r, "services.web.ports[1]", DeclKind::kPublish);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->address, "127.0.0.1");
  EXPECT_EQ(b->proto, Protocol::kUdp);
  EXPECT_EQ(b->ports, (PortRange{9443, 9443}));
  EXPECT_EQ(b->where.line, 6);
  EXPECT_EQ(b->where.column, 19);  // "      - 127.0.0.1:" is 18 bytes

  const PortDecl* c = Find(*r, "services.web.ports[2]", DeclKind::kPublish);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->address, "::1");
  EXPECT_EQ(c->ports, (PortRange{7000, 7001}));

  const PortDecl* d = Find(*r, "services.web.ports[3]", DeclKind::kPublish);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->dynamic, Dynamic::kUnpublished);
  EXPECT_EQ(d->ports, (PortRange{9000, 9000}));
}

TEST(YamlParse, ComposeLongSyntaxExposeAndSexagesimal) {
  const std::string text =
      "services:\n"
      "  db:\n"
      "    image: postgres\n"
      "    ports:\n"
      "      - target: 5432\n"
      "        published: 15432\n"
      "        protocol: udp\n"
      "        host_ip: 10.0.0.1\n"
      "      - target: 6000\n"
      "      - 2222:22\n"
      "      - \"2223:22\"\n"
      "    expose:\n"
      "      - \"9001/udp\"\n";
  auto r = ParseYamlPorts("x.yml", text, false);  // recognised by its image key
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const PortDecl* p = Find(*r, "services.db.ports[0].published", DeclKind::kPublish);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->ports, (PortRange{15432, 15432}));
  EXPECT_EQ(p->proto, Protocol::kUdp);
  EXPECT_EQ(p->address, "10.0.0.1");
  EXPECT_EQ(p->where.line, 6);
  EXPECT_EQ(p->where.column, 20);
  const PortDecl* u = Find(*r, "services.db.ports[1].target", DeclKind::kPublish);
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->dynamic, Dynamic::kUnpublished);
  const PortDecl* s = Find(*r, "services.db.ports[2]", DeclKind::kPublish);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->sexagesimal);
  const PortDecl* q = Find(*r, "services.db.ports[3]", DeclKind::kPublish);
  ASSERT_NE(q, nullptr);
  EXPECT_FALSE(q->sexagesimal);  // quoted: a string in every YAML version
  const PortDecl* e = Find(*r, "services.db.expose[0]", DeclKind::kInternal);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->proto, Protocol::kUdp);
  EXPECT_TRUE(e->isolated);
}

TEST(YamlParse, KubernetesDocuments) {
  const std::string text =
      "apiVersion: v1\n"
      "kind: Pod\n"
      "metadata: {name: api}\n"
      "spec:\n"
      "  containers:\n"
      "    - name: api\n"
      "      ports:\n"
      "        - containerPort: 50051\n"
      "          hostPort: 50051\n"
      "          hostIP: 127.0.0.1\n"
      "      livenessProbe:\n"
      "        httpGet: {port: 8081}\n"
      "---\n"
      "apiVersion: v1\n"
      "kind: Service\n"
      "metadata:\n"
      "  name: api\n"
      "spec:\n"
      "  ports:\n"
      "    - port: 80\n"
      "      targetPort: http\n"
      "      nodePort: 30080\n"
      "      protocol: UDP\n";
  auto r = ParseYamlPorts("k.yaml", text, false);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 4u);  // the probe's port and the named targetPort are not declarations
  const PortDecl* c = Find(*r, "spec.containers[0].ports[0].containerPort", DeclKind::kListen);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->isolated);
  EXPECT_EQ(c->where.line, 8);
  EXPECT_EQ(c->where.column, 26);
  EXPECT_EQ(c->service, "api");
  EXPECT_EQ(c->format, ConfigFormat::kKubernetes);
  const PortDecl* h = Find(*r, "spec.containers[0].ports[0].hostPort", DeclKind::kPublish);
  ASSERT_NE(h, nullptr);
  EXPECT_FALSE(h->isolated);
  EXPECT_EQ(h->address, "127.0.0.1");
  const PortDecl* n = Find(*r, "spec.ports[0].nodePort", DeclKind::kPublish);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->proto, Protocol::kUdp);
  EXPECT_EQ(n->where.line, 22);
  const PortDecl* s = Find(*r, "spec.ports[0].port", DeclKind::kInternal);
  ASSERT_NE(s, nullptr);
}

TEST(YamlParse, PlainYamlSpring) {
  auto r = ParseYamlPorts("application.yml",
                          "spring:\n  application:\n    name: orders\nserver:\n  port: 0\n"
                          "management:\n  server:\n    port: ${random.int[40000,50000]}\n"
                          "db:\n  port: 5432\n",
                          false);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const PortDecl* s = Find(*r, "server.port", DeclKind::kListen);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->dynamic, Dynamic::kZero);
  EXPECT_EQ(s->service, "orders");
  EXPECT_EQ(s->where.line, 5);
  EXPECT_EQ(s->where.column, 9);
  const PortDecl* m = Find(*r, "management.server.port", DeclKind::kListen);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->dynamic, Dynamic::kRandom);
  EXPECT_NE(Find(*r, "db.port", DeclKind::kTarget), nullptr);
}

TEST(YamlParse, WindowsNodeSelectorMarksTheDocument) {
  auto r = ParseYamlPorts("w.yaml",
                          "apiVersion: v1\nkind: Pod\nspec:\n  nodeSelector:\n"
                          "    kubernetes.io/os: windows\n  containers:\n"
                          "    - ports:\n        - containerPort: 62000\n",
                          false);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_TRUE((*r)[0].windows);
}

TEST(YamlParse, AliasBombIsRefused) {
  std::string text = "a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c, ++prev) {
    text += fmt::format("{}: &{} [", c, c);
    for (int i = 0; i < 9; ++i) text += fmt::format("{}*{}", i ? "," : "", prev);
    text += "]\n";
  }
  auto r = ParseYamlPorts("bomb.yaml", text, false);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kMalformed);
  EXPECT_NE(r.error().message.find("alias bomb"), std::string::npos) << r.error().message;
}

TEST(YamlParse, DeepNestingIsRefused) {
  const std::string flow = std::string(5000, '[') + std::string(5000, ']');
  auto r = ParseYamlPorts("deep.yaml", "a: " + flow + "\n", false);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kMalformed);

  std::string block;  // deeper than the walk's limit but within yaml-cpp's
  for (int i = 0; i < 100; ++i) block += std::string(static_cast<std::size_t>(i), ' ') + "k:\n";
  block += std::string(100, ' ') + "port: 1\n";
  auto b = ParseYamlPorts("deep2.yaml", block, false);
  ASSERT_FALSE(b.has_value());
  EXPECT_NE(b.error().message.find("nested deeper"), std::string::npos) << b.error().message;
}

TEST(YamlParse, InvalidYamlNamesThePosition) {
  auto r = ParseYamlPorts("bad.yaml", "services:\n  web: [1, 2\n  db: x\n", true);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kMalformed);
  EXPECT_NE(r.error().message.find("line "), std::string::npos) << r.error().message;
  auto nul = ParseYamlPorts("nul.yaml", std::string("a: 1\0b: 2\n", 10), false);
  ASSERT_FALSE(nul.has_value());
}

}  // namespace
}  // namespace berth::lint

namespace berth::lint {
namespace {

TEST(ComposePort, ShortSyntax) {
  auto a = ParseComposePort("127.0.0.1:8443:443/udp");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->address, "127.0.0.1");
  EXPECT_EQ(a->host, (PortRange{8443, 8443}));
  EXPECT_EQ(a->host_offset, 10u);
  EXPECT_EQ(a->container, (PortRange{443, 443}));
  EXPECT_EQ(a->proto, Protocol::kUdp);
  auto b = ParseComposePort("127.0.0.1::80");
  ASSERT_TRUE(b.has_value());
  EXPECT_FALSE(b->host.has_value());  // Docker picks the host port
  for (std::string_view bad : {"${PORT}:80", "1:2:3:4", "80/sctp", "90-80", "[::1]:80", ""}) {
    EXPECT_FALSE(ParseComposePort(bad).has_value()) << bad;
  }
}

TEST(ComposePort, Sexagesimal) {
  EXPECT_TRUE(IsSexagesimal("22:22"));
  EXPECT_TRUE(IsSexagesimal("2222:22"));
  EXPECT_TRUE(IsSexagesimal("1:2:59"));
  EXPECT_FALSE(IsSexagesimal("8080:80"));
  EXPECT_FALSE(IsSexagesimal("1:60"));
  EXPECT_FALSE(IsSexagesimal("022:22"));
  EXPECT_FALSE(IsSexagesimal("22"));
  EXPECT_FALSE(IsSexagesimal("a:22"));
}

}  // namespace
}  // namespace berth::lint
