#pragma once
// Writing JSON text by hand where it is built on the hot path or byte for byte as LIMS does.

#include <string>
#include <string_view>

namespace lims::codec {

/// Appends `text` as a JSON string, escaped as Python's json.dumps(ensure_ascii=False) does:
/// quotes, backslashes and control characters, everything else verbatim (so `text` must be
/// valid UTF-8 for the result to be valid JSON).
void append_json_string(std::string& out, std::string_view text);

}  // namespace lims::codec
