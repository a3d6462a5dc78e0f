#pragma once
// The outputs of `ppsim measure`: the text report (the measured run, then predicted vs measured),
// the JSON (contract keys of the comparison at the top level, then "measured" and "predicted"
// reports with every op's times) and one Perfetto trace with both timelines.
#include <string>

#include "measure/measure_session.h"

namespace ppsim {

std::string render_measure_text(const MeasureOutcome& outcome);
std::string render_measure_json(const MeasureOutcome& outcome);
std::string render_measure_trace(const MeasureOutcome& outcome);

}  // namespace ppsim
