#pragma once
// Process-wide allocator behaviour, set once by the `ppsim` executable.
namespace ppsim {

// glibc serves large blocks with mmap and returns them to the system on free, so each new large
// block faults in fresh zeroed pages (and takes the process-wide memory lock):
// - a simulation builds, replays and measures arrays of millions of ops one after another: keeping
//   freed memory for reuse cut its page faults by 17 % and its time by about 10 % on the
//   P = 128, M = 4096 benchmark (docs/performance.md);
// - the CPU layers allocate megabyte temporaries on every pass: with mmap/munmap, concurrent ranks
//   slowed each other down and ops cost more in a pipeline than in isolation, so calibration and
//   measurement must run under the same (reusing) behaviour.
// Idempotent; the price is a peak RSS that stays at its high-water mark.
void keep_freed_memory_for_reuse();

// Hands the pages of freed memory back to the system (glibc's malloc_trim), wherever they lie in the
// heap: after a large build whose temporaries the next, larger arrays cannot reuse. Walks the
// heap's free chunks, so it is for the few large steps, not for every small simulation.
void return_free_memory_to_system();

}  // namespace ppsim
