// The alpha-beta fit recovers known latency and bandwidth from synthetic transfers.
#include "models/alpha_beta_fit.h"

#include <gtest/gtest.h>

#include <random>

#include "base/error.h"

namespace ppsim {
namespace {

std::vector<TransferSample> synthetic(double alpha, double beta, double noise, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> jitter(-noise, noise);
  std::vector<TransferSample> out;
  for (std::int64_t bytes = 4096; bytes <= (std::int64_t{1} << 30); bytes *= 4)
    for (int repeat = 0; repeat < 3; ++repeat)
      out.push_back({bytes, (alpha + double(bytes) / beta) * (1.0 + jitter(rng))});
  return out;
}

TEST(AlphaBetaFit, RecoversExactParameters) {
  const auto fit = fit_alpha_beta(synthetic(8e-6, 45e9, 0.0, 1));
  EXPECT_NEAR(fit.alpha_s, 8e-6, 1e-12);
  EXPECT_NEAR(fit.beta_bytes_per_s / 45e9, 1.0, 1e-9);
  EXPECT_NEAR(fit.r2, 1.0, 1e-12);
  EXPECT_LT(fit.worst_relative, 1e-9);
}

TEST(AlphaBetaFit, RecoversParametersUnderNoise) {
  // 5% multiplicative noise: the relative-error fit keeps both parameters within a few percent.
  const auto fit = fit_alpha_beta(synthetic(20e-6, 10e9, 0.05, 42));
  EXPECT_NEAR(fit.alpha_s / 20e-6, 1.0, 0.05);
  EXPECT_NEAR(fit.beta_bytes_per_s / 10e9, 1.0, 0.05);
  EXPECT_GT(fit.r2, 0.99);
  EXPECT_LE(fit.worst_relative, 0.11);
  EXPECT_GT(fit.worst_relative, 0.0);
  EXPECT_GT(fit.worst_residual_s, 0.0);
}

TEST(AlphaBetaFit, NegativeInterceptIsClampedToZero) {
  std::vector<TransferSample> s = {{1000, 0.9e-6}, {2000, 2.0e-6}, {4000, 4.1e-6}};
  const auto fit = fit_alpha_beta(s);
  EXPECT_EQ(fit.alpha_s, 0.0);
  EXPECT_NEAR(fit.beta_bytes_per_s, 1e9, 0.05e9);
}

TEST(AlphaBetaFit, RejectsDegenerateInput) {
  EXPECT_THROW(fit_alpha_beta({}), InputError);
  EXPECT_THROW(fit_alpha_beta({{100, 1e-6}, {100, 2e-6}}), InputError);
  EXPECT_THROW(fit_alpha_beta({{100, 2e-6}, {200, 1e-6}}), InputError);
  EXPECT_THROW(fit_alpha_beta({{100, 0.0}, {200, 1e-6}}), InputError);
}

}  // namespace
}  // namespace ppsim

namespace ppsim {
namespace {

// The one sweep every transfer backend runs through: sizes x4 apart, warm-up calls dropped, the
// median (upper for an even count) of the timed ones.
TEST(SweepTransfers, SizesWarmupAndMedian) {
  EXPECT_EQ(sweep_sizes(4, 64), (std::vector<std::int64_t>{4, 16, 64}));
  EXPECT_EQ(sweep_sizes(4, 63), (std::vector<std::int64_t>{4, 16}));
  EXPECT_EQ(sweep_sizes(5, 5), (std::vector<std::int64_t>{5}));
  std::vector<std::pair<std::size_t, std::int64_t>> calls;
  // Per size: a huge warm-up, then 4, 1, 3, 2 (x the size): the upper median is 3.
  const double pattern[] = {1e9, 4, 1, 3, 2};
  const auto samples = sweep_transfers(4, 64, 1, 4, [&](std::size_t i, std::int64_t bytes) {
    calls.push_back({i, bytes});
    return pattern[(calls.size() - 1) % 5] * double(bytes);
  });
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].bytes, 4);
  EXPECT_DOUBLE_EQ(samples[0].seconds, 12.0);
  EXPECT_EQ(samples[2].bytes, 64);
  EXPECT_DOUBLE_EQ(samples[2].seconds, 192.0);
  ASSERT_EQ(calls.size(), 15u);
  EXPECT_EQ(calls[5], (std::pair<std::size_t, std::int64_t>{1, 16}));  // size index passed along
  EXPECT_THROW(sweep_sizes(0, 64), InputError);
  EXPECT_THROW(sweep_sizes(64, 4), InputError);
  EXPECT_THROW(sweep_transfers(4, 64, 0, 0, [](std::size_t, std::int64_t) { return 1.0; }), InputError);
}

}  // namespace
}  // namespace ppsim
