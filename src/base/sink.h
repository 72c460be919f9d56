// Sink: where renderers write their output, in chunks, so memory stays flat however large
// the output. The caller decides where it goes (stdout, a string, an HTTP body).
#pragma once

#include <functional>
#include <string_view>

namespace berth {

using Sink = std::function<void(std::string_view)>;

}  // namespace berth
