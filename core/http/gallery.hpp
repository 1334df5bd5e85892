#pragma once
// The gallery page that GET / serves: the newest synced images of each plant, with the live
// counters of the stream, compiled into the binary.

#include <string_view>

namespace lims::http {

/// One self-contained HTML page (inline CSS and plain JavaScript; nothing loaded from anywhere
/// but this server). It reads /image-plant/{plant}/total/, /api/latest?plant=P&n=N and
/// /api/stats, and the JPEGs from /image-plant/{plant}/{id}/jpeg, every few seconds. Counters
/// the server does not have (`lims serve` has no stream) show as a dash.
std::string_view gallery_page();

}  // namespace lims::http
