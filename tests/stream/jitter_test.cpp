// The op-time sampler (sim/jitter.h): each distribution has the mean it is given and the cv it is
// asked for, within the Monte-Carlo error of 400,000 draws; a seed gives the same draws every time.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "sim/jitter.h"

namespace ppsim {
namespace {

struct Moments {
  double mean = 0, cv = 0;
};

Moments moments(JitterSpec spec, TimeNs mean, int n = 400'000) {
  OpTimeSampler s(spec, 42, 0);
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    const double x = static_cast<double>(s.draw(mean));
    sum += x;
    sq += x * x;
  }
  const double m = sum / n;
  return {m, std::sqrt(sq / n - m * m) / m};
}

TEST(Jitter, EachDistributionHasItsMeanAndCv) {
  const TimeNs mean = 10'000'000;
  for (const auto& [d, cv] : std::vector<std::pair<Distribution, double>>{{Distribution::Exponential, 1.0},
                                                                          {Distribution::Normal, 0.2},
                                                                          {Distribution::Lognormal, 0.05},
                                                                          {Distribution::Lognormal, 0.5},
                                                                          {Distribution::Gamma, 0.3},
                                                                          {Distribution::Gamma, 2.0}}) {
    const Moments m = moments({d, cv}, mean);
    // The mean's standard error is cv mean / sqrt(n); 4 of them. The cv within 2 % of itself
    // (gamma at cv 2 has a heavy tail: 4 %).
    EXPECT_NEAR(m.mean, 1e7, 4 * cv * 1e7 / std::sqrt(400'000.0)) << distribution_name(d) << " cv " << cv;
    EXPECT_NEAR(m.cv, cv, (cv > 1 ? 0.04 : 0.02) * cv) << distribution_name(d) << " cv " << cv;
  }
  const Moments det = moments({Distribution::Deterministic, 0}, mean, 10);
  EXPECT_EQ(det.mean, 1e7);
  EXPECT_EQ(det.cv, 0);
}

TEST(Jitter, ASeedGivesTheSameDrawsAndStreamsDiffer) {
  OpTimeSampler a({Distribution::Lognormal, 0.2}, 5, 0), b({Distribution::Lognormal, 0.2}, 5, 0),
      c({Distribution::Lognormal, 0.2}, 5, 1);
  int same_as_other_stream = 0;
  for (int i = 0; i < 1000; ++i) {
    const TimeNs x = a.draw(1'000'000);
    EXPECT_EQ(x, b.draw(1'000'000));
    same_as_other_stream += x == c.draw(1'000'000);
  }
  EXPECT_LT(same_as_other_stream, 5);
  // The first draws of seed 5, stream 0: fixed by mt19937_64 and the formulas here, on any platform.
  OpTimeSampler e({Distribution::Exponential, 1}, 5, 0);
  const TimeNs first = e.draw(1'000'000);
  OpTimeSampler e2({Distribution::Exponential, 1}, 5, 0);
  EXPECT_EQ(first, e2.draw(1'000'000));
}

// distribution: profile: the piecewise-linear quantile function through the profile's p10, median
// and p90, its mean in closed form, and draws whose 10th and 90th percentiles land on the profile's
// (scaled by mean / E[Q]) within the Monte-Carlo error of 200,000 draws.
TEST(Jitter, ProfileSpread) {
  const Spread s{0.8, 1.4};
  EXPECT_DOUBLE_EQ(s.quantile(0.1), 0.8);
  EXPECT_DOUBLE_EQ(s.quantile(0.5), 1.0);
  EXPECT_DOUBLE_EQ(s.quantile(0.9), 1.4);
  EXPECT_DOUBLE_EQ(s.quantile(0.0), 0.75);  // 0.8 - 0.2 / 4
  EXPECT_DOUBLE_EQ(s.quantile(1.0), 1.5);   // 1.4 + 0.4 / 4
  // 0.1 (0.75 + 0.8) / 2 + 0.4 (0.8 + 1) / 2 + 0.4 (1 + 1.4) / 2 + 0.1 (1.4 + 1.5) / 2
  EXPECT_DOUBLE_EQ(s.mean(), 0.0775 + 0.36 + 0.48 + 0.145);
  OpTimeSampler sampler({Distribution::Profile, 0}, 9, 0);
  const int n = 200'000;
  std::vector<double> x;
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    x.push_back(static_cast<double>(sampler.draw(1'000'000, s)));
    sum += x.back();
  }
  std::sort(x.begin(), x.end());
  const double scale = 1e6 / s.mean();
  // The quantile's standard error, sqrt(q (1 - q) / n) / density: density at u = 0.1 is
  // 0.4 / ((1 - 0.8) scale) per ns; 4 of them.
  const double se = std::sqrt(0.09 / n) * 0.2 * scale / 0.4;
  EXPECT_NEAR(x[n / 10], 0.8 * scale, 4 * se);
  EXPECT_NEAR(x[9 * n / 10], 1.4 * scale, 4 * std::sqrt(0.09 / n) * 0.4 * scale / 0.4);
  EXPECT_NEAR(sum / n, 1e6, 4 * 0.2 * 1e6 / std::sqrt(double(n)));
  // Without a spread, or with p10 = median = p90, the op keeps its time.
  EXPECT_EQ(sampler.draw(1'000'000), 1'000'000);
  EXPECT_EQ(sampler.draw(1'000'000, Spread{}), 1'000'000);
}

}  // namespace
}  // namespace ppsim
