#pragma once
// The results of a run, simulated or measured: every op with its resource, start and end. It is the
// single source for every metric and report.
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "schedules/action.h"
#include "base/time.h"

namespace ppsim {

using OpId = std::uint32_t;
constexpr OpId kNoOp = std::numeric_limits<OpId>::max();

// The ops of a whole training step that follow the pipeline (issue 12): each pipeline rank's
// data-parallel collectives and its optimizer update. Pipeline ops are StepKind::None.
enum class StepKind : std::uint8_t {
  None,
  GradReduce,   // a stage's gradients over the data-parallel replicas: all-reduce, or reduce-scatter (ZeRO)
  Optimizer,    // the rank's optimizer update, on its compute stream
  ParamGather,  // ZeRO: all-gather of the updated (1, 2) or about-to-be-used (3) parameter shards
};
const char* step_kind_name(StepKind kind);  // "grad-reduce", "optimizer", "param-gather"

// One node of the DAG: a compute action on a rank, a transfer on a directional link, or a
// training-step op (after both).
struct Op {
  TimeNs duration = 0;
  std::int32_t resource = 0;    // ranks are resources 0..P-1, links follow
  std::int32_t stage = 0;       // compute: its virtual stage; transfer: the sending stage
  std::int32_t microbatch = 0;
  ActionKind kind = ActionKind::F;  // compute kind; a transfer carries F (activation) or B (gradient)
  bool is_transfer = false;
  // The F of an overlapped unit: it runs the whole unit (its duration), and the backward after it
  // on the rank takes no time of its own.
  bool overlapped = false;
  StepKind step = StepKind::None;  // training-step ops only
};

struct Resource {
  std::string name;  // "rank 3", "link 3->4", or "dp 3" (rank 3's data-parallel collectives)
  int rank = -1;     // compute resources
  int src = -1, dst = -1;  // links
  int data_parallel_of = -1;  // the pipeline rank whose data-parallel collectives run here
  bool is_link() const { return src >= 0; }
};

// What the ops are, independent of when they ran; shared by the DAG and every timeline of it.
struct OpTable {
  int ranks = 0, chunks = 1, stages = 0, microbatches = 0;
  std::vector<int> rank_of_stage;
  std::vector<Op> ops;                 // compute ops (rank by rank, in order), transfers, step ops
  std::vector<Resource> resources;     // ranks 0..P-1, then links
  std::vector<OpId> rank_begin;        // compute ops of rank r: [rank_begin[r], rank_begin[r+1])
  OpId step_ops = 0;                   // training-step ops, the last ones of `ops`
  OpId compute_ops() const { return rank_begin.empty() ? 0 : rank_begin.back(); }
  OpId pipeline_ops() const { return static_cast<OpId>(ops.size()) - step_ops; }  // compute ops and transfers
  bool is_step(OpId v) const { return v >= pipeline_ops(); }
  // ops[v].is_transfer from v alone (the table's layout), without touching the op.
  bool is_transfer(OpId v) const { return v >= compute_ops() && v < pipeline_ops(); }
};

// How reports name compute op v: "F3", "BW2" (+ "@s" with the stage when `with_stage`). An
// overlapped unit's F op names both halves ("F7+B3"); its backward op, which takes no time of its
// own, is "" (reports draw nothing for it).
std::string op_label(const OpTable& table, OpId v, bool with_stage);

struct Timeline {
  std::shared_ptr<const OpTable> table;
  std::vector<TimeNs> start, end;  // per op
  // The op whose completion let each op start (its last input, or the previous transfer on a busy
  // link); kNoOp for ops that started at time zero. Empty for measured timelines.
  std::vector<OpId> cause;
  std::string source;  // "simulated" or "measured (...)"
};

}  // namespace ppsim
