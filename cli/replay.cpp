// lims replay: capture the plant topics to a file of JSON lines, produce such a capture again,
// and rebuild a store from the topics; each subcommand in replay_<name>.cpp.

#include "replay.hpp"

#include "common/error.hpp"

namespace lims::cli {

const char* const kCaptureFormat =
    "A capture holds one JSON object per line: {\"topic\":..,\"partition\":..,\"offset\":..,\n"
    "\"timestamp\":<ms since the epoch>,\"key\":<string or null>,\"value\":<string or null>}.\n"
    "The value is the event's JSON text as a JSON string (null: a tombstone). A key or value\n"
    "that is not valid UTF-8 is written as \"key_base64\" / \"value_base64\" instead. The topic\n"
    "is the name without --topic-prefix, so a capture plays back under any prefix.";

kafka::ReaderConfig reader_config(const KafkaOptions& k) {
  return {k.brokers, k.connect_timeout_ms(), k.parsed_properties()};
}

Command setup_replay(CLI::App& app) {
  CLI::App* replay = app.add_subcommand(
      "replay",
      "Capture the plant topics to a file (record), produce a capture again (play), or rebuild\n"
      "a store from the topics (rebuild). `lims replay <cmd> --help` for each.");
  replay->require_subcommand(1);
  const Command commands[] = {setup_replay_record(replay), setup_replay_play(replay),
                              setup_replay_rebuild(replay)};
  return {replay, [commands] {
            for (const auto& c : commands)
              if (c.app->parsed()) return c.run();
            return static_cast<int>(ExitCode::usage);
          }};
}

}  // namespace lims::cli
