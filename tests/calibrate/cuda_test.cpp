// The CUDA backend: kernels against the float64 reference and a small calibration. Every GPU test
// skips, with the reason, when no GPU is visible (CI and the development machine have none); the
// float64 attention-backward reference is checked on the CPU.
#include <gtest/gtest.h>

#include "calibrate/backends.h"
#include "models/model_loader.h"

#ifdef PPSIM_WITH_CUDA
#include <cstdio>
#include <tuple>
#include <utility>

#include "base/error.h"
#include "calibrate/cuda/attention.h"
#include "calibrate/cuda/cuda_calibrator.h"
#include "calibrate/cuda/cudnn_attention.h"
#include "calibrate/cuda/flash_attention.h"
#include "calibrate/cuda/runtime_library.h"
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
        for (const auto& c : cuda::check_attention(0, d, heads, kv_heads, seq, 2, cuda::AttentionKind::Own))
          EXPECT_LE(c.max_relative_error, c.tolerance) << c.name;
      }
}

// cuDNN's fused attention (cudnn_attention.h) against the same float64 reference: GPT-3's and
// Llama's head dims, MHA and GQA, one and several 128-row tiles, and a sequence that is not a
// multiple of 128 where the loaded cuDNN takes one (each shape builds two cuDNN plans, so the
// list is short; KernelsMatchReference covers the models' own shapes). Skips, saying why, without
// a GPU or cuDNN.
TEST(CudaBackend, CudnnAttentionMatchesReference) {
  PPSIM_REQUIRE_GPU();
  const long version = cuda::cudnn_version();
  if (version == 0) GTEST_SKIP() << "no cuDNN: " << cuda::runtime_library_error(cuda::RuntimeLibrary::Cudnn);
  for (int d : {64, 128})
    for (auto [heads, kv_heads] : {std::pair{2, 2}, std::pair{4, 1}})
      for (int seq : {128, 384, 300}) {
        const std::string why = cuda::cudnn_attention_unsupported({2, seq, heads, kv_heads, d}, version, 9);
        if (!why.empty()) {
          std::printf("skipped d=%d s=%d: %s\n", d, seq, why.c_str());
          continue;
        }
        for (const auto& c : cuda::check_attention(0, d, heads, kv_heads, seq, 2, cuda::AttentionKind::Cudnn))
          EXPECT_LE(c.max_relative_error, c.tolerance) << c.name << " (" << cuda::cudnn_version_text(version) << ")";
      }
}

TEST(CudaBackend, KernelsMatchReference) {
  PPSIM_REQUIRE_GPU();
  const bool cudnn = cuda::cudnn_version() > 0;
  for (const char* model : {"tiny", "llama3-8b"}) {
    for (const auto& c : cuda::check_kernels(0, load_model(model), cuda::AttentionKind::Own))
      EXPECT_LE(c.max_relative_error, c.tolerance) << model << " " << c.name;
    if (!cudnn) continue;
    for (const auto& c : cuda::check_kernels(0, load_model(model), cuda::AttentionKind::Cudnn))
      EXPECT_LE(c.max_relative_error, c.tolerance) << model << " " << c.name;
  }
}

