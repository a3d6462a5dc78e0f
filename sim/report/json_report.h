#pragma once
// The JSON report. Contract keys (never renamed): makespan_ns, bubble_fraction, bubble_rate_zb,
// throughput_microbatches_per_s, and stages[] with rank, busy_ns, span_ns, bubble_fraction,
// peak_in_flight, mean_in_flight, arrival_rate_per_s, mean_residence_ns. Other keys extend it.
#include <string>

#include "sim/metrics.h"
#include "sim/report/json_writer.h"
#include "sim/report/run_info.h"
#include "sim/timeline.h"

namespace ppsim {

// Writes the report's top-level fields into an object the caller has opened, so other commands
// (model-driven simulate, measure) can add their own keys beside them.
void write_json_report_fields(JsonWriter& w, const RunInfo& info, const Timeline& timeline, const Metrics& metrics);

std::string render_json_report(const RunInfo& info, const Timeline& timeline, const Metrics& metrics);

}  // namespace ppsim
