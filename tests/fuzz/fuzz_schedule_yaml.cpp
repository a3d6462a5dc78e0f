// libFuzzer harness: schedule.yaml. Any text either parses or throws InputError; a config that
// parses and is small is also simulated (generators, validator, DAG, engine, metrics).
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "sim/config/config.h"
#include "sim/simulation.h"
#include "sim/size_estimate.h"
#include "sim/stream/stream_engine.h"
#include "sim/stream/stream_metrics.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const ppsim::SimulationConfig c = ppsim::parse_config(text, "fuzz.yaml", ".");
    if (c.stream) {  // schedule: stream (issue 15): the streaming engine and its metrics, when small
      const ppsim::StreamConfig& s = *c.stream;
      if (c.model || (s.warmup_items + s.items) * s.stages > 20'000) return 0;
      ppsim::compute_stream_metrics(s, ppsim::run_stream(s));
      return 0;
    }
    if (ppsim::estimate_simulation_size(c.schedule, c.ranks, c.microbatches, c.chunks).ops() > 20'000) return 0;
    if (c.model) return 0;  // the cost model has its own harness (fuzz_model_yaml)
    ppsim::run_simulation(c);
  } catch (const ppsim::InputError&) {
  }
  return 0;
}
