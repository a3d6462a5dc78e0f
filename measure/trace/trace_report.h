#pragma once
// The outputs of `ppsim trace`: the text report (ranks and clocks, each GPU's step, the ops found,
// then the traced run through the simulator's own report and its reproduction), the JSON (the same
// figures; the traced run under "measured" and its reproduction under "predicted", each with every
// op's times, as `ppsim measure --compare` writes them, so `ppsim compare` reads it) and the
// Perfetto trace and SVG of the traced timeline.
#include <string>

#include "measure/trace/trace_session.h"

namespace ppsim::trace {

std::string render_trace_text(const TraceOutcome& outcome);
std::string render_trace_json(const TraceOutcome& outcome);
// Both need the traced timeline (annotations that name the ops); callers check outcome.run.
std::string render_trace_perfetto(const TraceOutcome& outcome);
std::string render_trace_svg(const TraceOutcome& outcome);

}  // namespace ppsim::trace
