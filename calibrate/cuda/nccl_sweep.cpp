// NCCL send/recv between two GPUs driven from one process, with non-blocking communicators so that
// every wait has a deadline: on timeout the communicators are aborted and the error names the
// operation and the devices. NOT YET RUN ON A GPU.
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "calibrate/cuda/check.h"
#include "calibrate/cuda/cuda_calibrator.h"
#include "calibrate/cuda/kernels.h"

namespace ppsim::cuda {
namespace {

using Clock = std::chrono::steady_clock;

struct Pair {
  int dev[2];
  ncclComm_t comm[2] = {nullptr, nullptr};
  cudaStream_t stream[2] = {nullptr, nullptr};
  double timeout_s;

  [[noreturn]] void abort_and_fail(const std::string& what) {
    for (auto& c : comm)
      if (c) ncclCommAbort(c), c = nullptr;
    throw CudaError(what + " (GPUs " + std::to_string(dev[0]) + " and " + std::to_string(dev[1]) + ")");
  }

  void check(ncclResult_t r, const char* call) {
    if (r != ncclSuccess && r != ncclInProgress)
      abort_and_fail(std::string(call) + " failed: " + ncclGetErrorString(r));
  }

  // Waits until both communicators have finished their pending NCCL work (init or group launch).
  void wait_ready(const char* what) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
      bool ready = true;
      for (auto c : comm) {
        ncclResult_t st = ncclSuccess;
        check(ncclCommGetAsyncError(c, &st), "ncclCommGetAsyncError");
        if (st == ncclInProgress) ready = false;
        else if (st != ncclSuccess) abort_and_fail(std::string(what) + ": " + ncclGetErrorString(st));
      }
      if (ready) return;
      if (Clock::now() > deadline) abort_and_fail(std::string(what) + ": timed out after " + std::to_string(timeout_s) + " s");
      std::this_thread::yield();
    }
  }

  // Waits for both streams, polling so that a hung peer hits the deadline instead of blocking.
  void wait_streams(const char* what) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
    for (int i = 0; i < 2;) {
      PPSIM_CUDA_CHECK(cudaSetDevice(dev[i]));
      const cudaError_t e = cudaStreamQuery(stream[i]);
      if (e == cudaSuccess) {
        ++i;
        continue;
      }
      if (e != cudaErrorNotReady) abort_and_fail(std::string(what) + ": " + cudaGetErrorString(e));
      ncclResult_t st = ncclSuccess;
      check(ncclCommGetAsyncError(comm[i], &st), "ncclCommGetAsyncError");
      if (st != ncclSuccess && st != ncclInProgress) abort_and_fail(std::string(what) + ": " + ncclGetErrorString(st));
      if (Clock::now() > deadline) abort_and_fail(std::string(what) + ": timed out after " + std::to_string(timeout_s) + " s");
      std::this_thread::yield();
    }
  }
};

}  // namespace

