// schedule.yaml parsing: the contract keys, and a clear error (file:line:column, key) for bad input.
#include <gtest/gtest.h>

#include "sim/config/config.h"
#include "base/error.h"
#include "base/time.h"

namespace ppsim {
namespace {

const char* kValid = R"(schedule: zb-h1
stages: 8
microbatches: 24
chunks: 1
times:
  forward: 18.5ms
  backward_input: 18.1ms
  backward_weight: 9.3ms
  transfer: 0.6ms
)";

std::string error_of(const std::string& yaml) {
  try {
    parse_config(yaml, "s.yaml", ".");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(Config, ParsesTheContractSchema) {
  SimulationConfig c = parse_config(kValid, "s.yaml", ".");
  EXPECT_EQ(c.schedule, "zb-h1");
  EXPECT_EQ(c.ranks, 8);
  EXPECT_EQ(c.microbatches, 24);
  EXPECT_EQ(c.chunks, 1);
  ASSERT_TRUE(c.times);
  EXPECT_EQ(c.times->forward, std::vector<TimeNs>(8, 18'500'000));
  EXPECT_EQ(c.times->backward_input[3], 18'100'000);
  EXPECT_EQ(c.times->backward_weight[7], 9'300'000);
  EXPECT_EQ(c.times->transfer, 600'000);
}

TEST(Config, PerRankListsAndUnits) {
  SimulationConfig c = parse_config(
      "schedule: 1f1b\nstages: 3\nmicrobatches: 4\ntimes:\n  forward: [1s, 2500us, 7ns]\n  backward_input: 1.5 ms\n"
      "  backward_weight: 0\n",
      "s.yaml", ".");
  EXPECT_EQ(c.times->forward, (std::vector<TimeNs>{1'000'000'000, 2'500'000, 7}));
  EXPECT_EQ(c.times->backward_input, std::vector<TimeNs>(3, 1'500'000));
  EXPECT_EQ(c.times->backward_weight, std::vector<TimeNs>(3, 0));
  EXPECT_EQ(c.times->transfer, 0);
}

TEST(Config, ErrorsNameFileLineColumnAndKey) {
  EXPECT_EQ(error_of("schedule: zb-h1\nstages: 8\nmicrobatches: [1\n"),
            error_of("schedule: zb-h1\nstages: 8\nmicrobatches: [1\n"));
  EXPECT_NE(error_of("schedule: zb-h1\nstages: 8\nmicrobatches: [1\n").find("s.yaml:4:1: malformed YAML"), std::string::npos)
      << error_of("schedule: zb-h1\nstages: 8\nmicrobatches: [1\n");
  std::string yaml = kValid;
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string y = yaml;
    y.replace(y.find(from), from.size(), to);
    return error_of(y);
  };
  EXPECT_EQ(replaced("schedule: zb-h1", "schedule: zb-h3"),
            "s.yaml:1:11: schedule: must be one of gpipe, 1f1b, interleaved-1f1b, looped-bfs, zb-h1, zb-h2, interleaved-zb, "
            "zb-v, dualpipe, dualpipe-v, v-half, v-min, zb-auto, custom, stream (got 'zb-h3')");
  EXPECT_EQ(replaced("stages: 8", "stages: -2"), "s.yaml:2:9: stages: must be a positive integer (got '-2')");
  EXPECT_EQ(replaced("microbatches: 24", "microbatches: 0"), "s.yaml:3:15: microbatches: must be a positive integer (got '0')");
  EXPECT_EQ(replaced("chunks: 1", "chunks: two"), "s.yaml:4:9: chunks: must be a positive integer (got 'two')");
  EXPECT_EQ(replaced("forward: 18.5ms", "forward: 18.5 min"),
            "s.yaml:6:12: times.forward: unknown unit 'min' in '18.5 min' (valid units: ns, us, ms, s)");
  EXPECT_EQ(replaced("transfer: 0.6ms", "transfer: 0.6"), "s.yaml:9:13: times.transfer: '0.6' needs a unit (ns, us, ms or s)");
  EXPECT_EQ(replaced("forward: 18.5ms", "forward: -1ms"), "s.yaml:6:12: times.forward: '-1ms' is negative");
  EXPECT_EQ(replaced("forward: 18.5ms", "forward: [1ms, 2ms]"),
            "s.yaml:6:12: times.forward: has 2 values but stages is 8 (give one value, or one per rank)");
  EXPECT_EQ(replaced("chunks: 1", "chunk: 1"),
            "s.yaml:4:1: chunk: unknown key (valid keys: chunks, data_parallel, dtype, efficiency, global_batch_size, "
            "grad_reduce_overlap, hardware, in_flight_limit, jitter, link, memory_limit, micro_batch_size, microbatches, "
            "model, order_csv, partition, placement, profile, profile_statistic, recompute, replications, schedule, "
            "seed, sequence_length, sequence_parallel, stages, straggler, tensor_parallel, times, w_stash_fraction, "
            "zero)");
  EXPECT_EQ(replaced("  transfer", "  transfers"),
            "s.yaml:9:3: times.transfers: unknown key (valid keys: backward_input, backward_weight, forward, overlap_f_b, "
            "transfer)");
  EXPECT_EQ(replaced("stages: 8\n", ""), "s.yaml:1:1: stages: missing required key");
  EXPECT_EQ(error_of("schedule: custom\nstages: 2\nmicrobatches: 2\ntimes: {forward: 1ms, backward_input: 1ms, backward_weight: 1ms}\n"),
            "s.yaml:1:1: order_csv: missing required key with schedule: custom (a CSV of per-rank orders)");
  EXPECT_EQ(replaced("chunks: 1", "chunks:"), "s.yaml:4:1: chunks: must be a positive integer (got nothing)");
  EXPECT_EQ(replaced("chunks: 1", "chunks: 2000000"), "s.yaml:4:9: chunks: must be at most 1000000 (got '2000000')");
  EXPECT_EQ(replaced("  forward: 18.5ms", "  forward: {a: 1}"),
            "s.yaml:6:12: times.forward: must be a single value (got a mapping)");
  // The model-driven keys; list items and nested keys are named by their path.
  const std::string model = "schedule: 1f1b\nstages: 2\nmicrobatches: 2\nmodel: tiny\n";
  EXPECT_EQ(error_of(model + "partition: [4, x]\n"),
            "s.yaml:5:16: partition[1]: must be a non-negative integer (got 'x')");
  EXPECT_EQ(error_of(model + "partition: {layers: [4, 2, -1]}\n"),
            "s.yaml:5:28: partition.layers[2]: must be a non-negative integer (got '-1')");
  EXPECT_EQ(error_of(model + "partition: {blocks: [4, 4]}\n"),
            "s.yaml:5:13: partition.blocks: unknown key (valid keys: embedding_stage, head_stage, layers)");
  EXPECT_EQ(error_of(model + "partition: {layers: auto, head_stage: 0}\n"),
            "s.yaml:5:12: partition: auto keeps the embedding on the first and the head on the last virtual stage; "
            "give an explicit 'layers:' list to place them elsewhere");
  EXPECT_EQ(error_of(model + "partition: 4\n"),
            "s.yaml:5:12: partition: must be 'auto', a list of blocks per virtual stage such as [8, 8, 8, 8], or "
            "{layers: [...], embedding_stage: S, head_stage: S} (got '4')");
  EXPECT_EQ(error_of(model + "memory_limit: 0GB\n"), "s.yaml:5:15: memory_limit: must be positive (got '0GB')");
  EXPECT_EQ(error_of(model + "link: fast\n"),
            "s.yaml:5:7: link: must be one of auto, intra_node, inter_node (got 'fast')");
  EXPECT_EQ(error_of("- a\n- b\n"), "s.yaml: must be a mapping of keys at the top level (got a list)");
}

// Issue 11's keys: the zero-bubble search's limit and the overlapped F&B time.
TEST(Config, ZeroBubbleSearchAndOverlapKeys) {
  const std::string times = "times: {forward: 1ms, backward_input: 1ms, backward_weight: 1ms}\n";
  SimulationConfig c = parse_config("schedule: zb-auto\nstages: 4\nmicrobatches: 8\nin_flight_limit: 8\n"
                                    "w_stash_fraction: 0.4\n" + times, "s.yaml", ".");
  EXPECT_EQ(c.in_flight_limit, 8);
  EXPECT_DOUBLE_EQ(c.w_stash_fraction, 0.4);
  c = parse_config("schedule: zb-auto\nstages: 4\nmicrobatches: 8\n" + times, "s.yaml", ".");
  EXPECT_EQ(c.in_flight_limit, 4);  // default: P, 1F1B's peak (ZB-1p)
  EXPECT_DOUBLE_EQ(c.w_stash_fraction, 1.0);
  EXPECT_EQ(error_of("schedule: zb-h1\nstages: 4\nmicrobatches: 8\nin_flight_limit: 8\n" + times),
            "s.yaml:4:18: in_flight_limit: is only used with schedule: zb-auto (schedule is zb-h1)");
  EXPECT_EQ(error_of("schedule: zb-auto\nstages: 4\nmicrobatches: 8\nin_flight_limit: 0\n" + times),
            "s.yaml:4:18: in_flight_limit: must be a positive integer (got '0')");
  EXPECT_EQ(error_of("schedule: zb-auto\nstages: 4\nmicrobatches: 8\nw_stash_fraction: 1.5\n" + times),
            "s.yaml:4:19: w_stash_fraction: must be a fraction in (0, 1] (got '1.5')");
  EXPECT_EQ(error_of("schedule: zb-auto\nstages: 4\nmicrobatches: 8\nchunks: 2\n" + times),
            "s.yaml:4:9: chunks: schedule zb-auto runs one stage per rank: chunks must be 1 (got 2)");
  c = parse_config("schedule: dualpipe\nstages: 4\nmicrobatches: 8\nchunks: 2\n"
                   "times: {forward: 1ms, backward_input: 1ms, backward_weight: 1ms, overlap_f_b: [3ms, 2ms, 2ms, 3ms]}\n",
                   "s.yaml", ".");
  EXPECT_EQ(c.times->overlap_f_b, (std::vector<TimeNs>{3'000'000, 2'000'000, 2'000'000, 3'000'000}));
}

// Issue 12's keys: 3D parallelism, ZeRO and the global batch; each error names the key.
TEST(Config, ParallelismKeys) {
  const std::string head = "schedule: 1f1b\nstages: 4\n";
  const std::string gpt = "model: gpt3-175b\nhardware: a100-80gb\n";
  SimulationConfig c = parse_config(head + gpt + "tensor_parallel: 8\nsequence_parallel: true\ndata_parallel: 4\nzero: 1\n"
                                    "global_batch_size: 1536\nplacement: [tensor, data, pipeline]\ngrad_reduce_overlap: false\n",
                                    "s.yaml", ".");
  ASSERT_TRUE(c.model);
  EXPECT_EQ(c.microbatches, 1536 / 4);  // M = gbs / (d x micro_batch_size 1)
  EXPECT_EQ(c.model->parallel.tensor, 8);
  EXPECT_TRUE(c.model->parallel.sequence);
  EXPECT_EQ(c.model->parallel.data, 4);
  EXPECT_EQ(c.model->parallel.zero, 1);
  EXPECT_FALSE(c.model->parallel.grad_reduce_overlap);
  EXPECT_EQ(c.model->parallel.placement,
            (std::vector<ParallelDim>{ParallelDim::Tensor, ParallelDim::Data, ParallelDim::Pipeline}));
  c = parse_config(head + gpt + "micro_batch_size: 2\ndata_parallel: 3\nglobal_batch_size: 24\nmicrobatches: 4\n", "s.yaml", ".");
  EXPECT_EQ(c.microbatches, 4);
  EXPECT_EQ(error_of(head + gpt + "tensor_parallel: 5\nmicrobatches: 8\n"),
            "s.yaml:5:18: tensor_parallel: must divide the model's heads (gpt3-175b: 96; tensor_parallel: 5)");
  EXPECT_EQ(error_of(head + "model: llama3-70b\ntensor_parallel: 16\nmicrobatches: 8\n"),
            "s.yaml:4:18: tensor_parallel: must divide the model's kv_heads (llama3-70b: 8; tensor_parallel: 16)");
  EXPECT_EQ(error_of(head + gpt + "tensor_parallel: 16\nmicrobatches: 8\n"),
            "s.yaml:5:18: tensor_parallel: 16 GPUs per layer span more than a node of a100-80gb (8 GPUs): set link: "
            "intra_node or inter_node for their collectives");
  EXPECT_NO_THROW(parse_config(head + gpt + "tensor_parallel: 16\nlink: inter_node\nmicrobatches: 8\n", "s.yaml", "."));
  EXPECT_EQ(error_of(head + gpt + "data_parallel: 4\nglobal_batch_size: 1536\nmicrobatches: 100\n"),
            "s.yaml:7:15: microbatches: disagrees with global_batch_size: 1536 / (data_parallel 4 x micro_batch_size 1) "
            "= 384 micro-batches");
  EXPECT_EQ(error_of(head + gpt + "data_parallel: 7\nglobal_batch_size: 1536\n"),
            "s.yaml:6:20: global_batch_size: must divide into data_parallel x micro_batch_size = 7 sequences per "
            "micro-batch step (got 1536)");
  EXPECT_EQ(error_of(head + gpt + "sequence_parallel: true\nmicrobatches: 8\n"),
            "s.yaml:5:20: sequence_parallel: splits the sequence over the tensor-parallel GPUs: it needs tensor_parallel > 1");
  EXPECT_EQ(error_of(head + gpt + "zero: 1\nmicrobatches: 8\n"),
            "s.yaml:5:7: zero: shards over data-parallel replicas: zero 1 needs data_parallel > 1");
  EXPECT_EQ(error_of(head + gpt + "zero: 4\nmicrobatches: 8\n"), "s.yaml:5:7: zero: must be at most 3 (got '4')");
  EXPECT_EQ(error_of(head + gpt + "zero: 2\ndata_parallel: 2\nmicrobatches: 8\n"),
            "s.yaml:5:7: zero: zero 2 shards the gradients, which pipeline parallelism accumulates over micro-batches: "
            "DeepSpeed and Megatron refuse the pair; use zero: 1 (the distributed optimizer) with stages > 1");
  EXPECT_EQ(error_of(head + gpt + "placement: [tensor, tensor, data]\nmicrobatches: 8\n"),
            "s.yaml:5:12: placement: must name tensor, pipeline and data once each, innermost first (e.g. [tensor, "
            "pipeline, data])");
  // Explicit times are one pipeline's: the keys are accepted, ignored, and the report says so.
  c = parse_config(head + "microbatches: 8\ntensor_parallel: 8\ndata_parallel: 2\n"
                   "times: {forward: 1ms, backward_input: 1ms, backward_weight: 1ms}\n", "s.yaml", ".");
  EXPECT_TRUE(c.parallel_keys_ignored);
}

TEST(Time, ParsesAndFormatsDurations) {
  EXPECT_EQ(parse_duration("18.5ms", "x"), 18'500'000);
  EXPECT_EQ(parse_duration(" 3 s ", "x"), 3'000'000'000);
  EXPECT_EQ(parse_duration("0.0015us", "x"), 2);  // rounds to the nearest ns
  EXPECT_EQ(parse_duration("1e3ns", "x"), 1000);
  EXPECT_THROW(parse_duration("ms", "x"), InputError);
  EXPECT_THROW(parse_duration("5 hours", "x"), InputError);
  EXPECT_EQ(format_duration(18'500'000), "18.500 ms");
  EXPECT_EQ(format_duration(830), "830 ns");
  EXPECT_EQ(format_duration(2'100'000'000), "2.100 s");
  EXPECT_DOUBLE_EQ(parse_bandwidth("400GB/s", "x"), 400e9);
  EXPECT_DOUBLE_EQ(parse_bandwidth("1 GiB/s", "x"), 1073741824.0);
  EXPECT_EQ(parse_bytes("1.5KiB", "x"), 1536);
  EXPECT_THROW(parse_bandwidth("400GB", "x"), InputError);
}

}  // namespace
}  // namespace ppsim
