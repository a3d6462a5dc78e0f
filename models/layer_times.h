#pragma once
// Measured per-layer pass times, as read from a calibration profile (calibrate/profile.h). The cost
// model (models/) uses them op by op in preference to its analytic roofline estimate.
#include <optional>
#include <string>

#include "sim/time.h"

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

struct MeasuredLayerTimes {
  std::optional<PassTimes> embedding;
  std::optional<PassTimes> block;
  std::optional<PassTimes> head;   // final norm + LM head + loss
  std::optional<LinkFit> link;     // absent when transfers could not be measured (one GPU)
  // Measured between two processes under mpirun (calibrate's inter_node section): used for hops
  // that cross nodes; absent when not measured (then such hops use `link`, or the spec).
  std::optional<LinkFit> inter_node_link;
  std::string source;              // the profile's path, for the report
};

}  // namespace ppsim
