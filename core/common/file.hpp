#pragma once
// One owner for C FILE handles.

#include <cstdio>
#include <memory>
#include <string>

#include "common/error.hpp"

namespace lims {

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
/// An open C stream, closed when it goes.
using File = std::unique_ptr<std::FILE, FileCloser>;

/// fopen(path, mode) with close-on-exec; throws lims::Error with `code`, naming `what`, the path
/// and the system's reason, if it cannot.
File open_file(const std::string& path, const char* mode, const std::string& what,
               ExitCode code = ExitCode::failure);
/// Closes `file` and reports its error (fclose writes out what is buffered): lims::Error naming
/// `what` and the path.
void close_file(File file, const std::string& path, const std::string& what);

}  // namespace lims
