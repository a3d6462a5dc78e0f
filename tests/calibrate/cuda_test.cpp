// The CUDA backend: kernels against the float64 reference and a small calibration. Every GPU test
// skips, with the reason, when no GPU is visible (CI and the development machine have none); the
// float64 attention-backward reference is checked on the CPU.
#include <gtest/gtest.h>

#include "calibrate/backends.h"
#include "models/model_loader.h"

#ifdef PPSIM_WITH_CUDA
#include <tuple>
#include <utility>

#include "calibrate/cuda/cuda_calibrator.h"
#include "calibrate/cuda/flash_attention.h"
#include "tests/calibrate/finite_differences.h"
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
// The float64 attention backward that the GPU kernel is checked against is itself checked here
// (CPU only, runs everywhere): central finite differences of ref::causal_attention under the loss
// sum(dout ∘ O), with grouped-query attention and two sequences.
TEST(CudaBackend, AttentionBackwardReferenceMatchesFiniteDifferences) {
  const int heads = 4, kv_heads = 2, d = 3, seq = 5, batch = 2;
  ref::RefMatrix q = cpu::random_matrix<double>(batch * seq, heads * d, 1.0, 1);
  ref::RefMatrix k = cpu::random_matrix<double>(batch * seq, kv_heads * d, 1.0, 2);
  ref::RefMatrix v = cpu::random_matrix<double>(batch * seq, kv_heads * d, 1.0, 3);
  const ref::RefMatrix dout = cpu::random_matrix<double>(batch * seq, heads * d, 1.0, 4);
  const cuda::AttentionGrads g = cuda::attention_backward_reference(q, k, v, dout, heads, kv_heads, seq);
  auto loss = [&] {
    const ref::RefMatrix o = ref::causal_attention(q, k, v, heads, kv_heads, seq);
    double s = 0;
    for (Eigen::Index i = 0; i < o.size(); ++i) s += o.data()[i] * dout.data()[i];
    return s;
  };
  for (auto [x, grad, name] : {std::tuple{&q, &g.dq, "dq"}, std::tuple{&k, &g.dk, "dk"}, std::tuple{&v, &g.dv, "dv"}})
    EXPECT_LE(ref::relative_error(*grad, test::numeric_gradient(*x, loss)), 1e-7) << name;
}

// The fused attention kernels (forward O, backward dQ/dK/dV) against the float64 reference for
// every compiled head dim, MHA and GQA, sequences shorter than one tile, not a multiple of the
// tiles, and several tiles long.
TEST(CudaBackend, FlashAttentionMatchesReference) {
  PPSIM_REQUIRE_GPU();
  for (int d : {16, 64, 80, 96, 128})
    for (auto [heads, kv_heads] : {std::pair{2, 2}, std::pair{4, 1}})
      for (int seq : {1, 77, 300}) {
        ASSERT_TRUE(cuda::flash_attention_supported(d));
        for (const auto& c : cuda::check_attention(0, d, heads, kv_heads, seq, 2))
          EXPECT_LE(c.max_relative_error, c.tolerance) << c.name;
      }
}

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
