// CUDA green contexts over one GPU's SMs (see sm_partitions.h). NOT YET RUN ON A GPU.
#include "calibrate/cuda/sm_partitions.h"

#include <cuda.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "calibrate/cuda/check.h"
#include "base/error.h"

namespace ppsim::cuda {
namespace {

// Driver entry points by name, at the ABI of CUDA 12.5 (the newest version of every function used
// here: cudaTypedefs.h has only _v12040 / _v12050 forms of them). Asking for the toolkit's own
// version would fail on an older driver that still has them all.
constexpr unsigned int kEntryPointVersion = 12050;

template <class Fn>
Fn driver_entry(const char* name) {
  void* fn = nullptr;
  cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
  const cudaError_t e = cudaGetDriverEntryPointByVersion(name, &fn, kEntryPointVersion, cudaEnableDefault, &found);
  if (e != cudaSuccess || found != cudaDriverEntryPointSuccess || !fn)
    throw CudaError(std::string("the CUDA driver has no ") + name +
                    " (CUDA green contexts need a driver for CUDA 12.5 or newer; " +
                    (e != cudaSuccess ? cudaGetErrorString(e) : "symbol not found") + ")");
  return reinterpret_cast<Fn>(fn);
}

using GetErrorName = CUresult (*)(CUresult, const char**);
using DeviceGet = CUresult (*)(CUdevice*, int);
using DeviceGetDevResource = CUresult (*)(CUdevice, CUdevResource*, CUdevResourceType);
using SmResourceSplitByCount = CUresult (*)(CUdevResource*, unsigned int*, const CUdevResource*, CUdevResource*,
                                            unsigned int, unsigned int);
using ResourceGenerateDesc = CUresult (*)(CUdevResourceDesc*, CUdevResource*, unsigned int);
using GreenCtxCreate = CUresult (*)(CUgreenCtx*, CUdevResourceDesc, CUdevice, unsigned int);
using GreenCtxDestroy = CUresult (*)(CUgreenCtx);
using GreenCtxGetDevResource = CUresult (*)(CUgreenCtx, CUdevResource*, CUdevResourceType);
using GreenCtxStreamCreate = CUresult (*)(CUstream*, CUgreenCtx, unsigned int, int);
using StreamDestroy = CUresult (*)(CUstream);

}  // namespace

struct SmPartitions::Impl {
  int device = 0, device_sms = 0, sms = 0;
  GetErrorName error_name = nullptr;
  GreenCtxDestroy destroy = nullptr;
  GreenCtxStreamCreate stream_create = nullptr;
  StreamDestroy stream_destroy = nullptr;
  std::vector<CUgreenCtx> contexts;
  std::vector<CUstream> streams;

  // Also runs when the constructor throws half-way. Work still queued on the streams (an
  // iteration that failed) is drained first; errors are ignored, this is cleanup.
  ~Impl() {
    if (!streams.empty()) cudaDeviceSynchronize();  // the primary context's sync covers its green contexts
    if (stream_destroy)
      for (CUstream s : streams) stream_destroy(s);  // streams first: the driver does not destroy them
    if (destroy)
      for (CUgreenCtx c : contexts) destroy(c);
  }

