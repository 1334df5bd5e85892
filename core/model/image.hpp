#pragma once
// The LIMS image record and the change events that carry it (see docs/lims-contract.md).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lims {

/// The three plants; each has its own Kafka topic and store collection.
enum class Plant : std::uint8_t { potato = 0, tomato = 1, pepper = 2 };

inline constexpr std::array<Plant, 3> kPlants{Plant::potato, Plant::tomato, Plant::pepper};

/// "potato", "tomato" or "pepper".
std::string_view plant_name(Plant plant);
/// Parses an exact plant name; nullopt for anything else.
std::optional<Plant> parse_plant(std::string_view name);

/// Microseconds since the Unix epoch, UTC. LIMS times carry no zone and are taken as UTC.
using Micros = std::int64_t;

/// One image, field for field as LIMS keeps it.
struct ImageRecord {
  std::int64_t id = 0;
  std::int64_t camera_id = 0;
  std::vector<std::uint8_t> data;  // the JPEG bytes
  double latitude = 0;             // gps_coordinates[0]
  double longitude = 0;            // gps_coordinates[1]
  std::optional<std::string> disease;
  std::optional<double> percentage;
  Micros created_at = 0;
  std::optional<Micros> updated_at;
  bool is_active = false;
  bool is_deleted = false;

  /// The time the stale-event guard compares: updated_at, else created_at.
  Micros version() const { return updated_at.value_or(created_at); }
  bool operator==(const ImageRecord&) const = default;
};

/// A decoded change: an upsert carrying the whole record, or a delete (a Kafka tombstone).
struct ImageEvent {
  Plant plant = Plant::potato;
  std::int64_t id = 0;
  std::optional<ImageRecord> record;  // nullopt means delete

  bool is_delete() const { return !record.has_value(); }
};

/// Where a Kafka record came from, for error messages and offset bookkeeping.
struct RecordOrigin {
  std::string_view topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

/// "topic/partition@offset", the form every per-record message uses.
std::string describe(const RecordOrigin& origin);

}  // namespace lims
