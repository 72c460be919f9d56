// A one-member etcd with TLS and authentication on, for the etcds:// tests: the certificates
// are made here with the openssl command (a CA, a server certificate for 127.0.0.1 with an IP
// SAN, a client certificate without a CN, expired ones, another CA), etcd runs with
// --client-cert-auth and a user "berth" whose role covers /berth, and Admin() talks to it as
// root with cpp-httplib (independent of berth's client). Ports 22411-22414 (below the
// ephemeral range, apart from EtcdCluster's 22379-22390). Each etcd is stopped by its PID in
// the destructor; the temp dir is removed.
#pragma once

#include <httplib.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "probe/probe_peer.h"  // WaitFor
#include "registry/etcd_codec.h"
#include "registry/registry_test_util.h"
#include "support/test_support.h"

namespace berth::test {

class TlsEtcd {
 public:
  static constexpr int kPort = 22411;         // TLS + auth; peer 22412
  static constexpr int kExpiredPort = 22413;  // an expired server certificate, no auth; peer 22414
  static constexpr const char* kUser = "berth";
  static constexpr const char* kPassword = "p4ss:w0rd-not-in-argv";
  static constexpr const char* kRootPassword = "root-pw";

  static std::string Endpoint(int port = kPort) { return fmt::format("127.0.0.1:{}", port); }
  static std::string Url(const std::string& prefix, int port = kPort) {
    return fmt::format("etcds://{}{}", Endpoint(port), prefix);
  }

  // Makes the certificates, starts both servers and sets up the users. nullptr when openssl
  // or etcd is missing or a step failed (the reason in `why`).
  static std::unique_ptr<TlsEtcd> Start(std::string& why) {
    for (const char* tool : {"openssl", "etcd"}) {
      if (Run({"sh", "-c", fmt::format("command -v {}", tool)}).exit_code != 0) {
        why = fmt::format("{} is not installed (scripts/install-deps test installs it)", tool);
        return nullptr;
      }
    }
    if (!PrivateLoopback(why)) return nullptr;  // as EtcdCluster: its own loopback
    auto e = std::make_unique<TlsEtcd>();
    if (!e->MakeCertificates(why)) return nullptr;
    e->server_.emplace(e->StartServer("tls", kPort, "server.crt", true));
    e->expired_.emplace(e->StartServer("expired", kExpiredPort, "server-expired.crt", false));
    if (!probe::test::WaitFor([&] { return e->Ready(); }, 20)) {
      why = "etcd with TLS did not answer within 20 s: " + e->dir_.File("tls.log");
      return nullptr;
    }
    if (!e->SetUpAuth(why)) return nullptr;
    return e;
  }

  TlsEtcd() = default;
  TlsEtcd(const TlsEtcd&) = delete;
  TlsEtcd& operator=(const TlsEtcd&) = delete;
  ~TlsEtcd() {
    if (server_) server_->Kill();
    if (expired_) expired_->Kill();
  }

  std::string File(const std::string& name) const { return dir_.File(name); }

  // A credentials file holding `text`, with `mode`.
  std::string CredentialsFile(const std::string& name, const std::string& text, mode_t mode) const {
    const std::string path = dir_.File(name);
    WriteFile(path, text);
    ::chmod(path.c_str(), mode);
    return path;
  }

  // POSTs to the TLS server as root (a fresh token each time; nullopt when auth is off yet
  // and `as_root` false). The answer's status and body, or status -1.
  std::pair<int, std::string> Admin(const std::string& path, const nlohmann::json& body,
                                    bool as_root = true) const {
    httplib::Client c = GoodClient(kPort);
    httplib::Headers headers;
    if (as_root) {
      auto t = c.Post("/v3/auth/authenticate",
                      nlohmann::json{{"name", "root"}, {"password", kRootPassword}}.dump(),
                      "application/json");
      if (!t || t->status != 200) return {-1, t ? t->body : std::string("no answer")};
      headers.emplace("Authorization", nlohmann::json::parse(t->body)["token"].get<std::string>());
    }
    auto r = c.Post(path.c_str(), headers, body.dump(), "application/json");
    if (!r) return {-1, httplib::to_string(r.error())};
    return {r->status, r->body};
  }

  // The number of keys under `prefix`, read as root: what a failed command must not change.
  std::int64_t CountKeys(const std::string& prefix) const {
    auto [status, body] = Admin("/v3/kv/range",
                                {{"key", registry::etcd::Base64Encode(prefix)},
                                 {"range_end", registry::etcd::Base64Encode(registry::etcd::PrefixEnd(prefix))},
                                 {"count_only", true}});
    if (status != 200) return -1;
    const auto doc = nlohmann::json::parse(body);
    return doc.contains("count") ? std::stoll(doc["count"].get<std::string>()) : 0;
  }

  // A verifying TLS client of the server on `port`, with the good client certificate.
  httplib::Client GoodClient(int port) const {
    httplib::Client c(fmt::format("https://{}", Endpoint(port)), File("client.crt"), File("client.key"));
    c.set_ca_cert_path(File("ca.crt"));
    c.enable_server_certificate_verification(port == kPort);  // the expired one: unverified
    c.set_connection_timeout(5, 0);
    c.set_read_timeout(5, 0);
    c.set_write_timeout(5, 0);
    return c;
  }

 private:
  static void WriteFile(const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "we");
    if (f == nullptr) return;
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }

