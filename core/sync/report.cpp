#include "sync/report.hpp"

#include "common/format.hpp"

namespace lims::sync {

std::string summary_line(const StreamSnapshot& s, std::string_view what) {
  return format(
      "%.*s: %llu records: %llu applied, %llu stale, %llu deleted, %llu bad; "
      "steady rate %.0f events/s, %.1f MB/s (%llu records in %.2f s)",
      static_cast<int>(what.size()), what.data(), static_cast<unsigned long long>(s.records),
      static_cast<unsigned long long>(s.applied), static_cast<unsigned long long>(s.stale),
      static_cast<unsigned long long>(s.deleted), static_cast<unsigned long long>(s.bad),
      s.events_per_s(), s.mb_per_s(), static_cast<unsigned long long>(s.steady_records),
      s.steady_s);
}

std::string progress_line(const StreamSnapshot& s, const StreamSnapshot& before,
                          std::string_view what) {
  const double dt = s.elapsed_s - before.elapsed_s;
  const double rate = dt > 0 ? (s.records - before.records) / dt : 0;
  const double mb = dt > 0 ? (s.bytes - before.bytes) / dt / 1e6 : 0;
  return format(
      "%.*s: %llu records (%.0f events/s, %.1f MB/s): %llu applied, %llu stale, "
      "%llu deleted, %llu bad; lag %lld",
      static_cast<int>(what.size()), what.data(), static_cast<unsigned long long>(s.records), rate,
      mb, static_cast<unsigned long long>(s.applied), static_cast<unsigned long long>(s.stale),
      static_cast<unsigned long long>(s.deleted), static_cast<unsigned long long>(s.bad),
      static_cast<long long>(s.lag));
}

std::string stages_line(const metrics::StageAccount& stages, std::uint64_t records,
                        std::string_view what) {
  std::string line = std::string(what) + ": time by stage, wall/CPU: " + stages.summary();
  if (auto b = stages.bottleneck()) line += "; bottleneck: " + stages.name(*b);
  if (records)
    line += format("; %.0f us CPU per record",
                   metrics::process_cpu_seconds() * 1e6 / static_cast<double>(records));
  return line;
}

std::string batch_summary_line(const BatchRunStats& s) {
  return format("sync-batch: %llu images, %llu bytes read, %llu bytes written in %.2f s",
                static_cast<unsigned long long>(s.images),
                static_cast<unsigned long long>(s.bytes_read),
                static_cast<unsigned long long>(s.bytes_written), s.seconds);
}

}  // namespace lims::sync
