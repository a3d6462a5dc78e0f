// Built when CUDA or NCCL is missing: `ppsim measure --device cuda` says so instead of running.
// (issue_order, pure host code, is compiled in both builds: gpu_issue_order.cpp.)
#include "measure/cuda/gpu_pipeline_runner.h"
#include "base/error.h"

namespace ppsim::gpu {

struct GpuPipeline::Impl {
  std::vector<std::vector<OpId>> order;
};

GpuPipeline::GpuPipeline(const Schedule&, const Dag&, const ModelSpec&, const Partition&, int, int,
                         const MeasureOptions&) {
  throw InputError("ppsim measure --device cuda: this ppsim was built without CUDA and NCCL (both are needed by the "
                   "GPU pipeline runner; nvcc and libnccl must be found at configure time)");
}
GpuPipeline::~GpuPipeline() = default;
MeasuredRun GpuPipeline::run(const MeasureOptions&) { return {}; }
void GpuPipeline::run_reference() {}
double GpuPipeline::loss(int) const { return 0; }
std::vector<std::string> GpuPipeline::gradient_names(int) const { return {}; }
std::vector<float> GpuPipeline::gradient(int, const std::string&) const { return {}; }
const std::vector<std::vector<OpId>>& GpuPipeline::issue_order() const { return impl_->order; }
std::string GpuPipeline::attention() const { return ""; }
int GpuPipeline::sms_per_rank() const { return 0; }
int GpuPipeline::device_sms() const { return 0; }

}  // namespace ppsim::gpu