  void check(CUresult r, const char* call) const {
    if (r == CUDA_SUCCESS) return;
    const char* name = "unknown error";
    if (error_name) error_name(r, &name);
    throw CudaError(std::string(call) + " failed on GPU " + std::to_string(device) + ": " + name);
  }
};

SmPartitions::SmPartitions(int device, int count, int sms) : impl_(std::make_unique<Impl>()) {
  Impl& I = *impl_;
  I.device = device;
  // Green contexts retain the primary context: make it exist first (cheaper, and the runtime's
  // allocations and kernels live there).
  PPSIM_CUDA_CHECK(cudaSetDevice(device));
  PPSIM_CUDA_CHECK(cudaFree(nullptr));
  I.error_name = driver_entry<GetErrorName>("cuGetErrorName");
  const auto device_get = driver_entry<DeviceGet>("cuDeviceGet");
  const auto get_resource = driver_entry<DeviceGetDevResource>("cuDeviceGetDevResource");
  const auto split = driver_entry<SmResourceSplitByCount>("cuDevSmResourceSplitByCount");
  const auto generate = driver_entry<ResourceGenerateDesc>("cuDevResourceGenerateDesc");
  const auto create = driver_entry<GreenCtxCreate>("cuGreenCtxCreate");
  I.destroy = driver_entry<GreenCtxDestroy>("cuGreenCtxDestroy");
  I.stream_create = driver_entry<GreenCtxStreamCreate>("cuGreenCtxStreamCreate");
  I.stream_destroy = driver_entry<StreamDestroy>("cuStreamDestroy");
  const auto granted = driver_entry<GreenCtxGetDevResource>("cuGreenCtxGetDevResource");

  CUdevice dev = 0;
  I.check(device_get(&dev, device), "cuDeviceGet");
  CUdevResource all{};
  I.check(get_resource(dev, &all, CU_DEV_RESOURCE_TYPE_SM), "cuDeviceGetDevResource(SM)");
  I.device_sms = static_cast<int>(all.sm.smCount);
  const int min_size = static_cast<int>(all.sm.minSmPartitionSize);
  const int align = static_cast<int>(all.sm.smCoscheduledAlignment);
  const int fit = sm_partition_size(I.device_sms, min_size, align, count);
  const int want = sms > 0 ? sms : fit;
  if (want <= 0 || (sms > 0 && (sms % std::max(1, align) != 0 || sms < min_size || sms * count > I.device_sms)))
    throw InputError("GPU " + std::to_string(device) + " has " + std::to_string(I.device_sms) +
                     " SMs, partitioned in multiples of " + std::to_string(align) + " (at least " +
                     std::to_string(min_size) + "): " + std::to_string(count) + " partition(s) of " +
                     (sms > 0 ? std::to_string(sms) : std::string("equal size")) + " SMs do not fit" +
                     (fit > 0 ? " (at most " + std::to_string(fit) + " each)" : ""));

  // The arithmetic ignores how SMs group physically (GPCs differ from chip to chip), so the driver
  // may make fewer groups of that size: without an explicit --sms, step down until `count` fit
  // (asking with a null result array only counts the groups).
  int size = want;
  if (sms == 0) {
    const int step = std::max(1, align);
    for (; size >= std::max(1, min_size); size -= step) {
      unsigned int would = 0;
      I.check(split(nullptr, &would, &all, nullptr, 0, static_cast<unsigned int>(size)),
              "cuDevSmResourceSplitByCount (query)");
      if (static_cast<int>(would) >= count) break;
    }
    if (size < std::max(1, min_size))
      throw InputError("GPU " + std::to_string(device) + " (" + std::to_string(I.device_sms) +
                       " SMs): the driver cannot make " + std::to_string(count) + " equal SM partitions");
  }
  std::vector<CUdevResource> groups(static_cast<std::size_t>(count));
  unsigned int made = static_cast<unsigned int>(count);
  CUdevResource rest{};
  I.check(split(groups.data(), &made, &all, &rest, 0, static_cast<unsigned int>(size)), "cuDevSmResourceSplitByCount");
  if (static_cast<int>(made) < count)
    throw InputError("GPU " + std::to_string(device) + ": the driver made " + std::to_string(made) +
                     " SM partitions of " + std::to_string(size) + " SMs, " + std::to_string(count) + " needed");
  I.sms = I.device_sms;
  for (int i = 0; i < count; ++i) {
    CUdevResourceDesc desc{};
    I.check(generate(&desc, &groups[i], 1), "cuDevResourceGenerateDesc");
    CUgreenCtx ctx{};
    I.check(create(&ctx, desc, dev, CU_GREEN_CTX_DEFAULT_STREAM), "cuGreenCtxCreate");
    I.contexts.push_back(ctx);
    CUdevResource got{};  // what the context was actually granted
    I.check(granted(ctx, &got, CU_DEV_RESOURCE_TYPE_SM), "cuGreenCtxGetDevResource(SM)");
    I.sms = std::min(I.sms, static_cast<int>(got.sm.smCount));
  }
}

SmPartitions::~SmPartitions() = default;

int SmPartitions::device() const { return impl_->device; }
int SmPartitions::count() const { return static_cast<int>(impl_->contexts.size()); }
int SmPartitions::sms_per_partition() const { return impl_->sms; }
int SmPartitions::device_sms() const { return impl_->device_sms; }

CUstream_st* SmPartitions::create_stream(int i) {
  Impl& I = *impl_;
  CUstream s = nullptr;
  I.check(I.stream_create(&s, I.contexts.at(static_cast<std::size_t>(i)), CU_STREAM_NON_BLOCKING, 0),
          "cuGreenCtxStreamCreate");
  I.streams.push_back(s);
  return s;
}

}  // namespace ppsim::cuda
