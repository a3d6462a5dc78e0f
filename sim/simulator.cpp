#include "sim/simulator.h"

#include <stdexcept>
#include <string>

namespace ppsim {

const Metrics& Simulator::run(const Schedule& schedule, const OpCosts& costs, const MetricsOptions& options,
                              const TrainingStepCosts& step) {
  timeline_.table.reset();  // the op table is rebuilt in place once nothing else shares it
  built_ = false;           // until the build succeeds: a failed one leaves a half-built DAG
  build_dag_into(schedule, costs, step, dag_, build_buffers_);
  built_ = true;
  simulate_into(dag_, {}, timeline_, replay_buffers_);
  compute_metrics_into(timeline_, options, metrics_, metrics_buffers_);
  return metrics_;
}

const Metrics& Simulator::rerun(std::span<const TimeNs> durations, const MetricsOptions& options) {
  if (!built_) throw std::logic_error("Simulator::rerun: no DAG was built (run first)");
  if (durations.size() != dag_.table->ops.size())
    throw std::invalid_argument("Simulator::rerun: " + std::to_string(durations.size()) + " durations for " +
                                std::to_string(dag_.table->ops.size()) + " ops");
  simulate_into(dag_, durations, timeline_, replay_buffers_);
  compute_metrics_into(timeline_, options, metrics_, metrics_buffers_);
  return metrics_;
}

}  // namespace ppsim
