#pragma once
// The pipeline ops one rank ran in the analysed step, found from its annotations: each op's kind
// (and stage and micro-batch where the name says), and its place on the GPU: the kernels launched
// while its range was open on the host.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "measure/trace/op_patterns.h"
#include "measure/trace/step_window.h"
#include "measure/trace/trace_events.h"
#include "schedules/action.h"

namespace ppsim::trace {

struct TracedOp {
  ActionKind kind = ActionKind::F;
  int stage = -1, microbatch = -1;  // -1: the annotation does not say (filled from the schedule)
  bool overlapped = false;          // one of the two ops of one overlapped range (F first, then the backward)
  TimeNs host_start = 0, host_end = 0;  // its annotation(s) on the host: the order ops were issued in
  bool on_gpu = false;              // launched any GPU work
  TimeNs start = 0, end = 0;        // first start .. last end of its kernels (communication excluded)
  TimeNs kernel_ns = 0;             // union of those kernels
  std::int64_t kernels = 0;
  int ranges = 0;                   // annotation ranges it was built from
  bool from_parts = false;          // built from parts (its kernels may interleave with other ops')
  // Send/recv kernels launched inside it that ended before its first kernel: its input arriving
  // (GPipe-style ranges that receive, compute and send in one). -1 when none.
  TimeNs input_start = -1, input_end = -1;
  std::string origin;               // the pattern's origin ("pytorch", "megatron", a user file:line)
};

// A pipeline send or receive range (PyTorch's "PP:1SEND_F0", "PP:2RECV_B3") and its kernels.
struct TracedTransfer {
  PatternRole role = PatternRole::Recv;
  bool gradient = false;
  int stage = -1, microbatch = -1;  // the stage that sends (Send) or receives (Recv)
  TimeNs start = 0, end = 0;        // its send/recv kernels
  bool on_gpu = false;
};

struct RankOps {
  std::vector<TracedOp> ops;              // in the order they were issued on the host
  std::vector<TracedTransfer> transfers;
  std::int64_t kernels_in_ops = 0;        // kernels of the step launched inside some op's range
  std::int64_t kernels_in_step = 0;
  std::map<std::string, std::int64_t> ranges_by_origin;  // annotation ranges used, per pattern origin
};

// Parts (DeepSeek's "attn(F)") of one kind inside one unit range ("1F1B") form one op; parts outside
// any unit form one op per kind for the step. Times must already be aligned.
RankOps find_rank_ops(const RankTrace& t, const StepWindow& w, const OpPatterns& patterns);

}  // namespace ppsim::trace
