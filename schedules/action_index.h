#pragma once
// A dense table with one cell per (virtual stage, micro-batch, action kind): where each action of a
// schedule sits (its position in a rank's order, its op in the DAG, ...). The validator, the DAG
// builder and the runners all key their lookups this way.
#include <cstddef>
#include <vector>

#include "schedules/action.h"

namespace ppsim {

template <class T>
class ActionTable {
 public:
  ActionTable() = default;
  ActionTable(int stages, int microbatches, T fill)
      : microbatches_(microbatches), cells_(static_cast<std::size_t>(stages) * microbatches * kActionKinds, fill) {}

  // Resized and refilled in place: a table no larger than before reuses its memory.
  void reset(int stages, int microbatches, T fill) {
    microbatches_ = microbatches;
    cells_.assign(static_cast<std::size_t>(stages) * microbatches * kActionKinds, fill);
  }

  T& operator()(int stage, int microbatch, ActionKind kind) { return cells_[index(stage, microbatch, kind)]; }
  const T& operator()(int stage, int microbatch, ActionKind kind) const { return cells_[index(stage, microbatch, kind)]; }
  T& operator[](const Action& a) { return (*this)(a.stage, a.microbatch, a.kind); }
  const T& operator[](const Action& a) const { return (*this)(a.stage, a.microbatch, a.kind); }

 private:
  std::size_t index(int stage, int microbatch, ActionKind kind) const {
    return (static_cast<std::size_t>(stage) * microbatches_ + microbatch) * kActionKinds + kind_index(kind);
  }
  int microbatches_ = 0;
  std::vector<T> cells_;
};

}  // namespace ppsim
