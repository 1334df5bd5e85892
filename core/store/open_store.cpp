#include <string>

#include "store/image_store.hpp"
#include "store/mongo_store.hpp"
#include "store/sqlite_store.hpp"
#include "store/uri.hpp"

namespace lims::store {

std::string too_large(std::size_t bytes, std::size_t limit) {
  return "document of " + std::to_string(bytes) + " bytes exceeds the " +
         std::to_string(limit >> 20) + " MiB document limit";
}

std::unique_ptr<ImageStore> open_store(std::string_view uri, const OpenOptions& options) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (uri.starts_with(kSqlite)) {
    std::string_view path = uri.substr(kSqlite.size());
    if (path.starts_with("//")) path.remove_prefix(2);  // sqlite://rel or sqlite:///abs
    if (path.empty())
      throw Error("store '" + std::string(uri) + "' names no file; expected sqlite:PATH",
                  ExitCode::usage);
    return std::make_unique<SqliteStore>(std::string(path), options);
  }
  if (uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://"))
    return std::make_unique<MongoStore>(std::string(uri), options);
  throw Error("store '" + mask_credentials(uri) +
                  "' has an unknown scheme; expected sqlite:PATH or mongodb://HOST[:PORT]/DB",
              ExitCode::usage);
}

}  // namespace lims::store
