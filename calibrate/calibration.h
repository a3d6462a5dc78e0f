#pragma once
// What a calibration run is asked to do, shared by the CPU and CUDA backends, plus the progress
// bar and the summary table the subcommand prints.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "models/profile.h"
#include "models/model_spec.h"

namespace ppsim {

// Called with the fraction done in [0, 1] and what is being measured now.
using ProgressFn = std::function<void(double fraction, const std::string& what)>;

struct CalibrationOptions {
  ModelSpec model;
  int micro_batch_size = 1;
  int sequence_length = 128;
  DType dtype = DType::BF16;      // requested; the CPU backend computes in fp32 and records both
  int repeats = 10;               // timed runs per region (median, p10, p90 over these)
  int warmup = 2;                 // untimed runs before them
  int threads = 1;                // cpu: threads for the layer kernels
  std::vector<int> gpus;          // cuda: devices to use (empty: all visible)
  int sms = 0;                    // cuda: run the layers on a partition of this many SMs (0: whole GPU)
  int share_of = 0;               // cuda, instead of sms: on the partition each of this many ranks gets
                                  // (what `measure --share-gpu` gives P ranks), sized by the driver
  int partitions = 1;             // cuda with sms or share_of: time on this many partitions at once, merged
  std::string attention = "auto"; // cuda: the block's fused attention: auto (cuDNN where it runs, else
                                  // the in-house kernel), cudnn, or own
  bool measure_transfers = true;
  std::int64_t min_transfer_bytes = 4 << 10;
  std::int64_t max_transfer_bytes = 64 << 20;  // cpu default; cuda sweeps to 1 GiB
  bool check_numerics = true;     // compare each layer with the float64 reference on a small case
  std::int64_t max_memory_bytes = 0;  // refuse a calibration estimated to need more (0: 90 % of what is free)
  ProgressFn progress;            // may be empty
};

// Throws TooLargeError when the layers a calibration holds (the embedding, one block and the head,
// their gradients and `stashes` micro-batches' stashes, elements of `element_bytes`) exceed
// `available` bytes (`where`: "host memory", "GPU 0's free memory").
void check_calibration_fits(const CalibrationOptions& options, int element_bytes, int stashes, std::int64_t available,
                            const std::string& where);

// Median, 10th and 90th percentile (nearest rank) of nanosecond samples; flops per run gives tflops.
Timing summarize(std::vector<TimeNs> samples, double flops);

// A one-line progress bar redrawn in place with '\r'; draws nothing when disabled (stderr not a TTY).
class ProgressBar {
 public:
  ProgressBar(std::FILE* out, bool enabled) : out_(out), enabled_(enabled) {}
  ~ProgressBar() { finish(); }
  void update(double fraction, const std::string& what);
  void finish();

 private:
  std::FILE* out_;
  bool enabled_;
  bool drawn_ = false;
};

// The table printed at the end: one row per layer and pass (median, p10-p90, TFLOP/s), the
// transfer fit and the numerics checks.
std::string summary_table(const Profile& profile);

}  // namespace ppsim
