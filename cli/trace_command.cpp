// `ppsim trace DIR_OR_FILES...`: flags, then the trace import (measure/trace/trace_session.h) and
// its reports.
#include <boost/program_options.hpp>
#include <iostream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "base/error.h"
#include "measure/trace/trace_report.h"
#include "measure/trace/trace_session.h"
#include "models/profile.h"
#include "sim/report/output_files.h"

namespace ppsim::cli {
namespace {

struct TraceCommandOptions {
  std::vector<std::string> inputs;
  std::string schedule_yaml, json, trace, svg, profile_out, patterns;
  std::int64_t step = -1;
  bool quiet = false;
};

int trace_command(const TraceCommandOptions& o) {
  trace::TraceRequest r;
  r.inputs = o.inputs;
  if (!o.schedule_yaml.empty()) {
    r.config = load_config(o.schedule_yaml);
    r.config_path = o.schedule_yaml;
  }
  r.patterns_path = o.patterns;
  if (o.step >= 0) r.step = o.step;
  r.want_profile = !o.profile_out.empty();
  if (!o.quiet) r.log = [](const std::string& line) { std::cerr << line << "\n"; };
  const trace::TraceOutcome outcome = trace::run_trace(r);
  const bool need_ops = !o.trace.empty() || !o.svg.empty() || !o.profile_out.empty();
  if (need_ops && !outcome.run)
    throw InputError(std::string(!o.trace.empty() ? "--trace" : !o.svg.empty() ? "--svg" : "--profile-out") +
                     " needs the pipeline ops, and no annotation in these traces names one (see docs/traces.md; "
                     "--patterns for your own names)");
  // Everything is rendered before anything is written: no partial outputs on failure.
  PendingOutputs outputs;
  if (!o.json.empty()) outputs.add(o.json, trace::render_trace_json(outcome));
  if (!o.trace.empty()) outputs.add(o.trace, trace::render_trace_perfetto(outcome));
  if (!o.svg.empty()) outputs.add(o.svg, trace::render_trace_svg(outcome));
  if (!o.profile_out.empty()) outputs.add(o.profile_out, profile_to_yaml(*outcome.profile));
  std::string text = trace::render_trace_text(outcome);
  if (!o.profile_out.empty())
    text += "\nprofile written to " + o.profile_out + ": use it as 'profile:' in a schedule YAML with the same model to "
            "simulate this job under another schedule, M or partition\n";
  outputs.commit();
  std::cout << text;
  return 0;
}

}  // namespace

int run_trace(int argc, char** argv) {
  TraceCommandOptions o;
  po::options_description desc(
      "ppsim trace DIR_OR_FILES... [options]\n\nReads Kineto / torch.profiler traces (JSON or .json.gz, one per rank; a "
      "directory means every trace in it), reports each GPU's busy and idle time and why it idled, and where the "
      "annotations name the pipeline ops, the traced run with the same metrics as ppsim simulate, its reproduction "
      "from its own op times, and a profile for what-if simulations (docs/traces.md).\n\noptions");
  desc.add_options()
      ("help,h", "show this help")
      ("schedule-yaml", po::value(&o.schedule_yaml)->value_name("PATH"), "the schedule that ran (schedule, stages, "
       "microbatches, chunks; with model: for --profile-out)")
      ("json", po::value(&o.json)->value_name("PATH"), "write the report as JSON (the traced run with every op's times)")
      ("trace", po::value(&o.trace)->value_name("PATH"), "write a Perfetto trace of the traced and the reproduced timeline")
      ("svg", po::value(&o.svg)->value_name("PATH"), "write a picture of the traced timeline (SVG)")
      ("profile-out", po::value(&o.profile_out)->value_name("PATH"), "write the measured per-stage op times as a ppsim "
       "profile (needs --schedule-yaml with model:)")
      ("patterns", po::value(&o.patterns)->value_name("PATH"), "a YAML mapping of regular expression to op kind for "
       "your own annotation names (tried before the shipped ones)")
      ("step", po::value(&o.step)->value_name("N"), "analyse ProfilerStep#N (default: the last step every trace has)")
      ("quiet,q", po::bool_switch(&o.quiet), "no progress lines on stderr");
  po::options_description hidden;
  hidden.add_options()("inputs", po::value(&o.inputs)->multitoken());
  po::positional_options_description pos;
  pos.add("inputs", -1);
  po::variables_map vm;
  auto check = [&](const po::variables_map& v) {
    if (o.inputs.empty()) throw po::error("at least one trace file or directory is required");
    if (v.count("step") && o.step < 0) throw po::error("--step must be a ProfilerStep number (0 or more)");
  };
  if (auto stop = parse_command_line("trace", argc, argv, desc, hidden, pos, vm, check)) return *stop;
  return run_reporting_errors("trace", [&] { return trace_command(o); });
}

}  // namespace ppsim::cli
