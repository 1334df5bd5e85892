#include "model/image.hpp"

namespace lims {

std::string_view plant_name(Plant plant) {
  switch (plant) {
    case Plant::potato: return "potato";
    case Plant::tomato: return "tomato";
    case Plant::pepper: return "pepper";
  }
  return "?";
}

std::optional<Plant> parse_plant(std::string_view name) {
  for (Plant p : kPlants)
    if (plant_name(p) == name) return p;
  return std::nullopt;
}

std::string describe(const RecordOrigin& origin) {
  std::string s(origin.topic);
  s += '/';
  s += std::to_string(origin.partition);
  s += '@';
  s += std::to_string(origin.offset);
  return s;
}

}  // namespace lims
