#pragma once
// Which tensors each compute op receives and sends, read off the DAG's activation and gradient
// edges. The runners of `ppsim measure` use it to know what to wait for and what to pass on, so
// prediction and measurement rest on one definition of what waits for what.
#include <span>
#include <vector>

#include "sim/dag.h"

namespace ppsim {

enum class Payload : std::uint8_t { Activation, Gradient };

// One tensor handed from a compute op to another: directly (both on one rank) or by a transfer.
struct Handoff {
  OpId producer = kNoOp;
  OpId consumer = kNoOp;
  OpId transfer = kNoOp;  // the transfer op when the two sit on different ranks
  Payload payload = Payload::Activation;
};

class Dataflow {
 public:
  explicit Dataflow(const Dag& dag);

  // The tensors compute op v waits for, and those it produces, in edge order.
  std::span<const Handoff> inputs(OpId v) const {
    return {by_consumer_.data() + input_begin_[v], by_consumer_.data() + input_begin_[v + 1]};
  }
  std::span<const Handoff> outputs(OpId v) const {
    return {by_producer_.data() + output_begin_[v], by_producer_.data() + output_begin_[v + 1]};
  }
  // The hand-off a transfer op carries.
  const Handoff& carried_by(OpId transfer) const { return by_producer_[of_transfer_[transfer - compute_ops_]]; }

 private:
  OpId compute_ops_ = 0;
  std::vector<Handoff> by_consumer_, by_producer_;
  std::vector<std::uint32_t> input_begin_, output_begin_;  // per compute op, + 1
  std::vector<std::uint32_t> of_transfer_;                 // transfer - compute_ops -> by_producer_ index
};

}  // namespace ppsim
