#pragma once
// Measured per-layer pass times, as read from a calibration profile (calibrate/profile.h). The cost
// model (models/) uses them op by op in preference to its analytic roofline estimate.
#include <optional>
#include <string>

#include "base/time.h"

namespace ppsim {

enum class LayerType { Embedding, Block, Head };

// One micro-batch through one layer: forward, input gradient (B) and weight gradient (W).
struct PassTimes {
  TimeNs forward = 0;
  TimeNs backward_input = 0;
  TimeNs backward_weight = 0;
};

// Transfer time of n bytes between two ranks = alpha_s + n / beta_bytes_per_s.
struct LinkFit {
  double alpha_s = 0;
  double beta_bytes_per_s = 0;
};

// Which statistic of a profile's repeated timings stands for an op. A makespan is a sum of op
// times, so its expected value is the sum of the ops' MEANS: the default. Medians ignore the rare
// slow runs (a preempted core, a clock dip) that real iterations also suffer, so on a noisy
// machine they predict optimistically; they remain for profiles without means and on request
// (config key `profile_statistic: median`).
enum class ProfileStatistic { Mean, Median };

struct MeasuredLayerTimes {
  std::optional<PassTimes> embedding;
  std::optional<PassTimes> block;
  std::optional<PassTimes> head;   // final norm + LM head + loss
  std::optional<LinkFit> link;     // absent when transfers could not be measured (one GPU)
  // Measured between two processes under mpirun (calibrate's inter_node section): used for hops
  // that cross nodes; absent when not measured (then such hops use `link`, or the spec).
  std::optional<LinkFit> inter_node_link;
  std::string source;              // the profile's path, for the report
  ProfileStatistic statistic = ProfileStatistic::Mean;  // what the pass times are
  bool means_missing = false;      // the profile had no means: medians were used instead
};

}  // namespace ppsim
