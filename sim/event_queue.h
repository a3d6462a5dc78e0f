#pragma once
// A flat binary min-heap of (time, op) completion events. Ties are broken by op id, so events at
// the same instant are processed in one fixed order every run (as ns-3 orders by (time, uid)).
#include <algorithm>
#include <vector>

#include "sim/timeline.h"

namespace ppsim {

class EventQueue {
 public:
  struct Event {
    TimeNs time;
    OpId op;
  };

  void reserve(std::size_t n) { heap_.reserve(n); }
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }

  void push(TimeNs time, OpId op) {
    heap_.push_back({time, op});
    std::push_heap(heap_.begin(), heap_.end(), later);
  }

  Event pop() {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    Event e = heap_.back();
    heap_.pop_back();
    return e;
  }

 private:
  static bool later(const Event& a, const Event& b) { return a.time != b.time ? a.time > b.time : a.op > b.op; }
  std::vector<Event> heap_;
};

}  // namespace ppsim
