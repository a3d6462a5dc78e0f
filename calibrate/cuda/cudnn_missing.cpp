// Built when cuDNN's headers (cudnn_graph.h) were not found at configure time: no cuDNN attention,
// so `--attention auto` takes the in-house kernel and `--attention cudnn` says why it cannot.
#include "calibrate/cuda/check.h"
#include "calibrate/cuda/cudnn_attention.h"

namespace ppsim::cuda {

long cudnn_version() { return 0; }

void cudnn_attention_check_ops(const AttentionShape&) {
  throw CudaError("cuDNN attention: this ppsim was built without cuDNN's headers (cudnn_graph.h)");
}

struct CudnnAttention::Impl {};

CudnnAttention::CudnnAttention(const AttentionShape&, int) {
  throw CudaError("cuDNN attention: this ppsim was built without cuDNN's headers (cudnn_graph.h)");
}
CudnnAttention::~CudnnAttention() = default;
void CudnnAttention::forward(const __nv_bfloat16*, const __nv_bfloat16*, const __nv_bfloat16*, __nv_bfloat16*, float*,
                             cudaStream_t) {}
void CudnnAttention::backward(const __nv_bfloat16*, const __nv_bfloat16*, const __nv_bfloat16*, const __nv_bfloat16*,
                              const __nv_bfloat16*, const float*, __nv_bfloat16*, __nv_bfloat16*, __nv_bfloat16*,
                              float*, float*, cudaStream_t) {}
std::size_t CudnnAttention::workspace_bytes() const { return 0; }
double CudnnAttention::build_seconds() const { return 0; }

}  // namespace ppsim::cuda
