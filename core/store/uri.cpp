#include "store/uri.hpp"

namespace lims::store {

std::string mask_credentials(std::string_view uri) {
  const auto scheme = uri.find("://");
  const auto start = scheme == std::string_view::npos ? 0 : scheme + 3;
  // The userinfo ends at the last '@' before the path: passwords may contain '@' themselves.
  const auto path = uri.find('/', start);
  const auto at = uri.substr(0, path).rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(uri);
  const auto colon = uri.substr(start, at - start).find(':');
  if (colon == std::string_view::npos) return std::string(uri);
  std::string masked(uri.substr(0, start + colon + 1));
  masked += "***";
  masked += uri.substr(at);
  return masked;
}

}  // namespace lims::store
