#include "sim/stream/stream_model_times.h"

#include <algorithm>
#include <functional>

#include "schedules/registry.h"
#include "sim/model_costs.h"

namespace ppsim {

StreamConfig stream_with_model_times(const SimulationConfig& config) {
  StreamConfig c = *config.stream;
  // One virtual stage per rank: GPipe's layout (its order does not matter here, only the placement).
  const Schedule layout = generate_schedule("gpipe", {c.stages, 1, 1});
  const ModelCosts mc = build_model_costs(*config.model, layout);
  const OpCosts costs = mc.op_costs(layout.rank_of_stage);
  c.forward = costs.forward;
  // One value where every boundary's hop is the same, else one per boundary.
  const std::vector<TimeNs>& h = costs.forward_transfer;
  c.transfer = h.empty() ? 0 : h.front();
  if (std::adjacent_find(h.begin(), h.end(), std::not_equal_to<>()) != h.end()) c.hops = h;
  c.times_source = "the cost model: " + mc.model.name + " on " + mc.hardware.name;
  return c;
}

}  // namespace ppsim
