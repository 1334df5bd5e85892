#pragma once
// Kafka records as JSON lines (`lims replay record` writes them, `lims replay play` reads them):
// {"topic":..,"partition":..,"offset":..,"timestamp":<ms>,"key":..,"value":..}, one per line.
// A key or value that is not valid UTF-8 goes as "key_base64" / "value_base64" instead, so no
// byte is lost; an absent key and a tombstone's value are null.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace lims::codec {

/// One record as a line holds it; views into the caller's bytes.
struct RecordView {
  std::string_view topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = -1;         // -1: unknown
  std::optional<std::string_view> key;    // nullopt: no key
  std::optional<std::string_view> value;  // nullopt: a tombstone
};

/// One record read back from a line, owning its bytes.
struct RecordLine {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = -1;
  std::optional<std::string> key;
  std::optional<std::string> value;

  /// This record as a view (valid while it lives).
  RecordView view() const;
  bool operator==(const RecordLine&) const = default;
};

/// Why a line was refused: the field ("line" for the line as a whole) and what was expected.
struct LineError {
  std::string field;
  std::string problem;
  /// "<file>:<line>: <field>: <problem>", on one line.
  std::string message(std::string_view file, std::uint64_t line) const;
};

/// Appends `"name":"text"` when `bytes` are valid UTF-8, else `"name_base64":"..."`, and
/// `"name":null` when absent.
void append_bytes_field(std::string& out, std::string_view name,
                        std::optional<std::string_view> bytes);
/// Appends `record` as one JSON object, without a newline.
void append_record_line(std::string& out, const RecordView& record);

/// Reads record lines, reusing its parser and buffer. Not thread-safe.
class RecordLineParser {
 public:
  RecordLineParser();
  ~RecordLineParser();
  RecordLineParser(const RecordLineParser&) = delete;
  RecordLineParser& operator=(const RecordLineParser&) = delete;

  /// Parses one line (without its newline). A bad line is returned as a LineError, never
  /// thrown. Unknown fields are ignored; every known one must be there once.
  std::variant<RecordLine, LineError> parse(std::string_view line);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lims::codec
