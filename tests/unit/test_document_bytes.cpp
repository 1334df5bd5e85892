// document_bytes() is the length of the BSON document LIMS keeps, without building it.

#include <doctest/doctest.h>

#include <limits>

#include "store/image_store.hpp"
#include "store/mongo_bson.hpp"
#include "store_contract.hpp"

namespace lims {

TEST_CASE("document bytes: equal the BSON length, for every shape of record") {
  ImageRecord full = test::sample_record(7);
  ImageRecord nulls = test::sample_record(8);
  nulls.updated_at.reset();
  nulls.disease.reset();
  nulls.percentage.reset();
  nulls.data.clear();
  ImageRecord wide = test::sample_record(std::numeric_limits<std::int64_t>::max());
  wide.camera_id = -5'000'000'000;
  wide.data.assign(30'000, 0x5a);
  wide.disease = "Tomato Yellow Leaf Curl Virus";
  for (const ImageRecord* r : {&full, &nulls, &wide}) {
    bson_t doc = BSON_INITIALIZER;
    store::detail::append_record(&doc, *r);
    CHECK(store::document_bytes(*r) == doc.len);
    bson_destroy(&doc);
  }
}

}  // namespace lims
