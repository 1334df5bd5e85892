#pragma once
// The Image API's JSON shape for records, and the LIMS event shape the simulator produces.

#include <string>
#include <string_view>

#include "model/image.hpp"

namespace lims::codec {

enum class DataEncoding { hex, base64 };

/// The record as GET /image-plant/{plant}/{id} returns it, keys in the API's order, `data` as
/// hex. Without data when `with_data` is false (`?fields=meta`, `--no-data`).
std::string to_api_json(const ImageRecord& record, bool with_data = true);
/// Appends `text` as a JSON string, escaped as Python's json.dumps(ensure_ascii=False) does:
/// quotes, backslashes and control characters, everything else verbatim (so `text` must be
/// valid UTF-8 for the result to be valid JSON).
void append_json_string(std::string& out, std::string_view text);
/// A LIMS change event value: the whole record, `data` in the given encoding.
std::string to_event_json(const ImageRecord& record, DataEncoding encoding = DataEncoding::hex);

}  // namespace lims::codec
