// Profiles survive save and load unchanged, and broken ones fail with file:line messages.
#include "models/profile.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "models/sample_profile.h"

namespace ppsim {
namespace {

void expect_timing_eq(const Timing& a, const Timing& b) {
  EXPECT_EQ(a.median_ns, b.median_ns);
  EXPECT_EQ(a.p10_ns, b.p10_ns);
  EXPECT_EQ(a.p90_ns, b.p90_ns);
  EXPECT_EQ(a.flops, b.flops);
  EXPECT_EQ(a.tflops, b.tflops);
  EXPECT_EQ(a.mean_ns, b.mean_ns);
}

void expect_layer_eq(const LayerProfile& a, const LayerProfile& b) {
  expect_timing_eq(a.forward, b.forward);
  expect_timing_eq(a.backward_input, b.backward_input);
  expect_timing_eq(a.backward_weight, b.backward_weight);
  EXPECT_EQ(a.activation_bytes, b.activation_bytes);
  EXPECT_EQ(a.gradient_bytes, b.gradient_bytes);
  EXPECT_EQ(a.stash_bytes, b.stash_bytes);
  EXPECT_EQ(a.parameter_bytes, b.parameter_bytes);
}

TEST(Profile, RoundTripIsExact) {
  const Profile p = test::sample_profile();
  const auto path = (std::filesystem::temp_directory_path() / "ppsim_profile_roundtrip.yaml").string();
  save_profile(p, path);
  const Profile q = load_profile(path);
  std::remove(path.c_str());

  EXPECT_EQ(q.schema_version, 1);
  EXPECT_EQ(q.source, path);
  EXPECT_EQ(q.device.kind, p.device.kind);
  EXPECT_EQ(q.device.name, p.device.name);
  EXPECT_EQ(q.device.count, 2);
  EXPECT_EQ(q.device.driver_version, p.device.driver_version);
  EXPECT_EQ(q.device.cuda_version, p.device.cuda_version);
  EXPECT_EQ(q.device.sm_clock_mhz, 1980);
  EXPECT_EQ(q.device.memory_clock_mhz, 2619);
  EXPECT_EQ(q.device.sms, 64);
  EXPECT_EQ(q.device.partitions, 2);
  EXPECT_EQ(q.device.gemm_peak_tflops, 700.0);
  EXPECT_EQ(q.device.attention, "cudnn");
  EXPECT_EQ(q.device.attention_note, p.device.attention_note);
  EXPECT_EQ(q.calibration_wall_s, 12.5);
  EXPECT_EQ(q.model.name, "tiny");
  EXPECT_EQ(q.model.hidden, 256);
  EXPECT_EQ(q.model.kv_heads, 2);
  EXPECT_EQ(q.model.activation, Activation::SwiGlu);
  EXPECT_EQ(q.model.norm, Norm::RmsNorm);
  EXPECT_EQ(q.micro_batch_size, 2);
  EXPECT_EQ(q.sequence_length, 128);
  EXPECT_EQ(q.dtype, DType::BF16);
  expect_layer_eq(q.embedding, p.embedding);
  expect_layer_eq(q.block, p.block);
  expect_layer_eq(q.head, p.head);
  ASSERT_EQ(q.kernels.size(), 2u);
  EXPECT_EQ(q.kernels[0].name, "qkv_gemm");
  expect_timing_eq(q.kernels[0].timing, p.kernels[0].timing);
  EXPECT_EQ(q.kernels[0].max_relative_error, 0.0019);
  EXPECT_FALSE(q.kernels[1].max_relative_error.has_value());
  EXPECT_TRUE(q.transfer.measured);
  EXPECT_EQ(q.transfer.method, "nccl");
  EXPECT_EQ(q.transfer.fit.alpha_s, 1e-5);
  EXPECT_EQ(q.transfer.fit.beta_bytes_per_s, 4.5e10);
  EXPECT_EQ(q.transfer.fit.r2, 0.9999);
  EXPECT_EQ(q.transfer.fit.worst_bytes, 4096);
  ASSERT_EQ(q.transfer.samples.size(), 2u);
  EXPECT_EQ(q.transfer.samples[1].bytes, 1 << 20);
  EXPECT_EQ(q.transfer.samples[1].seconds, 3.3e-5);
  // Saving what was loaded gives the same text.
  EXPECT_EQ(profile_to_yaml(q), profile_to_yaml(p));
}

// Fields added later (the attention kernel, the wall time) are optional: a profile written before
// them loads with them empty, and saving it again does not invent them.
TEST(Profile, ProfilesWithoutLaterFieldsStillLoad) {
  Profile p = test::sample_profile();
  p.device.attention.clear();
  p.device.attention_note.clear();
  p.calibration_wall_s = 0;
  const std::string text = profile_to_yaml(p);
  EXPECT_EQ(text.find("attention"), std::string::npos) << text;
  EXPECT_EQ(text.find("calibration_wall_s"), std::string::npos) << text;
  const Profile q = parse_profile(text, "old.yaml");
  EXPECT_TRUE(q.device.attention.empty());
  EXPECT_EQ(q.calibration_wall_s, 0.0);
  EXPECT_EQ(profile_to_yaml(q), text);
}

TEST(Profile, UnmeasuredTransferRoundTrips) {
  Profile p = test::sample_profile();
  p.transfer = {};
  p.transfer.reason = "one GPU: transfers cannot be measured";
  const Profile q = parse_profile(profile_to_yaml(p), "mem.yaml");
  EXPECT_FALSE(q.transfer.measured);
  EXPECT_EQ(q.transfer.reason, p.transfer.reason);
  EXPECT_FALSE(to_layer_times(q).link.has_value());
}

TEST(Profile, InterNodeTransferRoundTripsAndIsOptional) {
  Profile p = test::sample_profile();
  EXPECT_EQ(profile_to_yaml(p).find("inter_node"), std::string::npos);  // absent unless measured
  EXPECT_FALSE(parse_profile(profile_to_yaml(p), "mem.yaml").inter_node.has_value());
  EXPECT_FALSE(to_layer_times(p).inter_node_link.has_value());

  TransferProfile t;
  t.measured = true;
  t.method = "nccl-mpi";
  t.between = "host a (rank 0, gpu 0) <-> host b (rank 1, gpu 0)";
  t.samples = {{4096, 2.5e-5}, {1 << 30, 0.043}};
  t.fit = {2.4e-5, 2.5e10, 0.99991, 3e-6, 0.07, 4096};
  p.inter_node = t;
  const std::string text = profile_to_yaml(p);
  const Profile q = parse_profile(text, "mem.yaml");
  ASSERT_TRUE(q.inter_node.has_value());
  EXPECT_EQ(q.inter_node->method, "nccl-mpi");
  EXPECT_EQ(q.inter_node->between, t.between);
  EXPECT_EQ(q.inter_node->fit.alpha_s, 2.4e-5);
  EXPECT_EQ(q.inter_node->fit.beta_bytes_per_s, 2.5e10);
  EXPECT_EQ(q.inter_node->fit.r2, 0.99991);
  EXPECT_EQ(q.inter_node->fit.worst_bytes, 4096);
  ASSERT_EQ(q.inter_node->samples.size(), 2u);
  EXPECT_EQ(q.inter_node->samples[1].seconds, 0.043);
  EXPECT_EQ(q.transfer.method, "nccl");  // the intra-node fit is untouched
  EXPECT_EQ(profile_to_yaml(q), text);
  const MeasuredLayerTimes m = to_layer_times(q);
  ASSERT_TRUE(m.link && m.inter_node_link);
  EXPECT_EQ(m.link->beta_bytes_per_s, 4.5e10);
  EXPECT_EQ(m.inter_node_link->alpha_s, 2.4e-5);
  EXPECT_EQ(m.inter_node_link->beta_bytes_per_s, 2.5e10);

  // Unmeasured inter-node section: kept with its reason, no fit for the simulator.
  p.inter_node = TransferProfile{};
  p.inter_node->reason = "one process";
  const Profile u = parse_profile(profile_to_yaml(p), "mem.yaml");
  ASSERT_TRUE(u.inter_node.has_value());
  EXPECT_FALSE(u.inter_node->measured);
  EXPECT_FALSE(to_layer_times(u).inter_node_link.has_value());

  // Errors name the section.
  std::string bad = text;
  const auto at = bad.find("beta_bytes_per_s: ", bad.find("inter_node:"));
  ASSERT_NE(at, std::string::npos) << text;
  bad.replace(at, bad.find('\n', at) - at, "beta_bytes_per_s: -1");
  try {
    parse_profile(bad, "bad.yaml");
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("inter_node.beta_bytes_per_s: must be a positive number (got '-1')"), std::string::npos) << e.what();
  }
}

TEST(Profile, ToLayerTimesUsesMeansOrMedians) {
  Profile p = test::sample_profile();
  p.source = "x.yaml";
  // The sample's block passes record means; its embedding and head passes do not (an older profile).
  auto m = to_layer_times(p);
  ASSERT_TRUE(m.block && m.embedding && m.head && m.link);
  EXPECT_EQ(m.statistic, ProfileStatistic::Mean);
  EXPECT_EQ(m.block->forward, 1040);
  EXPECT_EQ(m.block->backward_input, 2010);
  EXPECT_EQ(m.block->backward_weight, 1001);
  EXPECT_EQ(m.embedding->backward_weight, 200);  // no mean: its median
  EXPECT_EQ(m.head->forward, 500);
  EXPECT_TRUE(m.means_missing);
  m = to_layer_times(p, ProfileStatistic::Median);
  EXPECT_EQ(m.block->forward, 1000);
  EXPECT_EQ(m.block->backward_input, 2000);
  EXPECT_EQ(m.block->backward_weight, 1000);
  EXPECT_EQ(m.embedding->backward_weight, 200);
  EXPECT_EQ(m.head->forward, 500);
  EXPECT_FALSE(m.means_missing);
  EXPECT_EQ(m.link->alpha_s, 1e-5);
  EXPECT_EQ(m.link->beta_bytes_per_s, 4.5e10);
  EXPECT_EQ(m.source, "x.yaml");
}

// Replaces the first match of `from` in the profile text and expects an InputError saying `says`.
void expect_error(const std::string& from, const std::string& to, const std::string& says) {
  std::string text = profile_to_yaml(test::sample_profile());
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  try {
    parse_profile(text, "bad.yaml");
    FAIL() << "no error for " << to;
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), says);
  }
}

