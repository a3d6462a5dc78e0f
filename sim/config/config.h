#pragma once
// schedule.yaml, validated. Every error names the file, line, column and key.
// The schema (a contract: extend it, never rename):
//   schedule: zb-h1          # gpipe | 1f1b | interleaved-1f1b | zb-h1 | zb-h2 | custom
//   stages: 8                # P
//   microbatches: 24         # M
//   chunks: 1                # V (default 1)
//   times:                   # one micro-batch through one chunk; scalar or list of P values
//     forward: 18.5ms
//     backward_input: 18.1ms
//     backward_weight: 9.3ms
//     transfer: 0.6ms        # one hop (scalar)
//   order_csv: order.csv     # schedule: custom only, relative to the YAML file
#include <optional>
#include <string>
#include <vector>

#include "sim/time.h"

namespace ppsim {

struct ExplicitTimes {
  std::vector<TimeNs> forward, backward_input, backward_weight;  // per rank (size P)
  TimeNs transfer = 0;
};

struct SimulationConfig {
  std::string source;    // file path, or "<embedded default example>"
  std::string base_dir;  // for relative paths in the file
  std::string schedule;
  int stages = 0;
  int microbatches = 0;
  int chunks = 1;
  std::optional<ExplicitTimes> times;
  std::string order_csv;  // resolved path (schedule: custom)
};

// Reads and validates a YAML file.
SimulationConfig load_config(const std::string& path);

// Parses YAML text; `source` names it in errors and `base_dir` resolves relative paths.
SimulationConfig parse_config(const std::string& text, const std::string& source, const std::string& base_dir);

// The default example compiled into the binary (examples/default.yaml).
const std::string& embedded_default_example();

}  // namespace ppsim
