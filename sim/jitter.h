#pragma once
// Op-time variability (issue 15): which distribution an op's time is drawn from, and the sampler
// that draws it. The sampler is written out here (inverse CDF, Box-Muller, Marsaglia-Tsang) on
// std::mt19937_64, whose output the C++ standard fixes, instead of <random>'s distributions, whose
// algorithms differ between standard libraries: a seed gives the same times everywhere.
#include <cmath>
#include <cstdint>
#include <random>
#include <string>

#include "base/time.h"

namespace ppsim {

enum class Distribution : std::uint8_t { Deterministic, Exponential, Normal, Lognormal, Gamma, Profile };

// "deterministic", "exponential", "normal", "lognormal", "gamma", "profile".
const char* distribution_name(Distribution d);

struct JitterSpec {
  Distribution distribution = Distribution::Deterministic;
  double cv = 0;  // coefficient of variation (std / mean); exponential: 1
  bool deterministic() const { return distribution == Distribution::Deterministic; }
};

// distribution: profile. The spread a calibration profile recorded for an op, relative to its
// median: p10 / median and p90 / median. A draw follows the piecewise-linear quantile function
// through (0.1, q10), (0.5, 1), (0.9, q90), its tails (to 0 and 1) extended at the neighbouring
// segment's slope (the low end not below 0), scaled so that the draw keeps the op's mean.
struct Spread {
  double q10 = 1, q90 = 1;
  double quantile(double u) const;  // the unscaled quantile function at u in [0, 1]
  double mean() const;              // its mean
};

// One independent stream of op times with the spec's shape; each draw has the mean it is given.
//   exponential  -mean ln(U)
//   normal       mean (1 + cv Z), Z by Box-Muller; a negative draw is drawn again (the mean then
//                rises by less than 1e-7 of itself for cv <= 0.2, by 0.9 % at cv = 0.5)
//   lognormal    exp(mu + sigma Z) with sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2 / 2
//   gamma        shape 1/cv^2, scale mean cv^2 (Marsaglia-Tsang; shape < 1 by the U^(1/k) boost)
//   profile      mean Q(U) / E[Q], Q the Spread's quantile function (draw(mean, spread))
// Draws are rounded to whole nanoseconds.
class OpTimeSampler {
 public:
  OpTimeSampler(JitterSpec spec, std::uint64_t seed, std::uint64_t stream);
  TimeNs draw(TimeNs mean);
  TimeNs draw(TimeNs mean, const Spread& spread);  // distribution: profile
  double uniform();           // in (0, 1), 53 random bits
  double standard_normal();   // Box-Muller (both values used)
  double exponential(double mean) { return -mean * std::log(uniform()); }

 private:
  double gamma(double shape);
  JitterSpec spec_;
  std::mt19937_64 rng_;
  double spare_normal_ = 0;
  bool has_spare_ = false;
};

// A seed for stream `stream` of run `seed` (splitmix64 of both), so streams do not overlap.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream);

}  // namespace ppsim