TEST(Profile, ErrorsNameFileLineAndKey) {
  expect_error("schema_version: 1", "schema_version: 7",
               "bad.yaml:1:17: schema_version: must be 1, the version this ppsim reads (got '7')");
  expect_error("kind: cuda", "kind: tpu",
               "bad.yaml:5:9: device.kind: must be one of cpu, cuda (got 'tpu')");
  expect_error("sms: 64", "sms: -8",
               "bad.yaml:13:8: device.sms: must be a non-negative integer (got '-8')");
  expect_error("partitions: 2", "partitions: -1",
               "bad.yaml:14:15: device.partitions: must be a non-negative integer (got '-1')");
  expect_error("gemm_peak_tflops: 700", "gemm_peak_tflops: -1",
               "bad.yaml:15:21: device.gemm_peak_tflops: must be a non-negative number (got '-1')");
  expect_error("mean_ns: 1040", "mean_ns: -5",
               "bad.yaml:45:24: layers.block.forward.mean_ns: must be a non-negative integer (got '-5')");
  expect_error("hidden: 256", "hidden: lots",
               "bad.yaml:22:13: configuration.model.hidden: must be a non-negative integer (got 'lots')");
  expect_error("dtype: bf16", "dtype: int4",
               "bad.yaml:32:10: configuration.dtype: must be one of bf16, fp16, fp32 (got 'int4')");
  expect_error("norm: rmsnorm", "norm: batchnorm",
               "bad.yaml:28:11: configuration.model.norm: must be one of layernorm, rmsnorm (got 'batchnorm')");
  expect_error("median_ns: 1000, p10_ns: 900", "median_ns: 800, p10_ns: 900",
               "bad.yaml:45:14: layers.block.forward: must have p10_ns <= median_ns <= p90_ns (got 900, 800, 1100)");
  expect_error("gradient_bytes: 131072\n    stash_bytes: 99999", "stash_bytes: 99999",
               "bad.yaml:45:5: layers.block.gradient_bytes: missing required key");
  expect_error("beta_bytes_per_s: 4.5e+10", "beta_bytes_per_s: -1",
               "bad.yaml:68:21: transfer.beta_bytes_per_s: must be a positive number (got '-1')");
  expect_error("schema_version: 1", "schema_version: [1",
               "bad.yaml:2:14: malformed YAML: end of sequence flow not found");
  expect_error("attention: cudnn", "attention: flash3",
               "bad.yaml:16:14: device.attention: must be one of cudnn, own (got 'flash3')");
  expect_error("calibration_wall_s: 12.5", "calibration_wall_s: -1",
               "bad.yaml:3:21: calibration_wall_s: must be a non-negative number (got '-1')");
}

