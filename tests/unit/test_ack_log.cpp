// The ack log: what a store acknowledged, one CSV line per applied upsert (lims bench reads it).

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "store_contract.hpp"
#include "sync/ack_log.hpp"

namespace lims {
namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("ack log: it lists applied upserts only, one line each") {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("lims-ack-log-" + std::to_string(::getpid()) + ".csv"))
                               .string();
  sync::AckLog log(path);
  const ImageRecord a = test::sample_record(7, 5);
  std::vector<store::Write> writes = {test::upsert_of(Plant::potato, a),
                                      test::upsert_of(Plant::pepper, a),
                                      {Plant::tomato, 3, true, nullptr}};
  std::vector<store::WriteResult> results = {
      {store::Outcome::applied, ""}, {store::Outcome::stale, ""}, {store::Outcome::deleted, ""}};
  log.observer()(writes, results);
  const auto lines = lines_of(path);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "plant,id,version_us,acked_us");
  CHECK(lines[1].starts_with("potato,7," + std::to_string(a.version()) + ","));
  std::filesystem::remove(path);
}

}  // namespace lims