// The same layers timed with either attention kernel; the profile says which ran.
TEST(CudaBackend, CalibrationRecordsItsAttentionKernel) {
  PPSIM_REQUIRE_GPU();
  CalibrationOptions o;
  o.model = load_model("tiny");
  o.sequence_length = 256;
  o.repeats = 2;
  o.warmup = 1;
  o.measure_transfers = false;
  o.attention = "own";
  EXPECT_EQ(cuda::calibrate_cuda(o).device.attention, "own");
  if (cuda::cudnn_version() == 0) GTEST_SKIP() << "no cuDNN: only the in-house kernel was checked";
  o.attention = "cudnn";
  const Profile p = cuda::calibrate_cuda(o);
  EXPECT_EQ(p.device.attention, "cudnn");
  bool timed = false;
  for (const auto& k : p.kernels) timed = timed || k.name == "cudnn_attention_forward";
  EXPECT_TRUE(timed);
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

// Which attention a request gives, and why (no GPU needed).
TEST(CudaAttentionChoice, AutoTakesCudnnWhereItRunsElseOwnSayingWhy) {
  using cuda::AttentionKind;
  const std::string v = "cuDNN 9.19.0";
  EXPECT_EQ(cuda::choose_attention("auto", "", v).kind, AttentionKind::Cudnn);
  EXPECT_NE(cuda::choose_attention("auto", "", v).note.find("cuDNN 9.19.0"), std::string::npos);
  EXPECT_EQ(cuda::choose_attention("cudnn", "", v).kind, AttentionKind::Cudnn);
  EXPECT_EQ(cuda::choose_attention("own", "", v).kind, AttentionKind::Own);
  const cuda::AttentionChoice fallback = cuda::choose_attention("auto", "cuDNN is not installed", v);
  EXPECT_EQ(fallback.kind, AttentionKind::Own);
  EXPECT_NE(fallback.note.find("cuDNN is not installed"), std::string::npos) << fallback.note;
  EXPECT_THROW(cuda::choose_attention("cudnn", "cuDNN is not installed", v), InputError);
  EXPECT_THROW(cuda::choose_attention("flash3", "", v), InputError);
}

TEST(CudaAttentionChoice, CudnnLimitsAreNamed) {
  const cuda::AttentionShape llama{1, 4096, 32, 8, 128};
  EXPECT_EQ(cuda::cudnn_attention_unsupported(llama, 91900, 9), "");
  EXPECT_NE(cuda::cudnn_attention_unsupported(llama, 0, 9).find("not installed"), std::string::npos);
  EXPECT_NE(cuda::cudnn_attention_unsupported(llama, 80906, 9).find("older than 9.0"), std::string::npos);
  EXPECT_NE(cuda::cudnn_attention_unsupported(llama, 91000, 9).find("known bug"), std::string::npos);
  EXPECT_NE(cuda::cudnn_attention_unsupported(llama, 91900, 7).find("compute capability 8.0"), std::string::npos);
  EXPECT_NE(cuda::cudnn_attention_unsupported({1, 4096, 32, 8, 76}, 91900, 9).find("head dim 76"), std::string::npos);
  EXPECT_NE(cuda::cudnn_attention_unsupported({1, 4096, 4, 4, 256}, 91900, 9).find("up to 128"), std::string::npos);
  // Sequences that are not a multiple of 128: refused up to 9.15.0 (frontend's padding workaround).
  EXPECT_NE(cuda::cudnn_attention_unsupported({2, 200, 4, 2, 64}, 91500, 9).find("multiple of 128"), std::string::npos);
  EXPECT_EQ(cuda::cudnn_attention_unsupported({2, 200, 4, 2, 64}, 91501, 9), "");
  EXPECT_EQ(cuda::cudnn_attention_unsupported({2, 256, 4, 2, 64}, 91300, 9), "");
  EXPECT_EQ(cuda::cudnn_version_text(91501), "cuDNN 9.15.1");
}

// libcudnn is opened at run time: asking for its version never throws, loaded or not; where it
// loads (as on the development machine, /usr/local/cuda) it is cuDNN 9.
TEST(CudaAttentionChoice, CudnnVersionProbeNeverThrows) {
  const long v = cuda::cudnn_version();
  if (v == 0) {
    EXPECT_FALSE(cuda::runtime_library_error(cuda::RuntimeLibrary::Cudnn).empty());
    GTEST_SKIP() << "libcudnn.so.9 not loadable here: " << cuda::runtime_library_error(cuda::RuntimeLibrary::Cudnn);
  }
  EXPECT_GE(v, 90000);
  EXPECT_LT(v, 100000);
  EXPECT_TRUE(cuda::runtime_library_error(cuda::RuntimeLibrary::Cudnn).empty());
}

// The descriptors of both cuDNN attention graphs (every tensor and operation, MHA and GQA) pass
// cuDNN's own checks; only the operation graphs and plans need a GPU.
TEST(CudaAttentionChoice, CudnnGraphOperationsFinalizeWithoutAGpu) {
  if (cuda::cudnn_version() == 0)
    GTEST_SKIP() << "libcudnn.so.9 not loadable here: " << cuda::runtime_library_error(cuda::RuntimeLibrary::Cudnn);
  for (const cuda::AttentionShape s : {cuda::AttentionShape{1, 4096, 32, 8, 128}, cuda::AttentionShape{2, 256, 4, 4, 64}})
    EXPECT_NO_THROW(cuda::cudnn_attention_check_ops(s)) << s.heads << "/" << s.kv_heads;
}
#else
TEST(CudaBackend, NotBuilt) { GTEST_SKIP() << "built without CUDA"; }
#endif

}  // namespace
}  // namespace ppsim
