#pragma once
// Counts the heap allocations and live heap bytes of the benchmark process (global operator new and
// delete are replaced in allocation_counter.cpp), so that benchmarks can report allocations per
// call and peak bytes per op: issue 13's "no heap allocation per call" and "64 bytes per op".
#include <cstdint>

namespace ppsim::bench {

struct AllocationStats {
  std::int64_t allocations = 0;  // calls of operator new since the last reset
  std::int64_t live_bytes = 0;   // bytes allocated and not yet freed
  std::int64_t peak_bytes = 0;   // the most live_bytes since the last reset
};

AllocationStats allocation_stats();
// Starts counting afresh: allocations to 0, the peak to the bytes live now.
void reset_allocation_stats();

}  // namespace ppsim::bench
