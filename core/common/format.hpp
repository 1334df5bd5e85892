#pragma once
// printf into a std::string, for report and progress lines.

#include <string>

namespace lims {

/// `fmt` with its arguments, as printf would print them, of any length.
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace lims
