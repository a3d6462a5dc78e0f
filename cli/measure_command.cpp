// `ppsim measure schedule.yaml`: run the schedule for real on the calibration kernels, report the
// measured timeline with the simulator's own metrics, and (--compare) set it beside the prediction.
#include <boost/program_options.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "calibrate/backends.h"
#include "calibrate/cpu/cpu_calibrator.h"
#include "measure/cuda/gpu_pipeline_runner.h"
#include "measure/cpu/cpu_pipeline_runner.h"
#include "measure/cpu/interleaved_calibration.h"
#include "models/model_loader.h"
#include "cli/command_line.h"
#include "cli/commands.h"
#include "measure/comparison.h"
#include "sim/config/config.h"
#include "sim/dag.h"
#include "base/error.h"
#include "measure/comparison_report.h"
#include "sim/report/json_report.h"
#include "sim/report/output_files.h"
#include "sim/report/text_report.h"
#include "sim/report/timeline_json.h"
#include "sim/report/trace_report.h"
#include "sim/simulation.h"

namespace ppsim::cli {
namespace {

struct MeasureCommandOptions {
  std::string config;
  std::string device = "cpu";
  std::string json, trace;
  bool compare = false;
  cpu::MeasureOptions run;
  int calibration_repeats = 10;
  std::string gpus;  // --device cuda: "0,1,..." (rank r on the r-th); empty = 0 .. P-1
  bool share_gpu = false;  // --device cuda: every rank on one GPU, each on its own SMs
};

std::vector<int> parse_gpu_list(const std::string& text) {
  std::vector<int> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    try {
      std::size_t used = 0;
      out.push_back(std::stoi(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw InputError("--gpus: '" + item + "' is not a GPU number (expected e.g. --gpus 0,1,2,3)");
    }
    pos = comma + 1;
  }
  return out;
}


int measure(MeasureCommandOptions& o) {
  SimulationConfig config = load_config(o.config);
  if (!config.model)
    throw InputError(config.source + ": ppsim measure runs the model's real layers, so the config needs 'model:' "
                     "(with micro_batch_size, sequence_length, ...) instead of explicit 'times:'");
  if (o.device == "cuda") {
    // Ranks sharing a GPU run concurrent streams: give them their own hardware queues (read when
    // the CUDA context is created; a value the user set wins).
    if (o.share_gpu) ::setenv("CUDA_DEVICE_MAX_CONNECTIONS", "32", 0);
    std::string why;
    const int gpus = visible_gpu_count(why);
    if (!o.share_gpu && gpus < config.stages)
      throw InputError("ppsim measure --device cuda: the schedule needs " + std::to_string(config.stages) +
                       " GPUs (one per rank) but " + std::to_string(gpus) + " are visible" +
                       (why.empty() ? "" : " (" + why + ")") +
                       (gpus > 0 ? "; or add --share-gpu to run every rank on its own SMs of one GPU" : ""));
    if (o.share_gpu && gpus < 1)
      throw InputError("ppsim measure --device cuda --share-gpu: no GPU visible" + (why.empty() ? "" : " (" + why + ")"));
    // The prediction needs per-op costs measured on the same kind of GPU; measure does not
    // calibrate on the GPU itself.
    if (o.compare && config.model->profile.empty())
      throw InputError("ppsim measure --device cuda --compare: " + config.source +
                       " needs 'profile:' naming a profile from `ppsim calibrate --device cuda` (measure calibrates "
                       "in-process only on the CPU); or drop --compare");
  } else if (o.device != "cpu") {
    throw InputError("--device: must be cpu or cuda (got '" + o.device + "')");
  }
  if (!o.gpus.empty() && o.device != "cuda") throw InputError("--gpus: only with --device cuda");
  if (o.share_gpu && o.device != "cuda") throw InputError("--share-gpu: only with --device cuda");

  const Schedule schedule = make_schedule(config);
  // Without a profile, --compare calibrates the same layers here: each rank's core, all at once,
  // in rounds interleaved with the measured iterations, so that prediction and measurement see
  // the same cores in the same state (see calibrate/measure/rank_calibration.h).
  const bool calibrate_here = o.compare && config.model->profile.empty() && !o.run.virtual_clock;
  std::optional<cpu::InterleavedCalibration> calibration;
  if (calibrate_here) {
    CalibrationOptions cal;
    cal.model = load_model(config.model->model);
    cal.micro_batch_size = config.model->micro_batch_size;
    cal.sequence_length = config.model->sequence_length;
    cal.dtype = config.model->dtype;
    cal.repeats = o.calibration_repeats;
    cal.threads = 1;
    std::cerr << "ppsim measure: no 'profile:' in " << config.source
              << "; calibrating the layers on every rank's core, one round before each measured iteration\n";
    calibration.emplace(cal, config.stages);
  }
  // One cost model per rank when calibrating here (each from its own core's profile).
  auto costs_by_rank = [&]() {
    std::vector<ModelCosts> by_rank;
    if (!calibration) {
      by_rank.push_back(build_model_costs(*config.model, config.stages, config.chunks));
      return by_rank;
    }
    for (auto& profile : calibration->profiles()) {
      config.model->loaded_profile = profile;
      by_rank.push_back(build_model_costs(*config.model, config.stages, config.chunks));
    }
    return by_rank;
  };
  std::vector<ModelCosts> by_rank = costs_by_rank();
  ModelCosts mc = by_rank.front();
  if (!mc.profile_device_kind.empty() && mc.profile_device_kind != o.device)
    throw InputError(config.source + ": profile: was measured on a " + mc.profile_device_kind +
                     " device but this run uses --device " + o.device + " (calibrate on the same kind of device)");
  place_memory(mc, schedule.rank_of_stage, config.source);
  // The op table (and so the DAG) does not depend on op times: the measured run uses this one.
  const Dag dag = build_dag(schedule, mc.op_costs());
  check_acyclic(dag);

  // The prediction must use the partition that ran, even if more calibration would move `auto`.
  config.model->partition_auto = false;
  config.model->partition = mc.partition.layers_per_stage;
  config.model->embedding_stage = mc.partition.embedding_stage;
  config.model->head_stage = mc.partition.head_stage;
  cpu::MeasuredRun run;
  if (o.device == "cuda") {
    gpu::GpuMeasureOptions g;
    g.iterations = o.run.iterations;
    g.warmup = o.run.warmup;
    g.seed = o.run.seed;
    g.gpus = parse_gpu_list(o.gpus);
    gpu::GpuMeasuredRun gr;
    try {
      gpu::GpuPipeline pipeline(schedule, dag, mc.model, mc.partition, config.model->micro_batch_size,
                                config.model->sequence_length, g.seed, g.gpus, o.share_gpu);
      // The prediction is only fair with layer times measured on the SMs a rank runs on.
      if (o.compare && mc.profile_sms != pipeline.sms_per_rank())
        throw InputError(
            config.source + ": profile: ran its layers on " +
            (mc.profile_sms > 0 ? std::to_string(mc.profile_sms) + " SMs" : std::string("a whole GPU")) +
            " but each rank of this run has " +
            (pipeline.sms_per_rank() > 0 ? std::to_string(pipeline.sms_per_rank()) + " SMs" : std::string("a whole GPU")) +
            (pipeline.sms_per_rank() > 0 ? " (calibrate with `ppsim calibrate --device cuda --sms " +
                                               std::to_string(pipeline.sms_per_rank()) + "`)"
                                         : " (calibrate without --sms)"));
      std::cerr << "ppsim measure: " << g.warmup << " warm-up + " << g.iterations << " timed iterations on "
                << (o.share_gpu ? "one GPU shared by " + std::to_string(config.stages) + " ranks (" +
                                      std::to_string(pipeline.sms_per_rank()) + " SMs each)"
                                : std::to_string(config.stages) + " GPUs")
                << "\n";
      gr = pipeline.run(g);
    } catch (const InputError&) {
      throw;
    } catch (const std::runtime_error& e) {  // CUDA / NCCL failures (cuda::CudaError), timeouts
      throw InputError(std::string("ppsim measure --device cuda: the GPU run failed: ") + e.what());
    }
    run.timeline = std::move(gr.timeline);
    run.iteration_makespans = std::move(gr.iteration_makespans);
    run.reported_iteration = gr.reported_iteration;
    run.notes = std::move(gr.notes);
  } else {
    cpu::CpuPipeline pipeline(schedule, dag, mc.model, mc.partition, config.model->micro_batch_size,
                              config.model->sequence_length, o.run.seed);
    std::cerr << "ppsim measure: " << o.run.warmup << " warm-up + " << o.run.iterations
              << " timed iterations on the CPU\n";
    std::function<void(int)> between;
    if (calibration)
      between = [&](int i) {
        if (i > 0) calibration->round();
      };
    run = pipeline.run(o.run, between);
  }
  if (calibration) {
    by_rank = costs_by_rank();
    mc = by_rank.front();
  }
  const OpCosts predicted_costs = per_rank_op_costs(by_rank, schedule.rank_of_stage);
  const MetricsOptions mopts = metrics_options(mc);
  const Metrics measured = compute_metrics(run.timeline, mopts);

  RunInfo info = describe_run(config, schedule, "a measured run (" + run.notes + ")");
  info.notes = mc.notes;
  std::string iters = "iteration makespans:";
  for (std::size_t i = 0; i < run.iteration_makespans.size(); ++i)
    iters += std::string(" ") + (i == run.reported_iteration ? "[" : "") + format_duration(run.iteration_makespans[i]) +
             (i == run.reported_iteration ? "]" : "");
  info.notes.push_back(iters + " (the median, bracketed, is reported)");
  std::string text = render_text_report(info, run.timeline, measured);

  std::string json;
  JsonWriter w(json);
  w.begin_object();
  std::vector<TraceTimeline> traces;
  std::optional<SimulationResult> predicted;
  if (o.compare) {
    predicted = run_simulation(schedule, predicted_costs, mopts);
    const Comparison c = compare_timelines(predicted->timeline, predicted->metrics, run.timeline, measured);
    text += "\n" + render_comparison_text(c, predicted->timeline);
    write_comparison_fields(w, c);
    traces.push_back({&predicted->timeline, "predicted"});
  }
  traces.push_back({&run.timeline, "measured"});
  w.key("measured").begin_object();
  write_json_report_fields(w, info, run.timeline, measured);
  w.key("iteration_makespans_ns").begin_array();
  for (TimeNs t : run.iteration_makespans) w.value(t);
  w.end_array();
  write_timeline_fields(w, run.timeline);
  w.end_object();
  if (predicted) {
    w.key("predicted").begin_object();
    write_json_report_fields(w, describe_run(config, schedule, "the cost model (calibration profile)"), predicted->timeline,
                             predicted->metrics);
    write_timeline_fields(w, predicted->timeline);
    w.end_object();
  }
  w.end_object();
  json += "\n";

  PendingOutputs outputs;
  if (!o.json.empty()) outputs.add(o.json, json);
  if (!o.trace.empty()) outputs.add(o.trace, render_trace(traces));
  outputs.commit();
  std::cout << text;
  return 0;
}

}  // namespace

int run_measure(int argc, char** argv) {
  MeasureCommandOptions o;
  po::options_description desc(
      "ppsim measure schedule.yaml [options]\n\nRuns the schedule for real (one worker per rank, the calibration "
      "kernels on real tensors) and reports the measured timeline with the same metrics as ppsim simulate.\n\noptions");
  desc.add_options()
      ("help,h", "show this help")
      ("device", po::value(&o.device)->value_name("cpu|cuda"), "where to run (default cpu)")
      ("json", po::value(&o.json)->value_name("PATH"), "write the measured report (with every op's times) as JSON")
      ("trace", po::value(&o.trace)->value_name("PATH"), "write a Perfetto trace (with --compare: both timelines)")
      ("compare", po::bool_switch(&o.compare), "also simulate from the calibration profile and compare")
      ("iterations", po::value(&o.run.iterations)->value_name("N"), "timed iterations (default 5; the median is reported)")
      ("warmup", po::value(&o.run.warmup)->value_name("N"), "untimed iterations first (default 1)")
      ("queue-depth", po::value(&o.run.queue_depth)->value_name("N"), "tensors a rank's inbox holds before senders wait (default 0: as the schedule needs)")
      ("no-pin", "do not pin worker threads to cores")
      ("virtual-clock", po::bool_switch(&o.run.virtual_clock), "--device cpu: run the workers and their messages but not the layers; "
       "each op takes its predicted time on a virtual clock (checks the runner against the simulator, deterministically)")
      ("gpus", po::value(&o.gpus)->value_name("LIST"), "--device cuda: GPUs for ranks 0, 1, ... (default 0,1,...)")
      ("share-gpu", po::bool_switch(&o.share_gpu), "--device cuda: run every rank on one GPU (the one --gpus names, "
       "default 0), each on an equal partition of its SMs (green contexts), device-local copies as transfers")
      ("calibration-repeats", po::value(&o.calibration_repeats)->value_name("K"), "repeats when --compare calibrates first (default 10)");
  po::options_description hidden;
  hidden.add_options()("config", po::value(&o.config));
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  auto check = [&](const po::variables_map& v) {
    if (v.count("no-pin")) o.run.pin_threads = false;
    if (o.config.empty()) throw po::error("a schedule.yaml is required");
    if (o.run.iterations < 1 || o.run.warmup < 0 || o.run.queue_depth < 0 || o.calibration_repeats < 1)
      throw po::error("--iterations and --calibration-repeats must be >= 1, --warmup and --queue-depth >= 0");
  };
  if (auto stop = parse_command_line("measure", argc, argv, desc, hidden, pos, vm, check)) return *stop;
  return run_reporting_errors("measure", [&] { return measure(o); });
}

}  // namespace ppsim::cli