  bool Openssl(std::vector<std::string> args, std::string& why) const {
    std::vector<std::string> argv{"openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    // Run in the temp dir: openssl ca's database and serial files live there.
    std::string line = fmt::format("cd '{}' &&", dir_.path());
    for (const auto& a : argv) line += " '" + a + "'";
    auto r = Run({"sh", "-c", line});
    if (r.exit_code != 0) why = fmt::format("{} failed: {}", line, r.err);
    return r.exit_code == 0;
  }

  // An EC key and a certificate request for `subject`.
  bool Request(const std::string& name, const std::string& subject, std::string& why) const {
    return Openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", name + ".key", "-out", name + ".csr", "-subj", subject},
                   why);
  }

  // `name`.crt from `csr`.csr, signed by the CA; valid `from` to `to` (YYYYMMDDHHMMSSZ) or
  // for two days from now.
  bool Sign(const std::string& name, const std::string& csr, bool server, const std::string& from,
            const std::string& to, std::string& why) const {
    std::vector<std::string> args{"ca", "-batch", "-notext", "-config", "ca.cnf", "-in", csr + ".csr",
                                  "-out", name + ".crt", "-extensions", server ? "server" : "client"};
    if (from.empty()) {
      args.insert(args.end(), {"-days", "2"});
    } else {
      args.insert(args.end(), {"-startdate", from, "-enddate", to});
    }
    return Openssl(args, why);
  }

  bool MakeCertificates(std::string& why) const {
    WriteFile(File("ca.cnf"),
              "[ca]\ndefault_ca = test_ca\n"
              "[test_ca]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n"
              "certificate = ca.crt\nprivate_key = ca.key\ndefault_md = sha256\npolicy = any\n"
              "unique_subject = no\n"
              "[any]\ncommonName = optional\norganizationName = optional\n"
              "[server]\nsubjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth, clientAuth\n"
              "[client]\nextendedKeyUsage = clientAuth\n");
    WriteFile(File("index.txt"), "");
    WriteFile(File("serial"), "01\n");
    auto self_signed = [&](const std::string& name, const std::string& cn) {
      return Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", name + ".key", "-out", name + ".crt", "-days", "2",
                      "-subj", "/CN=" + cn},
                     why);
    };
    const std::string past_from = "20200101000000Z", past_to = "20200102000000Z";
    // The server certificate is a client one too: etcd's gateway presents it to etcd's own
    // gRPC port, which checks it under --client-cert-auth. The client certificate has no CN: etcd 3.4's gateway refuses one with a CN while
    // authentication is on (docs/etcd-store.md); client-cn shows that refusal.
    return self_signed("ca", "berth test CA") && self_signed("other-ca", "another CA") &&
           Request("server", "/CN=127.0.0.1", why) && Sign("server", "server", true, "", "", why) &&
           Sign("server-expired", "server", true, past_from, past_to, why) &&
           Request("client", "/O=berth", why) && Sign("client", "client", false, "", "", why) &&
           Sign("client-expired", "client", false, past_from, past_to, why) &&
           Request("client-cn", "/CN=berth", why) && Sign("client-cn", "client-cn", false, "", "", why);
  }

  // `client_cert_auth` off (and no --trusted-ca-file) for the expired server: its gateway
  // connects to its own gRPC port with the server certificate as client certificate, which
  // etcd would refuse as expired.
  Child StartServer(const std::string& name, int port, const std::string& cert,
                    bool client_cert_auth) const {
    const std::string client = fmt::format("https://{}", Endpoint(port));
    const std::string peer = fmt::format("http://127.0.0.1:{}", port + 1);
    std::vector<std::string> argv{
        "etcd", "--name", name, "--data-dir", File(name), "--listen-client-urls", client,
        "--advertise-client-urls", client, "--listen-peer-urls", peer,
        "--initial-advertise-peer-urls", peer, "--initial-cluster", fmt::format("{}={}", name, peer),
        "--initial-cluster-state", "new", "--cert-file", File(cert), "--key-file", File("server.key"),
        "--log-level", "error", "--logger", "zap", "--unsafe-no-fsync",  // as etcd_cluster.h
        "--log-outputs", File(name + ".log")};
    if (client_cert_auth) {
      argv.insert(argv.end(), {"--client-cert-auth", "--trusted-ca-file", File("ca.crt")});
    }
    return Child::Exec(argv);
  }

  bool Ready() const {
    for (int port : {kPort, kExpiredPort}) {
      auto r = GoodClient(port).Post("/v3/maintenance/status", "{}", "application/json");
      if (!r || r->status != 200 || r->body.find("\"leader\"") == std::string::npos) return false;
    }
    return true;
  }

  // root and berth (readwrite on /berth...), then authentication on.
  bool SetUpAuth(std::string& why) const {
    namespace etcd = registry::etcd;
    const std::vector<std::pair<std::string, nlohmann::json>> steps{
        {"/v3/auth/user/add", {{"name", "root"}, {"password", kRootPassword}}},
        {"/v3/auth/user/grant", {{"user", "root"}, {"role", "root"}}},
        {"/v3/auth/user/add", {{"name", kUser}, {"password", kPassword}}},
        {"/v3/auth/role/add", {{"name", "berth-rw"}}},
        {"/v3/auth/role/grant",
         {{"name", "berth-rw"},
          {"perm", {{"permType", "READWRITE"}, {"key", etcd::Base64Encode("/berth")},
                    {"range_end", etcd::Base64Encode(etcd::PrefixEnd("/berth"))}}}}},
        {"/v3/auth/user/grant", {{"user", kUser}, {"role", "berth-rw"}}},
        {"/v3/auth/enable", nlohmann::json::object()}};
    for (const auto& [path, body] : steps) {
      auto [status, answer] = Admin(path, body, /*as_root=*/false);
      if (status != 200) {
        why = fmt::format("{} answered {}: {}", path, status, answer);
        return false;
      }
    }
    return true;
  }

  TempDir dir_;
  std::optional<Child> server_, expired_;
};

}  // namespace berth::test
