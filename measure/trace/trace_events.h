#pragma once
// What ppsim keeps of one rank's profiler trace: the GPU activity (kernels, copies, memsets), the
// host launch calls that say when each was enqueued, and the annotation ranges that name pipeline
// ops or profiler steps. Everything else in the file (CPU ops, Python frames, flows) is dropped
// while streaming, so memory grows with the GPU events, not with the file.
#include <cstdint>
#include <string>
#include <vector>

#include "base/time.h"

namespace ppsim::trace {

// What a GPU event does, from its category and kernel name (kernel_class.h).
enum class GpuClass : std::uint8_t {
  Compute,     // any kernel that is not communication
  P2P,         // NCCL send/recv: pipeline transfers
  Collective,  // NCCL all-reduce, all-gather, reduce-scatter, all-to-all, broadcast, reduce
  Memory,      // memcpy / memset
};

struct GpuEvent {
  TimeNs start = 0, end = 0;
  std::int64_t correlation = -1;  // links it to the host call that launched it; -1 = unknown
  std::int32_t stream = 0;
  std::uint32_t name = 0;         // index into RankTrace::names
  GpuClass cls = GpuClass::Compute;
};

// A cudaLaunchKernel / cudaMemcpyAsync / ... call on the host (cuda_runtime or cuda_driver).
struct HostCall {
  TimeNs start = 0, end = 0;
  std::int64_t correlation = -1;
  std::int64_t thread = 0;
};

// A user annotation (record_function) or a Python frame whose name matched a pattern, or a step.
struct HostRange {
  TimeNs start = 0, end = 0;
  std::int64_t thread = 0;
  std::uint32_t name = 0;   // index into RankTrace::names
  std::int32_t pattern = -1;  // the op pattern it matched (op_patterns.h); -1 for a profiler step
  std::int64_t step = -1;     // ProfilerStep#N: N
};

struct RankTrace {
  std::string path;
  int rank = -1;               // global rank, from distributedInfo or the file name
  int world_size = 0;          // 0 = unknown
  std::string rank_source;     // "distributedInfo" or "file name"
  std::string device_name;     // deviceProperties[0].name, when present
  std::vector<std::string> names;  // kernel and range names, each once
  std::vector<GpuEvent> gpu;       // sorted by start
  std::vector<HostCall> calls;     // sorted by correlation
  std::vector<HostRange> ranges;   // op annotations, sorted by start
  std::vector<HostRange> steps;    // ProfilerStep#N ranges, sorted by start
  std::vector<HostRange> comms;    // PyTorch's "nccl:<collective>" ranges, sorted by start
  std::uint64_t bytes = 0;         // JSON text read (decompressed)
  std::uint64_t events = 0;        // trace events seen, kept or not
  TimeNs clock_offset_ns = 0;      // added to every time of this rank to align it (clock_alignment.h)

  const std::string& name_of(std::uint32_t id) const { return names[id]; }
};

}  // namespace ppsim::trace
