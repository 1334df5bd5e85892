#include "sync/bad_records.hpp"

#include <string>

#include "common/log.hpp"

namespace lims::sync {

void LogBadRecords::reject(const codec::RawRecord&, std::string_view reason) {
  log::warn("skipped bad record " + std::string(reason));
}

}  // namespace lims::sync
