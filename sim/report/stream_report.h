#pragma once
// The reports of a stream run (issue 15): text and JSON from its metrics, and the SVG timeline with
// each stage's queue occupancy over time drawn under it. They read results only.
#include <string>

#include "sim/report/json_writer.h"
#include "sim/stream/stream_config.h"
#include "sim/stream/stream_engine.h"
#include "sim/stream/stream_metrics.h"
#include "sim/timeline.h"

namespace ppsim {

// What bounds the run: "latency" (too few items in flight to keep the bottleneck busy: throughput
// = in flight / latency), "throughput" (the slowest stage sets the rate), or "arrivals" (an open
// loop's arrivals set the rate below the bottleneck's).
const char* stream_bound(const StreamConfig& config, const StreamMetrics& m);

std::string render_stream_text_report(const std::string& source, const StreamConfig& config, const StreamMetrics& m);

// The JSON contract keys (docs/streams.md), written into an open object.
void write_stream_json_fields(JsonWriter& w, const std::string& source, const StreamConfig& config,
                              const StreamMetrics& m);

// The timeline SVG with, below it, one plot per stage of the items waiting in front of it.
std::string render_stream_svg(const Timeline& timeline, const StreamRun& run, const std::string& title);

}  // namespace ppsim
