#pragma once
// Row-major GEMMs on tensor cores through cuBLASLt: C = op(A) op(B) (+ beta C), bf16/fp16 inputs
// and outputs, fp32 accumulation, algorithm from cuBLASLt's heuristic (cached per shape), one
// workspace.
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cstdint>
#include <map>
#include <tuple>

namespace ppsim::cuda {

struct GemmShape {
  bool trans_a = false, trans_b = false;
  int m = 0, n = 0, k = 0;          // C is m x n; op(A) m x k; op(B) k x n
  std::int64_t lda = 0, ldb = 0, ldc = 0;  // row-major leading dimensions (elements)
  bool operator<(const GemmShape& o) const {
    return std::tie(trans_a, trans_b, m, n, k, lda, ldb, ldc) <
           std::tie(o.trans_a, o.trans_b, o.m, o.n, o.k, o.lda, o.ldb, o.ldc);
  }
};

class Gemm {
 public:
  // data_type: CUDA_R_16BF or CUDA_R_16F (inputs and output); compute in fp32.
  Gemm(cudaDataType_t data_type, std::size_t workspace_bytes = 64u << 20);
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  // Size the kernels for `sms` SMs instead of the whole GPU (for work confined to an SM partition:
  // sm_partitions.h); 0 = the device's count. Applies to plans made afterwards.
  void set_sm_count_target(int sms) { sm_count_target_ = sms; }

  void run(const GemmShape& s, const void* a, const void* b, void* c, float beta, cudaStream_t stream);
  static double flops(const GemmShape& s) { return 2.0 * s.m * s.n * double(s.k); }

 private:
  struct Plan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
  };
  const Plan& plan(const GemmShape& s);

  cublasLtHandle_t handle_ = nullptr;
  cudaDataType_t type_;
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_;
  int sm_count_target_ = 0;
  std::map<GemmShape, Plan> plans_;
};

}  // namespace ppsim::cuda
