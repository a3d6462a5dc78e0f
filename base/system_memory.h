#pragma once
// How much memory this process may use, and the byte counts users read: for refusing a job that
// would not fit before allocating anything (TooLargeError), instead of failing in an allocator.
#include <cstdint>
#include <string>

namespace ppsim {

// Memory available to new allocations: the kernel's MemAvailable, lowered to the cgroup's limit
// (a container's memory.max) when that is smaller. 0 when neither can be read.
std::int64_t available_memory_bytes();

// "1.50 GiB", "12.0 MiB", "512 B".
std::string format_bytes(std::int64_t bytes);

// "21.5 G", "2.61 M", "950": a count for messages.
std::string format_count(std::int64_t count);

// The limit a job is held to: `requested` when positive (a --max-memory flag), else 90 % of what is
// available (some is left for the system and for the outputs).
std::int64_t memory_budget(std::int64_t requested);

}  // namespace ppsim
