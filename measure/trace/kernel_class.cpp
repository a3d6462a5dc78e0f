#include "measure/trace/kernel_class.h"

namespace ppsim::trace {
namespace {

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

}  // namespace

GpuClass classify_gpu_event(std::string_view category, std::string_view name) {
  if (iequals(category, "gpu_memcpy") || iequals(category, "gpu_memset") || iequals(category, "memcpy") ||
      iequals(category, "memset"))
    return GpuClass::Memory;
  // NCCL names its kernels ncclKernel_<Coll>_... (before 2.19) or ncclDevKernel_<Coll>_...; the
  // point-to-point ones are Send, Recv and SendRecv (what batch_isend_irecv launches).
  const std::size_t nccl = name.find("nccl");
  if (nccl == std::string_view::npos || !contains(name, "Kernel")) return GpuClass::Compute;
  const std::string_view rest = name.substr(nccl);
  if (contains(rest, "SendRecv") || contains(rest, "Kernel_Send") || contains(rest, "Kernel_Recv")) return GpuClass::P2P;
  return GpuClass::Collective;
}

const char* to_string(GpuClass c) {
  switch (c) {
    case GpuClass::Compute: return "compute";
    case GpuClass::P2P: return "p2p";
    case GpuClass::Collective: return "collective";
    case GpuClass::Memory: return "memory";
  }
  return "?";
}

}  // namespace ppsim::trace
