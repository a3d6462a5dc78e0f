#include "sim/event_queue.h"

#include <algorithm>

namespace ppsim {
namespace {
bool later(const Event& a, const Event& b) { return a.time != b.time ? a.time > b.time : a.op > b.op; }
}  // namespace

void BinaryHeapEventQueue::push(TimeNs time, OpId op) {
  heap_.push_back({time, op});
  std::push_heap(heap_.begin(), heap_.end(), later);
}

Event BinaryHeapEventQueue::pop() {
  std::pop_heap(heap_.begin(), heap_.end(), later);
  Event e = heap_.back();
  heap_.pop_back();
  return e;
}

}  // namespace ppsim
