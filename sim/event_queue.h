#pragma once
// The engine's event queue: completion events (time, op), popped in time order. Simulated time
// never goes backwards (every op ends at or after the current time), so a radix heap fits: a push
// is O(1) and a pop amortised O(log of the time range), with no comparisons across the whole
// queue. Events at the same instant pop in a fixed order (last pushed first), so a run is
// reproducible bit for bit. bench/simulation_bench.cpp compares it with a binary heap.
#include <array>
#include <cassert>
#include <cstdint>
#include <vector>

#include "sim/timeline.h"

namespace ppsim {

struct Event {
  TimeNs time;
  OpId op;
};

class EventQueue {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

  // `time` must not be earlier than the last popped event's time.
  void push(TimeNs time, OpId op) {
    assert(time >= last_);
    buckets_[bucket_of(time)].push_back({time, op});
    ++size_;
  }

  Event pop() {
    assert(size_ > 0);
    if (buckets_[0].empty()) refill();
    Event e = buckets_[0].back();
    buckets_[0].pop_back();
    --size_;
    return e;
  }

 private:
  // Bucket 0 holds events at exactly last_; bucket i holds those whose highest bit differing from
  // last_ is bit i-1.
  int bucket_of(TimeNs t) const {
    const auto x = static_cast<std::uint64_t>(t) ^ static_cast<std::uint64_t>(last_);
    return x == 0 ? 0 : 64 - __builtin_clzll(x);
  }

  void refill() {
    int i = 1;
    while (buckets_[i].empty()) ++i;
    TimeNs smallest = buckets_[i].front().time;
    for (const Event& e : buckets_[i]) smallest = e.time < smallest ? e.time : smallest;
    last_ = smallest;
    for (const Event& e : buckets_[i]) buckets_[bucket_of(e.time)].push_back(e);
    buckets_[i].clear();
  }

  std::array<std::vector<Event>, 65> buckets_;
  TimeNs last_ = 0;
  std::size_t size_ = 0;
};

// The textbook alternative, kept for the benchmark: a binary min-heap ordered by (time, op).
class BinaryHeapEventQueue {
 public:
  bool empty() const { return heap_.empty(); }
  void push(TimeNs time, OpId op);
  Event pop();

 private:
  std::vector<Event> heap_;
};

}  // namespace ppsim
