#pragma once
#include <string>

#include "sim/metrics.h"
#include "sim/report/run_info.h"
#include "sim/timeline.h"

namespace ppsim {

// The default human-readable report: headline figures, per-rank table with Little's law, idle
// breakdown, critical path and links.
std::string render_text_report(const RunInfo& info, const Timeline& timeline, const Metrics& metrics);

}  // namespace ppsim
