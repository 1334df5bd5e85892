#pragma once
// Store addresses as they may be shown: never with a password.

#include <string>
#include <string_view>

namespace lims::store {

/// `uri` with the password of any "user:password@" part replaced by "***".
std::string mask_credentials(std::string_view uri);

}  // namespace lims::store
