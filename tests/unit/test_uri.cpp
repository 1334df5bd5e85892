// Store addresses never show a password.

#include <doctest/doctest.h>

#include "store/uri.hpp"

namespace lims {

TEST_CASE("uri: credentials are masked, everything else kept") {
  using store::mask_credentials;
  CHECK(mask_credentials("mongodb://lims:s3cret@db:27017/imagedbplantconsumer?tls=true") ==
        "mongodb://lims:***@db:27017/imagedbplantconsumer?tls=true");
  CHECK(mask_credentials("mongodb://u:p@ss@h1,h2/db") == "mongodb://u:***@h1,h2/db");
  CHECK(mask_credentials("mongodb+srv://u:x@cluster.example/db") ==
        "mongodb+srv://u:***@cluster.example/db");
  CHECK(mask_credentials("mongodb://user@host/db") == "mongodb://user@host/db");  // no password
  CHECK(mask_credentials("mongodb://host:27018") == "mongodb://host:27018");
  CHECK(mask_credentials("sqlite:/data/a@b.db") == "sqlite:/data/a@b.db");
}

}  // namespace lims
