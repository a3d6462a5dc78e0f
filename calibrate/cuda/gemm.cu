#include "calibrate/cuda/gemm.h"

#include "calibrate/cuda/check.h"

namespace ppsim::cuda {

Gemm::Gemm(cudaDataType_t data_type, std::size_t workspace_bytes) : type_(data_type), workspace_bytes_(workspace_bytes) {
  PPSIM_CUBLAS_CHECK(cublasLtCreate(&handle_));
  PPSIM_CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes_));
}

Gemm::~Gemm() {
  for (auto& [shape, p] : plans_) {
    cublasLtMatrixLayoutDestroy(p.a);
    cublasLtMatrixLayoutDestroy(p.b);
    cublasLtMatrixLayoutDestroy(p.c);
    cublasLtMatmulDescDestroy(p.op);
  }
  cudaFree(workspace_);
  cublasLtDestroy(handle_);
}

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLASLt's "A" is our B and its
// "B" our A, each described as stored (a row-major r x c matrix is a column-major c x r one).
const Gemm::Plan& Gemm::plan(const GemmShape& s) {
  auto it = plans_.find(s);
  if (it != plans_.end()) return it->second;
  Plan p;
  PPSIM_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t op_a = s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;  // cuBLASLt's A = our B
  const cublasOperation_t op_b = s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  PPSIM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof op_a));
  PPSIM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof op_b));
  if (sm_count_target_ > 0) {
    const std::int32_t sms = sm_count_target_;
    PPSIM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET, &sms, sizeof sms));
  }
  // Column-major shapes as stored: our B (k x n row-major, or n x k when transposed).
  const std::uint64_t a_rows = s.trans_b ? s.k : s.n, a_cols = s.trans_b ? s.n : s.k;
  const std::uint64_t b_rows = s.trans_a ? s.m : s.k, b_cols = s.trans_a ? s.k : s.m;
  PPSIM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.a, type_, a_rows, a_cols, s.ldb));
  PPSIM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.b, type_, b_rows, b_cols, s.lda));
  PPSIM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.c, type_, s.n, s.m, s.ldc));
  cublasLtMatmulPreference_t pref;
  PPSIM_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  PPSIM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                          &workspace_bytes_, sizeof workspace_bytes_));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(handle_, p.op, p.a, p.b, p.c, p.c, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  PPSIM_CUBLAS_CHECK(st);
  if (found == 0)
    fail("cublasLtMatmulAlgoGetHeuristic", "no algorithm for m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) +
                                               " k=" + std::to_string(s.k), __FILE__, __LINE__);
  p.algo = result.algo;
  return plans_.emplace(s, p).first->second;
}

void Gemm::run(const GemmShape& s, const void* a, const void* b, void* c, float beta, cudaStream_t stream) {
  const Plan& p = plan(s);
  const float alpha = 1.0f;
  PPSIM_CUBLAS_CHECK(cublasLtMatmul(handle_, p.op, &alpha, b, p.a, a, p.b, &beta, c, p.c, c, p.c, &p.algo, workspace_,
                                    workspace_bytes_, stream));
}

}  // namespace ppsim::cuda
