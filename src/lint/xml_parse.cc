#include "lint/xml_parse.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <fmt/core.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "lint/conf_parse.h"
#include "lint/conf_reader.h"
#include "lint/line_reader.h"
#include "lint/url_parse.h"

namespace berth::lint {
namespace {

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct CtxtFree {
  void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};

std::string_view Name(const xmlChar* s) {
  return s == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(s));
}

// How far from an element's line its attributes and text are looked for.
constexpr std::size_t kMaxTagBytes = 64 * 1024;

class XmlWalker {
 public:
  XmlWalker(std::string_view file, std::string_view text) : file_(file), text_(text) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  Result<void> Walk(const xmlNode* element, const std::string& parent, int depth) {
    if (depth > kMaxXmlDepth) {
      return Fail(ErrorCode::kMalformed, fmt::format("line {}: nested deeper than {} levels",
                                                     xmlGetLineNo(element), kMaxXmlDepth));
    }
    if (++visited_ > kMaxXmlNodes) {
      return Fail(ErrorCode::kMalformed, fmt::format("more than {} XML elements", kMaxXmlNodes));
    }
    const std::string_view name = Name(element->name);
    const std::string path = parent.empty() ? std::string(name) : parent + "." + std::string(name);
    Attributes(element, path);
    Text(element, name, path);
    for (const xmlNode* c = element->children; c != nullptr; c = c->next) {
      if (c->type == XML_ELEMENT_NODE) BERTH_TRY(Walk(c, path, depth + 1));
    }
    return {};
  }

  std::vector<PortDecl> Take() { return std::move(out_); }

 private:
  static std::optional<std::string_view> Attr(const xmlNode* e, std::string_view name) {
    for (const xmlAttr* a = e->properties; a != nullptr; a = a->next) {
      if (Name(a->name) == name && a->children != nullptr && a->children->next == nullptr &&
          a->children->type == XML_TEXT_NODE) {
        return Name(a->children->content);
      }
    }
    return std::nullopt;
  }

  void Attributes(const xmlNode* e, const std::string& path) {
    const std::optional<std::string_view> key = Attr(e, "key");
    for (const xmlAttr* a = e->properties; a != nullptr; a = a->next) {
      const std::string_view attr = Name(a->name);
      const std::optional<std::string_view> value = Attr(e, attr);
      if (!value) continue;  // an entity reference: not a port berth can place
      if (IsPortKey(attr)) {
        AddAt(e, attr, *value, *value, path + "@" + std::string(attr), IsListenKey(attr), "");
      } else if (attr == "value" && key && IsPortKey(*key)) {
        AddAt(e, "value", *value, *value, path + "[" + std::string(*key) + "]", IsListenKey(*key), "");
      } else if (attr == "bindingInformation") {
        // IIS: "IP:PORT:HOST", IP "*" for every address.
        const std::size_t first = value->find(':');
        const std::size_t second = first == std::string_view::npos ? first : value->find(':', first + 1);
        if (second == std::string_view::npos) continue;
        const std::string_view ip = value->substr(0, first);
        AddAt(e, "bindingInformation", *value, value->substr(first + 1, second - first - 1),
              path + "@bindingInformation", true, ip == "*" ? "" : ip);
      } else if (attr == "value" && key) {
        // appSettings: <add key="ApiUrl" value="http://api:8080/"/>, the key names it.
        Urls(e, attr, *value, path + "[" + std::string(*key) + "]", *key);
      } else {
        Urls(e, attr, *value, path + "@" + std::string(attr), attr);
      }
    }
  }

  // The ports of URLs in `value`, written as attribute or text `name` of `e` (see Find): up
  // to each port the value must be written as it reads (an entity after it does not matter).
  void Urls(const xmlNode* e, std::string_view name, std::string_view value,
            const std::string& key_path, std::string_view key) {
    if (value.find("://") == std::string_view::npos) return;
    for (const UrlPort& u : FindUrlPorts(value)) {
      const std::string_view read = value.substr(0, u.port_offset + u.port_size);
      if (PortDecl* d = AddAt(e, name, read, read.substr(u.port_offset), key_path, false, "")) {
        SetUrlPort(*d, u, key);
      }
    }
  }

  // <port>8080</port>
  void Text(const xmlNode* e, std::string_view name, const std::string& path) {
    const xmlNode* t = e->children;
    if (t == nullptr || t->next != nullptr || t->type != XML_TEXT_NODE) return;
    std::string_view value = Name(t->content);
    while (!value.empty() && Blank(value.front())) value.remove_prefix(1);
    while (!value.empty() && Blank(value.back())) value.remove_suffix(1);
    if (IsPortKey(name)) {
      AddAt(e, "<" + std::string(name), value, value, path, IsListenKey(name), "");
    } else {
      Urls(e, "<" + std::string(name), value, path, name);  // <url>http://svc:8080/</url>
    }
  }

  static bool Blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

