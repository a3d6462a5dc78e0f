#pragma once
// A calibration profile: what `ppsim calibrate` measured on one machine, as versioned YAML
// (schema in docs/profile.md). `ppsim simulate` reads it through to_layer_times().
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/alpha_beta_fit.h"
#include "models/layer_times.h"
#include "models/model_spec.h"
#include "base/time.h"

namespace ppsim {

inline constexpr int kProfileSchemaVersion = 1;

struct DeviceInfo {
  std::string kind;            // "cpu" or "cuda"
  std::string name;            // CPU model or GPU name
  int count = 1;               // GPUs used (cuda) or 1
  int threads = 1;             // cpu: threads used by the layer kernels
  std::string driver_version;  // cuda only
  std::string cuda_version;    // cuda only: runtime version
  int sm_clock_mhz = 0;        // cuda only
  int memory_clock_mhz = 0;    // cuda only
  int sms = 0;                 // cuda only: the SM partition the layers ran on (calibrate --sms); 0 = whole GPU
  int partitions = 0;          // with sms: how many such partitions ran the layers at once (--partitions)
  double gemm_peak_tflops = 0; // cuda: a large square bf16 GEMM on the same SMs, the yardstick for every
                               // kernel's TFLOP/s (0: not measured)
  std::string attention;       // cuda: the block's fused attention, "cudnn" or "own" (empty: not recorded)
  std::string attention_note;  // cuda: which cuDNN, or why the in-house kernel ran
};

// Spread of repeated timings of one region.
struct Timing {
  TimeNs median_ns = 0;
  TimeNs p10_ns = 0;
  TimeNs p90_ns = 0;
  double flops = 0;    // floating-point operations of one run; 0 for memory-bound regions
  double tflops = 0;   // flops / median, in 10^12 per second; 0 when flops is 0
  TimeNs mean_ns = 0;  // 0 where not recorded (profiles written before it was)
};

struct LayerProfile {
  Timing forward, backward_input, backward_weight;
  std::int64_t activation_bytes = 0;  // sent forward to the next stage (the layer's output)
  std::int64_t gradient_bytes = 0;    // sent backward to the previous stage (grad of the input)
  std::int64_t stash_bytes = 0;       // kept from F until W for one micro-batch
  std::int64_t parameter_bytes = 0;   // the layer's weights
};

struct KernelProfile {
  std::string layer;  // embedding | block | head
  std::string pass;   // forward | backward_input | backward_weight
  std::string name;   // e.g. qkv_gemm, attention, norm1
  Timing timing;
  std::optional<double> max_relative_error;  // against the float64 reference, where checked
};

struct TransferProfile {
  bool measured = false;
  std::string reason;   // why not, when measured is false
  std::string method;   // "shared-memory" (cpu threads), "nccl"; inter_node: "mpi" or "nccl-mpi"
  std::string between;  // e.g. "thread 0 -> thread 1", "gpu 0 -> gpu 1", "host a (rank 0) <-> host b (rank 1)"
  std::vector<TransferSample> samples;  // median time per size
  AlphaBetaFit fit;
};

// Fills `t` from a transfer sweep: the α-β fit of `samples`, or, where no fit exists (times that
// do not grow with size: a machine too busy to measure them), measured = false with that reason,
// so the simulation falls back to the hardware spec's link instead of the calibration failing.
// The samples are kept either way.
void fit_transfer(TransferProfile& t, std::vector<TransferSample> samples, std::string method, std::string between);

// One step of a calibration and its wall time (the summary says where the time went).
struct CalibrationPhase {
  std::string what;  // e.g. "numerics", "layers"
  double seconds = 0;
};

// Per virtual stage op times measured on a real run (`ppsim trace --profile-out`, docs/traces.md).
// Where the schedule has the same virtual stages and partition, the cost model takes a stage's F, B
// and W from here instead of summing its layers (sim/model_costs.cpp).
struct StageTiming {
  Timing forward, backward_input, backward_weight;
  std::int64_t samples = 0;  // ops measured per kind (micro-batches of the traced step)
};

// A measured hop between virtual stage `boundary` and the next (either direction).
struct HopTiming {
  int boundary = 0;
  TimeNs median_ns = 0;
  std::int64_t samples = 0;
};

struct StageTimesProfile {
  std::string source;                 // what was measured, e.g. "ppsim trace of 4 ranks (1f1b P=4 M=8)"
  std::vector<int> layers_per_stage;  // the partition the run used, blocks per virtual stage
  int embedding_stage = 0;
  int head_stage = -1;                // -1 = the last stage
  // How a stage's backward was split into B and W: "measured" (the run split them) or "flops" (a
  // fused backward, split in the ratio of the cost model's B and W FLOPs).
  std::string backward_split = "measured";
  std::vector<StageTiming> stages;    // virtual stage order
  std::vector<HopTiming> hops;        // only the boundaries that were measured
};

struct Profile {
  int schema_version = kProfileSchemaVersion;
  std::string ppsim_version;
  DeviceInfo device;
  ModelSpec model;
  int micro_batch_size = 1;
  int sequence_length = 0;
  DType dtype = DType::FP32;   // the precision the passes ran in
  std::string requested_dtype; // what the user asked for, when it differs (cpu computes fp32)
  int repeats = 0;
  int warmup = 0;
  LayerProfile embedding, block, head;
  std::vector<KernelProfile> kernels;
  TransferProfile transfer;                 // within one process (two threads, or two GPUs of a node)
  std::optional<TransferProfile> inter_node;  // between two processes under mpirun (typically two nodes)
  double calibration_wall_s = 0;  // how long `ppsim calibrate` took, start to profile (0: not recorded)
  std::vector<CalibrationPhase> phases;  // where that time went, as the backend reports it; not saved
  std::optional<StageTimesProfile> stage_times;  // from a traced run (optional, additive)
  std::string source;  // the file it was loaded from; not saved
};

// Reads and validates a profile. Throws InputError naming file:line and key on any problem,
// including a schema_version this build does not know.
Profile load_profile(const std::string& path);
// Parses profile text; `name` stands for the file in error messages.
Profile parse_profile(const std::string& text, const std::string& name);
// Writes the profile to `path` atomically (a temporary file beside it, renamed at the end).
// Throws InputError when the file cannot be written.
void save_profile(const Profile& profile, const std::string& path);
std::string profile_to_yaml(const Profile& profile);

const char* to_string(ProfileStatistic s);  // "mean" or "median"

// The per-layer times (means, or medians where the profile has no mean or `statistic` asks for
// them) and the link fits (transfer -> link, inter_node -> inter_node_link), for the cost model.
MeasuredLayerTimes to_layer_times(const Profile& profile, ProfileStatistic statistic = ProfileStatistic::Mean);

// A Timing's time under `statistic` (the mean when recorded and asked for, else the median).
TimeNs pick_time(const Timing& t, ProfileStatistic statistic);

DType parse_dtype(const std::string& text, const std::string& what);

}  // namespace ppsim
