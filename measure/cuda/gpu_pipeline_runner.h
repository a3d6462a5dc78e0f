#pragma once
// `ppsim measure --device cuda`: executes a schedule for real on GPUs, mirroring
// cpu::CpuPipeline (measure/cpu/cpu_pipeline_runner.h). Plain C++ (no CUDA types), so host
// code can include it whether or not CUDA was found; without CUDA + NCCL the constructor throws
// InputError (gpu_pipeline_runner_stub.cpp). NOT YET RUN ON A GPU: see docs/calibration.md,
// "GPU measure runner", for what to check first.
//
// Shape of a run:
// - one GPU per rank (rank r on gpus[r]); each rank holds the virtual stages the schedule places
//   on it (calibrate/cuda/gpu_stage.h: the CUDA calibration kernels, bf16, a stash per micro-batch);
// - one host thread per rank issues its work in order: compute ops on the rank's compute stream,
//   NCCL sends/recvs on its communication stream (one communicator over all ranks' GPUs), ordered
//   with CUDA events (a consumer waits on its recv's event, a send on its producer's event);
// - what each op waits for and hands on is read off the DAG (sim/dataflow.h); hand-offs between
//   two stages of the same rank are device-local copies (no transfer op);
// - CUDA events around every compute op and every send/recv give the timeline.
//
// Communication order (why it cannot deadlock): every NCCL send/recv blocks its stream until the
// peer posts the matching call, and each rank has ONE communication stream, so the order in which
// ranks post their transfers matters. Rule: all transfers get one global order, a linear extension
// of the schedule's DAG (Kahn's algorithm over the DAG, taking the ready op with the earliest
// as-soon-as-possible start under the cost model's op times, then the lowest op id); each rank
// posts the sends and recvs it takes part in, and issues its compute ops, in that order (its compute
// ops then stay in schedule order, because program order is a DAG edge). Both ends of a pair then
// post their calls in the same order, and the dependencies among compute ops, stream order and
// transfers all point forward in one topological order, so no cycle (deadlock) can form: the
// earliest unfinished transfer always has both ends posted with everything before it done. This is
// PyTorch's rule ("each rank derives its send/recv order from the schedule") made explicit. As a
// consequence a rank's sends and recvs run one at a time (no batched send+recv as Megatron does);
// a hung peer still cannot hang the process: every wait has a deadline and aborts the communicator.
//
// Sharing one GPU (`share_gpu`, `ppsim measure --share-gpu`): all ranks on one GPU, each on its own
// equal partition of the SMs (CUDA green contexts, calibrate/cuda/sm_partitions.h), so a
// one-GPU machine can still run and validate a P-rank schedule. A transfer is then a device-local
// copy on the receiver's communication stream (which runs on the receiver's SMs), and one host
// thread issues every rank's work in the global order above (no matching of send and recv is
// needed, and nothing is shared between threads); the GPU still runs the ranks concurrently,
// ordered only by streams and events. All events are on one GPU, so no clock alignment is needed.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "measure/measured_run.h"
#include "models/model_spec.h"
#include "models/partition.h"
#include "schedules/schedule.h"
#include "sim/dag.h"
#include "sim/timeline.h"

namespace ppsim::gpu {

class GpuPipeline {
 public:
  // `dag` must have been built from `schedule`; the stages follow `partition` of `spec`. The GPUs
  // are options.gpus (rank r on gpus[r]; empty = 0 .. P-1), or with options.share_gpu one GPU
  // (gpus[0], default 0) whose SMs are split into P partitions. Every device check is made here:
  // throws InputError when fewer GPUs are visible than the schedule has ranks ("... needs N GPUs
  // (one per rank), M visible ..."), when `gpus` names an invisible or repeated GPU, or when the
  // model is not one the CUDA kernels run.
  GpuPipeline(const Schedule& schedule, const Dag& dag, const ModelSpec& spec, const Partition& partition,
              int micro_batch_size, int sequence_length, const MeasureOptions& options);
  ~GpuPipeline();
  GpuPipeline(const GpuPipeline&) = delete;
  GpuPipeline& operator=(const GpuPipeline&) = delete;

  // Runs warm-up and timed iterations; weight gradients are zeroed at the start of each, so after
  // the run they hold the last iteration's. A rank that does not finish within options.timeout_s
  // aborts the communicators and throws RunError naming the rank and the op it waited on.
  MeasuredRun run(const MeasureOptions& options);

  // The same layers run one micro-batch at a time through the whole model, no pipeline, each stage
  // on its own GPU with synchronous copies between them: the reference the pipelined results must
  // equal. Leaves its losses and gradients in the stages.
  void run_reference();

  // Host copies for tests: the loss of a micro-batch (mean over its tokens), and the weight
  // gradients of a virtual stage by name ("block3.wq", "embedding.table", "head.w_out", ...).
  double loss(int microbatch) const;
  std::vector<std::string> gradient_names(int stage) const;
  std::vector<float> gradient(int stage, const std::string& name) const;

  // Each rank's issue order (compute ops and transfers, as DAG op ids), for tests and debugging.
  const std::vector<std::vector<OpId>>& issue_order() const;

  // The blocks' fused attention every rank runs: "cudnn" or "own" (options.attention decides).
  std::string attention() const;

  // With share_gpu: the SMs each rank runs on, and the whole GPU's; 0 and 0 otherwise.
  int sms_per_rank() const;
  int device_sms() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The global transfer order described above, as each rank's issue sequence over DAG op ids:
// rank r's compute ops and every transfer it sends or receives. Pure host code (no GPU), shared
// with the tests.
std::vector<std::vector<OpId>> issue_order(const Dag& dag);

// The one global order behind issue_order: every op of the DAG, a linear extension of it; and
// each rank's restriction of a global order already computed.
std::vector<OpId> global_issue_order(const Dag& dag);
std::vector<std::vector<OpId>> issue_order(const Dag& dag, const std::vector<OpId>& global);

}  // namespace ppsim::gpu
