// berth lint's rules over a set of port declarations (docs/lint.md lists each rule, its
// severity, why and fix). Rules see the whole set, so a collision between two files is found.
// When the registry knows a declaration's service, its port is the fix. Pure; thread-safe.
#pragma once

#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/service.h"
#include "lint/port_decl.h"
#include "lint/probe_json_parse.h"

namespace berth::lint {

struct RuleContext {
  // The registry's services that the declarations name (PortDecl::service), by name; empty
  // without a registry.
  std::map<std::string, Service, std::less<>> registry;
  // The ephemeral ranges of a registry group's other hosts (registry::Group::ephemeral), also
  // checked by ephemeral-port; `group` names it in the findings.
  std::string group;
  PortSet group_ephemeral;
  // Filled by ApplyRules: services that declare more than one port (Apache's Listen 80 and
  // 443, an HAProxy front end on :80 and :443). The registry holds one port a service, so
  // writing it over each would make them collide: no edit for those.
  std::set<std::string, std::less<>> several_ports;
  // What `berth lint --probe FILE` read: the SQL Server instances found, by
  // ProbedKey(host, instance) for their target and their address; `probe_file` names the file.
  std::map<std::string, ProbedInstance, std::less<>> probed;
  std::string probe_file;
};

// "host\instance", lower case: how `probed` is keyed.
std::string ProbedKey(std::string_view host, std::string_view instance);

// The findings for `decls`, sorted by file, line, column and rule id.
std::vector<LintFinding> ApplyRules(std::span<const PortDecl> decls, const RuleContext& ctx);

}  // namespace berth::lint
