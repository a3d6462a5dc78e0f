#include "plan/candidate.h"

#include <cstdio>

namespace ppsim {

SimulationConfig simulation_config(const PlanConfig& plan, const Candidate& c) {
  SimulationConfig s;
  s.source = plan.source;
  s.schedule = c.schedule;
  s.ranks = c.stages;
  s.chunks = c.chunks;
  s.microbatches = c.microbatches;
  s.global_batch_size = plan.global_batch_size;
  if (c.schedule == "zb-auto") s.in_flight_limit = c.stages;  // simulate's default
  ModelConfig m = plan.model;
  m.micro_batch_size = c.micro_batch_size;
  m.recompute = c.recompute;
  m.parallel.tensor = c.tensor_parallel;
  m.parallel.sequence = c.sequence_parallel;
  m.parallel.data = c.data_parallel;
  m.parallel.zero = c.zero;
  s.model = std::move(m);
  return s;
}

namespace {

const char* dtype_name(DType d) {
  for (const auto& [name, value] : kDTypeNames)
    if (value == d) return name.c_str();
  return "bf16";
}

}  // namespace

std::string candidate_yaml(const PlanConfig& plan, const Candidate& c) {
  const ModelConfig& m = plan.model;
  std::string y = "# " + describe(c) + ", from " + plan.source + " (ppsim plan)\n";
  y += "schedule: " + c.schedule + "\n";
  y += "stages: " + std::to_string(c.stages) + "\n";
  if (c.chunks != 1) y += "chunks: " + std::to_string(c.chunks) + "\n";
  y += "global_batch_size: " + std::to_string(plan.global_batch_size) + "\n";
  y += "model: " + m.model + "\n";
  y += "hardware: " + m.hardware + "\n";
  if (!m.profile.empty()) y += "profile: " + m.profile + "\n";
  if (m.profile_statistic == ProfileStatistic::Median) y += "profile_statistic: median\n";
  y += "micro_batch_size: " + std::to_string(c.micro_batch_size) + "\n";
  y += "sequence_length: " + std::to_string(m.sequence_length) + "\n";
  y += std::string("dtype: ") + dtype_name(m.dtype) + "\n";
  y += std::string("recompute: ") + to_string(c.recompute) + "\n";
  y += "tensor_parallel: " + std::to_string(c.tensor_parallel) + "\n";
  if (c.sequence_parallel) y += "sequence_parallel: true\n";
  y += "data_parallel: " + std::to_string(c.data_parallel) + "\n";
  if (c.zero) y += "zero: " + std::to_string(c.zero) + "\n";
  y += "memory_limit: " + std::to_string(plan.memory_limit_bytes) + "B\n";
  if (m.efficiency) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "efficiency: {compute: %.17g, memory: %.17g, network: %.17g}\n", m.efficiency->compute,
                  m.efficiency->memory, m.efficiency->network);
    y += buf;
  }
  if (m.link_given)
    y += std::string("link: ") + (m.link == LinkChoice::IntraNode ? "intra_node" : m.link == LinkChoice::InterNode ? "inter_node" : "auto") + "\n";
  y += "partition: auto\n";
  return y;
}

std::string describe(const Candidate& c) {
  std::string s = c.schedule + " t=" + std::to_string(c.tensor_parallel) + (c.sequence_parallel ? " sp" : "") +
                  " P=" + std::to_string(c.stages) + " V=" + std::to_string(c.chunks) + " d=" +
                  std::to_string(c.data_parallel) + " mbs=" + std::to_string(c.micro_batch_size) + " M=" +
                  std::to_string(c.microbatches) + " " + to_string(c.recompute);
  if (c.zero) s += " zero-" + std::to_string(c.zero);
  return s;
}

}  // namespace ppsim
