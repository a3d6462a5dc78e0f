#pragma once
// What `ppsim measure` asks of a runner and what a runner gives back, the same for the CPU and the
// GPU: the options, the measured run (the median iteration's timeline), and the median pick.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/timeline.h"

namespace ppsim {

struct MeasureOptions {
  std::string device = "cpu";  // cpu | cuda
  int iterations = 5;          // timed iterations (the median one is reported)
  int warmup = 1;              // untimed iterations before them
  std::uint64_t seed = 1;
  double timeout_s = 600;      // a rank that waits longer than this for one op stops the run (RunError)
  std::int64_t max_memory_bytes = 0;  // refuse a run estimated to need more (0: 90 % of what is free)
  // cpu
  int queue_depth = 0;         // tensors an inbox holds before a sender waits; 0 = as the schedule needs
  bool pin_threads = true;     // one core per rank when there are enough cores
  // Instead of running the layers, every op takes its DAG duration on a virtual clock carried with
  // the tensors: the threads and message passing run for real, the times are deterministic.
  bool virtual_clock = false;
  int stall_rank = -1;         // tests: this rank's worker never sends (to exercise the deadline)
  // cuda
  std::vector<int> gpus;       // rank r on gpus[r]; empty = 0 .. P-1
  bool share_gpu = false;      // every rank on one GPU, each on its own SM partition
  std::string attention = "auto";  // the blocks' fused attention: auto (the profile's kind with --compare,
                                   // else cuDNN where it runs), cudnn or own (as calibrate --attention)
};

struct MeasuredRun {
  Timeline timeline;                        // the median iteration
  std::vector<TimeNs> iteration_makespans;  // every timed iteration, in order
  std::size_t reported_iteration = 0;
  std::string notes;                        // where and how it ran
  TimeNs alignment_error_ns = 0;            // cuda across GPUs: bound on the clock alignment
};

// The index of the median iteration by makespan (the upper median for an even count).
std::size_t median_iteration(const std::vector<TimeNs>& makespans);

// Runs `warmup` untimed and `iterations` timed iterations of `one` (which returns an iteration's
// timeline), calling `before_timed(i)` before timed iteration i when given, and keeps the median.
MeasuredRun run_iterations(const MeasureOptions& options, const std::function<Timeline()>& one,
                           const std::function<void(int)>& before_timed = {});

}  // namespace ppsim
