#include "sim/bubble_sweep.h"

#include <algorithm>
#include <limits>

#include "base/error.h"
#include "sim/simulation.h"

namespace ppsim {
namespace {

// A per-rank list resized to P ranks: only a list of one repeated value can be.
void resize_uniform(std::vector<TimeNs>& v, int ranks, const std::string& source, const char* key) {
  if (v.empty()) return;
  if (std::adjacent_find(v.begin(), v.end(), std::not_equal_to<>()) != v.end())
    throw InputError(source + ": times." + key + " differs between ranks: --sweep-heatmap changes the number of "
                     "stages, so give one value (the same on every rank)");
  v.assign(ranks, v.front());
}

}  // namespace

Heatmap sweep_bubble(const SimulationConfig& config, const std::vector<int>& stages, const std::vector<int>& microbatches) {
  if (config.model && !config.model->partition_auto)
    throw InputError(config.source + ": --sweep-heatmap changes the number of stages: it needs partition: auto (the "
                     "partition given is sized for stages: " + std::to_string(config.ranks) + ")");
  Heatmap h;
  h.title = "bubble fraction of " + config.schedule + " (V = " + std::to_string(config.chunks) + ") over stages P and micro-batches M, " + config.source;
  h.xs = stages;
  h.ys = microbatches;
  h.value.assign(microbatches.size(), std::vector<double>(stages.size(), std::numeric_limits<double>::quiet_NaN()));
  for (std::size_t x = 0; x < stages.size(); ++x)
    for (std::size_t y = 0; y < microbatches.size(); ++y) {
      SimulationConfig c = config;
      const int P = stages[x], M = microbatches[y];
      if (c.times) {
        ExplicitTimes& t = *c.times;
        resize_uniform(t.forward, P, c.source, "forward");
        resize_uniform(t.backward_input, P, c.source, "backward_input");
        resize_uniform(t.backward_weight, P, c.source, "backward_weight");
        resize_uniform(t.overlap_f_b, P, c.source, "overlap_f_b");
      }
      if (c.schedule == "zb-auto" && c.in_flight_limit == c.ranks) c.in_flight_limit = P;  // its default, P
      c.ranks = P;
      c.microbatches = M;
      if (c.model) {
        c.model->memory_limit_bytes = std::numeric_limits<std::int64_t>::max();
        if (c.global_batch_size > 0)
          c.global_batch_size = static_cast<std::int64_t>(M) * c.model->parallel.data * c.model->micro_batch_size;
      }
      try {
        h.value[y][x] = run_simulation(c).metrics.bubble_fraction;
      } catch (const DeadlockError&) {
        throw;
      } catch (const InputError&) {
        // The schedule refuses this P and M (or the model this many stages): an empty cell.
      }
    }
  return h;
}

}  // namespace ppsim
