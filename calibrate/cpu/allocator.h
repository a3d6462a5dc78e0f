#pragma once

namespace ppsim::cpu {

// The CPU layers allocate and free megabyte-sized temporaries on every pass. glibc serves those
// with mmap/munmap by default, which fault in fresh pages and take the process-wide memory lock,
// so concurrent ranks slow each other down and ops cost more in a pipeline than in isolation.
// This keeps freed memory in the heap for reuse; calibration and measurement both call it so that
// ops run under the same conditions in both.
void keep_freed_memory_for_reuse();

}  // namespace ppsim::cpu
