#include "measure/measure_report.h"

#include "measure/comparison_report.h"
#include "sim/report/json_report.h"
#include "sim/report/json_writer.h"
#include "sim/report/text_report.h"
#include "sim/report/timeline_json.h"
#include "sim/report/trace_report.h"

namespace ppsim {

std::string render_measure_text(const MeasureOutcome& o) {
  std::string text = render_text_report(o.measured_info, o.run.timeline, o.measured);
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on "\n" + a temporary string.
  if (o.comparison) {
    text += '\n';
    text += render_comparison_text(*o.comparison, o.predicted->timeline);
    text += "\nprediction's op times by rank:\n";
    for (std::size_t r = 0; r < o.timings_by_rank.size(); ++r)
      text += "  rank " + std::to_string(r) + ": " + o.timings_by_rank[r] + "\n";
  }
  return text;
}

std::string render_measure_json(const MeasureOutcome& o) {
  std::string json;
  JsonWriter w(json);
  w.begin_object();
  if (o.comparison) write_comparison_fields(w, *o.comparison);
  w.key("measured").begin_object();
  write_json_report_fields(w, o.measured_info, o.run.timeline, o.measured);
  w.key("iteration_makespans_ns").begin_array();
  for (TimeNs t : o.run.iteration_makespans) w.value(t);
  w.end_array();
  write_timeline_fields(w, o.run.timeline);
  w.end_object();
  if (o.predicted) {
    w.key("predicted").begin_object();
    write_json_report_fields(w, o.predicted_info, o.predicted->timeline, o.predicted->metrics);
    w.key("timings_by_rank").begin_array();
    for (const std::string& t : o.timings_by_rank) w.value(t);
    w.end_array();
    write_timeline_fields(w, o.predicted->timeline);
    w.end_object();
  }
  w.end_object();
  return json + "\n";
}

std::string render_measure_trace(const MeasureOutcome& o) {
  std::vector<TraceTimeline> traces;
  if (o.predicted) traces.push_back({&o.predicted->timeline, "predicted"});
  traces.push_back({&o.run.timeline, "measured"});
  return render_trace(traces);
}

}  // namespace ppsim
