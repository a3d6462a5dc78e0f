// `ppsim measure schedule.yaml`: flags, then the measurement layer (measure/measure_session.h) and
// its reports.
#include <boost/program_options.hpp>
#include <cstdlib>
#include <iostream>

#include "base/time.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "measure/measure_report.h"
#include "measure/measure_session.h"
#include "sim/report/output_files.h"

namespace ppsim::cli {
namespace {

struct MeasureCommandOptions {
  std::string config;
  std::string json, trace;
  MeasureRequest request;
  std::string gpus;
  std::string max_memory;
};

int measure(MeasureCommandOptions& o) {
  MeasureRequest& r = o.request;
  r.config = load_config(o.config);
  r.log = [](const std::string& line) { std::cerr << line << "\n"; };
  // Ranks sharing a GPU run concurrent streams: give them their own hardware queues (read when the
  // CUDA context is created; a value the user set wins).
  if (r.run.device == "cuda" && r.run.share_gpu) ::setenv("CUDA_DEVICE_MAX_CONNECTIONS", "32", 0);
  const MeasureOutcome outcome = run_measure(r);
  // Everything is rendered before anything is written: no partial outputs on failure.
  const std::string text = render_measure_text(outcome);
  PendingOutputs outputs;
  if (!o.json.empty()) outputs.add(o.json, render_measure_json(outcome));
  if (!o.trace.empty()) outputs.add(o.trace, render_measure_trace(outcome));
  outputs.commit();
  std::cout << text;
  return 0;
}

}  // namespace

int run_measure(int argc, char** argv) {
  MeasureCommandOptions o;
  MeasureOptions& run = o.request.run;
  po::options_description desc(
      "ppsim measure schedule.yaml [options]\n\nRuns the schedule for real (one worker per rank, the calibration "
      "kernels on real tensors) and reports the measured timeline with the same metrics as ppsim simulate.\n\noptions");
  desc.add_options()
      ("help,h", "show this help")
      ("device", po::value(&run.device)->value_name("cpu|cuda"), "where to run (default cpu)")
      ("json", po::value(&o.json)->value_name("PATH"), "write the measured report (with every op's times) as JSON")
      ("trace", po::value(&o.trace)->value_name("PATH"), "write a Perfetto trace (with --compare: both timelines)")
      ("compare", po::bool_switch(&o.request.compare), "also simulate from the calibration profile and compare")
      ("iterations", po::value(&run.iterations)->value_name("N"), "timed iterations (default 5; the median is reported)")
      ("warmup", po::value(&run.warmup)->value_name("N"), "untimed iterations first (default 1)")
      ("queue-depth", po::value(&run.queue_depth)->value_name("N"), "tensors a rank's inbox holds before senders wait (default 0: as the schedule needs)")
      ("no-pin", "do not pin worker threads to cores")
      ("virtual-clock", po::bool_switch(&run.virtual_clock), "--device cpu: run the workers and their messages but not the layers; "
       "each op takes its predicted time on a virtual clock (checks the runner against the simulator, deterministically)")
      ("timeout", po::value(&run.timeout_s)->value_name("SECONDS"), "a rank that waits longer than this for one op stops "
       "the run with exit code 5, naming the rank and the op (default 600)")
      ("max-memory", po::value(&o.max_memory)->value_name("BYTES"), "refuse a run estimated to need more memory than "
       "this, e.g. 16GiB (default: 90 % of the host's available memory; on GPUs, each one's free memory)")
      ("gpus", po::value(&o.gpus)->value_name("LIST"), "--device cuda: GPUs for ranks 0, 1, ... (default 0,1,...)")
      ("share-gpu", po::bool_switch(&run.share_gpu), "--device cuda: run every rank on one GPU (the one --gpus names, "
       "default 0), each on an equal partition of its SMs (green contexts), device-local copies as transfers")
      ("attention", po::value(&run.attention)->value_name("cudnn|own"), "--device cuda: the blocks' fused attention, "
       "cuDNN's or the in-house kernel (default: with --compare the one the profile's calibration ran, else cuDNN "
       "where it is installed and supports the shape)")
      ("calibration-repeats", po::value(&o.request.calibration_repeats)->value_name("K"), "repeats when --compare calibrates first (default 10)");
  po::options_description hidden;
  hidden.add_options()
      ("config", po::value(&o.config))
      ("debug-stall-rank", po::value(&run.stall_rank), "tests: this rank never sends");
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  auto check = [&](const po::variables_map& v) {
    if (v.count("no-pin")) run.pin_threads = false;
    if (o.config.empty()) throw po::error("a schedule.yaml is required");
    if (run.iterations < 1 || run.warmup < 0 || run.queue_depth < 0 || o.request.calibration_repeats < 1)
      throw po::error("--iterations and --calibration-repeats must be >= 1, --warmup and --queue-depth >= 0");
    if (!(run.timeout_s > 0)) throw po::error("--timeout must be a positive number of seconds");
    if (!o.gpus.empty()) run.gpus = parse_gpu_list(o.gpus);
    if (!o.max_memory.empty()) {
      try {
        run.max_memory_bytes = parse_bytes(o.max_memory, "--max-memory");
      } catch (const std::exception& e) {
        throw po::error(e.what());
      }
    }
    if (!o.gpus.empty() && run.device != "cuda") throw po::error("--gpus: only with --device cuda");
    if (run.share_gpu && run.device != "cuda") throw po::error("--share-gpu: only with --device cuda");
    if (run.virtual_clock && run.device != "cpu") throw po::error("--virtual-clock: only with --device cpu");
    if (run.attention != "auto" && run.attention != "cudnn" && run.attention != "own")
      throw po::error("--attention: '" + run.attention + "' (expected cudnn or own)");
    if (run.attention != "auto" && run.device != "cuda") throw po::error("--attention: only with --device cuda");
  };
  if (auto stop = parse_command_line("measure", argc, argv, desc, hidden, pos, vm, check)) return *stop;
  return run_reporting_errors("measure", [&] { return measure(o); });
}

}  // namespace ppsim::cli
