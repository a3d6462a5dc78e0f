// NCCL send/recv between two GPUs driven from one process, with non-blocking communicators so that
// every wait has a deadline: on timeout the communicators are aborted and the error names the
// operation and the devices. NOT YET RUN ON A GPU.
#include <nccl.h>

#include <chrono>
#include <thread>
#include <vector>

#include "calibrate/cuda/check.h"
#include "calibrate/cuda/cuda_calibrator.h"

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
  p.check(ncclGroupStart(), "ncclGroupStart");
  for (int i = 0; i < 2; ++i) {
    PPSIM_CUDA_CHECK(cudaSetDevice(p.dev[i]));
    p.check(ncclCommInitRankConfig(&p.comm[i], 2, id, i, &config), "ncclCommInitRankConfig");
  }
  p.check(ncclGroupEnd(), "ncclGroupEnd (init)");
  p.wait_ready("ncclCommInitRankConfig");

  void* buf[2] = {nullptr, nullptr};
  for (int i = 0; i < 2; ++i) {
    PPSIM_CUDA_CHECK(cudaSetDevice(p.dev[i]));
    PPSIM_CUDA_CHECK(cudaStreamCreateWithFlags(&p.stream[i], cudaStreamNonBlocking));
    PPSIM_CUDA_CHECK(cudaMalloc(&buf[i], static_cast<std::size_t>(max_bytes)));
  }
  std::vector<TransferSample> out;
  try {
    for (std::int64_t size = min_bytes; size <= max_bytes; size *= 4) {
      std::vector<double> times;
      for (int r = 0; r < repeats + 1; ++r) {  // the first run of each size is a warm-up
        const auto t0 = Clock::now();
        p.check(ncclGroupStart(), "ncclGroupStart");
        PPSIM_CUDA_CHECK(cudaSetDevice(p.dev[0]));
        p.check(ncclSend(buf[0], static_cast<std::size_t>(size), ncclInt8, 1, p.comm[0], p.stream[0]), "ncclSend");
        PPSIM_CUDA_CHECK(cudaSetDevice(p.dev[1]));
        p.check(ncclRecv(buf[1], static_cast<std::size_t>(size), ncclInt8, 0, p.comm[1], p.stream[1]), "ncclRecv");
        p.check(ncclGroupEnd(), "ncclGroupEnd (send/recv)");
        p.wait_ready("ncclSend/ncclRecv launch");
        p.wait_streams("ncclSend/ncclRecv");
        if (r > 0) times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      }
      std::sort(times.begin(), times.end());
      out.push_back({size, times[times.size() / 2]});
    }
  } catch (...) {
    for (int i = 0; i < 2; ++i) cudaFree(buf[i]);
    throw;
  }
  for (int i = 0; i < 2; ++i) {
    cudaSetDevice(p.dev[i]);
    cudaFree(buf[i]);
    cudaStreamDestroy(p.stream[i]);
    ncclCommDestroy(p.comm[i]);
  }
  return out;
}

}  // namespace ppsim::cuda
