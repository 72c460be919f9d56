// Rendering the registry for the command line: `berth list`, `show`, `group list`,
// `family list`, the one-line results of `group add`, `family add`, `release`, `assign`
// (and its --explain lines), `adopt`, and `export --format json`. Text reproduces what the commands
// printed before rendering moved here; every free-text field in text goes through TerminalSafe.
// JSON is pretty with keys in alphabetical order: byte-identical to the nlohmann dump(2) the
// commands printed (schema berth.registry/2, docs/registry.md). Pure: output goes to the Sink
// in one call per render. Thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <span>
#include <string_view>

#include "base/sink.h"
#include "core/port_holder.h"
#include "registry/allocator.h"
#include "registry/model.h"
#include "registry/store.h"

namespace berth {

// /2: a group's allow, ephemeral, reserved and range, and a family's skip, are arrays of
// [low, high] ranges (were comma strings).
inline constexpr std::string_view kRegistrySchema = "berth.registry/2";

enum class RenderForm : std::uint8_t { kText, kJson };

// `berth list` (cli RunList). `rows`: the services to show, in order (already filtered);
// `revision`: the registry's revision. Text: a table NAME PORT PROTO GROUP FAMILY OWNER, or
// "no services registered (or none matches the filters)" when `rows` is empty. JSON:
// {"revision": N, "schema": "berth.registry/2", "services": [service...]}.
void RenderServiceList(std::span<const registry::ServiceRecord> rows, std::int64_t revision,
                       RenderForm form, const Sink& sink);

// `berth show NAME` (cli RunShow). `seen`: the service's observations, most recent first
// (the first one is "last seen"). JSON: the service object plus "last_seen" (the first
// observation or null) and "observations".
void RenderServiceShow(const registry::ServiceRecord& rec,
                       std::span<const registry::Observation> seen, RenderForm form,
                       const Sink& sink);

// `berth group list` and `berth family list` (cli RunGroupOrFamilyList): one line per entry
// or a "no groups recorded..." / "no families" line; JSON {"groups": [...]} / {"families": [...]}.
void RenderGroupList(std::span<const registry::Group> groups, RenderForm form, const Sink& sink);
void RenderFamilyList(std::span<const registry::Family> families, RenderForm form,
                      const Sink& sink);

// The line `berth group add` prints for the group as stored (cli RunGroupAdd):
// "group NAME: range LOW-HIGH, ephemeral SET|-, reserved SET|-".
void RenderGroupAdded(const registry::Group& group, RenderForm form, const Sink& sink);
// The line `berth family add` prints (cli RunFamilyAdd): "family NAME: block BASE-LAST",
// LAST = base + size - 1 clipped at 65535.
void RenderFamilyAdded(const registry::Family& family, RenderForm form, const Sink& sink);

// `berth export --format json` (cli DocJson): {"families", "groups", "schema", "services"}; a
// service here has reason "" and revision 0, as before.
void RenderRegistryJson(const registry::RegistryDoc& doc, const Sink& sink);

// What `berth assign` prints on stdout (cli RunAssign) for the names assigned so far.
// `requested`: how many names the command was given. With one: the port alone (text) or one
// JSON object; with several: "NAME PORT" lines or a JSON array. A JSON service carries
// "created_now" (false: it was already registered). Text for zero assignments is empty
// (JSON: "[]"); callers print nothing in JSON when a name failed.
void RenderAssignments(std::span<const registry::Assignment> assigned, std::size_t requested,
                       RenderForm form, const Sink& sink);
// `berth assign --explain`, one line per assignment (cli printed it on stderr):
// "NAME PORT/PROTO: assigned|already registered (REASON)".
void RenderAssignExplanation(const registry::Assignment& a, const Sink& sink);

// `berth adopt` (cli RunAdopt). Text: "adopted NAME on PORT/PROTO" (or "NAME was already
// registered on PORT/PROTO") and one "  listener: WHO" line per socket on the port. JSON:
// {"listeners": [{"endpoint", "processes": [{"command", "pid", "unit", "user"}], "proto",
// "uid"}], "service": service object with "created_now", "warnings": [text]}.
void RenderAdoption(const registry::Assignment& a, std::span<const PortHolder> holders,
                    RenderForm form, const Sink& sink);

// `berth release` (cli RunRelease): "released NAME (PORT/PROTO)" per service; JSON
// {"released": [service...], "schema"}.
void RenderReleased(std::span<const registry::ServiceRecord> released, RenderForm form,
                    const Sink& sink);

inline constexpr std::string_view kReserveSchema = "berth.reserve/1";
inline constexpr std::string_view kStoreSchema = "berth.store/1";

// What `berth reserve` computed and did.
struct ReserveView {
  PortSet current;                // ip_local_reserved_ports now
  PortSet proposed;               // merged with the registry
  std::string file;               // the sysctl.d file's text
  std::string default_path;       // where --apply writes it
  std::string written;            // the file written, "" in a dry run
  bool applied = false;           // --apply ran
  std::optional<PortSet> set_now; // the value set now; nullopt when nothing had to change
};
// Text: the dry run (current, proposed, the file), or "wrote PATH" and what --apply set.
// JSON: {"current": [[l,h]...], "file", "proposed", "schema": "berth.reserve/1",
// "set_now": ranges|null, "written": path|null}.
void RenderReservePlan(const ReserveView& v, RenderForm form, const Sink& sink);

// `berth store check`: "LOCATION: ok", or the problems and `remedy`. JSON {"kind", "location",
// "ok", "problems": [text], "remedy": text|null, "schema": "berth.store/1"}. `kind`: "sqlite"
// or "etcd" (which check ran).
void RenderStoreHealth(std::string_view location, std::string_view kind,
                       std::span<const std::string> problems, std::string_view remedy,
                       RenderForm form, const Sink& sink);

inline constexpr std::string_view kStoreStatusSchema = "berth.store-status/1";

struct StoreStatusView {
  std::string location;
  std::string kind;
  std::vector<registry::StoreMember> members;
  std::optional<std::int64_t> revision;  // nullopt when the registry could not be read
  std::size_t services = 0, claims = 0, groups = 0, families = 0;
  std::string error;  // why it could not be read
};
// `berth store status`: the store, a member table (etcd), the revision and counts. JSON
// {"kind", "location", "members": [{"endpoint", "answered", "error"|null, "version",
// "leader": bool, "revision", "db_size"}], "revision"|null, "counts": {"services", "claims",
// "groups", "families"}|null, "error"|null, "schema": "berth.store-status/1"}.
void RenderStoreStatus(const StoreStatusView& v, RenderForm form, const Sink& sink);

}  // namespace berth
