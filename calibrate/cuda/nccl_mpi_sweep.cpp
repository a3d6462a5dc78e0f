// NCCL send/recv between two processes (typically two nodes) started by mpirun: the communicator is
// bootstrapped over MPI (rank 0's ncclUniqueId is sent to rank 1), each process drives its first
// --gpus device, and rank 0 times a ping-pong (send then receive; half the round trip). The
// communicator is non-blocking (blocking = 0), and every wait polls ncclCommGetAsyncError /
// cudaStreamQuery against a deadline and aborts the communicator on timeout, as nccl_sweep.cpp does.
// Built only with CUDA, NCCL and MPI. NOT YET RUN: no GPUs and no second node were available.
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "calibrate/cuda/check.h"
#include "calibrate/cuda/kernels.h"
#include "calibrate/mpi/mpi_check.h"
#include "calibrate/mpi/mpi_session.h"
#include "base/error.h"

namespace ppsim::mpi {
namespace {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  const World& world;
  int gpu;
  double timeout_s;
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  void* buf = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;  // rank 0 times the round trip on its GPU

  ~Endpoint() {
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
    if (buf) cudaFree(buf);
    if (stream) cudaStreamDestroy(stream);
    if (!comm) return;
    // A non-blocking communicator: finalize, wait (10 s at most) for its background work, destroy;
    // abort if that fails.
    ncclResult_t st = ncclCommFinalize(comm);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (st == ncclInProgress && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      if (ncclCommGetAsyncError(comm, &st) != ncclSuccess) break;
    }
    if (st == ncclSuccess) ncclCommDestroy(comm);
    else ncclCommAbort(comm);
  }

  std::string where() const {
    return "rank " + std::to_string(world.rank) + " (" + world.host + ", GPU " + std::to_string(gpu) + ")";
  }

  [[noreturn]] void abort_and_fail(const std::string& what) {
    if (comm) ncclCommAbort(comm), comm = nullptr;
    throw cuda::CudaError(what + " on " + where());
  }

  void check(ncclResult_t r, const char* call) {
    if (r != ncclSuccess && r != ncclInProgress) abort_and_fail(std::string(call) + " failed: " + ncclGetErrorString(r));
  }

  // Until the communicator has no pending NCCL call (init, or the enqueue of a send/recv).
  void wait_ready(const char* what) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
      ncclResult_t st = ncclSuccess;
      check(ncclCommGetAsyncError(comm, &st), "ncclCommGetAsyncError");
      if (st == ncclSuccess) return;
      if (st != ncclInProgress) abort_and_fail(std::string(what) + ": " + ncclGetErrorString(st));
      if (Clock::now() > deadline) abort_and_fail(std::string(what) + ": timed out after " + std::to_string(timeout_s) + " s");
      std::this_thread::yield();
    }
  }

  // Until the stream is idle, polling so that a peer that never answers hits the deadline.
  void wait_stream(const char* what) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
    for (;;) {
      const cudaError_t e = cudaStreamQuery(stream);
      if (e == cudaSuccess) return;
      if (e != cudaErrorNotReady) abort_and_fail(std::string(what) + ": " + cudaGetErrorString(e));
      ncclResult_t st = ncclSuccess;
      check(ncclCommGetAsyncError(comm, &st), "ncclCommGetAsyncError");
      if (st != ncclSuccess && st != ncclInProgress) abort_and_fail(std::string(what) + ": " + ncclGetErrorString(st));
      if (Clock::now() > deadline) abort_and_fail(std::string(what) + ": timed out after " + std::to_string(timeout_s) + " s");
      std::this_thread::yield();
    }
  }

  void send(std::int64_t bytes, int peer) {
    check(ncclSend(buf, static_cast<std::size_t>(bytes), ncclInt8, peer, comm, stream), "ncclSend");
    wait_ready("ncclSend launch");
  }
  void recv(std::int64_t bytes, int peer) {
    check(ncclRecv(buf, static_cast<std::size_t>(bytes), ncclInt8, peer, comm, stream), "ncclRecv");
    wait_ready("ncclRecv launch");
  }
};

}  // namespace

InterNodeSweep nccl_mpi_ping_pong(const World& world, const SweepSettings& in) {
  if (world.size < 2 || world.rank > 1) return {};
  SweepSettings s = in;
  Endpoint e{world, in.gpu, in.timeout_s};
  PPSIM_CUDA_CHECK(cudaSetDevice(e.gpu));
  cudaDeviceProp prop{};
  PPSIM_CUDA_CHECK(cudaGetDeviceProperties(&prop, e.gpu));
  const std::string me = world.host + " (rank " + std::to_string(world.rank) + ", GPU " + std::to_string(e.gpu) +
                         " " + prop.name + ")";
  const std::string peer_label = detail::handshake(world, s, me);
  e.timeout_s = s.timeout_s;
  sweep_sizes(s.min_bytes, s.max_bytes);  // bad sizes fail here, before any NCCL set-up

  // Bootstrap: rank 0's unique id travels to rank 1 over MPI (only these two join the communicator).
  ncclUniqueId id;
  constexpr int kIdTag = 3;
  if (world.rank == 0) {
    e.check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    detail::send_bytes(&id, sizeof id, 1, kIdTag, world, s.timeout_s);
  } else {
    detail::recv_bytes(&id, sizeof id, 0, kIdTag, world, s.timeout_s);
  }
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  e.check(ncclCommInitRankConfig(&e.comm, 2, id, world.rank, &config), "ncclCommInitRankConfig");
  e.wait_ready("ncclCommInitRankConfig");
  PPSIM_CUDA_CHECK(cudaStreamCreateWithFlags(&e.stream, cudaStreamNonBlocking));
  PPSIM_CUDA_CHECK(cudaMalloc(&e.buf, static_cast<std::size_t>(s.max_bytes)));
  PPSIM_CUDA_CHECK(cudaEventCreate(&e.start));
  PPSIM_CUDA_CHECK(cudaEventCreate(&e.stop));

  const int peer = 1 - world.rank;
  InterNodeSweep out;
  // Both ranks walk the same sweep; rank 0's timings are the result (rank 1 only answers).
  auto samples = sweep_transfers(s.min_bytes, s.max_bytes, s.warmup, s.repeats, [&](std::size_t, std::int64_t size) {
    if (world.rank != 0) {
      e.recv(size, peer);
      e.send(size, peer);
      e.wait_stream("ncclRecv/ncclSend ping-pong");
      return 0.0;
    }
    // Timed with CUDA events on rank 0's GPU; a 2 ms spin first lets the host enqueue the send and
    // the recv before the clock starts, so no host launch gap is in the round trip.
    cuda::gpu_spin(2'000'000, e.stream);
    PPSIM_CUDA_CHECK(cudaEventRecord(e.start, e.stream));
    e.send(size, peer);
    e.recv(size, peer);
    PPSIM_CUDA_CHECK(cudaEventRecord(e.stop, e.stream));
    e.wait_stream("ncclSend/ncclRecv ping-pong");
    float ms = 0;
    PPSIM_CUDA_CHECK(cudaEventElapsedTime(&ms, e.start, e.stop));
    return double(ms) * 1e-3 / 2.0;
  });
  if (world.rank == 0) out.samples = std::move(samples);
  if (world.rank == 0)
    out.between = me + " <-> " + peer_label + " (NCCL send/recv over MPI bootstrap, half round trip)";
  return out;
}

}  // namespace ppsim::mpi
