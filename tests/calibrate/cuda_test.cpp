// The CUDA backend: kernels against the float64 reference and a small calibration. Every test
// skips, with the reason, when no GPU is visible (CI and the development machine have none).
#include <gtest/gtest.h>

#include "calibrate/backends.h"
#include "models/model_loader.h"

#ifdef PPSIM_WITH_CUDA
#include "calibrate/cuda/cuda_calibrator.h"
#endif

namespace ppsim {
namespace {

#define PPSIM_REQUIRE_GPU()                                                  \
  do {                                                                       \
    std::string why;                                                         \
    if (visible_gpu_count(why) == 0) GTEST_SKIP() << "no GPU: " << why;      \
  } while (0)

TEST(CudaBackend, DeviceCountNeverThrows) {
  std::string why;
  const int n = visible_gpu_count(why);
  EXPECT_GE(n, 0);
  if (n == 0) {
    EXPECT_FALSE(why.empty());
  }
}

#ifdef PPSIM_WITH_CUDA
TEST(CudaBackend, KernelsMatchReference) {
  PPSIM_REQUIRE_GPU();
  for (const char* model : {"tiny", "llama3-8b"}) {
    for (const auto& c : cuda::check_kernels(0, load_model(model)))
      EXPECT_LE(c.max_relative_error, c.tolerance) << model << " " << c.name;
  }
}

TEST(CudaBackend, TinyCalibration) {
  PPSIM_REQUIRE_GPU();
  CalibrationOptions o;
  o.model = load_model("tiny");
  o.sequence_length = 256;
  o.repeats = 3;
  o.warmup = 1;
  o.max_transfer_bytes = 1 << 20;
  const Profile p = cuda::calibrate_cuda(o);
  EXPECT_EQ(p.device.kind, "cuda");
  EXPECT_GT(p.block.forward.median_ns, 0);
  EXPECT_GT(p.block.backward_input.median_ns, 0);
  EXPECT_GT(p.head.backward_weight.median_ns, 0);
  EXPECT_FALSE(p.kernels.empty());
}
#else
TEST(CudaBackend, NotBuilt) { GTEST_SKIP() << "built without CUDA"; }
#endif

}  // namespace
}  // namespace ppsim
