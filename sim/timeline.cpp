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
    // Appended piece by piece here and below: gcc 12 -O3 warns (-Wrestrict, a false positive) on
    // a literal + a temporary string.
    std::string text = step_kind_name(op.step);
    if (with_stage) text.append("@").append(std::to_string(op.stage));
    return text;
  }
  if (v > 0 && v < t.compute_ops() && t.ops[v - 1].overlapped && t.ops[v - 1].resource == op.resource) return "";
  std::string text = label({op.kind, op.stage, op.microbatch}, with_stage);
  if (op.overlapped) {
    const Op& b = t.ops[v + 1];
    text.append("+").append(label({b.kind, b.stage, b.microbatch}, with_stage));
  }
  return text;
}

}  // namespace ppsim
