#pragma once
// cuBLASLt, NCCL and cuDNN are opened on first use (dlopen), not linked: loading libcublasLt runs
// about 0.3 s of static initialisation, which every `ppsim simulate` would pay, and a binary linked
// to them does not even start where they are not installed. cublaslt_forward.cpp,
// nccl_forward.cpp and cudnn_forward.cpp define the API functions ppsim calls, each forwarding to
// the symbol found here.
#include <string>

namespace ppsim::cuda {

enum class RuntimeLibrary { CublasLt, Nccl, Cudnn };

// The address of `symbol` in the library, opened on the first call (the soname of this CUDA
// major version first, then other names). Throws CudaError naming the library, what dlopen said
// and how to make it findable (LD_LIBRARY_PATH) when it cannot be opened or lacks the symbol.
void* runtime_symbol(RuntimeLibrary library, const char* symbol);

// Whether the library can be opened here (never throws).
bool runtime_library_available(RuntimeLibrary library);

// Why it cannot be opened (its name and dlopen's message); empty when it can. Never throws.
std::string runtime_library_error(RuntimeLibrary library);

}  // namespace ppsim::cuda
