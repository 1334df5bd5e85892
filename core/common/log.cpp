#include "common/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "common/error.hpp"

namespace lims::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};
std::mutex g_mutex;

const char* name(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warning";
    case Level::error: return "error";
    case Level::off: break;
  }
  return "";
}

void emit(std::string_view text) {
  std::lock_guard lock(g_mutex);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}
}  // namespace

void set_level(Level level) { g_level = static_cast<int>(level); }

Level parse_level(std::string_view text) {
  if (text == "debug") return Level::debug;
  if (text == "info") return Level::info;
  if (text == "warn" || text == "warning") return Level::warn;
  if (text == "error") return Level::error;
  if (text == "off") return Level::off;
  throw Error("log level '" + std::string(text) + "' is not one of debug, info, warn, error, off",
              ExitCode::usage);
}

bool enabled(Level level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view message) {
  if (!enabled(level) || level == Level::off) return;
  std::string text = "lims: ";
  text += name(level);
  text += ": ";
  text += message;
  emit(text);
}

void line(std::string_view text) {
  if (enabled(Level::info)) emit(text);
}

}  // namespace lims::log
