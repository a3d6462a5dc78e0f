// libFuzzer harness: model and hardware YAML. The first byte picks which; the rest is the file. A
// model that parses also goes through the cost model (every layer's FLOPs, bytes and parameters)
// and an automatic partition on a shipped GPU, where overflows would show under UBSan.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "models/cost_model.h"
#include "models/hardware.h"
#include "models/model_loader.h"
#include "models/stage_costs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] % 2 == 0) {
      ppsim::parse_hardware(text, "fuzz-hardware.yaml");
      return 0;
    }
    const ppsim::ModelSpec m = ppsim::parse_model(text, "fuzz-model.yaml");
    const ppsim::LayerShape shape{1, 128, ppsim::DType::BF16, ppsim::Recompute::Selective};
    ppsim::embedding_cost(m, shape);
    ppsim::block_cost(m, shape);
    ppsim::head_cost(m, shape, true);
    ppsim::model_params(m);
    if (m.layers <= 4096) {
      ppsim::CostSettings s;
      s.sequence_length = 128;
      s.stages = 2;
      ppsim::auto_partition(m, ppsim::load_hardware("h100-sxm"), s, std::nullopt);
    }
  } catch (const ppsim::InputError&) {
  }
  return 0;
}
