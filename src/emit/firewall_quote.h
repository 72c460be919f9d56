// Quoting untrusted text (descriptions, tags, owners, groups) for the languages berth's
// firewall and export emitters write: comments, POSIX shell, PowerShell, XML, YAML; and
// parsing source CIDRs into a canonical form. Every function is pure and thread-safe.
// The rule: free text only ever lands inside a literal or a comment of the target language.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/text.h"  // CommentText
#include "core/cidr.h"  // ParseCidr, which lives in core so that the registry can use it

namespace berth {

// Only [A-Za-z0-9._:/+-] survive, everything else becomes '_': for identifiers inside
// rule languages without an escape syntax (nft and iptables strings, firewalld names).
// At most `max_len` bytes.
std::string SafeToken(std::string_view s, std::size_t max_len = 64);

// 'text' for a POSIX shell: ' becomes '\'' . Control bytes become \xNN text first.
std::string ShellQuote(std::string_view s);

// 'text' for PowerShell: the quote characters PowerShell accepts (' and U+2018..U+201B) are
// doubled; control bytes become \xNN text. No $ or ` expansion happens inside single quotes.
std::string PowerShellQuote(std::string_view s);

// &amp; &lt; &gt; &quot; &apos; and every control byte as a character reference; characters
// XML 1.0 forbids (NUL and most C0 controls) become "\xNN" text, invalid UTF-8 U+FFFD.
std::string XmlEscape(std::string_view s);

// "text" as a YAML double-quoted scalar: \" \\ and \xNN / \uXXXX escapes for every
// control byte and every non-ASCII character, so the scalar is pure printable ASCII.
std::string YamlQuote(std::string_view s);

}  // namespace berth
