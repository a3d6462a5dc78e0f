// The NCCL functions ppsim calls, forwarding to libnccl opened on first use (runtime_library.h).
// Signatures as in nccl.h.
#include <nccl.h>

#include "calibrate/cuda/runtime_library.h"

namespace {

template <class Fn>
Fn nccl(const char* name) {
  return reinterpret_cast<Fn>(ppsim::cuda::runtime_symbol(ppsim::cuda::RuntimeLibrary::Nccl, name));
}

}  // namespace

#define PPSIM_NCCL(name) static const auto fn = nccl<decltype(&::name)>(#name)

extern "C" {

ncclResult_t ncclCommAbort(ncclComm_t comm) {
  PPSIM_NCCL(ncclCommAbort);
  return fn(comm);
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  PPSIM_NCCL(ncclCommDestroy);
  return fn(comm);
}

ncclResult_t ncclCommFinalize(ncclComm_t comm) {
  PPSIM_NCCL(ncclCommFinalize);
  return fn(comm);
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* error) {
  PPSIM_NCCL(ncclCommGetAsyncError);
  return fn(comm, error);
}

ncclResult_t ncclCommInitRankConfig(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank, ncclConfig_t* config) {
  PPSIM_NCCL(ncclCommInitRankConfig);
  return fn(comm, nranks, id, rank, config);
}

const char* ncclGetErrorString(ncclResult_t result) {
  if (!ppsim::cuda::runtime_library_available(ppsim::cuda::RuntimeLibrary::Nccl)) return "NCCL is not loaded";
  PPSIM_NCCL(ncclGetErrorString);
  return fn(result);
}

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  PPSIM_NCCL(ncclGetUniqueId);
  return fn(id);
}

ncclResult_t ncclGroupEnd() {
  PPSIM_NCCL(ncclGroupEnd);
  return fn();
}

ncclResult_t ncclGroupStart() {
  PPSIM_NCCL(ncclGroupStart);
  return fn();
}

ncclResult_t ncclRecv(void* buf, size_t count, ncclDataType_t type, int peer, ncclComm_t comm, cudaStream_t stream) {
  PPSIM_NCCL(ncclRecv);
  return fn(buf, count, type, peer, comm, stream);
}

ncclResult_t ncclSend(const void* buf, size_t count, ncclDataType_t type, int peer, ncclComm_t comm,
                      cudaStream_t stream) {
  PPSIM_NCCL(ncclSend);
  return fn(buf, count, type, peer, comm, stream);
}

}  // extern "C"
