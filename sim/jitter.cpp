#include "sim/jitter.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numbers>

namespace ppsim {

const char* distribution_name(Distribution d) {
  switch (d) {
    case Distribution::Deterministic: return "deterministic";
    case Distribution::Exponential: return "exponential";
    case Distribution::Normal: return "normal";
    case Distribution::Lognormal: return "lognormal";
    case Distribution::Gamma: return "gamma";
    case Distribution::Profile: return "profile";
  }
  return "?";
}

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

OpTimeSampler::OpTimeSampler(JitterSpec spec, std::uint64_t seed, std::uint64_t stream)
    : spec_(spec), rng_(derive_seed(seed, stream)) {}

double OpTimeSampler::uniform() {
  return (static_cast<double>(rng_() >> 11) + 0.5) * 0x1.0p-53;
}

double OpTimeSampler::standard_normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_normal_;
  }
  const double r = std::sqrt(-2.0 * std::log(uniform()));
  const double a = 2.0 * std::numbers::pi * uniform();
  spare_normal_ = r * std::sin(a);
  has_spare_ = true;
  return r * std::cos(a);
}

double OpTimeSampler::gamma(double shape) {
  if (shape < 1.0) return gamma(shape + 1.0) * std::pow(uniform(), 1.0 / shape);
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = standard_normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

namespace {

// The knots of a Spread's quantile function.
void knots(const Spread& s, double (&u)[5], double (&v)[5]) {
  const double us[5] = {0, 0.1, 0.5, 0.9, 1};
  const double vs[5] = {std::max(0.0, s.q10 - (1 - s.q10) / 4), s.q10, 1, s.q90, s.q90 + (s.q90 - 1) / 4};
  for (int i = 0; i < 5; ++i) {
    u[i] = us[i];
    v[i] = vs[i];
  }
}

}  // namespace

double Spread::quantile(double x) const {
  double u[5], v[5];
  knots(*this, u, v);
  for (int i = 0; i < 4; ++i)
    if (x <= u[i + 1]) return v[i] + (v[i + 1] - v[i]) * (x - u[i]) / (u[i + 1] - u[i]);
  return v[4];
}

double Spread::mean() const {
  double u[5], v[5];
  knots(*this, u, v);
  double m = 0;
  for (int i = 0; i < 4; ++i) m += (u[i + 1] - u[i]) * (v[i] + v[i + 1]) / 2;
  return m;
}

TimeNs OpTimeSampler::draw(TimeNs mean, const Spread& spread) {
  if (spec_.distribution != Distribution::Profile) return draw(mean);
  const double x = static_cast<double>(mean) * spread.quantile(uniform()) / spread.mean();
  return static_cast<TimeNs>(std::llround(std::min(x, 0x1.0p62)));
}

TimeNs OpTimeSampler::draw(TimeNs mean) {
  const double m = static_cast<double>(mean);
  double x = m;
  switch (spec_.distribution) {
    case Distribution::Deterministic:
    case Distribution::Profile:  // without a spread: the op's own time
      return mean;
    case Distribution::Exponential: x = exponential(m); break;
    case Distribution::Normal:
      do x = m * (1.0 + spec_.cv * standard_normal());
      while (x < 0.0);
      break;
    case Distribution::Lognormal: {
      const double s2 = std::log1p(spec_.cv * spec_.cv);
      x = std::exp(std::log(m) - s2 / 2 + std::sqrt(s2) * standard_normal());
      break;
    }
    case Distribution::Gamma: {
      if (spec_.cv == 0) return mean;
      const double k = 1.0 / (spec_.cv * spec_.cv);
      x = gamma(k) * m / k;
      break;
    }
  }
  if (mean == 0) return 0;
  assert(x >= 0 && !std::isnan(x));
  // A draw past 2^62 ns (146 years) is clamped there: it keeps sums of a few of them inside int64.
  return static_cast<TimeNs>(std::llround(std::min(x, 0x1.0p62)));
}

}  // namespace ppsim
