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

// What to dlopen for each library (in RuntimeLibrary's order), most specific name first, and how
// to name it in errors. cuBLASLt's soname carries the CUDA major version ppsim was built against;
// cuDNN and NCCL keep their own.
struct LibraryNames {
  const char* title;
  const char* names[3];
};
constexpr int kLibraries = 3;
const LibraryNames kNames[kLibraries] = {
    {"cuBLASLt (libcublasLt.so." PPSIM_STR(CUDART_MAJOR_VERSION) ")",
     {"libcublasLt.so." PPSIM_STR(CUDART_MAJOR_VERSION), "libcublasLt.so", nullptr}},
    {"NCCL (libnccl.so.2)", {"libnccl.so.2", "libnccl.so", nullptr}},
    {"cuDNN (libcudnn.so.9)", {"libcudnn.so.9", "libcudnn.so", nullptr}},
};

int index_of(RuntimeLibrary library) { return static_cast<int>(library); }

struct Opened {
  void* handle = nullptr;
  std::string error;
};

Opened open_library(RuntimeLibrary library) {
  Opened o;
  for (const char* const* n = kNames[index_of(library)].names; *n; ++n) {
    o.handle = ::dlopen(*n, RTLD_NOW | RTLD_LOCAL);
    if (o.handle) return o;
    const char* e = ::dlerror();
    if (o.error.empty() && e) o.error = e;
  }
  return o;
}

const Opened& opened(RuntimeLibrary library) {
  static std::once_flag once[kLibraries];
  static Opened libs[kLibraries];
  const int i = index_of(library);
  std::call_once(once[i], [&] { libs[i] = open_library(library); });
  return libs[i];
}

}  // namespace

void* runtime_symbol(RuntimeLibrary library, const char* symbol) {
  const Opened& lib = opened(library);
  const char* title = kNames[index_of(library)].title;
  if (!lib.handle)
    throw CudaError(std::string(title) + " could not be loaded: " + lib.error +
                    " (install it, or add its folder to LD_LIBRARY_PATH)");
  void* p = ::dlsym(lib.handle, symbol);
  if (!p) throw CudaError(std::string(title) + " has no symbol " + symbol + " (a different version?)");
  return p;
}

bool runtime_library_available(RuntimeLibrary library) { return opened(library).handle != nullptr; }

std::string runtime_library_error(RuntimeLibrary library) {
  const Opened& lib = opened(library);
  return lib.handle ? std::string() : std::string(kNames[index_of(library)].title) + ": " + lib.error;
}

}  // namespace ppsim::cuda
