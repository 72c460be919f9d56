// What the lint reader tests assert of a declaration that keeps a byte offset, shared by
// json_xml_parse_test.cc and url_parse_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "lint/port_decl.h"

namespace berth::lint {

// `d` is at `line`:`column` of a single port, and the byte at its offset starts the port.
inline void ExpectDeclAt(std::string_view text, const PortDecl& d, int line, int column, Port port) {
  EXPECT_EQ(d.where.line, line) << d.key_path;
  EXPECT_EQ(d.where.column, column) << d.key_path;
  EXPECT_EQ(d.ports, (PortRange{port, port})) << d.key_path;
  EXPECT_EQ(text.substr(d.offset, std::to_string(port).size()), std::to_string(port)) << d.key_path;
}

}  // namespace berth::lint
