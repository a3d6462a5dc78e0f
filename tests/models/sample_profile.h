#pragma once
// A profile with every field set to a distinct value, for round-trip and report tests.
#include "models/profile.h"

namespace ppsim::test {

inline Profile sample_profile() {
  Profile p;
  p.ppsim_version = "0.1.0";
  p.device = {"cuda", "NVIDIA H100 80GB HBM3", 2, 1, "550.54.15", "13.0", 1980, 2619, 64, 2, 700.0,
              "cudnn", "cuDNN 9.19.0 fused flash attention (graph API)"};
  p.calibration_wall_s = 12.5;
  p.model.name = "tiny";
  p.model.layers = 4;
  p.model.hidden = 256;
  p.model.ffn_hidden = 1024;
  p.model.heads = 4;
  p.model.kv_heads = 2;
  p.model.vocab = 1000;
  p.model.activation = Activation::SwiGlu;
  p.model.norm = Norm::RmsNorm;
  p.micro_batch_size = 2;
  p.sequence_length = 128;
  p.dtype = DType::BF16;
  p.repeats = 10;
  p.warmup = 2;
  p.embedding = {{100, 90, 120, 0, 0}, {0, 0, 0, 0, 0}, {200, 150, 260, 0, 0}, 131072, 0, 1024, 512000};
  p.block = {{1000, 900, 1100, 1.5e9, 1.5, 1040}, {2000, 1900, 2100, 3.1e9, 1.55, 2010}, {1000, 990, 1010, 1.5e9, 1.5, 1001},
             131072, 131072, 99999, 123456};
  p.head = {{500, 400, 600, 2e8, 0.4}, {400, 400, 400, 2e8, 0.5}, {300, 300, 300, 2e8, 0.6667}, 0, 131072, 5, 6};
  p.kernels.push_back({"block", "forward", "qkv_gemm", {300, 290, 310, 1e9, 3.3333333333333335}, 0.0019});
  p.kernels.push_back({"block", "forward", "norm1", {30, 29, 31, 0, 0}, std::nullopt});
  p.transfer.measured = true;
  p.transfer.method = "nccl";
  p.transfer.between = "gpu 0 -> gpu 1";
  p.transfer.samples = {{4096, 1.1e-5}, {1 << 20, 3.3e-5}};
  p.transfer.fit = {1e-5, 4.5e10, 0.9999, 1e-7, 0.01, 4096};
  return p;
}

}  // namespace ppsim::test
