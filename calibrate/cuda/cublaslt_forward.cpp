// The cuBLASLt functions ppsim calls, forwarding to libcublasLt opened on first use
// (runtime_library.h). Signatures as in cublasLt.h.
#include <cublasLt.h>

#include "calibrate/cuda/runtime_library.h"

namespace {

template <class Fn>
Fn lt(const char* name) {
  return reinterpret_cast<Fn>(ppsim::cuda::runtime_symbol(ppsim::cuda::RuntimeLibrary::CublasLt, name));
}

}  // namespace

#define PPSIM_LT(name) static const auto fn = lt<decltype(&::name)>(#name)

extern "C" {

cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle) {
  PPSIM_LT(cublasLtCreate);
  return fn(handle);
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) {
  PPSIM_LT(cublasLtDestroy);
  return fn(handle);
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void* alpha, const void* a,
                              cublasLtMatrixLayout_t a_desc, const void* b, cublasLtMatrixLayout_t b_desc,
                              const void* beta, const void* c, cublasLtMatrixLayout_t c_desc, void* d,
                              cublasLtMatrixLayout_t d_desc, const cublasLtMatmulAlgo_t* algo, void* workspace,
                              size_t workspace_bytes, cudaStream_t stream) {
  PPSIM_LT(cublasLtMatmul);
  return fn(handle, desc, alpha, a, a_desc, b, b_desc, beta, c, c_desc, d, d_desc, algo, workspace, workspace_bytes,
            stream);
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                              cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                              cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                              cublasLtMatmulPreference_t preference, int requested,
                                              cublasLtMatmulHeuristicResult_t results[], int* returned) {
  PPSIM_LT(cublasLtMatmulAlgoGetHeuristic);
  return fn(handle, desc, a, b, c, d, preference, requested, results, returned);
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* desc, cublasComputeType_t compute, cudaDataType_t scale) {
  PPSIM_LT(cublasLtMatmulDescCreate);
  return fn(desc, compute, scale);
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) {
  PPSIM_LT(cublasLtMatmulDescDestroy);
  return fn(desc);
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr,
                                              const void* buf, size_t bytes) {
  PPSIM_LT(cublasLtMatmulDescSetAttribute);
  return fn(desc, attr, buf, bytes);
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* pref) {
  PPSIM_LT(cublasLtMatmulPreferenceCreate);
  return fn(pref);
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) {
  PPSIM_LT(cublasLtMatmulPreferenceDestroy);
  return fn(pref);
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t attr, const void* buf,
                                                    size_t bytes) {
  PPSIM_LT(cublasLtMatmulPreferenceSetAttribute);
  return fn(pref, attr, buf, bytes);
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* layout, cudaDataType type, uint64_t rows,
                                          uint64_t cols, int64_t ld) {
  PPSIM_LT(cublasLtMatrixLayoutCreate);
  return fn(layout, type, rows, cols, ld);
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) {
  PPSIM_LT(cublasLtMatrixLayoutDestroy);
  return fn(layout);
}

}  // extern "C"
