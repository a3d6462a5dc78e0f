#pragma once
// Least-squares fit of the latency-bandwidth model  time = alpha + bytes / beta  to measured
// transfers, with the quality of the fit: the simulator's transfer times come from alpha and beta,
// and R^2 and the worst residual say how far to trust them.
#include <cstddef>
#include <cstdint>
#include <functional>
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

// The sizes every transfer sweep visits: min, 4·min, 16·min, ... up to max (throws InputError
// unless 0 < min <= max).
std::vector<std::int64_t> sweep_sizes(std::int64_t min_bytes, std::int64_t max_bytes);

// A transfer sweep: for each size of sweep_sizes, `warmup` untimed then `repeats` timed calls of
// seconds_of(size index, bytes); one sample per size, the median of its timed calls (the upper one
// for an even count). Every backend's sweep (threads, MPI, NCCL, device copies) runs through here.
std::vector<TransferSample> sweep_transfers(std::int64_t min_bytes, std::int64_t max_bytes, int warmup, int repeats,
                                            const std::function<double(std::size_t, std::int64_t)>& seconds_of);

}  // namespace ppsim
