#include "codec/api_json.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "codec/binary.hpp"
#include "codec/json_write.hpp"
#include "codec/time.hpp"

namespace lims::codec {

namespace {

// Appends `v` as Python's repr(float) does: the shortest digits that round-trip, in fixed
// notation when the decimal point falls within 16 digits ("48.476563", "100.0", "0.0001"),
// otherwise in exponent notation ("1e-05", "1e+16").
void append_double(std::string& out, double v) {
  if (!std::isfinite(v)) {  // never in a validated record; JSON has no spelling for it
    out += "null";
    return;
  }
  char sci[32];
  const auto res = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific);
  const std::string_view text(sci, static_cast<std::size_t>(res.ptr - sci));  // "-d.ddde+XX"
  const std::size_t e_pos = text.find('e');
  std::string_view mantissa = text.substr(0, e_pos);
  const int exponent = std::atoi(std::string(text.substr(e_pos + 1)).c_str());
  if (!mantissa.empty() && mantissa[0] == '-') {
    out += '-';
    mantissa.remove_prefix(1);
  }
  std::string digits(mantissa.substr(0, 1));
  if (mantissa.size() > 2) digits += mantissa.substr(2);  // drop the '.'
  const int point = exponent + 1;                         // digits before the decimal point
  const int n = static_cast<int>(digits.size());
  if (point > -4 && point <= 16) {
    if (point <= 0) {
      out += "0.";
      out.append(static_cast<std::size_t>(-point), '0');
      out += digits;
    } else if (point >= n) {
      out += digits;
      out.append(static_cast<std::size_t>(point - n), '0');
      out += ".0";
    } else {
      out.append(digits, 0, static_cast<std::size_t>(point));
      out += '.';
      out.append(digits, static_cast<std::size_t>(point));
    }
    return;
  }
  out += digits[0];
  if (n > 1) {
    out += '.';
    out.append(digits, 1);
  }
  out += exponent < 0 ? "e-" : "e+";
  const int magnitude = std::abs(exponent);
  if (magnitude < 10) out += '0';
  out += std::to_string(magnitude);
}

void append_time(std::string& out, Micros t) {
  out += '"';
  out += format_time(t);
  out += '"';
}

// The shared shape: keys in the Image API's order, compact separators as FastAPI sends them.
std::string record_json(const ImageRecord& r, const std::string* data) {
  std::string out;
  out.reserve(256 + (data ? data->size() : 0) + (r.disease ? r.disease->size() : 0));
  out += "{\"id\":";
  out += std::to_string(r.id);
  out += ",\"camera_id\":";
  out += std::to_string(r.camera_id);
  if (data) {
    out += ",\"data\":\"";
    out += *data;  // hex or base64: nothing to escape
    out += '"';
  }
  out += ",\"gps_coordinates\":[";
  append_double(out, r.latitude);
  out += ',';
  append_double(out, r.longitude);
  out += "],\"created_at\":";
  append_time(out, r.created_at);
  out += ",\"updated_at\":";
  if (r.updated_at)
    append_time(out, *r.updated_at);
  else
    out += "null";
  out += r.is_active ? ",\"is_active\":true" : ",\"is_active\":false";
  out += r.is_deleted ? ",\"is_deleted\":true" : ",\"is_deleted\":false";
  out += ",\"disease\":";
  if (r.disease)
    append_json_string(out, *r.disease);
  else
    out += "null";
  out += ",\"percentage\":";
  if (r.percentage)
    append_double(out, *r.percentage);
  else
    out += "null";
  out += '}';
  return out;
}

}  // namespace

std::string to_api_json(const ImageRecord& record, bool with_data) {
  if (!with_data) return record_json(record, nullptr);
  const std::string hex = encode_hex(record.data);
  return record_json(record, &hex);
}

std::string to_event_json(const ImageRecord& record, DataEncoding encoding) {
  const std::string data =
      encoding == DataEncoding::hex ? encode_hex(record.data) : encode_base64(record.data);
  return record_json(record, &data);
}

}  // namespace lims::codec
