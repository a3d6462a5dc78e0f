#include "models/hardware.h"

#include <string>

#include <gtest/gtest.h>

#include "models/roofline.h"
#include "base/error.h"
#include "tests/input_error.h"

namespace ppsim {
namespace {

TEST(Hardware, EveryShippedFileLoads) {
  const std::vector<std::string> names = shipped_hardware_names();
  EXPECT_EQ(names, (std::vector<std::string>{"a100-80gb", "h100-sxm", "h200"}));
  for (const std::string& name : names) {
    const HardwareSpec h = load_hardware(name);
    EXPECT_EQ(h.name, name);
    EXPECT_GT(h.peak_bf16_flops, 0);
    EXPECT_GT(h.intra_node.bandwidth_bytes_per_s, h.inter_node.bandwidth_bytes_per_s);
    EXPECT_EQ(h.gpus_per_node, 8);
  }
}

TEST(Hardware, DatasheetValues) {
  const HardwareSpec h100 = load_hardware("h100-sxm");
  EXPECT_DOUBLE_EQ(h100.peak_bf16_flops, 989.4e12);
  EXPECT_DOUBLE_EQ(h100.peak_flops(DType::FP16), 989.4e12);
  EXPECT_DOUBLE_EQ(h100.memory_bandwidth_bytes_per_s, 3.35e12);
  EXPECT_EQ(h100.memory_bytes, 80'000'000'000);
  EXPECT_DOUBLE_EQ(h100.intra_node.bandwidth_bytes_per_s, 450e9);
  EXPECT_DOUBLE_EQ(h100.inter_node.bandwidth_bytes_per_s, 50e9);
  EXPECT_EQ(h100.intra_node.latency, 3'000);
  const HardwareSpec h200 = load_hardware("h200");
  EXPECT_DOUBLE_EQ(h200.peak_bf16_flops, 989.4e12);
  EXPECT_DOUBLE_EQ(h200.memory_bandwidth_bytes_per_s, 4.8e12);
  EXPECT_EQ(h200.memory_bytes, 141'000'000'000);
  const HardwareSpec a100 = load_hardware("a100-80gb");
  EXPECT_DOUBLE_EQ(a100.peak_bf16_flops, 312e12);
  EXPECT_DOUBLE_EQ(a100.memory_bandwidth_bytes_per_s, 2.039e12);
  EXPECT_DOUBLE_EQ(a100.intra_node.bandwidth_bytes_per_s, 300e9);
}

TEST(Hardware, UnknownNameListsTheShippedOnes) {
  const std::string msg = error_of([] { load_hardware("b200"); });
  EXPECT_NE(msg.find("unknown hardware 'b200'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a100-80gb, h100-sxm, h200"), std::string::npos) << msg;
}

const std::string kGpu =
    "peak_bf16_tflops: 100\nmemory_bandwidth: 1TB/s\nmemory: 10GB\n"
    "intra_node:\n  bandwidth: 100GB/s\n  latency: 2us\ninter_node:\n  bandwidth: 10GB/s\n  latency: 5us\n";

TEST(Hardware, EfficienciesAreOverridableInTheFile) {
  const HardwareSpec plain = parse_hardware(kGpu, "gpu.yaml");
  EXPECT_EQ(plain.name, "gpu");
  EXPECT_DOUBLE_EQ(plain.efficiency.compute, Efficiency{}.compute);
  const HardwareSpec h = parse_hardware(kGpu + "efficiency:\n  compute: 0.7\n", "gpu.yaml");
  EXPECT_DOUBLE_EQ(h.efficiency.compute, 0.7);
  EXPECT_DOUBLE_EQ(h.efficiency.memory, Efficiency{}.memory);
}

TEST(Hardware, Errors) {
  struct Case {
    std::string yaml, expect;
  };
  const Case cases[] = {
      {"peak_bf16_tflops: 100\nmemory_bandwidth: 1 TB\n", "hw.yaml:2:19: memory_bandwidth: '1 TB' needs a bandwidth unit"},
      {kGpu + "efficiency:\n  compute: 1.5\n", "hw.yaml:11:12: efficiency.compute: must be a fraction in (0, 1] (got '1.5')"},
      {kGpu + "efficiency:\n  flops: 0.5\n", "hw.yaml:11:3: efficiency.flops: unknown key (valid keys: compute, memory, network)"},
      {"peak_bf16_tflops: -1\n", "hw.yaml:1:19: peak_bf16_tflops: must be a positive number (got '-1')"},
  };
  for (const Case& c : cases) {
    const std::string msg = error_of([&] { parse_hardware(c.yaml, "hw.yaml"); });
    EXPECT_NE(msg.find(c.expect), std::string::npos) << "got: " << msg << "\nwant: " << c.expect;
  }
  std::string no_latency = kGpu;
  no_latency.erase(no_latency.find("  latency: 5us\n"));
  const std::string msg = error_of([&] { parse_hardware(no_latency, "hw.yaml"); });
  EXPECT_NE(msg.find("hw.yaml:8:3: inter_node.latency: missing required key"), std::string::npos) << msg;
}

TEST(Roofline, TakesTheSlowerOfComputeAndMemory) {
  const HardwareSpec h = parse_hardware(kGpu, "gpu.yaml");
  const Efficiency eff{0.5, 0.8, 0.8};
  // 1e12 FLOPs at 100 TFLOP/s * 0.5 = 20 ms; 1e9 bytes at 1 TB/s * 0.8 = 1.25 ms.
  EXPECT_EQ(roofline_time(1e12, 1e9, h, DType::BF16, eff), 20'000'000);
  // 1e10 bytes = 12.5 ms beats 1e9 FLOPs = 20 us.
  EXPECT_EQ(roofline_time(1e9, 1e10, h, DType::BF16, eff), 12'500'000);
  EXPECT_EQ(roofline_time(0, 0, h, DType::BF16, eff), 0);
  // FP32 peak defaults to half the bf16 peak when the file omits it.
  EXPECT_EQ(roofline_time(1e12, 0, h, DType::FP32, eff), 40'000'000);
  // 2 us + 1e6 B / (100 GB/s * 0.8) = 2 us + 12.5 us.
  EXPECT_EQ(link_time(1e6, h.intra_node, eff), 14'500);
  EXPECT_EQ(link_time(1e6, LinkFit{1e-6, 1e11}), 11'000);
}

}  // namespace
}  // namespace ppsim
