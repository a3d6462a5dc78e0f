#pragma once
// Chrome / Perfetto trace (JSON "traceEvents"): one track per rank and one per link; each op is a
// complete event named like "F3" with args rank, microbatch, chunk, stage, kind.
#include <string>
#include <vector>

#include "sim/timeline.h"

namespace ppsim {

struct TraceTimeline {
  const Timeline* timeline;
  std::string process_name;  // e.g. "predicted" or "measured"
};

// One or more timelines in one trace (e.g. predicted and measured side by side).
std::string render_trace(const std::vector<TraceTimeline>& timelines);

}  // namespace ppsim
