#pragma once
// The record's JSON shape: as the Image API returns it, and as LIMS's change events carry it.

#include <string>

#include "model/image.hpp"

namespace lims::codec {

enum class DataEncoding { hex, base64 };

/// The record as GET /image-plant/{plant}/{id} returns it, keys in the API's order, `data` as
/// hex. Without data when `with_data` is false (`?fields=meta`, `--no-data`).
std::string to_api_json(const ImageRecord& record, bool with_data = true);
/// A LIMS change event value: the whole record, `data` in the given encoding.
std::string to_event_json(const ImageRecord& record, DataEncoding encoding = DataEncoding::hex);

}  // namespace lims::codec