TEST(Profile, MissingFileAndUnwritablePath) {
  EXPECT_THROW(load_profile("/nonexistent/dir/profile.yaml"), InputError);
  EXPECT_THROW(save_profile(test::sample_profile(), "/nonexistent/dir/profile.yaml"), InputError);
}

}  // namespace
}  // namespace ppsim

namespace ppsim {
namespace {

// A sweep on a machine too busy to time it (times fall with size) leaves the transfer unmeasured,
// with the reason, instead of failing the calibration; a clean sweep is fitted.
TEST(Profile, FitTransferFallsBackWhenTimesDoNotGrow) {
  TransferProfile t;
  fit_transfer(t, {{4096, 3e-5}, {16384, 2e-5}, {65536, 1e-5}}, "shared-memory", "thread 0 -> thread 1");
  EXPECT_FALSE(t.measured);
  EXPECT_NE(t.reason.find("does not grow with size"), std::string::npos) << t.reason;
  EXPECT_NE(t.reason.find("hardware spec's link"), std::string::npos) << t.reason;
  EXPECT_EQ(t.samples.size(), 3u);
  fit_transfer(t, {{1000, 2e-6 + 1000 / 1e9}, {100000, 2e-6 + 100000 / 1e9}}, "nccl", "gpu 0 -> gpu 1");
  EXPECT_TRUE(t.measured);
  EXPECT_TRUE(t.reason.empty());
  EXPECT_NEAR(t.fit.alpha_s, 2e-6, 1e-12);
  EXPECT_NEAR(t.fit.beta_bytes_per_s, 1e9, 1e-3 * 1e9);
  EXPECT_EQ(t.method, "nccl");
}

}  // namespace
}  // namespace ppsim

