#pragma once
// Decodes a Kafka record into an ImageEvent, validating every field (hot path: simdjson).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "model/image.hpp"

namespace lims::codec {

/// A Kafka record as the codec sees it. Pointers are borrowed for the duration of decode().
struct RawRecord {
  RecordOrigin origin;
  const char* key = nullptr;  // nullptr when the record has no key
  std::size_t key_size = 0;
  const char* value = nullptr;  // nullptr for a tombstone
  std::size_t value_size = 0;
};

/// Why a record was rejected: the field (or "key", "value", "topic"; never empty, `""` names a
/// field with an empty name) and what was expected.
struct DecodeError {
  std::string field;
  std::string problem;
  /// One line: "<topic>/<partition>@<offset>: <field>: <problem>".
  std::string message(const RecordOrigin& origin) const;
};

using DecodeResult = std::variant<ImageEvent, DecodeError>;

/// The plant a topic carries: the whole name, or its last '.', '-' or '_' separated segment
/// ("potato", "stg.potato", "lims-test-potato"); nullopt if that is not a plant.
std::optional<Plant> plant_of_topic(std::string_view topic);

/// Decodes records one at a time, reusing its parser and buffers. Not thread-safe; use one
/// per thread.
class Decoder {
 public:
  Decoder();
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  /// Decodes and validates one record. A bad record is returned as a DecodeError, never thrown.
  DecodeResult decode(const RawRecord& record);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lims::codec
