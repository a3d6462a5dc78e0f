#pragma once
// GPU and link specs: the shipped models/hardware/*.yaml (embedded) or a user's YAML file.
#include <cstdint>
#include <string>
#include <vector>

#include "models/model_spec.h"
#include "base/time.h"

namespace ppsim {

// Fractions of the datasheet peaks that the roofline estimate assumes are reached. The defaults
// are documented in docs/cost-model.md; a hardware file's `efficiency:` block or CostSettings
// override them.
struct Efficiency {
  double compute = 0.5;  // of peak dense tensor FLOP/s, for GEMM-dominated transformer layers
  double memory = 0.8;   // of peak HBM bandwidth
  double network = 0.8;  // of the link's per-direction bandwidth
};

struct LinkSpec {
  double bandwidth_bytes_per_s = 0;  // per direction, per GPU
  TimeNs latency = 0;
};

struct HardwareSpec {
  std::string name;
  double peak_bf16_flops = 0;  // dense, FLOP/s
  double peak_fp16_flops = 0;
  double peak_fp32_flops = 0;
  double memory_bandwidth_bytes_per_s = 0;
  std::int64_t memory_bytes = 0;
  int gpus_per_node = 8;
  LinkSpec intra_node;
  LinkSpec inter_node;
  Efficiency efficiency;

  double peak_flops(DType d) const;
};

class YamlMap;  // base/yaml_reader.h

// An `efficiency:` mapping ({compute, memory, network}, each a fraction in (0, 1]), of a hardware
// file or of schedule.yaml; an absent key keeps the default above.
Efficiency read_efficiency(const YamlMap& efficiency);

// A shipped name ("h100-sxm", "h200", "a100-80gb") or a path to a hardware YAML file. Throws
// InputError naming the file, line and field for bad content, or listing the shipped names.
HardwareSpec load_hardware(const std::string& name_or_path);

// The same from YAML text; `display` names it in errors.
HardwareSpec parse_hardware(const std::string& yaml_text, const std::string& display);

// Sorted names of the shipped hardware files.
std::vector<std::string> shipped_hardware_names();

}  // namespace ppsim
