#include "sim/timeline.h"

namespace ppsim {

std::string op_label(const OpTable& t, OpId v, bool with_stage) {
  const Op& op = t.ops[v];
  if (v > 0 && v < t.compute_ops() && t.ops[v - 1].overlapped && t.ops[v - 1].resource == op.resource) return "";
  std::string text = label({op.kind, op.stage, op.microbatch}, with_stage);
  if (op.overlapped) {
    const Op& b = t.ops[v + 1];
    text += "+" + label({b.kind, b.stage, b.microbatch}, with_stage);
  }
  return text;
}

}  // namespace ppsim
