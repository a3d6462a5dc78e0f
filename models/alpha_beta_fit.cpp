#include "models/alpha_beta_fit.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include <Eigen/Dense>

#include "base/error.h"

namespace ppsim {

AlphaBetaFit fit_alpha_beta(const std::vector<TransferSample>& samples) {
  std::set<std::int64_t> sizes;
  for (const auto& s : samples) {
    if (s.seconds <= 0 || s.bytes < 0)
      throw InputError("alpha-beta fit: sample of " + std::to_string(s.bytes) + " bytes has non-positive time");
    sizes.insert(s.bytes);
  }
  if (sizes.size() < 2) throw InputError("alpha-beta fit: need transfers of at least two different sizes");

  // Weighted least squares: rows [1, bytes] / t against 1 (= t / t), solved by QR for stability
  // (bytes span six orders of magnitude). The byte column is scaled to GB to keep the matrix tame.
  const auto n = static_cast<Eigen::Index>(samples.size());
  Eigen::MatrixXd a(n, 2);
  Eigen::VectorXd b(n);
  constexpr double kScale = 1e9;
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto& s = samples[static_cast<std::size_t>(i)];
    a(i, 0) = 1.0 / s.seconds;
    a(i, 1) = double(s.bytes) / kScale / s.seconds;
    b(i) = 1.0;
  }
  const Eigen::Vector2d x = a.colPivHouseholderQr().solve(b);
  double alpha = x(0), slope = x(1) / kScale;  // seconds per byte
  if (alpha < 0) {
    // A latency cannot be negative: refit through the origin (the constrained least squares).
    double num = 0, den = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      num += a(i, 1);
      den += a(i, 1) * a(i, 1);
    }
    alpha = 0;
    slope = num / den / kScale;
  }
  if (!(slope > 0))
    throw InputError("alpha-beta fit: transfer time does not grow with size (slope " + std::to_string(slope) +
                     " s/byte)");

  AlphaBetaFit fit;
  fit.alpha_s = alpha;
  fit.beta_bytes_per_s = 1.0 / slope;
  double mean = 0;
  for (const auto& s : samples) mean += s.seconds;
  mean /= double(n);
  double ss_res = 0, ss_tot = 0;
  for (const auto& s : samples) {
    const double predicted = alpha + double(s.bytes) * slope;
    const double r = s.seconds - predicted;
    ss_res += r * r;
    ss_tot += (s.seconds - mean) * (s.seconds - mean);
    fit.worst_residual_s = std::max(fit.worst_residual_s, std::abs(r));
    if (std::abs(r) / s.seconds > fit.worst_relative) {
      fit.worst_relative = std::abs(r) / s.seconds;
      fit.worst_bytes = s.bytes;
    }
  }
  fit.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : 1.0;
  return fit;
}

std::vector<std::int64_t> sweep_sizes(std::int64_t min_bytes, std::int64_t max_bytes) {
  if (min_bytes <= 0 || max_bytes < min_bytes) throw InputError("transfer sizes: need 0 < min <= max");
  std::vector<std::int64_t> sizes;
  for (std::int64_t b = min_bytes; b <= max_bytes; b *= 4) sizes.push_back(b);
  return sizes;
}

std::vector<TransferSample> sweep_transfers(std::int64_t min_bytes, std::int64_t max_bytes, int warmup, int repeats,
                                            const std::function<double(std::size_t, std::int64_t)>& seconds_of) {
  if (repeats < 1 || warmup < 0) throw InputError("transfer sweep: need repeats >= 1 and warmup >= 0");
  const std::vector<std::int64_t> sizes = sweep_sizes(min_bytes, max_bytes);
  std::vector<TransferSample> out;
  std::vector<double> times;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    times.clear();
    for (int r = 0; r < warmup + repeats; ++r) {
      const double t = seconds_of(i, sizes[i]);
      if (r >= warmup) times.push_back(t);
    }
    std::sort(times.begin(), times.end());
    out.push_back({sizes[i], times[times.size() / 2]});
  }
  return out;
}

}  // namespace ppsim
