// The table `ppsim calibrate` prints at the end.
#include <gtest/gtest.h>

#include <regex>

#include "calibrate/calibration.h"
#include "models/sample_profile.h"

namespace ppsim {
namespace {

// With a measured GEMM peak, the summary sets every kernel with a FLOP count against it.
TEST(CalibrationSummary, ComparesKernelsWithTheGemmPeak) {
  Profile p = test::sample_profile();
  const std::string text = summary_table(p);
  EXPECT_NE(text.find("GEMM peak (8192^3 bf16, cuBLASLt, these SMs): 700.0 TFLOP/s"), std::string::npos) << text;
  // qkv_gemm: 1e9 flop in 300 ns = 3.3 TFLOP/s = 0.5 % of 700; norm1 has no FLOP count: not listed.
  EXPECT_NE(text.find("block      forward          qkv_gemm                             3.3      0.5%"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("norm1 "), std::string::npos) << text;
  p.device.gemm_peak_tflops = 0;
  EXPECT_EQ(summary_table(p).find("GEMM peak"), std::string::npos);
  // Mean (what the simulator takes) beside the median: block forward 1040 / 1000 ns; the
  // embedding's passes record no mean ("-").
  p.block.forward.mean_ns = 1500;
  const std::string t2 = summary_table(p);
  EXPECT_TRUE(std::regex_search(t2, std::regex("block +forward +1\\.5 +1\\.0 +0\\.9 \\.\\. 1\\.1"))) << t2;
  EXPECT_TRUE(std::regex_search(t2, std::regex("embedding +forward +- +0\\.1 "))) << t2;
}

// Which attention kernel ran, and the wall time with where it went.
TEST(CalibrationSummary, NamesTheAttentionAndTheWallTime) {
  Profile p = test::sample_profile();
  std::string text = summary_table(p);
  EXPECT_NE(text.find("attention: cudnn (cuDNN 9.19.0 fused flash attention (graph API))\n"), std::string::npos) << text;
  EXPECT_NE(text.find("wall time: 12.5 s\n"), std::string::npos) << text;
  p.phases = {{"numerics", 0.7}, {"layers", 2.0}};
  text = summary_table(p);
  EXPECT_NE(text.find("wall time: 12.5 s (numerics 0.7 s, layers 2.0 s)\n"), std::string::npos) << text;
  p.device.attention.clear();
  p.calibration_wall_s = 0;
  text = summary_table(p);
  EXPECT_EQ(text.find("attention:"), std::string::npos) << text;
  EXPECT_EQ(text.find("wall time"), std::string::npos) << text;
}

}  // namespace
}  // namespace ppsim
