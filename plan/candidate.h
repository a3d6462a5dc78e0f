#pragma once
// One configuration `ppsim plan` considers: the split of the GPUs, the schedule and its shape, the
// micro-batch and the memory policies; and the simulate config that runs it.
#include <cstdint>
#include <string>

#include "plan/plan_config.h"
#include "sim/config/config.h"

namespace ppsim {

struct Candidate {
  int id = 0;  // its place in the enumeration (the tie-break of every ranking)
  std::string schedule;
  int stages = 1;            // P
  int chunks = 1;            // V
  int micro_batch_size = 1;
  int microbatches = 1;      // M = global_batch_size / (data_parallel x micro_batch_size)
  int tensor_parallel = 1;   // t
  int data_parallel = 1;     // d = gpus / (t x P)
  bool sequence_parallel = false;
  Recompute recompute = Recompute::None;
  int zero = 0;
};

// The simulate config of a candidate: what `ppsim simulate` reads from candidate_yaml().
SimulationConfig simulation_config(const PlanConfig& plan, const Candidate& c);

// A schedule.yaml that `ppsim simulate` runs as this candidate (model and hardware as plan.yaml
// names them; relative paths as they resolve from plan.yaml's folder).
std::string candidate_yaml(const PlanConfig& plan, const Candidate& c);

// "zb-h1 t=8 sp P=4 V=1 d=2 mbs=1 M=256 selective zero-1", for reports.
std::string describe(const Candidate& c);

}  // namespace ppsim
