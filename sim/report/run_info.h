#pragma once
// What a report says about the run it describes, besides the timeline and metrics.
#include <optional>
#include <string>
#include <vector>

#include "sim/model_metrics.h"

namespace ppsim {

struct RunInfo {
  std::string config_source;  // the YAML file
  std::string schedule;
  int ranks = 0, microbatches = 0, chunks = 1;
  bool split_backward = false;
  std::string times_source;   // where the op times came from
  std::vector<std::string> notes;  // extra lines (model, memory, ...), printed as given
  std::optional<ModelMetrics> model;  // model-driven runs: throughput in tokens, MFU, memory
};

}  // namespace ppsim
