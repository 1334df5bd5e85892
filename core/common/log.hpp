#pragma once
// Levelled logging into one sink (stderr). librdkafka's log callback lands here too.

#include <string_view>

namespace lims::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

/// Sets the lowest level that is printed (default info).
void set_level(Level level);
/// Parses "debug|info|warn|error|off"; throws lims::Error naming the value otherwise.
Level parse_level(std::string_view text);
/// True if a message at `level` would be printed.
bool enabled(Level level);
/// Writes one line "lims: <level>: <message>" to stderr, atomically with respect to other threads.
void write(Level level, std::string_view message);
/// Writes one line exactly as given (no prefix) at info level: progress and summary lines.
void line(std::string_view text);

inline void debug(std::string_view m) { write(Level::debug, m); }
inline void info(std::string_view m) { write(Level::info, m); }
inline void warn(std::string_view m) { write(Level::warn, m); }
inline void error(std::string_view m) { write(Level::error, m); }

}  // namespace lims::log
