// lims get-image: one record from the consumer store, shaped like the Image API's response.

#include <cstdio>
#include <fstream>
#include <iostream>

#include "codec/api_json.hpp"
#include "commands.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "store/image_store.hpp"

namespace lims::cli {
namespace {

struct GetImageOptions {
  std::string plant;
  std::int64_t id = 0;
  std::string store = kDefaultStore;
  std::string out;
  bool no_data = false;
};

void write_jpeg(const std::string& path, const std::vector<std::uint8_t>& data) {
  if (path == "-") {
    if (std::fwrite(data.data(), 1, data.size(), stdout) != data.size() || std::fflush(stdout))
      throw Error("cannot write the JPEG to stdout");
    return;
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!file.flush()) throw Error("cannot write " + path);
  log::info("wrote " + std::to_string(data.size()) + " bytes to " + path);
}

int run_get_image(const GetImageOptions& o) {
  Plant plant = parse_plant_arg(o.plant);
  auto store = store::open_store(o.store, {.read_only = true});
  auto record = store->get(plant, o.id);
  if (!record) {
    log::error("no " + o.plant + " image with id " + std::to_string(o.id) + " in " +
               store->describe());
    return static_cast<int>(ExitCode::failure);
  }
  if (!o.out.empty()) write_jpeg(o.out, record->data);
  if (o.out != "-") {
    std::cout << codec::to_api_json(*record, !o.no_data && o.out.empty()) << '\n';
    if (!std::cout.flush()) throw Error("cannot write the record to stdout");
  }
  return 0;
}

}  // namespace

Command setup_get_image(CLI::App& app) {
  auto o = std::make_shared<GetImageOptions>();
  CLI::App* c = app.add_subcommand(
      "get-image",
      "Print one image record from the consumer store as the LIMS Image API returns it\n"
      "(GET /image-plant/{plant}/{id}): JSON with hex data and LIMS times. Exits 1 if there is\n"
      "no such image.");
  c->add_option("plant", o->plant, "potato, tomato or pepper")->required();
  c->add_option("id", o->id, "Image id (an integer >= 1)")
      ->required()
      ->check(CLI::Range(std::int64_t{1}, std::numeric_limits<std::int64_t>::max()));
  add_store_option(c, o->store);
  c->add_option("-o,--out", o->out,
                "Write the JPEG bytes to this file ('-' for stdout); the JSON printed then leaves "
                "out data");
  c->add_flag("--no-data", o->no_data, "Leave data out of the JSON (like ?fields=meta)");
  return {c, [o] { return run_get_image(*o); }};
}

}  // namespace lims::cli
