#pragma once
// Which GPU events are computation and which are communication, by category and kernel name.
#include <string_view>

#include "measure/trace/trace_events.h"

namespace ppsim::trace {

// `category` is the trace event's "cat" (kernel, gpu_memcpy, gpu_memset; older Kineto spells them
// Kernel, Memcpy, Memset). NCCL kernels ("ncclKernel_SendRecv_...", "ncclDevKernel_AllReduce_...")
// are P2P when their collective is Send, Recv or SendRecv and Collective otherwise; every other
// kernel is Compute.
GpuClass classify_gpu_event(std::string_view category, std::string_view name);

// "compute", "p2p", "collective", "memory".
const char* to_string(GpuClass c);

}  // namespace ppsim::trace
