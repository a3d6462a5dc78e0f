#include "measure/measure_session.h"

#include <cstdlib>
#include <memory>

#include "base/error.h"
#include "base/system_memory.h"
#include "calibrate/layer_footprint.h"
#include "schedules/in_flight.h"
#include "sim/size_estimate.h"
#include "calibrate/calibration.h"
#include "measure/cpu/cpu_pipeline_runner.h"
#include "measure/cpu/interleaved_calibration.h"
#include "measure/cuda/gpu_pipeline_runner.h"
#include "models/model_loader.h"
#include "sim/dag.h"

namespace ppsim {
namespace {

void say(const MeasureRequest& r, const std::string& line) {
  if (r.log) r.log(line);
}

// Checks what the config and the device choice demand of each other, before anything runs.
void check_request(const MeasureRequest& r) {
  const SimulationConfig& c = r.config;
  if (!c.model)
    throw InputError(c.source + ": ppsim measure runs the model's real layers, so the config needs 'model:' "
                     "(with micro_batch_size, sequence_length, ...) instead of explicit 'times:'");
  if (r.run.device != "cpu" && r.run.device != "cuda")
    throw InputError("--device: must be cpu or cuda (got '" + r.run.device + "')");
  // The prediction needs per-op costs measured on the same kind of GPU; measure calibrates in
  // process only on the CPU.
  if (r.run.device == "cuda" && r.compare && c.model->profile.empty())
    throw InputError("ppsim measure --device cuda --compare: " + c.source +
                     " needs 'profile:' naming a profile from `ppsim calibrate --device cuda` (measure calibrates "
                     "in-process only on the CPU); or drop --compare");
}

// Refuses, before allocating, a run whose DAG or whose CPU layers (every stage's weights and
// gradients, and the stashes of its micro-batches in flight) would not fit in host memory. The GPU
// runner checks each GPU's free memory itself.
void check_run_fits(const MeasureRequest& r, const Schedule& schedule, const ModelCosts& mc) {
  const SimulationConfig& c = r.config;
  const std::int64_t budget = memory_budget(r.run.max_memory_bytes);
  check_fits(estimate_simulation_size(c.schedule, c.ranks, c.microbatches, c.chunks), budget,
             c.source + ": schedule " + c.schedule + " with P = " + std::to_string(c.ranks) + ", M = " +
                 std::to_string(c.microbatches) + ", V = " + std::to_string(c.chunks),
             "--max-memory");
  if (r.run.device != "cpu" || r.run.virtual_clock) return;
  const std::int64_t tokens = static_cast<std::int64_t>(c.model->micro_batch_size) * c.model->sequence_length;
  const std::vector<int> in_flight = peak_in_flight_by_stage(schedule);
  const Partition& part = mc.partition;
  std::int64_t need = 0;
  for (int s = 0; s < schedule.stages(); ++s) {
    LayerFootprint stage = block_footprint(mc.model, tokens, 4);
    stage.weights *= part.layers_per_stage[s], stage.gradients *= part.layers_per_stage[s], stage.stash *= part.layers_per_stage[s];
    for (const LayerFootprint& f : {s == part.embedding_stage ? embedding_footprint(mc.model, tokens, 4) : LayerFootprint{},
                                    s == part.head() ? head_footprint(mc.model, tokens, 4) : LayerFootprint{}}) {
      stage.weights += f.weights, stage.gradients += f.gradients, stage.stash += f.stash;
    }
    need += stage.per_microbatch_total(in_flight[s]);
  }
  if (budget > 0 && need > budget)
    throw TooLargeError(c.source + ": running model '" + mc.model.name + "' on the CPU holds every stage's layers, their "
                        "gradients and the activations of the micro-batches in flight: about " + format_bytes(need) +
                        ", but " + format_bytes(budget) + " of host memory is available; use a smaller model, "
                        "micro_batch_size or sequence_length, or raise the limit with --max-memory");
}

std::string device_words(const ModelCosts& mc, const std::string& profile) {
  return "profile " + profile + " (" + mc.profile_device_kind + ", one device)";
}

}  // namespace

MeasureOutcome run_measure(const MeasureRequest& request) {
  check_request(request);
  const MeasureOptions& o = request.run;
  MeasureOutcome out;
  out.config = request.config;
  const SimulationConfig& config = out.config;
  const ModelConfig& model = *config.model;
  out.schedule = layout_schedule(config);  // zb-auto: its order is searched once costs are known
  const Schedule& schedule = out.schedule;

  // Without a profile, compare calibrates the same layers here: each rank's core, all at once, in
  // rounds interleaved with the measured iterations, so that prediction and measurement see the
  // same cores in the same state (see measure/cpu/rank_calibration.h).
  const bool calibrate_here = request.compare && model.profile.empty() && !o.virtual_clock;
  std::optional<cpu::InterleavedCalibration> calibration;
  if (calibrate_here) {
    CalibrationOptions cal;
    cal.model = load_model(model.model);
    cal.micro_batch_size = model.micro_batch_size;
    cal.sequence_length = model.sequence_length;
    cal.dtype = model.dtype;
    cal.repeats = request.calibration_repeats;
    cal.threads = 1;
    say(request, "ppsim measure: no 'profile:' in " + config.source +
                     "; calibrating the layers on every rank's core, one round before each measured iteration");
    calibration.emplace(cal, config.ranks);
  }
  // One cost model per rank when calibrating here (each from its own core's profile); the
  // prediction keeps the partition the run used, even if more calibration would move `auto`.
  auto costs_by_rank = [&](const std::optional<Partition>& partition) {
    std::vector<ModelCosts> by_rank;
    if (!calibration) {
      by_rank.push_back(build_model_costs(model, schedule, {nullptr, "", partition}));
      return by_rank;
    }
    for (auto& profile : calibration->profiles())
      by_rank.push_back(build_model_costs(model, schedule, {profile, "measured just now", partition}));
    return by_rank;
  };
  std::vector<ModelCosts> by_rank = costs_by_rank(std::nullopt);
  out.costs = by_rank.front();
  const ModelCosts& mc = out.costs;
  if (config.schedule == "zb-auto") {
    const OpCosts costs = mc.op_costs();
    out.schedule = make_schedule(config, &costs, &out.search);
  }
  if (!mc.profile_device_kind.empty() && mc.profile_device_kind != o.device)
    throw InputError(config.source + ": profile: was measured on a " + mc.profile_device_kind +
                     " device but this run uses --device " + o.device + " (calibrate on the same kind of device)");
  place_memory(mc, schedule.rank_of_stage, config.source);
  check_run_fits(request, schedule, mc);
  // The op table (and so the DAG) does not depend on op times: the measured run uses this one.
  const Dag dag = build_dag(schedule, mc.op_costs());
  check_acyclic(dag);
  const Partition ran = mc.partition;

  if (o.device == "cuda") {
    // The attention kernel the profile's blocks ran is the one to measure (unless --attention says).
    MeasureOptions run_options = o;
    const bool from_profile = request.compare && o.attention == "auto" && !mc.profile_attention.empty();
    if (from_profile) run_options.attention = mc.profile_attention;
    std::unique_ptr<gpu::GpuPipeline> made;
    try {
      made = std::make_unique<gpu::GpuPipeline>(schedule, dag, mc.model, ran, model.micro_batch_size,
                                                model.sequence_length, run_options);
    } catch (const InputError& e) {
      if (!from_profile || std::string(e.what()).find("--attention") == std::string::npos) throw;
      throw InputError(config.source + ": profile: timed its blocks with the " + mc.profile_attention +
                       " attention kernel, which cannot run here (" + e.what() +
                       "); calibrate and measure with --attention own instead");
    }
    gpu::GpuPipeline& pipeline = *made;
    if (request.compare && !mc.profile_attention.empty() && mc.profile_attention != pipeline.attention())
      throw InputError(config.source + ": profile: timed its blocks with the " + mc.profile_attention +
                       " attention kernel but this run uses " + pipeline.attention() +
                       " (pass --attention " + mc.profile_attention + ", or calibrate with --attention " +
                       pipeline.attention() + ")");
    // The prediction is only fair with layer times measured on the SMs a rank runs on.
    if (request.compare && mc.profile_sms != pipeline.sms_per_rank())
      throw InputError(
          config.source + ": profile: ran its layers on " +
          (mc.profile_sms > 0 ? std::to_string(mc.profile_sms) + " SMs" : std::string("a whole GPU")) +
          " but each rank of this run has " +
          (pipeline.sms_per_rank() > 0 ? std::to_string(pipeline.sms_per_rank()) + " SMs" : std::string("a whole GPU")) +
          (pipeline.sms_per_rank() > 0 ? " (calibrate with `ppsim calibrate --device cuda --sms " +
                                             std::to_string(pipeline.sms_per_rank()) + "`)"
                                       : " (calibrate without --sms)"));
    say(request, "ppsim measure: " + std::to_string(o.warmup) + " warm-up + " + std::to_string(o.iterations) +
                     " timed iterations on " +
                     (o.share_gpu ? "one GPU shared by " + std::to_string(config.ranks) + " ranks (" +
                                        std::to_string(pipeline.sms_per_rank()) + " SMs each)"
                                  : std::to_string(config.ranks) + " GPUs"));
    out.run = pipeline.run(o);
  } else {
    cpu::CpuPipeline pipeline(schedule, dag, mc.model, ran, model.micro_batch_size, model.sequence_length, o.seed);
    say(request, "ppsim measure: " + std::to_string(o.warmup) + " warm-up + " + std::to_string(o.iterations) +
                     " timed iterations on the CPU");
    std::function<void(int)> between;
    if (calibration)
      between = [&](int i) {
        if (i > 0) calibration->round();
      };
    out.run = pipeline.run(o, between);
  }
  if (calibration) {
    by_rank = costs_by_rank(ran);
    out.costs = by_rank.front();
  }
  const MetricsOptions mopts = metrics_options(out.costs);
  out.measured = compute_metrics(out.run.timeline, mopts);

  out.measured_info = describe_run(config, schedule, "a measured run (" + out.run.notes + ")");
  out.measured_info.notes = out.costs.notes;
  if (!out.search.note.empty()) out.measured_info.notes.push_back(out.search.note);
  std::string iters = "iteration makespans:";
  for (std::size_t i = 0; i < out.run.iteration_makespans.size(); ++i)
    iters += std::string(" ") + (i == out.run.reported_iteration ? "[" : "") +
             format_duration(out.run.iteration_makespans[i]) + (i == out.run.reported_iteration ? "]" : "");
  out.measured_info.notes.push_back(iters + " (the median, bracketed, is reported)");

  if (request.compare) {
    const OpCosts predicted_costs = per_rank_op_costs(by_rank, schedule.rank_of_stage);
    out.predicted = run_simulation(schedule, predicted_costs, mopts);
    out.comparison = compare_timelines(out.predicted->timeline, out.predicted->metrics, out.run.timeline, out.measured);
    out.predicted_info = describe_run(config, schedule, "the cost model (calibration profile)");
    for (int r = 0; r < schedule.ranks; ++r) {
      if (calibration)
        out.timings_by_rank.push_back("rank " + std::to_string(r) + "'s own core, calibrated between the measured iterations");
      else if (!model.profile.empty())
        out.timings_by_rank.push_back(device_words(out.costs, model.profile) + ": every rank's op times");
      else
        out.timings_by_rank.push_back("the analytic cost model (" + out.costs.hardware.name + ")");
    }
  }
  return out;
}

}  // namespace ppsim
