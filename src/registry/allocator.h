// The allocator: hands out a port for a service name that is safe on every host of its
// group, deterministically (docs/registry.md, "Allocation rule"):
//   space  = the group's range minus the ephemeral ranges of its hosts minus IANA-assigned
//            ports (unless allow_iana), in ascending order; it depends only on the policy,
//            never on what is claimed or listening;
//   start  = FNV-1a-64(name) mod |space|;
//   port   = the first port of space from start onward (wrapping) that is neither claimed in
//            the group for a protocol the service uses nor listening on this host.
// A family (a named block) instead takes the first free port of its block in order.
// The claim itself is the store's atomic ClaimService; a lost race probes onward.
// One Allocator per thread; it caches the group's claims between calls (a hint: the
// store's unique claim is the truth).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/classify.h"
#include "core/service.h"
#include "registry/store.h"

namespace berth::registry {

// What the allocator knows about this host, taken once per process.
struct HostView {
  std::string hostname;
  HostPortConfig config;  // live ranges of this host
  PortSet listening_tcp;  // ports with a TCP listener right now
  PortSet listening_udp;  // ports with a bound UDP socket right now
  // Ports that are ephemeral on the hosts a service will run on when those are not (only)
  // this host: berth probe's --ephemeral-range for the targets it probed. Folded into every
  // group's ephemeral set.
  PortSet remote_ephemeral;
};

// A group's port space with this host's live values folded in when it belongs to it.
struct EffectiveGroup {
  Group group;
  bool includes_this_host = false;
  PortSet ephemeral;  // union over the hosts
  PortSet reserved;   // union over the hosts
};

struct AssignRequest {
  std::string name;
  std::optional<ServiceProto> proto;  // default tcp
  std::optional<Port> port;           // explicit port: checked against every rule
  // > 1: a range claim, `size` consecutive ports (the first is `port` when given), each
  // checked against every rule a single port is; placed in the group's range, never in a
  // family's block. At most kMaxServiceSize.
  std::uint32_t size = 1;
  std::string family;                 // "" = none (or inferred from the name's first label)
  std::string group;                  // "" = default
  bool allow_iana = false;
  // Ports whose current listener is the service being registered (berth adopt; the caller
  // has identified it). For an explicit port (every port of an explicit range) in this set a
  // listener there is not a conflict, and a single port lying in an ephemeral range is a
  // warning on the Assignment, not a refusal: the service already runs there. A range inside
  // an ephemeral range is still refused. Every other rule still applies.
  PortSet adopt;
  std::string owner;
  std::string description;
  std::vector<std::string> tags;
};

// One rule a port breaks: which, the sentence, and what would let the port through if anything
// would.
// kConventional is only ever a warning: a port other products use by convention
// (core/conventional_ports.h).
enum class Rule : std::uint8_t { kPortZero, kRange, kEphemeral, kClaimed, kListening, kIana, kConventional };
// "port-zero", "range", "ephemeral", "claimed", "listening", "iana", "conventional"
std::string_view RuleName(Rule r);
struct Violation {
  std::string text;
  std::optional<Hint> hint = {};
  Rule rule = Rule::kRange;
};

struct Assignment {
  ServiceRecord record;
  bool created = false;  // false: the name was already registered (idempotent)
  // Rules an adopted port breaks that did not refuse it (an ephemeral range), with remedies,
  // and a port that other products use by convention (a new claim, explicit or placed).
  std::vector<Violation> warnings = {};
};

// A port the allocator would give a name now, not claimed.
struct Proposal {
  ServiceRecord record;     // port and reason (group, family, proto filled in)
  bool registered = false;  // the name is already registered: this is its port
};

// The group's effective port space. Failure: kNotFound for an unknown group other than
// "default" (the message says how to create it).
[[nodiscard]] Result<EffectiveGroup> ResolveGroup(Store& store, std::string_view name,
                                                  const HostView& host);

// Every rule `port` breaks for a service of `proto` in `group`, one each (empty: the port is
// acceptable). `claims` are the group's claims; `in_family` exempts the port from the range
// rule (a family's block is chosen explicitly).
std::vector<Violation> RuleViolations(Port port, ServiceProto proto, const EffectiveGroup& group,
                                      const std::vector<Claim>& claims, const HostView& host,
                                      bool allow_iana, bool in_family,
                                      std::string_view self_name = {});

// RuleViolations for every port of `ports` (claims: the group's, all of them), the ports
// breaking one rule named together ("49152-49407 are inside ...") so that a range gives one
// line per rule and port run, not one per port.
std::vector<Violation> RangeViolations(PortRange ports, ServiceProto proto,
                                       const EffectiveGroup& group,
                                       const std::function<std::vector<Claim>(Port)>& claims,
                                       const HostView& host, bool allow_iana, bool in_family,
                                       std::string_view self_name = {});

// The warning for a service named `name` on a port that products other than it use by
// convention (core/conventional_ports.h), for the protocols `proto` covers; nullopt when
// there is none or the service is the product (prometheus on 9090).
std::optional<Violation> ConventionalWarning(Port port, ServiceProto proto, std::string_view name);

// The deterministic start: FNV-1a 64 of the name.
std::uint64_t NameHash(std::string_view name);

// What assigning `requests` will read (their names, groups and families), for
// Store::Prefetch: a store across a network then fetches it with its first read.
PrefetchHint HintFor(std::span<const AssignRequest> requests);

class Allocator {
 public:
  Allocator(Store& store, HostView host) : store_(store), host_(std::move(host)) {}