std::vector<TransferSample> nccl_send_recv_sweep(int gpu_a, int gpu_b, std::int64_t min_bytes, std::int64_t max_bytes,
                                                 int repeats, double timeout_s) {
  Pair p{{gpu_a, gpu_b}, {nullptr, nullptr}, {nullptr, nullptr}, timeout_s};
  ncclUniqueId id;
  p.check(ncclGetUniqueId(&id), "ncclGetUniqueId");
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  // A group must be closed before its communicators are aborted (an abort inside an open group
  // only queues its clean-up), so a failure inside it ends the group first.
  auto in_group = [&](const char* what, const std::function<void()>& calls) {
    p.check(ncclGroupStart(), "ncclGroupStart");
    try {
      calls();
    } catch (...) {
      ncclGroupEnd();
      throw;
    }
    p.check(ncclGroupEnd(), what);
  };
  in_group("ncclGroupEnd (init)", [&] {
    for (int i = 0; i < 2; ++i) {
      PPSIM_CUDA_CHECK(cudaSetDevice(p.dev[i]));
      p.check(ncclCommInitRankConfig(&p.comm[i], 2, id, i, &config), "ncclCommInitRankConfig");
    }
  });
  p.wait_ready("ncclCommInitRankConfig");

  void* buf[2] = {nullptr, nullptr};
  cudaEvent_t posted = nullptr, start = nullptr, stop = nullptr;
  auto release = [&] {
    for (int i = 0; i < 2; ++i) {
      cudaSetDevice(p.dev[i]);
      if (buf[i]) cudaFree(buf[i]);
    }
    cudaSetDevice(p.dev[0]);
    if (posted) cudaEventDestroy(posted);
    cudaSetDevice(p.dev[1]);
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
  };
  std::vector<TransferSample> out;
  try {
    for (int i = 0; i < 2; ++i) {
      PPSIM_CUDA_CHECK(cudaSetDevice(p.dev[i]));
      PPSIM_CUDA_CHECK(cudaStreamCreateWithFlags(&p.stream[i], cudaStreamNonBlocking));
      PPSIM_CUDA_CHECK(cudaMalloc(&buf[i], static_cast<std::size_t>(max_bytes)));
    }
    PPSIM_CUDA_CHECK(cudaSetDevice(p.dev[0]));
    PPSIM_CUDA_CHECK(cudaEventCreateWithFlags(&posted, cudaEventDisableTiming));
    PPSIM_CUDA_CHECK(cudaSetDevice(p.dev[1]));
    PPSIM_CUDA_CHECK(cudaEventCreate(&start));
    PPSIM_CUDA_CHECK(cudaEventCreate(&stop));
    // Timed on the receiver's GPU with CUDA events, as the GPU pipeline runner times its transfers:
    // the sender's stream first spins for 2 ms while the host enqueues the rest, and the receiver's
    // stream starts its clock only when the sender's reaches the send, so the span is the transfer
    // itself, from both ends ready to the data received, without the host's launch overhead (a
    // host clock put tens of microseconds of it into every sample).
    out = sweep_transfers(min_bytes, max_bytes, 1, repeats, [&](std::size_t, std::int64_t size) {
      PPSIM_CUDA_CHECK(cudaSetDevice(p.dev[0]));
      gpu_spin(2'000'000, p.stream[0]);
      PPSIM_CUDA_CHECK(cudaEventRecord(posted, p.stream[0]));
      PPSIM_CUDA_CHECK(cudaSetDevice(p.dev[1]));
      PPSIM_CUDA_CHECK(cudaStreamWaitEvent(p.stream[1], posted, 0));
      PPSIM_CUDA_CHECK(cudaEventRecord(start, p.stream[1]));
      in_group("ncclGroupEnd (send/recv)", [&] {
        PPSIM_CUDA_CHECK(cudaSetDevice(p.dev[0]));
        p.check(ncclSend(buf[0], static_cast<std::size_t>(size), ncclInt8, 1, p.comm[0], p.stream[0]), "ncclSend");
        PPSIM_CUDA_CHECK(cudaSetDevice(p.dev[1]));
        p.check(ncclRecv(buf[1], static_cast<std::size_t>(size), ncclInt8, 0, p.comm[1], p.stream[1]), "ncclRecv");
      });
      p.wait_ready("ncclSend/ncclRecv launch");
      PPSIM_CUDA_CHECK(cudaSetDevice(p.dev[1]));
      PPSIM_CUDA_CHECK(cudaEventRecord(stop, p.stream[1]));
      p.wait_streams("ncclSend/ncclRecv");
      float ms = 0;
      PPSIM_CUDA_CHECK(cudaSetDevice(p.dev[1]));
      PPSIM_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      return double(ms) * 1e-3;
    });
  } catch (...) {
    release();
    for (auto& c : p.comm)
      if (c) ncclCommAbort(c), c = nullptr;
    throw;
  }
  release();
  // Non-blocking communicators: finalize (flushes their work), wait, then destroy.
  for (int i = 0; i < 2; ++i) {
    cudaSetDevice(p.dev[i]);
    p.check(ncclCommFinalize(p.comm[i]), "ncclCommFinalize");
  }
  p.wait_ready("ncclCommFinalize");
  for (int i = 0; i < 2; ++i) {
    cudaSetDevice(p.dev[i]);
    cudaStreamDestroy(p.stream[i]);
    ncclCommDestroy(p.comm[i]);
    p.comm[i] = nullptr;
  }
  return out;
}

}  // namespace ppsim::cuda