namespace ppsim {
namespace {

StageTimesProfile sample_stage_times() {
  StageTimesProfile st;
  st.source = "ppsim trace of 2 ranks (1f1b, P = 2, M = 4, ProfilerStep#3)";
  st.layers_per_stage = {2, 2};
  st.embedding_stage = 0;
  st.head_stage = 1;
  st.backward_split = "flops";
  st.stages.push_back({{1000, 900, 1200, 0, 0, 1010}, {2000, 1800, 2100, 0, 0, 1990}, {700, 650, 800, 0, 0, 710}, 4});
  st.stages.push_back({{1500, 1400, 1600, 0, 0, 1500}, {2500, 2500, 2500, 0, 0, 2500}, {0, 0, 0, 0, 0, 0}, 4});
  st.hops.push_back({0, 350, 8});
  return st;
}

// A traced profile's per-stage section (issue 16) survives save and load, and is optional: a
// profile without it reads as before.
TEST(Profile, StageTimesRoundTripAndAreOptional) {
  Profile p = test::sample_profile();
  EXPECT_FALSE(parse_profile(profile_to_yaml(p), "p.yaml").stage_times.has_value());
  EXPECT_EQ(profile_to_yaml(p).find("stage_times"), std::string::npos);
  p.stage_times = sample_stage_times();
  const Profile q = parse_profile(profile_to_yaml(p), "p.yaml");
  ASSERT_TRUE(q.stage_times.has_value());
  const StageTimesProfile& st = *q.stage_times;
  EXPECT_EQ(st.source, p.stage_times->source);
  EXPECT_EQ(st.layers_per_stage, (std::vector<int>{2, 2}));
  EXPECT_EQ(st.embedding_stage, 0);
  EXPECT_EQ(st.head_stage, 1);
  EXPECT_EQ(st.backward_split, "flops");
  ASSERT_EQ(st.stages.size(), 2u);
  expect_timing_eq(st.stages[0].forward, p.stage_times->stages[0].forward);
  expect_timing_eq(st.stages[0].backward_input, p.stage_times->stages[0].backward_input);
  expect_timing_eq(st.stages[1].backward_weight, p.stage_times->stages[1].backward_weight);
  EXPECT_EQ(st.stages[1].samples, 4);
  ASSERT_EQ(st.hops.size(), 1u);
  EXPECT_EQ(st.hops[0].boundary, 0);
  EXPECT_EQ(st.hops[0].median_ns, 350);
  EXPECT_EQ(st.hops[0].samples, 8);
  EXPECT_EQ(profile_to_yaml(q), profile_to_yaml(p));
}

TEST(Profile, StageTimesErrorsNameTheKey) {
  Profile p = test::sample_profile();
  p.stage_times = sample_stage_times();
  auto fails_with = [&](const std::string& from, const std::string& to, const std::string& expected) {
    std::string text = profile_to_yaml(p);
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    try {
      parse_profile(text, "p.yaml");
      ADD_FAILURE() << "no error for " << to;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  fails_with("backward_split: flops", "backward_split: guessed", "p.yaml:82:19: stage_times.backward_split: must be one of measured, flops (got 'guessed')");
  fails_with("layers: [2, 2]", "layers: [2, 2, 2]", "p.yaml:84:5: stage_times.stages: has 2 entries but the partition has 3 stages");
  fails_with("{boundary: 0,", "{boundary: 1,", "p.yaml:93:18: stage_times.hops[0].boundary: 1 is not between two of the 2 stages");
}

}  // namespace
}  // namespace ppsim
