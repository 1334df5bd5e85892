#include "sync/ack_log.hpp"

#include <cerrno>
#include <cstring>

#include "codec/time.hpp"
#include "common/error.hpp"
#include "common/file.hpp"
#include "common/time_units.hpp"

namespace lims::sync {

AckLog::AckLog(const std::string& path) : path_(path), file_(open_file(path, "w", "ack log")) {
  std::fputs("plant,id,version_us,acked_us\n", file_.get());
}

void AckLog::record(std::span<const store::Write> writes,
                    std::span<const store::WriteResult> results) {
  const long long acked = wall_clock_micros();
  for (std::size_t i = 0; i < writes.size() && i < results.size(); ++i) {
    if (results[i].outcome != store::Outcome::applied || !writes[i].upsert) continue;
    const std::string_view plant = plant_name(writes[i].plant);
    std::fprintf(file_.get(), "%.*s,%lld,%lld,%lld\n", static_cast<int>(plant.size()), plant.data(),
                 static_cast<long long>(writes[i].id),
                 static_cast<long long>(writes[i].upsert->version()), acked);
  }
  if (std::fflush(file_.get()) != 0)
    throw Error("cannot write ack log " + path_ + ": " + std::strerror(errno));
}

WriteObserver AckLog::observer() {
  return [this](std::span<const store::Write> w, std::span<const store::WriteResult> r) {
    record(w, r);
  };
}

}  // namespace lims::sync
