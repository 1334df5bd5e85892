#pragma once
// What the subcommands of `lims replay` (record, play, rebuild) share, each in a file of its own.

#include "commands.hpp"
#include "kafka/reader.hpp"

namespace lims::cli {

/// The capture format, for the help of record and play.
extern const char* const kCaptureFormat;
/// The reader of the brokers named by `kafka`.
kafka::ReaderConfig reader_config(const KafkaOptions& kafka);

/// `lims replay record`, `play` and `rebuild`, added under `replay`.
Command setup_replay_record(CLI::App* replay);
Command setup_replay_play(CLI::App* replay);
Command setup_replay_rebuild(CLI::App* replay);

}  // namespace lims::cli
