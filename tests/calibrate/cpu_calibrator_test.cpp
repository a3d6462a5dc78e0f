// The CPU calibration of the tiny model end to end: fast, sane numbers, checked numerics, a profile
// that loads back.
#include "calibrate/cpu/cpu_calibrator.h"
#include "calibrate/profile_merge.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "models/model_loader.h"
#include "base/error.h"

namespace ppsim {
namespace {

CalibrationOptions tiny_options() {
  CalibrationOptions o;
  o.model = load_model("tiny");
  o.micro_batch_size = 1;
  o.sequence_length = 64;
  o.repeats = 3;
  o.warmup = 1;
  o.max_transfer_bytes = 1 << 20;
  return o;
}

TEST(CpuCalibrator, TinyModelEndToEnd) {
  CalibrationOptions o = tiny_options();
  double last = 0;
  int calls = 0;
  o.progress = [&](double f, const std::string&) {
    EXPECT_GE(f, last);
    last = f;
    ++calls;
  };
  const Profile p = calibrate_cpu(o);
  EXPECT_NEAR(last, 1.0, 1e-9);
  EXPECT_GT(calls, 3);

  EXPECT_EQ(p.device.kind, "cpu");
  EXPECT_EQ(p.dtype, DType::FP32);
  EXPECT_EQ(p.requested_dtype, "bf16");
  EXPECT_EQ(p.model.name, "tiny");
  for (const LayerProfile* l : {&p.block, &p.head}) {
    for (const Timing* t : {&l->forward, &l->backward_input, &l->backward_weight}) {
      EXPECT_GT(t->median_ns, 0);
      EXPECT_LE(t->p10_ns, t->median_ns);
      EXPECT_LE(t->median_ns, t->p90_ns);
      EXPECT_GT(t->tflops, 0);
    }
  }
  EXPECT_EQ(p.block.activation_bytes, 64 * 64 * 4);
  EXPECT_EQ(p.block.gradient_bytes, 64 * 64 * 4);
  EXPECT_EQ(p.head.activation_bytes, 0);
  EXPECT_GT(p.block.stash_bytes, p.block.activation_bytes);
  EXPECT_GT(p.block.parameter_bytes, 12 * 64 * 64 * 4 - 1);

  ASSERT_EQ(p.kernels.size(), 9u);
  for (const auto& k : p.kernels) {
    ASSERT_TRUE(k.max_relative_error.has_value());
    EXPECT_LT(*k.max_relative_error, 1e-4) << k.name;
  }
  EXPECT_EQ(p.transfer.samples.size(), 5u);  // 4 KiB .. 1 MiB by factors of 4
  // On a machine too busy to time them the sweep's times need not grow with size: then the
  // transfer is recorded as not measured, with the reason, and the spec link is used.
  if (p.transfer.measured) {
    EXPECT_GT(p.transfer.fit.beta_bytes_per_s, 0);
    EXPECT_GE(p.transfer.fit.alpha_s, 0);
  } else {
    EXPECT_FALSE(p.transfer.reason.empty());
  }

  const auto path =
      (std::filesystem::temp_directory_path() / ("ppsim_cpu_calibration_" + std::to_string(::getpid()) + ".yaml")).string();
  save_profile(p, path);
  const Profile q = load_profile(path);
  std::remove(path.c_str());
  EXPECT_EQ(q.block.forward.median_ns, p.block.forward.median_ns);
  EXPECT_EQ(q.block.forward.mean_ns, p.block.forward.mean_ns);
  EXPECT_GT(p.block.forward.mean_ns, 0);
  EXPECT_EQ(q.transfer.fit.beta_bytes_per_s, p.transfer.fit.beta_bytes_per_s);
  const auto m = to_layer_times(q);
  ASSERT_TRUE(m.block);
  EXPECT_EQ(m.link.has_value(), p.transfer.measured);
  EXPECT_EQ(m.block->backward_weight, p.block.backward_weight.mean_ns);
  EXPECT_FALSE(m.means_missing);
  EXPECT_NE(summary_table(p).find("block"), std::string::npos);
}

TEST(CpuCalibrator, NumericsOfEveryVariant) {
  ModelSpec s = load_model("tiny");
  for (auto norm : {Norm::LayerNorm, Norm::RmsNorm})
    for (auto act : {Activation::Gelu, Activation::SwiGlu})
      for (int kv : {s.heads, 1}) {
        s.norm = norm;
        s.activation = act;
        s.kv_heads = kv;
        for (const auto& r : check_cpu_numerics(s)) EXPECT_LT(r.max_relative_error, 1e-4) << r.layer << r.pass;
      }
}

TEST(CpuCalibrator, RejectsBadOptions) {
  CalibrationOptions o = tiny_options();
  o.repeats = 0;
  EXPECT_THROW(calibrate_cpu(o), InputError);
  o = tiny_options();
  o.model.heads = 3;
  EXPECT_THROW(calibrate_cpu(o), InputError);
}

TEST(Summarize, NearestRankPercentiles) {
  std::vector<TimeNs> s;
  for (int i = 10; i >= 0; --i) s.push_back(i * 100);
  const Timing t = summarize(s, 2000.0);
  EXPECT_EQ(t.median_ns, 500);
  EXPECT_EQ(t.p10_ns, 100);
  EXPECT_EQ(t.p90_ns, 900);
  EXPECT_DOUBLE_EQ(t.tflops, 2000.0 / 500 * 1e-3);
  EXPECT_EQ(t.mean_ns, 500);  // symmetric samples: mean = median
  // One slow run (a preempted core) moves the mean, not the median: 10 x 100 + 1100 = 2100 over 11.
  const Timing skewed = summarize({100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 1100}, 0);
  EXPECT_EQ(skewed.median_ns, 100);
  EXPECT_EQ(skewed.mean_ns, 191);  // 2100 / 11 = 190.9
}

// Interleaved calibration rounds merge into one profile: medians of the medians, mean of the means.
TEST(MergeProfiles, MediansOfMediansAndMeanOfMeans) {
  std::vector<Profile> rounds(3);
  const TimeNs medians[3] = {100, 300, 200}, means[3] = {110, 400, 210};
  for (int i = 0; i < 3; ++i) {
    rounds[i].block.forward.median_ns = medians[i];
    rounds[i].block.forward.p10_ns = medians[i] - 10;
    rounds[i].block.forward.p90_ns = medians[i] + 10;
    rounds[i].block.forward.mean_ns = means[i];
    rounds[i].repeats = 5;
  }
  Profile m = merge_profiles(rounds);
  EXPECT_EQ(m.block.forward.median_ns, 200);
  EXPECT_EQ(m.block.forward.p10_ns, 190);
  EXPECT_EQ(m.block.forward.mean_ns, 240);  // (110 + 400 + 210) / 3
  EXPECT_EQ(m.repeats, 15);
  rounds[1].block.forward.mean_ns = 0;  // one round without a mean: no mean at all
  m = merge_profiles(rounds);
  EXPECT_EQ(m.block.forward.mean_ns, 0);
}

}  // namespace
}  // namespace ppsim
