// What the rules of berth lint share (rules.cc) and the rules about what a port means beyond
// this host's ranges (port_rules.cc: IANA's assignments, the conventional ports, Kubernetes'
// NodePort range). Internal to src/lint. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "lint/rules.h"

namespace berth::lint {

// The ports a host shares: what a server binds on the host itself, or publishes to it.
bool OnHost(const PortDecl& d);
// A declaration whose port a server takes (on the host or in its own namespace).
bool Serves(const PortDecl& d);
// "80" or "8000-8010".
std::string RangeText(PortRange r);
// The registry's record for the declaring service, or null.
const Service* Registered(const PortDecl& d, const RuleContext& ctx);
// The name a printed `berth assign` gives the declaration's service: its own, else one made
// from the file's name (nginx.conf -> nginx), so that the command runs as printed.
std::string AssignName(const PortDecl& d);
// What a fix sets: the key ("server.port"), or "the port of the URL in KEY".
std::string PortSetting(const PortDecl& d);
// "PORT (the registry's port for NAME)" or how to get one.
std::string PortAdvice(const PortDecl& d, const RuleContext& ctx);
// A finding of `rule` at `d`, with its port unless it has none.
LintFinding Make(LintRule rule, const PortDecl& d);

void IanaOtherServiceRule(const PortDecl& d, const RuleContext& ctx, std::vector<LintFinding>& out);
void ConventionalPortRule(const PortDecl& d, const RuleContext& ctx, std::vector<LintFinding>& out);
void NodePortRangeRule(const PortDecl& d, const RuleContext& ctx, std::vector<LintFinding>& out);

}  // namespace berth::lint
