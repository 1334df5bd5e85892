#include "common/file.hpp"

#include <cerrno>
#include <cstring>

namespace lims {

File open_file(const std::string& path, const char* mode, const std::string& what, ExitCode code) {
  File file(std::fopen(path.c_str(), (std::string(mode) + "e").c_str()));
  if (!file) throw Error("cannot open " + what + " " + path + ": " + std::strerror(errno), code);
  return file;
}

void close_file(File file, const std::string& path, const std::string& what) {
  if (std::fclose(file.release()) != 0)
    throw Error("writing " + what + " " + path + ": " + std::strerror(errno));
}

}  // namespace lims