  // Idempotent: a registered name returns its record unchanged (created=false); asking it for
  // a different port, protocol or group is kConflict. Failure: kInvalidArgument for a bad
  // name or a --port that breaks a rule (the message lists each rule broken), kNotFound for
  // an unknown group or family, kUnavailable when no port is free (says how to widen).
  // request.adopt relaxes the listener and ephemeral rules for the explicit port (see there).
  [[nodiscard]] Result<Assignment> Assign(const AssignRequest& request);

  // What Assign would give request.name now, without writing anything: a registered name
  // gives its record (registered=true). Here request.port is a preference, not a demand: it
  // is taken when it breaks no rule, otherwise the name is placed as usual and the reason
  // says why the preference lost. Proposals never collide with each other: each is held in
  // this Allocator's cache as if claimed, so use a separate Allocator for Assign. Failure:
  // kInvalidArgument for a bad name, kNotFound for an unknown group or family,
  // kUnavailable when no port is free.
  [[nodiscard]] Result<Proposal> Propose(const AssignRequest& request);

  const HostView& host() const { return host_; }

  // Forgets what was read from the store (groups, claims), keeping what only depends on them
  // (the candidate ports of a group whose ranges did not change): call it at the start of an
  // Atomically() body, which may run more than once.
  void Reload();

 private:
  struct GroupCache {
    bool stale = false;  // Reload() was called: read the group and its claims again
    bool exact = true;   // index is ClaimedPorts' (every claim), not ClaimsToGuide's
    EffectiveGroup group;
    const ClaimIndex* index = nullptr;  // the store's, current with the last Reload
    ClaimIndex held;                    // claimed (or proposed) through this Allocator since
    std::map<int, std::vector<Port>> spaces;  // by (proto * 2 + allow_iana)
  };
  // `exact`: the index must hold every claim (a port asked for, a range, a proposal); else it
  // only guides the choice of a port that Assign then claims (Store::ClaimsToGuide).
  Result<GroupCache*> Cache(const std::string& group, bool exact);
  Result<const ClaimIndex*> Claims(const std::string& group, bool exact);
  const std::vector<Port>& Space(GroupCache& cache, ServiceProto proto, bool allow_iana);
  bool Free(const GroupCache& cache, Port p, ServiceProto proto) const;
  // A range claim's block: the first run of s.size consecutive free ports of the space from
  // the name's hash onward.
  Result<std::pair<Port, std::string>> PlaceRange(GroupCache& cache, const Service& s, bool allow_iana);
  std::vector<Violation> Violations(const GroupCache& cache, const Service& s, Port port,
                                    bool allow_iana, bool in_family) const;
  Result<std::pair<Port, std::string>> Place(GroupCache& cache, const Service& s,
                                             bool allow_iana,
                                             const std::optional<Family>& family);
  // The family named by the request, or by the name's first label when one exists.
  Result<std::optional<Family>> FamilyOf(const AssignRequest& request);
  // FamilyOf, except that a range claim is in no family.
  Result<std::optional<Family>> RequestFamily(const AssignRequest& request);
  // Records a claim in the cache (the store holds the truth).
  static void Hold(GroupCache& cache, const Service& s);
  // The claims of `port` in the group, the store's and this Allocator's.
  static std::vector<Claim> ClaimsAt(const GroupCache& cache, Port port);

  Store& store_;
  HostView host_;
  std::map<std::string, GroupCache, std::less<>> groups_;
  std::map<std::string, Proposal, std::less<>> proposals_;
};

}  // namespace berth::registry