  // From the element's start tag on: the byte offset of `value`, written as attribute `name`'s
  // value (name = "value" with blanks around '=' and either quote) or, name starting with
  // '<', as the text of element name.substr(1). nullopt when it is written otherwise (with
  // a character reference): no declaration then, rather than a wrong position.
  std::optional<std::size_t> Find(const xmlNode* e, std::string_view name, std::string_view value) const {
    // libxml2 gives an element the line where its start tag ends: its attributes may be on
    // the lines before, so the search starts at the last "<NAME" up to that line's end.
    const long line = xmlGetLineNo(e);
    if (line < 1 || static_cast<std::size_t>(line) > line_starts_.size()) return std::nullopt;
    const std::size_t line_end = static_cast<std::size_t>(line) < line_starts_.size()
                                     ? line_starts_[static_cast<std::size_t>(line)]
                                     : text_.size();
    std::string tag = "<";
    if (e->ns != nullptr && e->ns->prefix != nullptr) tag += std::string(Name(e->ns->prefix)) + ":";
    tag += Name(e->name);
    std::size_t from = text_.substr(0, line_end).rfind(tag);
    if (from == std::string_view::npos || line_end - from > kMaxTagBytes) {
      from = line_starts_[static_cast<std::size_t>(line - 1)];
    }
    const std::string_view w = text_.substr(from, kMaxTagBytes);
    const bool text = name.starts_with('<');
    for (std::size_t m = w.find(name); m != std::string_view::npos; m = w.find(name, m + 1)) {
      std::size_t v = m + name.size();
      if (text) {
        if (v >= w.size() || (w[v] != '>' && !Blank(w[v]))) continue;
        v = w.find('>', v);
        if (v == std::string_view::npos) return std::nullopt;
        ++v;
      } else {
        if (m > 0 && !Blank(w[m - 1])) continue;
        while (v < w.size() && Blank(w[v])) ++v;
        if (v >= w.size() || w[v] != '=') continue;
        ++v;
        while (v < w.size() && Blank(w[v])) ++v;
        if (v >= w.size() || (w[v] != '"' && w[v] != '\'')) continue;
        ++v;
      }
      while (text && v < w.size() && Blank(w[v])) ++v;
      if (w.substr(v).starts_with(value)) return from + v;
    }
    return std::nullopt;
  }

  // A declaration of `port_text` (a part of `value`, which element `e` holds as attribute or
  // text `name`: see Find); nullptr when it is not a port or cannot be placed.
  PortDecl* AddAt(const xmlNode* e, std::string_view name, std::string_view value,
             std::string_view port_text, std::string key_path, bool listen,
             std::string_view address) {
    const std::optional<Port> port = ParsePortNumber(port_text);
    if (!port) return nullptr;
    const std::optional<std::size_t> at = Find(e, name, value);
    if (!at) return nullptr;
    const std::size_t offset = *at + static_cast<std::size_t>(port_text.data() - value.data());
    const LineColumn lc = PositionOf(text_, offset);
    PortDecl d;
    d.where = Location{std::string(file_), lc.line, lc.column};
    d.offset = offset;
    d.key_path = std::move(key_path);
    d.format = ConfigFormat::kXml;
    d.kind = listen ? DeclKind::kListen : DeclKind::kTarget;
    d.address = std::string(address);
    d.ports = PortRange{*port, *port};
    if (*port == 0) d.dynamic = Dynamic::kZero;
    out_.push_back(std::move(d));
    return &out_.back();
  }

  std::string_view file_;
  std::string_view text_;
  std::vector<std::size_t> line_starts_;
  std::vector<PortDecl> out_;
  std::size_t visited_ = 0;
};

}  // namespace

Result<std::vector<PortDecl>> ParseXmlPorts(std::string_view file, std::string_view text) {
  BERTH_TRY(CheckDocumentBytes(text, kMaxXmlBytes, "XML"));
  if (text.find("<!DOCTYPE") != std::string_view::npos ||
      text.find("<!ENTITY") != std::string_view::npos) {
    return Fail(ErrorCode::kMalformed,
                "a document type declaration: refused (entities, external files; configuration "
                "files have none)");
  }
  // libxml2 2.9 wants its globals set up once before threads parse.
  static std::once_flag init;
  std::call_once(init, [] { xmlInitParser(); });
  std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlNewParserCtxt());
  if (!ctxt) return Fail(ErrorCode::kInternal, "libxml2: no parser context");
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                      XML_PARSE_BIG_LINES;  // never XML_PARSE_NOENT, XML_PARSE_DTDLOAD or _HUGE
  std::unique_ptr<xmlDoc, DocFree> doc(xmlCtxtReadMemory(
      ctxt.get(), text.data(), static_cast<int>(text.size()), nullptr, nullptr, options));
  if (!doc || !ctxt->wellFormed) {
    const xmlError* e = xmlCtxtGetLastError(ctxt.get());
    std::string what = e != nullptr && e->message != nullptr ? e->message : "not well-formed";
    while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
    return Fail(ErrorCode::kMalformed, fmt::format("invalid XML at line {}: {}",
                                                   e != nullptr ? e->line : 0, what));
  }
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (root == nullptr) return std::vector<PortDecl>{};
  XmlWalker walker(file, text);
  BERTH_TRY(walker.Walk(root, "", 1));
  return walker.Take();
}

}  // namespace berth::lint
