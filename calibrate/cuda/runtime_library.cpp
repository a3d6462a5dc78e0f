#include "calibrate/cuda/runtime_library.h"

#include <cuda_runtime.h>
#include <dlfcn.h>

#include <mutex>
#include <string>

#include "calibrate/cuda/check.h"

namespace ppsim::cuda {
namespace {

#define PPSIM_STR2(x) #x
#define PPSIM_STR(x) PPSIM_STR2(x)

struct Opened {
  void* handle = nullptr;
  std::string error;
};

Opened open_library(RuntimeLibrary library) {
  // The soname of the toolkit ppsim was built against first.
  const char* names_cublas[] = {"libcublasLt.so." PPSIM_STR(CUDART_MAJOR_VERSION), "libcublasLt.so", nullptr};
  const char* names_nccl[] = {"libnccl.so.2", "libnccl.so", nullptr};
  const char** names = library == RuntimeLibrary::CublasLt ? names_cublas : names_nccl;
  Opened o;
  for (const char** n = names; *n; ++n) {
    o.handle = ::dlopen(*n, RTLD_NOW | RTLD_LOCAL);
    if (o.handle) return o;
    const char* e = ::dlerror();
    if (o.error.empty() && e) o.error = e;
  }
  return o;
}

const Opened& opened(RuntimeLibrary library) {
  static std::once_flag once[2];
  static Opened libs[2];
  const int i = library == RuntimeLibrary::CublasLt ? 0 : 1;
  std::call_once(once[i], [&] { libs[i] = open_library(library); });
  return libs[i];
}

const char* name_of(RuntimeLibrary library) {
  return library == RuntimeLibrary::CublasLt ? "cuBLASLt (libcublasLt.so." PPSIM_STR(CUDART_MAJOR_VERSION) ")"
                                             : "NCCL (libnccl.so.2)";
}

}  // namespace

void* runtime_symbol(RuntimeLibrary library, const char* symbol) {
  const Opened& lib = opened(library);
  if (!lib.handle)
    throw CudaError(std::string(name_of(library)) + " could not be loaded: " + lib.error +
                    " (install it, or add its folder to LD_LIBRARY_PATH)");
  void* p = ::dlsym(lib.handle, symbol);
  if (!p) throw CudaError(std::string(name_of(library)) + " has no symbol " + symbol + " (a different version?)");
  return p;
}

bool runtime_library_available(RuntimeLibrary library) { return opened(library).handle != nullptr; }

}  // namespace ppsim::cuda
