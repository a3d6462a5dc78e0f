#include "sim/op_costs.h"

namespace ppsim {

OpCosts uniform_costs(int stages, TimeNs forward, TimeNs backward_input, TimeNs backward_weight, TimeNs transfer) {
  OpCosts c;
  c.forward.assign(stages, forward);
  c.backward_input.assign(stages, backward_input);
  c.backward_weight.assign(stages, backward_weight);
  c.forward_transfer.assign(stages > 0 ? stages - 1 : 0, transfer);
  c.backward_transfer.assign(stages > 0 ? stages - 1 : 0, transfer);
  return c;
}

}  // namespace ppsim
