#pragma once
// Least-squares fit of the latency-bandwidth model  time = alpha + bytes / beta  to measured
// transfers, with the quality of the fit: the simulator's transfer times come from alpha and beta,
// and R^2 and the worst residual say how far to trust them.
#include <cstdint>
#include <vector>

namespace ppsim {

struct TransferSample {
  std::int64_t bytes = 0;
  double seconds = 0;
};

struct AlphaBetaFit {
  double alpha_s = 0;             // latency (intercept), seconds
  double beta_bytes_per_s = 0;    // bandwidth (1 / slope), bytes per second
  double r2 = 0;                  // coefficient of determination of the linear fit in seconds
  double worst_residual_s = 0;    // largest |measured - fitted|, seconds
  double worst_relative = 0;      // largest |measured - fitted| / measured
  std::int64_t worst_bytes = 0;   // the size where the largest relative residual is
};

// Fits alpha and beta to `samples` by least squares, each sample weighted by 1 / seconds so that
// small transfers (where alpha matters) count as much as large ones: the fit minimises relative
// error. A negative intercept is clamped to zero (refit through the origin). Needs at least two distinct sizes; throws ppsim::InputError otherwise or when the fitted
// slope is not positive (the measurements do not grow with size).
AlphaBetaFit fit_alpha_beta(const std::vector<TransferSample>& samples);

}  // namespace ppsim
