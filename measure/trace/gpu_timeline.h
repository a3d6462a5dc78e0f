#pragma once
// What each rank's GPU did during one profiler step, from its kernels alone (no annotations
// needed): busy and idle time, computation against communication, and why it was idle. The
// definitions are in docs/traces.md; the per-stream breakdown follows Holistic Trace Analysis.
#include <array>
#include <cstdint>
#include <vector>

#include "measure/trace/step_window.h"
#include "measure/trace/trace_events.h"

namespace ppsim::trace {

// Idle time inside a rank's compute span, by what the GPU did or waited for meanwhile.
struct IdleSplit {
  TimeNs pipeline = 0;    // a pipeline send/recv kernel ran: waiting on a transfer (the bubble)
  TimeNs collective = 0;  // a collective ran (and no send/recv)
  TimeNs memory = 0;      // only a memcpy/memset ran
  TimeNs host = 0;        // nothing ran, and the kernel that ended the gap was launched after it began
  TimeNs other = 0;       // nothing ran, and that kernel had been launched in time (an event wait, ...)
  TimeNs total() const { return pipeline + collective + memory + host + other; }
};

// Holistic Trace Analysis' idle time of one stream: the gaps between consecutive events on it,
// as host wait (the next event's launch call started after the previous event ended), kernel wait
// (a gap shorter than kernel_wait_ns, 30 ns by default in HTA) or other.
struct StreamIdle {
  std::int32_t stream = 0;
  std::int64_t events = 0;
  TimeNs busy = 0;  // sum of its events' durations
  TimeNs host_wait = 0, kernel_wait = 0, other = 0;
};

struct RankGpu {
  int rank = 0;                     // pipeline rank
  std::int64_t step = -1;
  TimeNs host_step_ns = 0;          // the ProfilerStep range's length on the host (0 without steps)
  TimeNs first_start = 0, last_end = 0;  // this rank's first and last GPU event of the step
  TimeNs compute_first = 0, compute_last = 0;  // its first compute start and last compute end
  TimeNs busy = 0;                  // union of compute kernels over all streams
  TimeNs active = 0;                // union of every GPU event (what HTA calls non-idle)
  TimeNs idle = 0;                  // window - busy = leading + trailing + inner
  TimeNs idle_leading = 0, idle_trailing = 0;  // before the first / after the last compute kernel
  IdleSplit inner;
  std::array<TimeNs, 4> class_ns{};          // sum of durations per GpuClass
  std::array<TimeNs, 4> class_union_ns{};    // union per GpuClass
  std::array<std::int64_t, 4> class_events{};
  TimeNs comm_overlap = 0;          // time communication (p2p or collective) ran beside compute
  std::vector<StreamIdle> streams;  // by stream number
};

struct GpuSummary {
  TimeNs window_start = 0, window_ns = 0;  // first GPU event of the step on any rank .. last end
  std::vector<RankGpu> ranks;
};

// Times are already aligned across ranks (clock_alignment.h).
GpuSummary analyze_gpu(const std::vector<RankTrace>& ranks, const std::vector<StepWindow>& windows,
                       TimeNs kernel_wait_ns = 30);

}  // namespace ppsim::trace
