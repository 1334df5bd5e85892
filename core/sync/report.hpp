#pragma once
// The one-line progress and summary texts that consume, demo and sync-batch print on stderr.

#include <string>
#include <string_view>

#include "metrics/stages.hpp"
#include "sync/copy.hpp"
#include "sync/stream.hpp"

namespace lims::sync {

/// "consume: N records, A applied, S stale, D deleted, B bad; steady rate X events/s, Y MB/s";
/// `what` names the command in place of "consume".
std::string summary_line(const StreamSnapshot& s, std::string_view what = "consume");
/// "consume: N records (X events/s, Y MB/s): A applied, ... lag L", rates since `before`.
std::string progress_line(const StreamSnapshot& now, const StreamSnapshot& before,
                          std::string_view what = "consume");

/// "consume: time by stage, wall/CPU: fetch 1.20/0.10 s, ...; bottleneck: store; 85 us CPU per
/// record" (the process's CPU over `records`; left out when there were none).
std::string stages_line(const metrics::StageAccount& stages, std::uint64_t records,
                        std::string_view what = "consume");

/// "sync-batch: N images, R bytes read, W bytes written in T s"
std::string batch_summary_line(const BatchRunStats& s);

}  // namespace lims::sync
