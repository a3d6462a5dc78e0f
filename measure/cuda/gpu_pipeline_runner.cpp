// `ppsim measure --device cuda` (see gpu_pipeline_runner.h). Host C++ against the CUDA runtime and
// NCCL; the kernels are the calibration backend's. NOT YET RUN ON A GPU.
#include "measure/cuda/gpu_pipeline_runner.h"

#include <nccl.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "calibrate/cuda/check.h"
#include "calibrate/cuda/cuda_calibrator.h"
#include "calibrate/cuda/attention.h"
#include "calibrate/cuda/flash_attention.h"
#include "measure/cuda/gpu_stage.h"
#include "calibrate/cuda/sm_partitions.h"
#include "measure/cpu/cpu_stage.h"
#include "base/error.h"
#include "base/system_memory.h"
#include "calibrate/layer_footprint.h"
#include "schedules/in_flight.h"
#include "sim/dataflow.h"

namespace ppsim::gpu {
namespace {

using Clock = std::chrono::steady_clock;

TimeNs host_ns(Clock::time_point t) {
  return static_cast<TimeNs>(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

void nccl_check(ncclResult_t r, const char* call, int rank) {
  if (r != ncclSuccess && r != ncclInProgress)
    throw cuda::CudaError(std::string(call) + " failed on pipeline rank " + std::to_string(rank) + ": " +
                          ncclGetErrorString(r));
}

}  // namespace

struct GpuPipeline::Impl {
  struct Rank {
    int device = 0;
    cudaStream_t compute = nullptr, comm = nullptr;
    std::unique_ptr<cuda::Gemm> gemm;
    std::unique_ptr<cuda::FusedAttention> attention;  // the blocks' attention, shared by the rank's stages
    ncclComm_t nccl = nullptr;
    cudaEvent_t t0 = nullptr;
    std::vector<int> stages;
  };

  const Schedule& schedule;
  const Dag& dag;
  Dataflow flow;  // what each op waits for and hands on
  ModelSpec spec;
  int tokens = 0;
  std::vector<int> gpus;
  std::vector<Rank> ranks;
  std::vector<std::unique_ptr<GpuStage>> stages;  // virtual stage order
  std::vector<std::vector<OpId>> order;
  // Per op: compute: a = start, b = end (on its rank's GPU). Transfer: a/b around the send (the
  // sender's GPU), c/d around the recv (the receiver's GPU); d is what the consumer waits on.
  std::vector<cudaEvent_t> ev_a, ev_b, ev_c, ev_d;
  std::vector<TimeNs> raw_a, raw_b, raw_c, raw_d;  // ns since the rank's t0 event
  bool broken = false;
  // Sharing one GPU: the SM partitions (they own the ranks' streams).
  std::unique_ptr<cuda::SmPartitions> partitions;
  bool shared() const { return partitions != nullptr; }
  std::vector<OpId> global_order;  // every op, in the order `order` restricts to each rank

  // One rank's stash bookkeeping during an iteration: a stash goes back to its stage's pool once
  // its W is issued and every send out of it is posted.
  struct RankIssue {
    std::vector<int> sends_left, w_done;  // by stage * M + micro-batch
  };

  Impl(const Schedule& s, const Dag& d) : schedule(s), dag(d), flow(d) {}
  ~Impl();

  int rank_of(int stage) const { return schedule.rank_of_stage[stage]; }
  GpuStage& stage(int s) { return *stages[s]; }
  void set_device_of_stage(int s) const { PPSIM_CUDA_CHECK(cudaSetDevice(ranks[rank_of(s)].device)); }
  OpId producer_of(OpId transfer) const { return flow.carried_by(transfer).producer; }
  // Where a hand-off lands: the consumer stage's input buffer (activation) or the buffer its
  // backward reads the output gradient from (gradient); and where it is read from on the producer.
  void* destination(const Handoff& h);
  const DeviceBuffer& source(const Handoff& h);
  std::vector<int> cross_rank_sends() const;
  void reserve_stashes();
  void init_nccl(double timeout_s);
  void connect_links(double timeout_s);
  RankIssue begin_issue(int r) const;
  void release_if_done(RankIssue& st, int s, int m);
  void issue_compute(int r, OpId v, RankIssue& st);
  void issue_local_transfer(OpId v, std::vector<RankIssue>& states);
  void wait_idle(int r, Clock::time_point deadline, double timeout_s, const std::function<void()>& check_failed);
  TimeNs since(cudaEvent_t t0, cudaEvent_t e) const;
  // One iteration on rank r's thread: returns its (t0 host time, t0 observed-complete host time).
  std::pair<TimeNs, TimeNs> run_rank(int r, std::barrier<>& sync, std::atomic<bool>& failed, double timeout_s);
  void run_shared_iteration(double timeout_s);
  Timeline run_iteration(const MeasureOptions& o, TimeNs& alignment_error);
  std::string first_unfinished(int r) const;
};

GpuPipeline::Impl::~Impl() {
  // Non-blocking communicators: finalize all (their pending work is flushed in the background),
  // wait up to 10 s for that, then destroy; abort instead after a failure or at the deadline.
  if (!broken) {
    for (auto& rk : ranks) {
      if (!rk.nccl) continue;
      cudaSetDevice(rk.device);
      const ncclResult_t f = ncclCommFinalize(rk.nccl);
      if (f != ncclSuccess && f != ncclInProgress) broken = true;
    }
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    for (std::size_t r = 0; r < ranks.size() && !broken;) {
      ncclResult_t st = ncclSuccess;
      if (!ranks[r].nccl || (ncclCommGetAsyncError(ranks[r].nccl, &st) == ncclSuccess && st == ncclSuccess)) {
        ++r;
      } else if (st != ncclInProgress || Clock::now() > deadline) {
        broken = true;
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    }
  }
  for (std::size_t v = 0; v < ev_a.size(); ++v)
    for (cudaEvent_t e : {ev_a[v], ev_b[v], ev_c[v], ev_d[v]})
      if (e) cudaEventDestroy(e);
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    cudaSetDevice(ranks[r].device);
    for (int s : ranks[r].stages) stages[s].reset();
    ranks[r].gemm.reset();
    ranks[r].attention.reset();
    if (ranks[r].nccl) {
      if (broken) ncclCommAbort(ranks[r].nccl);
      else ncclCommDestroy(ranks[r].nccl);
    }
    if (ranks[r].t0) cudaEventDestroy(ranks[r].t0);
    if (!shared() && ranks[r].compute) cudaStreamDestroy(ranks[r].compute);
    if (!shared() && ranks[r].comm) cudaStreamDestroy(ranks[r].comm);
  }
  partitions.reset();  // its streams and green contexts, after everything that used them
}

void* GpuPipeline::Impl::destination(const Handoff& h) {
  const Op& to = dag.table->ops[h.consumer];
  return h.payload == Payload::Activation ? stages[to.stage]->acquire(to.microbatch).h[0].get()
                                          : stages[to.stage]->stash(to.microbatch).dh.back().get();
}

const DeviceBuffer& GpuPipeline::Impl::source(const Handoff& h) {
  const Op& from = dag.table->ops[h.producer];
  Stash& st = stages[from.stage]->stash(from.microbatch);
  return h.payload == Payload::Activation ? st.h.back() : st.dh[0];
}

// Per (stage * M + micro-batch): the transfers out of its stash (its F's and its backward's hand-offs
// to other ranks); the stash is reused only after all of them are posted.
std::vector<int> GpuPipeline::Impl::cross_rank_sends() const {
  const OpTable& t = *dag.table;
  const int M = schedule.microbatches;
  std::vector<int> sends(static_cast<std::size_t>(schedule.stages()) * M, 0);
  for (OpId v = 0; v < t.compute_ops(); ++v)
    for (const Handoff& h : flow.outputs(v))
      if (h.transfer != kNoOp) ++sends[t.ops[v].stage * M + t.ops[v].microbatch];
  return sends;
}

// The most stashes each stage holds at once when its rank follows `order` (acquired at the
// activation's recv or local copy or at F, released after W once the sends out of it are posted).
void GpuPipeline::Impl::reserve_stashes() {
  const OpTable& t = *dag.table;
  const int S = schedule.stages(), M = schedule.microbatches;
  std::vector<int> peak(S, 0);
  const std::vector<int> sends = cross_rank_sends();
  for (int r = 0; r < schedule.ranks; ++r) {
    std::vector<std::set<int>> live(S);
    std::vector<int> sends_left = sends, w_done(static_cast<std::size_t>(S) * M, 0);
    auto maybe_release = [&](int s, int m) {
      if (w_done[s * M + m] && sends_left[s * M + m] == 0) live[s].erase(m);
    };
    for (OpId v : order[r]) {
      const Op& op = t.ops[v];
      if (op.is_transfer) {
        const Resource& link = t.resources[op.resource];
        const Handoff& h = flow.carried_by(v);
        const Op& to = t.ops[h.consumer];
        if (link.dst == r && h.payload == Payload::Activation) live[to.stage].insert(to.microbatch);
        if (link.src == r) {
          --sends_left[op.stage * M + op.microbatch];
          maybe_release(op.stage, op.microbatch);
        }
      } else {
        if (op.kind == ActionKind::F) {
          live[op.stage].insert(op.microbatch);
          for (const Handoff& h : flow.outputs(v))
            if (h.transfer == kNoOp) live[t.ops[h.consumer].stage].insert(op.microbatch);
        }
        if (op.kind == ActionKind::W || op.kind == ActionKind::BW) {
          w_done[op.stage * M + op.microbatch] = 1;
          maybe_release(op.stage, op.microbatch);
        }
      }
      for (int s = 0; s < S; ++s) peak[s] = std::max(peak[s], static_cast<int>(live[s].size()));
    }
  }
  for (int s = 0; s < S; ++s) {
    set_device_of_stage(s);
    stages[s]->reserve(std::max(1, peak[s]));
  }
}

// One communicator over all ranks' GPUs. ncclCommInitAll has no config argument, so this is its
// non-blocking equivalent: one unique id, a group of ncclCommInitRankConfig (blocking = 0), then
// polling with a deadline; on failure every communicator is aborted.
void GpuPipeline::Impl::init_nccl(double timeout_s) {
  const int P = schedule.ranks;
  if (P < 2) return;
  ncclUniqueId id;
  nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId", 0);
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  auto abort_all = [&](const std::string& why) {
    for (auto& rk : ranks)
      if (rk.nccl) ncclCommAbort(rk.nccl), rk.nccl = nullptr;
    throw cuda::CudaError("NCCL communicator over GPUs of the pipeline: " + why);
  };
  ncclResult_t st = ncclGroupStart();
  for (int r = 0; r < P && (st == ncclSuccess || st == ncclInProgress); ++r) {
    PPSIM_CUDA_CHECK(cudaSetDevice(ranks[r].device));
    st = ncclCommInitRankConfig(&ranks[r].nccl, P, id, r, &config);
  }
  if (st != ncclSuccess && st != ncclInProgress) {
    ncclGroupEnd();
    abort_all(std::string("ncclCommInitRankConfig: ") + ncclGetErrorString(st));
  }
  st = ncclGroupEnd();
  if (st != ncclSuccess && st != ncclInProgress) abort_all(std::string("ncclGroupEnd: ") + ncclGetErrorString(st));
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  for (int r = 0; r < P;) {
    ncclResult_t s = ncclSuccess;
    const ncclResult_t q = ncclCommGetAsyncError(ranks[r].nccl, &s);
    if (q != ncclSuccess) abort_all(std::string("ncclCommGetAsyncError: ") + ncclGetErrorString(q));
    if (s == ncclSuccess) {
      ++r;
      continue;
    }
    if (s != ncclInProgress) abort_all(std::string("initialisation: ") + ncclGetErrorString(s));
    if (Clock::now() > deadline) abort_all("initialisation timed out after " + std::to_string(timeout_s) + " s");
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

// NCCL connects a pair of ranks lazily, at their first send/recv; done inside the rank threads'
// first iteration, that set-up would run beside other ranks' spinning NCCL kernels (and may
// synchronise the device). So every link the schedule uses is connected here, from one thread, by
// a one-element send/recv in a group, before any iteration.
void GpuPipeline::Impl::connect_links(double timeout_s) {
  const OpTable& t = *dag.table;
  std::vector<DeviceBuffer> scratch;
  for (auto& rk : ranks) {
    PPSIM_CUDA_CHECK(cudaSetDevice(rk.device));
    scratch.emplace_back(2 * sizeof(bf16));
  }
  auto fail = [&](const std::string& why) {
    for (auto& rk : ranks)
      if (rk.nccl) ncclCommAbort(rk.nccl), rk.nccl = nullptr;
    throw cuda::CudaError("NCCL: connecting the pipeline's links: " + why);
  };
  for (const Resource& link : t.resources) {
    if (!link.is_link()) continue;  // a rank
    ncclResult_t st = ncclGroupStart();
    for (int end = 0; end < 2 && (st == ncclSuccess || st == ncclInProgress); ++end) {
      const int r = end == 0 ? link.src : link.dst;
      cudaSetDevice(ranks[r].device);
      st = end == 0 ? ncclSend(scratch[r].get(), 1, ncclBfloat16, link.dst, ranks[r].nccl, ranks[r].comm)
                    : ncclRecv(scratch[r].get(), 1, ncclBfloat16, link.src, ranks[r].nccl, ranks[r].comm);
    }
    const ncclResult_t end_st = ncclGroupEnd();
    if (st != ncclSuccess && st != ncclInProgress) fail(std::string("send/recv: ") + ncclGetErrorString(st));
    if (end_st != ncclSuccess && end_st != ncclInProgress) fail(std::string("ncclGroupEnd: ") + ncclGetErrorString(end_st));
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
    for (int end = 0; end < 2;) {
      Rank& rk = ranks[end == 0 ? link.src : link.dst];
      ncclResult_t async = ncclSuccess;
      if (ncclCommGetAsyncError(rk.nccl, &async) != ncclSuccess || (async != ncclSuccess && async != ncclInProgress))
        fail(std::string("link ") + std::to_string(link.src) + "->" + std::to_string(link.dst) + ": " +
             ncclGetErrorString(async));
      cudaSetDevice(rk.device);
      const cudaError_t q = async == ncclSuccess ? cudaStreamQuery(rk.comm) : cudaErrorNotReady;
      if (q == cudaSuccess) {
        ++end;
        continue;
      }
      if (q != cudaErrorNotReady) fail(std::string("GPU ") + std::to_string(rk.device) + ": " + cudaGetErrorString(q));
      if (Clock::now() > deadline)
        fail("link " + std::to_string(link.src) + "->" + std::to_string(link.dst) + " not connected after " +
             std::to_string(timeout_s) + " s");
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
}

GpuPipeline::Impl::RankIssue GpuPipeline::Impl::begin_issue(int r) const {
  (void)r;  // every rank keeps the whole table; it only touches its own stages' entries
  RankIssue st;
  st.sends_left = cross_rank_sends();
  st.w_done.assign(st.sends_left.size(), 0);
  return st;
}

void GpuPipeline::Impl::release_if_done(RankIssue& st, int s, int m) {
  const int M = schedule.microbatches;
  if (st.w_done[s * M + m] && st.sends_left[s * M + m] == 0) stages[s]->release(m);
}

// A compute op on rank r's compute stream: wait for its received input, run F, B, W or both
// halves between its two events, then hand a local successor its tensor.
void GpuPipeline::Impl::issue_compute(int r, OpId v, RankIssue& st) {
  Rank& rk = ranks[r];
  const int M = schedule.microbatches;
  const Op& a = dag.table->ops[v];
  const int s = a.stage, m = a.microbatch;
  GpuStage& stage = *stages[s];
  for (const Handoff& h : flow.inputs(v))  // what arrives from another rank
    if (h.transfer != kNoOp) PPSIM_CUDA_CHECK(cudaStreamWaitEvent(rk.compute, ev_d[h.transfer], 0));
  if (a.kind == ActionKind::F) stage.acquire(m);  // any reuse waits happen before the start event
  PPSIM_CUDA_CHECK(cudaEventRecord(ev_a[v], rk.compute));
  switch (a.kind) {
    case ActionKind::F: stage.forward(m); break;
    case ActionKind::B: stage.backward_input(m); break;
    case ActionKind::W: stage.backward_weight(m); break;
    case ActionKind::BW:
      stage.backward_input(m);
      stage.backward_weight(m);
      break;
  }
  PPSIM_CUDA_CHECK(cudaEventRecord(ev_b[v], rk.compute));
  // Hand-offs to a stage on this same rank: a device-local copy, no transfer op.
  for (const Handoff& h : flow.outputs(v)) {
    if (h.transfer != kNoOp) continue;
    const DeviceBuffer& out = source(h);
    PPSIM_CUDA_CHECK(cudaMemcpyAsync(destination(h), out.get(), out.bytes(), cudaMemcpyDeviceToDevice, rk.compute));
  }
  if (a.kind == ActionKind::W || a.kind == ActionKind::BW) {
    stage.last_compute_use(m);
    st.w_done[s * M + m] = 1;
    release_if_done(st, s, m);
  }
}

// Sharing one GPU: the transfer is a copy on the receiver's communication stream, between the
// recv-side events the consumer waits on. The sender's stash may be reused only after the copy
// has read it: its own communication stream (which carries nothing else in this mode) waits for
// the copy and marks the stash's comm_done, as a send would.
void GpuPipeline::Impl::issue_local_transfer(OpId v, std::vector<RankIssue>& states) {
  const OpTable& t = *dag.table;
  const Op& op = t.ops[v];
  const Resource& link = t.resources[op.resource];
  const int s = op.stage, m = op.microbatch, M = schedule.microbatches;
  Rank& from_rank = ranks[link.src];
  Rank& to_rank = ranks[link.dst];
  Stash& from = stages[s]->stash(m);
  const Handoff& h = flow.carried_by(v);
  const DeviceBuffer& src = source(h);
  void* dst = destination(h);
  PPSIM_CUDA_CHECK(cudaStreamWaitEvent(to_rank.comm, ev_b[h.producer], 0));
  PPSIM_CUDA_CHECK(cudaEventRecord(ev_c[v], to_rank.comm));
  PPSIM_CUDA_CHECK(cudaMemcpyAsync(dst, src.get(), src.bytes(), cudaMemcpyDeviceToDevice, to_rank.comm));
  PPSIM_CUDA_CHECK(cudaEventRecord(ev_d[v], to_rank.comm));
  PPSIM_CUDA_CHECK(cudaStreamWaitEvent(from_rank.comm, ev_d[v], 0));
  PPSIM_CUDA_CHECK(cudaEventRecord(from.comm_done, from_rank.comm));
  RankIssue& st = states[link.src];
  --st.sends_left[s * M + m];
  release_if_done(st, s, m);
}

// Polls rank r's two streams (and its communicator) until both are idle, so that a hung peer
// hits the deadline instead of blocking forever.
void GpuPipeline::Impl::wait_idle(int r, Clock::time_point deadline, double timeout_s,
                                  const std::function<void()>& check_failed) {
  Rank& rk = ranks[r];
  for (;;) {
    const cudaError_t qc = cudaStreamQuery(rk.compute), qm = cudaStreamQuery(rk.comm);
    if (qc == cudaSuccess && qm == cudaSuccess) return;
    for (cudaError_t q : {qc, qm})
      if (q != cudaSuccess && q != cudaErrorNotReady)
        throw cuda::CudaError("pipeline rank " + std::to_string(r) + " (GPU " + std::to_string(rk.device) +
                              "): " + cudaGetErrorString(q));
    if (rk.nccl) {
      ncclResult_t st = ncclSuccess;
      nccl_check(ncclCommGetAsyncError(rk.nccl, &st), "ncclCommGetAsyncError", r);
      if (st != ncclInProgress) nccl_check(st, "NCCL (asynchronous error)", r);
    }
    if (check_failed) check_failed();
    if (Clock::now() > deadline)
      throw RunError("measure --device cuda: pipeline rank " + std::to_string(r) + " (GPU " + std::to_string(rk.device) +
                     ") did not finish its iteration within " + std::to_string(timeout_s) + " s (--timeout); it waited on " +
                     first_unfinished(r) + "; the communicators were aborted");
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

// The first op of rank r's issue order whose closing event has not completed: what it waits on.
std::string GpuPipeline::Impl::first_unfinished(int r) const {
  const OpTable& t = *dag.table;
  for (OpId v : order[r]) {
    const Op& op = t.ops[v];
    const bool receives = op.is_transfer && t.resources[op.resource].dst == r && (shared() || t.resources[op.resource].src != r);
    cudaEvent_t e = receives ? ev_d[v] : ev_b[v];
    if (e && cudaEventQuery(e) == cudaErrorNotReady) return describe_op(t, v);
  }
  return "no op (the streams were still busy)";
}

TimeNs GpuPipeline::Impl::since(cudaEvent_t t0, cudaEvent_t e) const {
  float ms = 0;
  PPSIM_CUDA_CHECK(cudaEventElapsedTime(&ms, t0, e));
  return static_cast<TimeNs>(std::llround(double(ms) * 1e6));
}

std::pair<TimeNs, TimeNs> GpuPipeline::Impl::run_rank(int r, std::barrier<>& sync, std::atomic<bool>& failed,
                                                      double timeout_s) {
  Rank& rk = ranks[r];
  const OpTable& t = *dag.table;
  const int M = schedule.microbatches;
  const auto deadline_of = [&] { return Clock::now() + std::chrono::duration<double>(timeout_s); };
  const std::function<void()> check_failed = [&] {
    if (failed.load()) throw cuda::CudaError("pipeline rank " + std::to_string(r) + ": stopped, another rank failed");
  };
  // After a non-blocking NCCL call: wait until it is enqueued (with a deadline).
  auto nccl_enqueued = [&](const char* what) {
    const auto deadline = deadline_of();
    for (;;) {
      ncclResult_t st = ncclSuccess;
      nccl_check(ncclCommGetAsyncError(rk.nccl, &st), "ncclCommGetAsyncError", r);
      if (st == ncclSuccess) return;
      if (st != ncclInProgress) nccl_check(st, what, r);
      check_failed();
      if (Clock::now() > deadline) throw cuda::CudaError(std::string(what) + " on pipeline rank " + std::to_string(r) + ": not enqueued after " + std::to_string(timeout_s) + " s");
      std::this_thread::yield();
    }
  };

  // Before the barrier: zero the gradients and let both streams drain.
  std::exception_ptr early;
  try {
    PPSIM_CUDA_CHECK(cudaSetDevice(rk.device));
    for (int s : rk.stages) stages[s]->zero_grads();
    PPSIM_CUDA_CHECK(cudaStreamSynchronize(rk.compute));
    PPSIM_CUDA_CHECK(cudaStreamSynchronize(rk.comm));
  } catch (...) {
    early = std::current_exception();
    failed = true;
  }
  sync.arrive_and_wait();
  if (early) std::rethrow_exception(early);
  check_failed();

  // The common start: every thread leaves the barrier together (within the threads' wake-up skew)
  // and records t0 on its idle compute stream; h0 is the host time just before the record and h1
  // when the host sees it complete, so the GPU stamped t0 somewhere in [h0, h1]. Placing each
  // GPU's events at h0 + (event - t0) aligns GPUs to within max(h1 - h0) over the two GPUs
  // (launch latency, a few µs), whatever the wake-up skew.
  const TimeNs h0 = host_ns(Clock::now());
  PPSIM_CUDA_CHECK(cudaEventRecord(rk.t0, rk.compute));
  PPSIM_CUDA_CHECK(cudaEventSynchronize(rk.t0));
  const TimeNs h1 = host_ns(Clock::now());

  RankIssue st = begin_issue(r);
  for (OpId v : order[r]) {
    check_failed();
    const Op& op = t.ops[v];
    if (!op.is_transfer) {
      issue_compute(r, v, st);
      continue;
    }
    const Resource& link = t.resources[op.resource];
    const int s = op.stage, m = op.microbatch;
    const std::size_t count = static_cast<std::size_t>(tokens) * spec.hidden;
    const Handoff& h = flow.carried_by(v);
    if (link.src == r) {
      Stash& from = stages[s]->stash(m);
      void* buf = source(h).get();
      PPSIM_CUDA_CHECK(cudaStreamWaitEvent(rk.comm, ev_b[h.producer], 0));
      PPSIM_CUDA_CHECK(cudaEventRecord(ev_a[v], rk.comm));
      nccl_check(ncclSend(buf, count, ncclBfloat16, link.dst, rk.nccl, rk.comm), "ncclSend", r);
      nccl_enqueued("ncclSend");
      PPSIM_CUDA_CHECK(cudaEventRecord(ev_b[v], rk.comm));
      PPSIM_CUDA_CHECK(cudaEventRecord(from.comm_done, rk.comm));
      --st.sends_left[s * M + m];
      release_if_done(st, s, m);
    } else {
      void* buf = destination(h);
      PPSIM_CUDA_CHECK(cudaEventRecord(ev_c[v], rk.comm));
      nccl_check(ncclRecv(buf, count, ncclBfloat16, link.src, rk.nccl, rk.comm), "ncclRecv", r);
      nccl_enqueued("ncclRecv");
      PPSIM_CUDA_CHECK(cudaEventRecord(ev_d[v], rk.comm));
    }
  }
  wait_idle(r, Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s)),
            timeout_s, check_failed);

  for (OpId v : order[r]) {
    const Op& op = t.ops[v];
    if (!op.is_transfer || t.resources[op.resource].src == r) raw_a[v] = since(rk.t0, ev_a[v]), raw_b[v] = since(rk.t0, ev_b[v]);
    else raw_c[v] = since(rk.t0, ev_c[v]), raw_d[v] = since(rk.t0, ev_d[v]);
  }
  return {h0, h1};
}

// Sharing one GPU: one host thread issues every rank's work in the global order; every event is
// on that GPU, timed from one t0.
void GpuPipeline::Impl::run_shared_iteration(double timeout_s) {
  const OpTable& t = *dag.table;
  const int P = schedule.ranks;
  PPSIM_CUDA_CHECK(cudaSetDevice(ranks[0].device));
  for (int r = 0; r < P; ++r) {
    for (int s : ranks[r].stages) stages[s]->zero_grads();
    PPSIM_CUDA_CHECK(cudaStreamSynchronize(ranks[r].compute));
    PPSIM_CUDA_CHECK(cudaStreamSynchronize(ranks[r].comm));
  }
  cudaEvent_t t0 = ranks[0].t0;
  PPSIM_CUDA_CHECK(cudaEventRecord(t0, ranks[0].compute));
  PPSIM_CUDA_CHECK(cudaEventSynchronize(t0));

  std::vector<RankIssue> states;
  for (int r = 0; r < P; ++r) states.push_back(begin_issue(r));
  for (OpId v : global_order) {
    const Op& op = t.ops[v];
    if (op.is_transfer) issue_local_transfer(v, states);
    else issue_compute(op.resource, v, states[op.resource]);
  }
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  for (int r = 0; r < P; ++r) wait_idle(r, deadline, timeout_s, {});

  for (OpId v = 0; v < t.ops.size(); ++v) {
    if (!t.ops[v].is_transfer) {
      raw_a[v] = since(t0, ev_a[v]), raw_b[v] = since(t0, ev_b[v]);
    } else {
      raw_c[v] = since(t0, ev_c[v]), raw_d[v] = since(t0, ev_d[v]);
      raw_a[v] = raw_c[v], raw_b[v] = raw_d[v];
    }
  }
}

Timeline GpuPipeline::Impl::run_iteration(const MeasureOptions& o, TimeNs& alignment_error) {
  if (broken) throw cuda::CudaError("GPU pipeline: an earlier run failed and aborted the communicator");
  const int P = schedule.ranks;
  std::vector<TimeNs> offset(P, 0);
  alignment_error = 0;
  if (shared()) {
    try {
      run_shared_iteration(o.timeout_s);
    } catch (...) {
      broken = true;
      throw;
    }
  } else {
    std::barrier<> sync(P);
    std::atomic<bool> failed{false};
    std::vector<std::pair<TimeNs, TimeNs>> t0(P);
    std::exception_ptr first;
    std::mutex first_mutex;
    std::vector<std::thread> threads;
    for (int r = 0; r < P; ++r)
      threads.emplace_back([&, r] {
        try {
          t0[r] = run_rank(r, sync, failed, o.timeout_s);
        } catch (...) {
          {
            std::lock_guard lock(first_mutex);
            if (!first) first = std::current_exception();
          }
          failed = true;
          // A rank that stops must not leave its peers blocked in NCCL: abort its communicator
          // (theirs see the error or the flag and abort too).
          if (ranks[r].nccl) ncclCommAbort(ranks[r].nccl), ranks[r].nccl = nullptr;
        }
      });
    for (auto& th : threads) th.join();
    if (first) {
      broken = true;
      std::rethrow_exception(first);
    }
    TimeNs h0_min = t0[0].first;
    for (const auto& [h0, h1] : t0) h0_min = std::min(h0_min, h0), alignment_error = std::max(alignment_error, h1 - h0);
    for (int r = 0; r < P; ++r) offset[r] = t0[r].first - h0_min;
  }

  const OpTable& t = *dag.table;
  Timeline tl;
  tl.table = dag.table;
  tl.source = shared() ? "measured (cuda, one GPU shared)" : "measured (cuda)";
  tl.start.assign(t.ops.size(), 0);
  tl.end.assign(t.ops.size(), 0);
  for (OpId v = 0; v < t.ops.size(); ++v) {
    const Op& op = t.ops[v];
    if (!op.is_transfer) {
      tl.start[v] = raw_a[v] + offset[op.resource];
      tl.end[v] = raw_b[v] + offset[op.resource];
      continue;
    }
    // Data moves once both ends are posted and ends when the receiver has it.
    const Resource& link = t.resources[op.resource];
    tl.end[v] = raw_d[v] + offset[link.dst];
    tl.start[v] = std::min(tl.end[v], std::max(raw_a[v] + offset[link.src], raw_c[v] + offset[link.dst]));
  }
  return tl;
}

GpuPipeline::GpuPipeline(const Schedule& schedule, const Dag& dag, const ModelSpec& spec, const Partition& partition,
                         int micro_batch_size, int sequence_length, const MeasureOptions& options)
    : impl_(std::make_unique<Impl>(schedule, dag)) {
  Impl& I = *impl_;
  std::vector<int> gpus = options.gpus;
  const bool share_gpu = options.share_gpu;
  const std::uint64_t seed = options.seed;
  const int P = schedule.ranks, S = schedule.stages(), M = schedule.microbatches;
  if (partition.virtual_stages() != S)
    throw InputError("measure: the partition has " + std::to_string(partition.virtual_stages()) +
                     " virtual stages but the schedule " + std::to_string(S));
  if (partition.embedding_stage != 0 || partition.head() != S - 1)
    throw InputError("measure --device cuda: the embedding must be on the first virtual stage and the head on the last");
  if (spec.hidden % spec.heads != 0 || spec.heads % spec.kv_heads != 0)
    throw InputError("model '" + spec.name + "': hidden must divide by heads and heads by kv_heads");
  if (!cuda::flash_attention_supported(spec.head_dim()))
    throw InputError("model '" + spec.name + "': head dim " + std::to_string(spec.head_dim()) +
                     " has no fused attention kernel on the GPU (compiled for 16, 64, 80, 96, 128)");
  std::string why;
  const int visible = cuda::visible_device_count(why);
  if (share_gpu) {
    if (gpus.size() > 1)
      throw InputError("--share-gpu runs every rank on one GPU: --gpus must name one GPU at most (" +
                       std::to_string(gpus.size()) + " given)");
    if (visible < 1)
      throw InputError("ppsim measure --device cuda --share-gpu: no GPU visible" + (why.empty() ? "" : " (" + why + ")"));
    const int g = gpus.empty() ? 0 : gpus[0];
    if (g < 0 || g >= visible)
      throw InputError("--gpus: GPU " + std::to_string(g) + " is not visible (" + std::to_string(visible) + " visible)");
    gpus.assign(P, g);
  }
  if (gpus.empty()) {
    if (visible < P)
      throw InputError("ppsim measure --device cuda: the schedule needs " + std::to_string(P) +
                       " GPUs (one per rank), " + std::to_string(visible) + " visible" +
                       (why.empty() ? "" : " (" + why + ")"));
    for (int r = 0; r < P; ++r) gpus.push_back(r);
  }
  if (static_cast<int>(gpus.size()) != P)
    throw InputError("--gpus: the schedule needs " + std::to_string(P) + " GPUs (one per rank), " +
                     std::to_string(gpus.size()) + " given");
  for (std::size_t i = 0; i < gpus.size(); ++i) {
    if (gpus[i] < 0 || gpus[i] >= visible)
      throw InputError("--gpus: GPU " + std::to_string(gpus[i]) + " is not visible (" + std::to_string(visible) +
                       " visible)");
    if (!share_gpu && std::count(gpus.begin(), gpus.end(), gpus[i]) > 1)
      throw InputError("--gpus: GPU " + std::to_string(gpus[i]) + " is named twice (NCCL needs one GPU per rank)");
  }
  I.spec = spec;
  I.tokens = micro_batch_size * sequence_length;
  I.gpus = gpus;

  // Refuse before allocating: each GPU's stages (bf16 weights and gradients, the stashes of the
  // micro-batches in flight) against its free memory.
  {
    const std::vector<int> in_flight = peak_in_flight_by_stage(schedule);
    std::map<int, std::int64_t> need;
    for (int s = 0; s < S; ++s) {
      LayerFootprint f = block_footprint(spec, I.tokens, 2);
      const std::int64_t blocks = partition.layers_per_stage[s];
      std::int64_t bytes = blocks * f.per_microbatch_total(in_flight[s]);
      if (s == 0) bytes += embedding_footprint(spec, I.tokens, 2).per_microbatch_total(in_flight[s]);
      if (s == S - 1) bytes += head_footprint(spec, I.tokens, 2).per_microbatch_total(in_flight[s]);
      need[gpus[schedule.rank_of_stage[s]]] += bytes;
    }
    for (const auto& [gpu, bytes] : need) {
      PPSIM_CUDA_CHECK(cudaSetDevice(gpu));
      std::size_t free_bytes = 0, total_bytes = 0;
      PPSIM_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
      const std::int64_t budget = options.max_memory_bytes > 0 ? options.max_memory_bytes : static_cast<std::int64_t>(free_bytes);
      if (bytes > budget)
        throw TooLargeError("measure --device cuda: GPU " + std::to_string(gpu) + " would hold its ranks' layers, " +
                            "gradients and in-flight activations: about " + format_bytes(bytes) + ", but " +
                            format_bytes(budget) + " is free; use more GPUs, a smaller micro_batch_size or " +
                            "sequence_length, or raise the limit with --max-memory");
    }
  }

  const OpTable& t = *dag.table;
  for (OpId v = 0; v < t.compute_ops(); ++v)
    if (t.ops[v].overlapped)
      throw InputError("measure --device cuda: schedule " + schedule.kind +
                       " has overlapped F&B units, which the GPU runner does not run yet (it would need the two "
                       "halves on two streams); measure it on the CPU (--device cpu) or simulate it");
  if (schedule.copies() > 1)
    throw InputError("measure --device cuda: schedule " + schedule.kind +
                     " runs two model copies, which the GPU runner does not build yet; measure it on the CPU");
  for (int r = 0; r < P; ++r)
    for (OpId v = t.rank_begin[r]; v < t.rank_begin[r + 1]; ++v) {
      const Action& a = schedule.order[r][v - t.rank_begin[r]];
      const Op& op = t.ops[v];
      if (a.stage != op.stage || a.microbatch != op.microbatch || a.kind != op.kind)
        throw std::logic_error("GPU pipeline: the DAG was not built from this schedule");
    }
  I.global_order = global_issue_order(dag);  // one pass; shared mode issues it as is
  I.order = ppsim::gpu::issue_order(dag, I.global_order);
  if (share_gpu) {
    I.partitions = std::make_unique<cuda::SmPartitions>(gpus[0], P);
  }

  I.ranks.resize(P);
  for (int r = 0; r < P; ++r) {
    auto& rk = I.ranks[r];
    rk.device = gpus[r];
    PPSIM_CUDA_CHECK(cudaSetDevice(rk.device));
    if (share_gpu) {  // both on the rank's SMs: a copy that needs SMs takes the receiver's, as NCCL would
      rk.compute = I.partitions->create_stream(r);
      rk.comm = I.partitions->create_stream(r);
    } else {
      PPSIM_CUDA_CHECK(cudaStreamCreateWithFlags(&rk.compute, cudaStreamNonBlocking));
      PPSIM_CUDA_CHECK(cudaStreamCreateWithFlags(&rk.comm, cudaStreamNonBlocking));
    }
    PPSIM_CUDA_CHECK(cudaEventCreate(&rk.t0));
    rk.gemm = std::make_unique<cuda::Gemm>(CUDA_R_16BF);
    if (share_gpu) rk.gemm->set_sm_count_target(I.partitions->sms_per_partition());
    // cuDNN's fused attention or ours, as `ppsim calibrate --attention` picks it (rank 0 decides
    // under auto; the others take the same kind, so that every rank runs the same kernel).
    const std::string request = r == 0 ? options.attention : cuda::to_string(I.ranks[0].attention->kind());
    rk.attention = std::make_unique<cuda::FusedAttention>(
        cuda::AttentionShape{micro_batch_size, sequence_length, spec.heads, spec.kv_heads, spec.head_dim()}, request,
        share_gpu ? I.partitions->sms_per_partition() : 0);
  }
  std::vector<std::vector<int>> ids(M), targets(M);
  for (int m = 0; m < M; ++m) {
    ids[m] = cpu::microbatch_tokens(spec, m, I.tokens, seed);
    targets[m] = cpu::microbatch_targets(spec, m, I.tokens, seed);
  }
  int first = 0;
  for (int s = 0; s < S; ++s) {
    auto& rk = I.ranks[I.rank_of(s)];
    PPSIM_CUDA_CHECK(cudaSetDevice(rk.device));
    const int n = partition.layers_per_stage[s];
    I.stages.push_back(std::make_unique<GpuStage>(spec, micro_batch_size, sequence_length, first, n, s == 0,
                                                  s == S - 1, M, seed, *rk.gemm, *rk.attention, rk.compute, rk.comm));
    rk.stages.push_back(s);  // only once it exists: the destructor resets the stages listed here
    I.stages.back()->set_inputs(s == 0 ? ids : std::vector<std::vector<int>>(),
                                s == S - 1 ? targets : std::vector<std::vector<int>>());
    first += n;
  }
  I.reserve_stashes();

  const std::size_t n = t.ops.size();
  I.ev_a.assign(n, nullptr), I.ev_b.assign(n, nullptr), I.ev_c.assign(n, nullptr), I.ev_d.assign(n, nullptr);
  I.raw_a.assign(n, 0), I.raw_b.assign(n, 0), I.raw_c.assign(n, 0), I.raw_d.assign(n, 0);
  for (OpId v = 0; v < n; ++v) {
    const Op& op = t.ops[v];
    const int src = op.is_transfer ? t.resources[op.resource].src : op.resource;
    PPSIM_CUDA_CHECK(cudaSetDevice(I.ranks[src].device));
    PPSIM_CUDA_CHECK(cudaEventCreate(&I.ev_a[v]));
    PPSIM_CUDA_CHECK(cudaEventCreate(&I.ev_b[v]));
    if (op.is_transfer) {
      PPSIM_CUDA_CHECK(cudaSetDevice(I.ranks[t.resources[op.resource].dst].device));
      PPSIM_CUDA_CHECK(cudaEventCreate(&I.ev_c[v]));
      PPSIM_CUDA_CHECK(cudaEventCreate(&I.ev_d[v]));
    }
  }
  for (auto& rk : I.ranks) {
    PPSIM_CUDA_CHECK(cudaSetDevice(rk.device));
    PPSIM_CUDA_CHECK(cudaDeviceSynchronize());
  }
  if (!share_gpu) {
    I.init_nccl(60.0);
    I.connect_links(60.0);
  }
}

GpuPipeline::~GpuPipeline() = default;

MeasuredRun GpuPipeline::run(const MeasureOptions& o) {
  Impl& I = *impl_;
  TimeNs align = 0;
  std::vector<TimeNs> aligns;
  MeasuredRun result = run_iterations(o, [&] {
    Timeline tl = I.run_iteration(o, align);
    aligns.push_back(align);
    return tl;
  });
  result.alignment_error_ns = aligns[o.warmup + result.reported_iteration];
  std::string g;
  for (std::size_t r = 0; r < I.gpus.size(); ++r) {
    if (r) g += ",";
    g += std::to_string(I.gpus[r]);
  }
  if (I.shared())
    result.notes = std::to_string(I.schedule.ranks) + " ranks sharing GPU " + std::to_string(I.gpus[0]) + ", " +
                   std::to_string(I.partitions->sms_per_partition()) + " of its " +
                   std::to_string(I.partitions->device_sms()) +
                   " SMs each (green contexts), device-local copies as transfers, CUDA-event timing";
  else
    result.notes = std::to_string(I.schedule.ranks) + " ranks on GPUs " + g +
                   ", NCCL send/recv, CUDA-event timing; cross-GPU alignment within " +
                   std::to_string(result.alignment_error_ns / 1000) + " us";
  result.notes += "; attention: " + attention() + " (" + I.ranks.front().attention->note() + ")";
  return result;
}

void GpuPipeline::run_reference() {
  Impl& I = *impl_;
  if (I.broken) throw cuda::CudaError("GPU pipeline: an earlier run failed and aborted the communicator");
  const int S = I.schedule.stages(), M = I.schedule.microbatches;
  auto sync = [&](int s) {
    I.set_device_of_stage(s);
    PPSIM_CUDA_CHECK(cudaStreamSynchronize(I.ranks[I.rank_of(s)].compute));
  };
  // dst (on stage d's GPU) <- src (on stage s's GPU), synchronously.
  auto copy = [&](int d, const DeviceBuffer& dst, int s, const DeviceBuffer& src) {
    sync(s);
    I.set_device_of_stage(d);
    PPSIM_CUDA_CHECK(cudaMemcpyPeerAsync(dst.get(), I.ranks[I.rank_of(d)].device, src.get(),
                                         I.ranks[I.rank_of(s)].device, src.bytes(), I.ranks[I.rank_of(d)].compute));
    sync(d);
  };
  for (int s = 0; s < S; ++s) {
    I.set_device_of_stage(s);
    I.stage(s).zero_grads();
    sync(s);
  }
  for (int m = 0; m < M; ++m) {
    for (int s = 0; s < S; ++s) {
      I.set_device_of_stage(s);
      Stash& st = I.stage(s).acquire(m);
      if (s > 0) copy(s, st.h[0], s - 1, I.stage(s - 1).stash(m).h.back());
      I.set_device_of_stage(s);
      I.stage(s).forward(m);
      sync(s);
    }
    for (int s = S - 1; s >= 0; --s) {
      if (s + 1 < S) copy(s, I.stage(s).stash(m).dh.back(), s + 1, I.stage(s + 1).stash(m).dh[0]);
      I.set_device_of_stage(s);
      I.stage(s).backward_input(m);
      sync(s);
    }
    for (int s = 0; s < S; ++s) {
      I.set_device_of_stage(s);
      I.stage(s).backward_weight(m);
      I.stage(s).release(m);
      sync(s);
    }
  }
}

double GpuPipeline::loss(int microbatch) const {
  const int last = impl_->schedule.stages() - 1;
  impl_->set_device_of_stage(last);
  return impl_->stages[last]->loss(microbatch);
}

std::vector<std::string> GpuPipeline::gradient_names(int stage) const { return impl_->stages.at(stage)->gradient_names(); }

std::vector<float> GpuPipeline::gradient(int stage, const std::string& name) const {
  impl_->set_device_of_stage(stage);
  return impl_->stages.at(stage)->gradient(name);
}

const std::vector<std::vector<OpId>>& GpuPipeline::issue_order() const { return impl_->order; }

std::string GpuPipeline::attention() const { return cuda::to_string(impl_->ranks.front().attention->kind()); }

int GpuPipeline::sms_per_rank() const { return impl_->partitions ? impl_->partitions->sms_per_partition() : 0; }
int GpuPipeline::device_sms() const { return impl_->partitions ? impl_->partitions->device_sms() : 0; }

}  // namespace ppsim::gpu
