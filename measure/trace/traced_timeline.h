#pragma once
// The traced run as a ppsim Timeline: every op's measured start and end over the op table of the
// schedule that ran, so the simulator's metrics and reports (bubble, Little's law, critical path,
// Perfetto, SVG) work on it unchanged.
#include <optional>
#include <string>
#include <vector>

#include "measure/trace/traced_ops.h"
#include "schedules/schedule.h"
#include "sim/dag.h"
#include "sim/timeline.h"

namespace ppsim::trace {

struct TracedRun {
  Schedule schedule;               // the schedule that ran (the expected one, or read off the trace)
  Dag dag;                         // its DAG (op costs zero: only the op table and edges are used)
  Timeline timeline;               // measured times, with each op's cause inferred (see below)
  std::vector<std::string> notes;  // how ops were identified; where the traced order differs
  // Per compute op: its traced op (rank, index into RankOps::ops); for the profile's statistics.
  std::vector<std::pair<int, int>> traced_of;
  // Per transfer op (id - compute ops): its receive was seen in the trace (else it takes no time).
  std::vector<bool> transfer_measured;
  bool order_matches_expected = true;
};

// Builds the traced run from every rank's ops (pipeline rank r = ranks[r]).
// With `expected` (the --schedule-yaml schedule): ops whose names lack the stage or micro-batch
// take them from its order by position; fully named ops keep their own order, and where it
// differs from the expected one the traced order is used and the notes say where. Without it the
// schedule is read off the names (P = ranks, stages, micro-batches and layout as they appear;
// ops without a stage take their rank's, micro-batches count up per kind).
// A transfer runs from its producer's end (or the later start of its send/recv kernels) to the end
// of its receive kernel when the trace shows one, else it takes no time. Each op's cause is the
// input that arrived last (its rank's previous op, or a transfer), as the simulator records it.
// Throws InputError when the ops cannot form the schedule (missing ops, a count that differs).
TracedRun build_traced_run(const std::vector<RankOps>& ranks, const std::optional<Schedule>& expected,
                           const std::string& source);

// Fills `tl.cause` from the DAG: for each op the input that ended last (ties go to the transfer
// or producer on another rank), for a transfer its producer or the transfer before it on a busy link.
void infer_causes(const Dag& dag, Timeline& tl);

}  // namespace ppsim::trace
