// The hostile corpus: descriptions, owners, tags and groups built to break out of every
// language berth emits (shell, PowerShell, nft, iptables-restore, XML, YAML, JSON,
// /etc/services), and helpers the hostile tests share. Test-only.
#pragma once

#include <unistd.h>

#include <string>
#include <vector>

#include "core/service.h"

namespace berth::test {

// `marker` is a path that a successful shell injection would create.
inline std::vector<std::string> HostileCorpus(const std::string& marker) {
  using namespace std::string_literals;
  return {
      "$(touch " + marker + ")",
      "`touch " + marker + "`",
      "'; touch " + marker + "; '",
      "\"; touch " + marker + "; \"",
      "${HOME} $HOME $$ ${{evil}}",
      "a;b && c || d | e > /tmp/x < /etc/passwd",
      "line1\nline2\r\nline3",
      "nul\0byte"s,
      "}\n}\ntable inet evil { chain c { type filter hook input priority 0; policy accept; } }",
      "\" accept\n\t\ttcp dport 1-65535 accept #",
      "COMMIT\n*nat\n-A PREROUTING -j ACCEPT",
      "</description><port protocol=\"tcp\" port=\"1\"/><description>",
      "BERTH_XML_END\ntouch " + marker + "\ncat <<'BERTH_XML_END'",
      "<![CDATA[x]]> &amp; &#0; &#x0; <!ENTITY x SYSTEM \"file:///etc/passwd\">",
      "\xe2\x80\x99; Write-Host pwned; \xe2\x80\x98",  // PowerShell smart quotes
      "'' + (Invoke-Expression 'id') + ''",
      "\xe2\x80\xa8 line sep \xc2\x85 nel \xe2\x80\xae rtl \xe2\x80\x8b zwsp",
      "\xef\xbc\x84\xef\xbc\x88" "id\xef\xbc\x89 fullwidth, \xd0\xb0" "dmin cyrillic",
      "&anchor *alias !!python/object/apply:os.system [\"id\"] {a: b} [c]",
      "- item\nkey: value\n---\n...\n# comment",
      "%s%n%x \\ \\\\ \\n \\x00 \\u0000",
      "\xff\xfe invalid utf-8 \xc3",
      "\x1b[31mred\x1b[0m \x07 bell \x7f del",
      std::string(600, 'A') + "\xc3\xa9",  // longer than Consul's 512-byte meta values
  };
}

// One service per three corpus entries: description, owner and a tag each, plus every
// entry as a tag somewhere. `group` is the same for all.
inline std::vector<Service> HostileServices(const std::vector<std::string>& corpus,
                                            const std::string& group = "db") {
  std::vector<Service> out;
  for (std::size_t i = 0; i < corpus.size(); i += 3) {
    Service s;
    s.name = "svc" + std::to_string(i / 3) + ".hostile";
    s.proto = static_cast<ServiceProto>((i / 3) % 3);
    s.port = static_cast<Port>(20000 + i);
    s.group = group;
    s.description = corpus[i];
    s.owner = corpus[(i + 1) % corpus.size()];
    s.tags = {corpus[(i + 2) % corpus.size()], corpus[i]};
    if ((i / 3) % 4 == 1) s.sources = {"198.18.0.0/15", "2001:db8::/32"};
    out.push_back(std::move(s));
  }
  return out;
}

// The same services with every free-text field replaced by "x".
inline std::vector<Service> Benign(std::vector<Service> services) {
  for (Service& s : services) {
    s.description = "x";
    s.owner = "x";
    for (std::string& t : s.tags) t = "x";
  }
  return services;
}

inline bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

}  // namespace berth::test
