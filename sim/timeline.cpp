#include "sim/timeline.h"

namespace ppsim {

const char* step_kind_name(StepKind kind) {
  switch (kind) {
    case StepKind::None: return "";
    case StepKind::GradReduce: return "grad-reduce";
    case StepKind::Optimizer: return "optimizer";
    case StepKind::ParamGather: return "param-gather";
  }
  return "";
}

std::string op_label(const OpTable& t, OpId v, bool with_stage) {
  const Op& op = t.ops[v];
  if (op.step != StepKind::None) {
    if (op.step == StepKind::Optimizer) return step_kind_name(op.step);
    return std::string(step_kind_name(op.step)) + (with_stage ? "@" + std::to_string(op.stage) : "");
  }
  if (v > 0 && v < t.compute_ops() && t.ops[v - 1].overlapped && t.ops[v - 1].resource == op.resource) return "";
  std::string text = label({op.kind, op.stage, op.microbatch}, with_stage);
  if (op.overlapped) {
    const Op& b = t.ops[v + 1];
    text += "+" + label({b.kind, b.stage, b.microbatch}, with_stage);
  }
  return text;
}

}  // namespace ppsim
