// `ppsim compare predicted.json measured.json`: two reports written with per-op timelines
// (`ppsim simulate --json F --with-ops`, `ppsim measure --json F`) compared op by op.
#include <boost/program_options.hpp>
#include <iostream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "measure/comparison.h"
#include "base/error.h"
#include "sim/metrics.h"
#include "measure/comparison_report.h"
#include "sim/report/output_files.h"
#include "sim/report/timeline_json.h"
#include "sim/report/trace_report.h"

namespace ppsim::cli {
namespace {

struct CompareOptions {
  std::string predicted, measured, json, trace;
};

int compare(const CompareOptions& o) {
  const Timeline predicted = read_timeline_json(o.predicted, "predicted");
  const Timeline measured = read_timeline_json(o.measured, "measured");
  const Metrics pm = compute_metrics(predicted), mm = compute_metrics(measured);
  const Comparison c = compare_timelines(predicted, pm, measured, mm);
  std::string json;
  JsonWriter w(json);
  w.begin_object();
  w.field("predicted_report", o.predicted);
  w.field("measured_report", o.measured);
  write_comparison_fields(w, c);
  w.end_object();
  json += "\n";
  PendingOutputs outputs;
  if (!o.json.empty()) outputs.add(o.json, json);
  if (!o.trace.empty()) outputs.add(o.trace, render_trace({{&predicted, "predicted"}, {&measured, "measured"}}));
  outputs.commit();
  std::cout << render_comparison_text(c, predicted);
  return 0;
}

}  // namespace

int run_compare(int argc, char** argv) {
  CompareOptions o;
  po::options_description desc("ppsim compare predicted.json measured.json [options]\n\noptions");
  desc.add_options()
      ("help,h", "show this help")
      ("json", po::value(&o.json)->value_name("PATH"), "write the comparison as JSON")
      ("trace", po::value(&o.trace)->value_name("PATH"), "write one Perfetto trace with both timelines");
  po::options_description hidden;
  hidden.add_options()("predicted", po::value(&o.predicted))("measured", po::value(&o.measured));
  po::positional_options_description pos;
  pos.add("predicted", 1).add("measured", 1);
  po::variables_map vm;
  auto check = [&](const po::variables_map&) {
    if (o.predicted.empty() || o.measured.empty()) throw po::error("two reports are required: predicted.json measured.json");
  };
  if (auto stop = parse_command_line("compare", argc, argv, desc, hidden, pos, vm, check)) return *stop;
  return run_reporting_errors("compare", [&] { return compare(o); });
}

}  // namespace ppsim::cli
