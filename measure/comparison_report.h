#pragma once
// Predicted vs measured, as text and as JSON fields. Contract keys at the top level of the JSON:
// predicted_makespan_ns, measured_makespan_ns, throughput_error_pct.
#include <string>

#include "measure/comparison.h"
#include "sim/report/json_writer.h"
#include "sim/timeline.h"

namespace ppsim {

std::string render_comparison_text(const Comparison& c, const Timeline& predicted);

void write_comparison_fields(JsonWriter& w, const Comparison& c);

}  // namespace ppsim
