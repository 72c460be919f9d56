// berth serve: the fleet's registry over HTTP: API, Prometheus metrics and the page
// (src/server, docs/serve.md, docs/api.md).
#include <fmt/core.h>

#include <memory>

#include "cli/commands.h"
#include "cli/output.h"
#include "cli/registry_common.h"
#include "emit/json_writer.h"
#include "server/serve.h"

namespace berth::cli {
namespace {

struct ServeFlags {
  std::string listen = fmt::format("127.0.0.1:{}", server::kDefaultPort);
  bool allow_remote = false;
  std::vector<std::string> allow_hosts;
  std::string token_file;
  double request_timeout = 10;
  std::size_t threads = 8;
  bool json = false;
  StoreFlags store;
};

// With --json, each event of the server's life as one JSON line on stdout (schema
// berth.serve/1, docs/serve.md): for a supervisor or a test that waits for the address.
void PrintEvent(std::string_view event, std::string_view url) {
  JsonWriter j;
  j.BeginObject();
  j.Field("schema", std::string_view("berth.serve/1"));
  j.Field("event", event);
  if (!url.empty()) j.Field("url", url);
  j.EndObject();
  fmt::print("{}\n", j.Take());
  std::fflush(stdout);
}

int RunServe(const ServeFlags& f) {
  auto listen = server::ParseListen(f.listen, f.allow_remote);
  if (!listen) {
    if (listen.error().code == ErrorCode::kPermissionDenied) {
      return PrintError(listen.error().message + " (--allow-remote)");
    }
    return PrintError(listen.error());
  }
  auto where = ResolveStore(f.store);
  if (!where) return PrintError(where.error());
  server::ServeConfig config;
  config.listen = *listen;
  config.allow_hosts = f.allow_hosts;
  config.token_file = f.token_file;
  config.limits.threads = f.threads;
  config.limits.request_timeout =
      std::chrono::milliseconds(static_cast<std::int64_t>(f.request_timeout * 1000));
  const auto wait = std::chrono::milliseconds(static_cast<std::int64_t>(f.store.wait * 1000));
  server::StoreOpener open = [where = *where, wait](bool stale) {
    registry::StoreLocation at = where;
    at.stale = stale;
    return registry::OpenStore(at, registry::OpenMode::kWrite, wait);
  };
  auto served = server::Serve(config, std::move(open), [&f](std::string_view url) {
    fmt::print(stderr, "berth serve: listening on {}\n", url);
    std::fflush(stderr);
    if (f.json) PrintEvent("listening", url);
  });
  if (!served) return PrintError(served.error());
  fmt::print(stderr, "berth serve: stopped\n");
  if (f.json) PrintEvent("stopped", "");
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Serve the registry and the fleet over HTTP: a JSON API (docs/api.md), Prometheus "
      "metrics (/metrics) and a page with the fleet's port map (/). Reads need no token; "
      "assign and release need the bearer token from --token-file. Runs until SIGTERM.");
  cmd->add_option("--listen", f->listen,
                  "IP:PORT to listen on (default 127.0.0.1:7480; port 0 picks a free one); "
                  "a loopback address unless --allow-remote")
      ->type_name("ADDR");
  cmd->add_flag("--json", f->json,
                "also print the server's events (listening with its URL, stopped) as JSON lines "
                "on stdout (schema berth.serve/1, docs/serve.md)");
  cmd->add_flag("--allow-remote", f->allow_remote,
                "allow a --listen address that is not loopback (plain HTTP, unauthenticated "
                "reads: prefer a TLS proxy on this host)");
  cmd->add_option("--allow-host", f->allow_hosts,
                  "also accept this Host header value (NAME:PORT), e.g. a proxy's name")
      ->type_name("NAME");
  cmd->add_option("--token-file", f->token_file,
                  "the bearer token that allows writes, on the file's first line; the file "
                  "must not be readable by others (chmod 600)")
      ->type_name("FILE");
  cmd->add_option("--request-timeout", f->request_timeout,
                  "seconds a client has to send one whole request (default 10)")
      ->check(CLI::Range(0.1, 300.0));
  cmd->add_option("--threads", f->threads, "worker threads (default 8)")
      ->check(CLI::Range(2, 64));
  AddStoreOptions(cmd, f->store);
  cmd->footer("Exit status: 0 stopped by SIGTERM or SIGINT, 2 error.\n"
              "Examples:\n"
              "  berth serve --store etcd://10.0.0.5:2379/berth\n"
              "  berth serve --db /var/lib/berth/registry.db --token-file /etc/berth/token");
  cmd->callback([f, &exit_code] { exit_code = RunServe(*f); });
}

}  // namespace berth::cli
