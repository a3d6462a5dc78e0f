#include "models/hardware.h"

#include "models/detail/shipped_files.h"
#include "base/yaml_reader.h"

namespace ppsim {
namespace {

LinkSpec read_link(const YamlMap& f) {
  f.only({"bandwidth", "latency"});
  return LinkSpec{f.bandwidth("bandwidth"), f.duration("latency")};
}

HardwareSpec read_hardware(const YamlDoc& doc, const std::string& default_name) {
  const YamlMap f(doc);
  f.only({"name", "peak_bf16_tflops", "peak_fp16_tflops", "peak_fp32_tflops", "memory_bandwidth", "memory",
          "gpus_per_node", "intra_node", "inter_node", "efficiency"});
  HardwareSpec h;
  h.name = f.text_or("name", default_name);
  h.peak_bf16_flops = f.positive_number("peak_bf16_tflops") * 1e12;
  h.peak_fp16_flops = f.has("peak_fp16_tflops") ? f.positive_number("peak_fp16_tflops") * 1e12 : h.peak_bf16_flops;
  h.peak_fp32_flops = f.has("peak_fp32_tflops") ? f.positive_number("peak_fp32_tflops") * 1e12 : h.peak_bf16_flops / 2;
  h.memory_bandwidth_bytes_per_s = f.bandwidth("memory_bandwidth");
  h.memory_bytes = f.bytes("memory");
  h.gpus_per_node = f.integer_or("gpus_per_node", 8, 1);
  h.intra_node = read_link(f.sub("intra_node"));
  h.inter_node = read_link(f.sub("inter_node"));
  if (f.has("efficiency")) h.efficiency = read_efficiency(f.sub("efficiency"));
  return h;
}

}  // namespace

Efficiency read_efficiency(const YamlMap& e) {
  e.only({"compute", "memory", "network"});
  Efficiency out;
  if (e.has("compute")) out.compute = e.fraction("compute");
  if (e.has("memory")) out.memory = e.fraction("memory");
  if (e.has("network")) out.network = e.fraction("network");
  return out;
}

double HardwareSpec::peak_flops(DType d) const {
  switch (d) {
    case DType::BF16: return peak_bf16_flops;
    case DType::FP16: return peak_fp16_flops;
    case DType::FP32: return peak_fp32_flops;
  }
  return peak_bf16_flops;
}

HardwareSpec load_hardware(const std::string& name_or_path) {
  const YamlDoc doc = open_yaml(name_or_path, embedded_hardware(), "hardware");
  return read_hardware(doc, yaml_stem(name_or_path));
}

HardwareSpec parse_hardware(const std::string& yaml_text, const std::string& display) {
  return read_hardware(parse_yaml(yaml_text, display), yaml_stem(display));
}

std::vector<std::string> shipped_hardware_names() {
  std::vector<std::string> names;
  for (const EmbeddedFile& f : embedded_hardware()) names.push_back(f.name);
  return names;
}

}  // namespace ppsim
