// Model-driven simulations (issue 3): the shipped examples run, their model figures agree with
// independent computations, and bad model input is a clear error.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "sim/config/config.h"
#include "base/error.h"
#include "sim/longest_path.h"
#include "sim/simulation.h"
#include "models/profile.h"
#include <cstdlib>
#include <unistd.h>

namespace ppsim {
namespace {

namespace fs = std::filesystem;
const std::string kSource = PPSIM_SOURCE_DIR;

void check_model_run(const SimulationConfig& c, const std::string& what) {
  const SimulationResult r = run_simulation(c);
  ASSERT_TRUE(r.model_metrics && r.model_costs) << what;
  const ModelMetrics& mm = *r.model_metrics;
  const ModelCosts& mc = *r.model_costs;
  // Throughput figures cover one training step of all t x P x d GPUs.
  const Parallelism& par = c.model->parallel;
  const double T = static_cast<double>(r.metrics.iteration_ns) * 1e-9;
  const double samples = static_cast<double>(c.microbatches) * c.model->micro_batch_size * par.data;
  const double capacity = par.tensor * c.ranks * par.data * mc.hardware.peak_flops(c.model->dtype) * T;
  EXPECT_EQ(mm.gpus, par.tensor * c.ranks * par.data) << what;
  EXPECT_DOUBLE_EQ(mm.samples_per_s, samples / T) << what;
  EXPECT_DOUBLE_EQ(mm.tokens_per_s, samples * c.model->sequence_length / T) << what;
  EXPECT_NEAR(mm.mfu, mc.table.model_flops_per_microbatch * c.microbatches * par.data / capacity, 1e-12) << what;
  EXPECT_NEAR(mm.hfu, mc.table.hardware_flops_per_microbatch * c.microbatches * par.data / capacity, 1e-12) << what;
  EXPECT_GT(mm.mfu, 0.0);
  EXPECT_LT(mm.mfu, 1.0);
  EXPECT_GE(mm.hfu, mm.mfu) << what;
  if (c.model->recompute == Recompute::None) {
    EXPECT_DOUBLE_EQ(mm.hfu, mm.mfu) << what;
  }
  // The step: the pipeline, then what of the data-parallel collectives and the optimizer shows.
  ASSERT_TRUE(r.metrics.has_training_step) << what;
  EXPECT_EQ(r.metrics.iteration_ns,
            r.metrics.makespan_ns + r.metrics.exposed_data_parallel_ns + r.metrics.exposed_optimizer_ns) << what;
  EXPECT_GE(r.metrics.exposed_data_parallel_ns, 0) << what;
  EXPECT_GT(r.metrics.exposed_optimizer_ns, 0) << what;  // nothing runs after the last rank's update but its gathers
  for (int rank = 0; rank < c.ranks; ++rank) {
    TimeNs optimizer = 0;
    for (int v = 0; v < r.timeline.table->stages; ++v)
      if (r.timeline.table->rank_of_stage[v] == rank) optimizer += mc.table.stages[v].optimizer;
    EXPECT_EQ(r.metrics.ranks[rank].optimizer_ns, optimizer) << what << " rank " << rank;
    EXPECT_GE(r.metrics.ranks[rank].step_end_ns, r.metrics.ranks[rank].last_end_ns + optimizer) << what;
  }
  // Busy time per rank = M x the sum of its chunks' F+B+W.
  const OpTable& t = *r.timeline.table;
  int layers = 0;
  for (int rank = 0; rank < c.ranks; ++rank) {
    TimeNs per_mb = 0;
    for (int v = 0; v < t.stages; ++v)
      if (t.rank_of_stage[v] == rank) per_mb += mc.table.stages[v].total();
    EXPECT_EQ(r.metrics.ranks[rank].busy_ns, per_mb * c.microbatches) << what << " rank " << rank;
    const RankModelMetrics& rm = mm.ranks[rank];
    layers += rm.layers;
    EXPECT_EQ(rm.peak_memory_bytes, rm.parameter_bytes + rm.gradient_bytes + rm.optimizer_bytes + rm.activation_bytes);
    EXPECT_EQ(rm.fits, rm.peak_memory_bytes <= mm.memory_limit_bytes);
    // Activations at the peak lie between one chunk's bytes and peak-count x the largest chunk's.
    std::int64_t largest = 0;
    for (int v = 0; v < t.stages; ++v)
      if (t.rank_of_stage[v] == rank) largest = std::max(largest, mc.table.stages[v].activation_bytes);
    EXPECT_LE(rm.activation_bytes, largest * r.metrics.ranks[rank].peak_in_flight) << what;
    EXPECT_GT(rm.activation_bytes, 0) << what;
  }
  EXPECT_EQ(layers, mc.model.layers) << what;
  // The engine agrees with the DAG's longest path, training step included, when no link queues.
  std::int64_t queued = 0;
  for (const auto& l : r.metrics.links) queued += l.queued_transfers;
  if (queued == 0) {
    EXPECT_EQ(r.metrics.iteration_ns, dag_longest_path(r.dag)) << what;
  }
}

// Regression figures of every model-driven example (the cost model, partitioner and engine together);
// an example without an entry fails. The consistency checks above hold them to independent sums.
struct ExampleFigures {
  long long makespan_ns, iteration_ns;
  double mfu, hfu;
  bool fits;
};
const std::map<std::string, ExampleFigures> kModelExamples = {
    {"gpt3-175b-1024-a100.yaml", {33605089092, 33762900144, 0.313899, 0.418172, true}},
    {"gpt3-175b-64-stages.yaml", {16507757301, 16533404705, 0.269519, 0.271938, false}},
    {"llama3-70b-16-h100-zb-h1.yaml", {19203089301, 19258764847, 0.386261, 0.395494, false}},
    {"llama3-70b-64-h100.yaml", {11098547310, 11181194864, 0.356506, 0.372409, true}},
    {"llama3-8b-1f1b.yaml", {2471918067, 2486521786, 0.342778, 0.357080, true}},
    {"llama3-8b-8-h100.yaml", {4868746086, 4880605852, 0.392988, 0.422133, true}},
    {"llama3-8b-interleaved.yaml", {2287485907, 2302089626, 0.370240, 0.385687, true}},
    {"llama3-8b-zb-h1.yaml", {2231755210, 2246358929, 0.379425, 0.395256, true}},
    {"measure-gpt3-125m-share-gpu.yaml", {130031383, 130895386, 0.151075, 0.151075, true}},
    {"measure-tiny-1f1b.yaml", {204350, 206952, 0.033430, 0.033430, true}},
};

TEST(ModelRun, EveryModelExampleRunsWithConsistentFigures) {
  int seen = 0;
  for (const auto& e : fs::directory_iterator(kSource + "/examples")) {
    if (e.path().extension() != ".yaml") continue;
    SimulationConfig c = load_config(e.path().string());
    if (!c.model || c.stream) continue;  // streams with model: are checked in tests/stream/
    const std::string name = e.path().filename().string();
    check_model_run(c, name);
    const auto it = kModelExamples.find(name);
    ASSERT_NE(it, kModelExamples.end()) << "examples/" << name << " has no checked figures in model_run_test.cpp";
    const SimulationResult r = run_simulation(c);
    EXPECT_EQ(r.metrics.makespan_ns, it->second.makespan_ns) << name;
    EXPECT_EQ(r.metrics.iteration_ns, it->second.iteration_ns) << name;
    EXPECT_NEAR(r.model_metrics->mfu, it->second.mfu, 1e-6) << name;
    EXPECT_NEAR(r.model_metrics->hfu, it->second.hfu, 1e-6) << name;
    bool fits = true;
    for (const auto& rm : r.model_metrics->ranks) fits = fits && rm.fits;
    EXPECT_EQ(fits, it->second.fits) << name;
    ++seen;
  }
  EXPECT_EQ(seen, static_cast<int>(kModelExamples.size()));
}

TEST(ModelRun, OneFOneBPeakInFlightAndMemoryFromTheModel) {
  SimulationConfig c = parse_config(
      "schedule: 1f1b\nstages: 4\nmicrobatches: 8\nmodel: tiny\nhardware: h100-sxm\nmicro_batch_size: 2\n"
      "sequence_length: 64\npartition: [2, 2, 2, 2]\n",
      "t.yaml", ".");
  const SimulationResult r = run_simulation(c);
  for (int s = 0; s < 4; ++s) {
    EXPECT_EQ(r.metrics.ranks[s].peak_in_flight, 4 - s);
    // One chunk per rank: activations at the peak = peak count x that chunk's bytes, exactly.
    EXPECT_EQ(r.model_metrics->ranks[s].activation_bytes,
              (4 - s) * r.model_costs->table.stages[s].activation_bytes);
    EXPECT_EQ(r.model_metrics->ranks[s].layers, 2);
  }
  check_model_run(c, "tiny 1f1b");
}

// ZeRO over d = 8 replicas of one GPU each (P = 1, where every stage is allowed): the memory of
// the model states follows 2 + 2 + 12 bytes per parameter sharded stage by stage, and the step's
// ops follow the stage: one all-reduce (0), reduce-scatter + all-gather (1), reduce-scatter after
// every backward (2), and gathers before every pass (3).
TEST(ModelRun, ZeroStagesShardMemoryAndShapeTheStep) {
  const std::string base = "schedule: 1f1b\nstages: 1\nmicrobatches: 4\nmodel: gpt3-350m\nhardware: a100-80gb\n"
                           "sequence_length: 1024\ndata_parallel: 8\n";
  std::int64_t params = 0;
  std::map<StepKind, int> counts[4];
  TimeNs first_start[4], gather[4];
  for (int zero = 0; zero <= 3; ++zero) {
    const SimulationResult r = run_simulation(parse_config(base + "zero: " + std::to_string(zero) + "\n", "z.yaml", "."));
    const RankModelMetrics& rm = r.model_metrics->ranks[0];
    if (zero == 0) params = rm.parameter_bytes / 2;
    const ShardedBytesPerParam b = zero_bytes_per_param(DType::BF16, zero, 8);
    EXPECT_NEAR(static_cast<double>(rm.parameter_bytes), b.params * params, 2.0) << zero;
    EXPECT_NEAR(static_cast<double>(rm.gradient_bytes), b.grads * params, 2.0) << zero;
    EXPECT_NEAR(static_cast<double>(rm.optimizer_bytes), b.optimizer * params, 2.0) << zero;
    const OpTable& t = *r.timeline.table;
    for (OpId v = t.pipeline_ops(); v < t.ops.size(); ++v) ++counts[zero][t.ops[v].step];
    first_start[zero] = r.metrics.ranks[0].first_start_ns;
    gather[zero] = r.model_costs->table.stages[0].param_gather;
  }
  EXPECT_EQ(counts[0], (std::map<StepKind, int>{{StepKind::GradReduce, 1}, {StepKind::Optimizer, 1}}));
  EXPECT_EQ(counts[1],
            (std::map<StepKind, int>{{StepKind::GradReduce, 1}, {StepKind::Optimizer, 1}, {StepKind::ParamGather, 1}}));
  EXPECT_EQ(counts[2],
            (std::map<StepKind, int>{{StepKind::GradReduce, 4}, {StepKind::Optimizer, 1}, {StepKind::ParamGather, 1}}));
  EXPECT_EQ(counts[3],
            (std::map<StepKind, int>{{StepKind::GradReduce, 4}, {StepKind::Optimizer, 1}, {StepKind::ParamGather, 8}}));
  // ZeRO-3's first forward waits for its parameters; the others start at once.
  EXPECT_GT(gather[3], 0);
  EXPECT_EQ(first_start[3], gather[3]);
  EXPECT_EQ(first_start[1], 0);
}

// DualPipe's overlapped F&B units, model-driven with tensor parallelism: each half's collectives
// hide under the other half's compute (issue 11), so a unit costs less than F + B; without
// collectives (t = 1) it costs F + B exactly.
TEST(ModelRun, OverlappedUnitsHideTensorParallelCollectives) {
  const std::string base = "schedule: dualpipe-v\nstages: 4\nchunks: 2\nmicrobatches: 8\nmodel: gpt3-2.7b\n"
                           "hardware: h100-sxm\nsequence_length: 2048\n";
  const SimulationResult r = run_simulation(parse_config(base + "tensor_parallel: 4\n", "d.yaml", "."));
  const StageCostTable& t = r.model_costs->table;
  const std::vector<int>& place = r.schedule.rank_of_stage;
  ASSERT_EQ(r.costs.overlap_f_b.size(), 4u);
  for (int rank = 0; rank < 4; ++rank) {
    std::vector<int> mine;
    for (std::size_t v = 0; v < place.size(); ++v)
      if (place[v] == rank) mine.push_back(static_cast<int>(v));
    ASSERT_EQ(mine.size(), 2u);
    double sum = 0;
    for (int k = 0; k < 2; ++k) {
      const StageCost &f = t.stages[mine[k]], &b = t.stages[mine[1 - k]];
      const TimeNs fc = f.forward - f.forward_comm, bc = b.backward_input - b.backward_input_comm;
      ASSERT_GT(f.forward_comm, 0);
      sum += static_cast<double>(fc + bc + std::max<TimeNs>(0, f.forward_comm - bc) +
                                 std::max<TimeNs>(0, b.backward_input_comm - fc));
      EXPECT_LT(fc + bc, f.forward + b.backward_input);
    }
    EXPECT_EQ(r.costs.overlap_f_b[rank], std::llround(sum / 2)) << rank;
  }
  EXPECT_TRUE(run_simulation(parse_config(base, "d.yaml", ".")).costs.overlap_f_b.empty());
}

// DualPipe runs two copies of the model in opposite directions: its ranks hold twice the
// parameters (and gradients, optimizer state) of a one-copy schedule on the same ranks, exactly.
TEST(ModelRun, DualPipeHoldsTwoParameterCopies) {
  const std::string base = "stages: 4\nmicrobatches: 8\nmodel: gpt3-350m\nhardware: h100-sxm\nsequence_length: 1024\n";
  const SimulationResult dual = run_simulation(parse_config("schedule: dualpipe\nchunks: 2\n" + base, "d.yaml", "."));
  const SimulationResult one = run_simulation(parse_config("schedule: 1f1b\n" + base, "o.yaml", "."));
  std::int64_t dual_params = 0, one_params = 0, dual_state = 0, one_state = 0;
  for (const auto& r : dual.model_metrics->ranks) {
    dual_params += r.parameter_bytes;
    dual_state += r.gradient_bytes + r.optimizer_bytes;
  }
  for (const auto& r : one.model_metrics->ranks) {
    one_params += r.parameter_bytes;
    one_state += r.gradient_bytes + r.optimizer_bytes;
  }
  EXPECT_EQ(dual_params, 2 * one_params);
  EXPECT_EQ(dual_state, 2 * one_state);
  for (const auto& r : dual.model_metrics->ranks) EXPECT_GT(r.parameter_bytes, 0);
}

std::string error_of(const std::string& yaml) {
  try {
    run_simulation(parse_config(yaml, "m.yaml", "."));
  } catch (const InputError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(ModelRun, BadModelInputIsAClearError) {
  const std::string head = "schedule: 1f1b\nstages: 4\nmicrobatches: 8\n";
  auto has = [](const std::string& msg, const std::string& needle) {
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  };
  has(error_of(head + "model: llama9-1t\n"), "llama3-8b");
  has(error_of(head + "model: tiny\nhardware: tpu-v9\n"), "h100-sxm");
  has(error_of(head + "model: tiny\npartition: [2, 2, 2, 1]\n"), "adds up to 7");
  has(error_of(head + "model: tiny\npartition: [2, 2, 2, 1]\n"), "m.yaml:5:12: partition");
  has(error_of("schedule: 1f1b\nstages: 16\nmicrobatches: 8\nmodel: tiny\n"), "too few");
  has(error_of(head + "model: tiny\nmemory_limit: 1KB\n"), "memory_limit");
  has(error_of(head + "model: tiny\ndtype: int4\n"), "m.yaml:5:8: dtype: must be one of bf16, fp16, fp32 (got 'int4')");
  has(error_of(head + "model: tiny\nrecompute: some\n"), "m.yaml:5:12: recompute: must be one of none, selective, full (got 'some')");
  has(error_of(head + "model: tiny\nprofile_statistic: p99\n"),
      "m.yaml:5:20: profile_statistic: must be one of mean, median (got 'p99')");
  has(error_of(head + "model: tiny\ntimes: {forward: 1ms, backward_input: 1ms, backward_weight: 1ms}\n"), "not both");
  has(error_of(head + "times: {forward: 1ms, backward_input: 1ms, backward_weight: 1ms}\nhardware: h200\n"),
      "hardware: needs 'model:'");
  has(error_of(head + "model: tiny\nefficiency: {compute: 1.5}\n"), "m.yaml:5:23: efficiency.compute: must be a fraction in (0, 1] (got '1.5')");
}

}  // namespace
}  // namespace ppsim

namespace ppsim {
namespace {

TEST(ModelRun, PartitionCanPlaceEmbeddingAndHead) {
  // The head (LM head + loss) on its own last stage; the embedding with the first blocks.
  SimulationConfig c = parse_config(
      "schedule: 1f1b\nstages: 4\nmicrobatches: 8\nmodel: tiny\nmicro_batch_size: 1\nsequence_length: 64\n"
      "partition: {layers: [3, 3, 2, 0], embedding_stage: 0, head_stage: 3}\n",
      "p.yaml", ".");
  const SimulationResult r = run_simulation(c);
  const auto& st = r.model_costs->table.stages;
  EXPECT_TRUE(st[0].has_embedding);
  EXPECT_TRUE(st[3].has_head);
  EXPECT_EQ(st[3].num_layers, 0);
  EXPECT_EQ(r.model_metrics->ranks[3].layers, 0);
  EXPECT_GT(st[3].forward, 0);
  // Moving the head onto stage 2 moves its time there.
  SimulationConfig moved = parse_config(
      "schedule: 1f1b\nstages: 4\nmicrobatches: 8\nmodel: tiny\nmicro_batch_size: 1\nsequence_length: 64\n"
      "partition: {layers: [2, 2, 2, 2], head_stage: 2}\n",
      "p.yaml", ".");
  const SimulationResult m = run_simulation(moved);
  EXPECT_TRUE(m.model_costs->table.stages[2].has_head);
  EXPECT_FALSE(m.model_costs->table.stages[3].has_head);
  EXPECT_GT(m.model_costs->table.stages[2].forward, m.model_costs->table.stages[1].forward);
  try {
    parse_config("schedule: 1f1b\nstages: 4\nmicrobatches: 8\nmodel: tiny\npartition: {layers: auto, head_stage: 2}\n",
                 "p.yaml", ".");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("p.yaml:5:12: partition: auto keeps"), std::string::npos) << e.what();
  }
}

// calibrate -> simulate end to end on the CPU: the profile's times drive the simulation.
TEST(ModelRun, CpuProfileDrivesTheSimulation) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("ppsim_prof_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string cmd = std::string(PPSIM_BINARY) + " calibrate --device cpu --model tiny --sequence-length 32 "
                          "--repeats 3 --out " + (dir / "p.yaml").string() + " > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  SimulationConfig c = parse_config(
      "schedule: zb-h1\nstages: 2\nmicrobatches: 4\nmodel: tiny\nmicro_batch_size: 1\nsequence_length: 32\n"
      "partition: [4, 4]\nprofile: p.yaml\n",
      (dir / "c.yaml").string(), dir.string());
  const SimulationResult r = run_simulation(c);
  const Profile p = load_profile((dir / "p.yaml").string());
  const StageCost& s1 = r.model_costs->table.stages[1];
  // Stage 1: four blocks and the head, each pass from the profile: its means by default.
  ASSERT_GT(p.block.forward.mean_ns, 0);
  EXPECT_EQ(s1.forward, 4 * p.block.forward.mean_ns + p.head.forward.mean_ns);
  EXPECT_EQ(s1.backward_weight, 4 * p.block.backward_weight.mean_ns + p.head.backward_weight.mean_ns);
  EXPECT_NE(s1.source.find("profile"), std::string::npos) << s1.source;
  EXPECT_NE(r.model_costs->table.transfer_source.find("profile"), std::string::npos);
  bool says_means = false;
  for (const auto& n : r.model_costs->notes) says_means = says_means || n.find("op times are means") != std::string::npos;
  EXPECT_TRUE(says_means);
  // ... or its medians on request.
  SimulationConfig m = parse_config(
      "schedule: zb-h1\nstages: 2\nmicrobatches: 4\nmodel: tiny\nmicro_batch_size: 1\nsequence_length: 32\n"
      "partition: [4, 4]\nprofile: p.yaml\nprofile_statistic: median\n",
      (dir / "c.yaml").string(), dir.string());
  const SimulationResult rm = run_simulation(m);
  const StageCost& m1 = rm.model_costs->table.stages[1];
  EXPECT_EQ(m1.forward, 4 * p.block.forward.median_ns + p.head.forward.median_ns);
  EXPECT_EQ(m1.backward_weight, 4 * p.block.backward_weight.median_ns + p.head.backward_weight.median_ns);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ppsim

namespace ppsim {
namespace {

// A profile with measured per-stage times (a traced run's, issue 16): the cost model takes each
// stage's F, B, W and the measured hop from it when the partition is the traced one, the partition
// itself under `partition: auto`, and the per-layer times (with a note saying why) otherwise.
TEST(ModelRun, StageTimesOfATracedProfileDriveTheStages) {
  const fs::path dir = fs::temp_directory_path() / ("ppsim_stage_times_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  Profile p;
  p.device.kind = "cuda";
  p.device.name = "traced";
  p.model.name = "tiny";
  {
    SimulationConfig c = parse_config("schedule: 1f1b\nstages: 2\nmicrobatches: 4\nmodel: tiny\nmicro_batch_size: 1\n"
                                      "sequence_length: 32\n", (dir / "c.yaml").string(), dir.string());
    p.model = run_simulation(c).model_costs->model;
  }
  p.micro_batch_size = 1;
  p.sequence_length = 32;
  p.dtype = DType::BF16;
  auto flat = [](TimeNs t) { return Timing{t, t, t, 0, 0, t}; };
  p.block = {flat(100), flat(200), flat(50), 0, 0, 0, 0};
  p.embedding = {flat(10), flat(0), flat(5), 0, 0, 0, 0};
  p.head = {flat(30), flat(40), flat(20), 0, 0, 0, 0};
  p.transfer.measured = false;
  StageTimesProfile st;
  st.source = "a trace";
  st.layers_per_stage = {3, 5};
  st.head_stage = -1;
  st.stages.push_back({Timing{1000, 990, 1100, 0, 0, 1001}, flat(2000), flat(700), 4});  // median 1000, mean 1001
  st.stages.push_back({flat(1500), flat(2600), flat(900), 4});
  st.hops.push_back({0, 333, 8});
  p.stage_times = st;
  save_profile(p, (dir / "p.yaml").string());
  const std::string head = "schedule: zb-h1\nstages: 2\nmicrobatches: 4\nmodel: tiny\nmicro_batch_size: 1\n"
                           "sequence_length: 32\nprofile: p.yaml\n";
  auto run = [&](const std::string& extra) {
    return run_simulation(parse_config(head + extra, (dir / "c.yaml").string(), dir.string()));
  };
  // The traced partition, given or under auto: the stages' own times.
  for (const std::string& extra : {std::string("partition: [3, 5]\n"), std::string("")}) {
    const SimulationResult r = run(extra);
    const StageCostTable& t = r.model_costs->table;
    EXPECT_EQ(r.model_costs->partition.layers_per_stage, (std::vector<int>{3, 5})) << extra;
    EXPECT_EQ(t.stages[0].forward, 1001) << extra;  // the mean
    EXPECT_EQ(t.stages[0].backward_input, 2000);
    EXPECT_EQ(t.stages[1].backward_weight, 900);
    EXPECT_EQ(t.boundary_transfer, (std::vector<TimeNs>{333}));
    EXPECT_NE(t.stages[1].source.find("#stage_times"), std::string::npos) << t.stages[1].source;
    EXPECT_NE(t.transfer_source.find("#stage_times"), std::string::npos) << t.transfer_source;
  }
  // Medians on request.
  EXPECT_EQ(run("partition: [3, 5]\nprofile_statistic: median\n").model_costs->table.stages[0].forward, 1000);
  // Another partition: the per-layer times, and a note.
  const SimulationResult other = run("partition: [4, 4]\n");
  EXPECT_EQ(other.model_costs->table.stages[0].forward, 10 + 4 * 100);
  EXPECT_EQ(other.model_costs->table.stages[1].forward, 4 * 100 + 30);
  EXPECT_EQ(other.model_costs->table.boundary_transfer, (std::vector<TimeNs>{333}));  // the measured hop still holds
  bool noted = false;
  for (const auto& n : other.model_costs->notes)
    noted = noted || n.find("stage_times are not used: it was measured with partition [3, 5]") != std::string::npos;
  EXPECT_TRUE(noted);
  // Another layout (interleaved, V = 2): every hop between ranks takes the measured median.
  const SimulationResult v2 = run_simulation(parse_config(
      "schedule: interleaved-1f1b\nstages: 2\nmicrobatches: 4\nchunks: 2\nmodel: tiny\nmicro_batch_size: 1\n"
      "sequence_length: 32\nprofile: p.yaml\npartition: [2, 2, 2, 2]\n", (dir / "c.yaml").string(), dir.string()));
  EXPECT_EQ(v2.model_costs->table.boundary_transfer, (std::vector<TimeNs>{333, 333, 333}));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ppsim
