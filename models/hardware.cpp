#include "models/hardware.h"

#include "models/detail/shipped_files.h"
#include "base/yaml_reader.h"
#include "base/error.h"

namespace ppsim {
namespace {

// Runs a sim/time.h parser, re-throwing its InputError with the file, line and field in front.
template <class Parse>
auto parse_unit(const YamlFields& f, const std::string& key, Parse parse) {
  const std::string text = f.text(key);
  try {
    return parse(text, key);
  } catch (const InputError& e) {
    std::string msg = e.what();
    if (msg.rfind(key + ": ", 0) == 0) msg = msg.substr(key.size() + 2);
    f.fail(f.node(key), key, msg);
  }
}

LinkSpec read_link(const YamlFields& f) {
  f.only({"bandwidth", "latency"});
  LinkSpec l;
  l.bandwidth_bytes_per_s = parse_unit(f, "bandwidth", parse_bandwidth);
  if (l.bandwidth_bytes_per_s <= 0) f.fail(f.node("bandwidth"), "bandwidth", "must be positive");
  l.latency = parse_unit(f, "latency", parse_duration);
  return l;
}

double fraction(const YamlFields& f, const std::string& key, double fallback) {
  if (!f.has(key)) return fallback;
  const double v = f.positive_double(key);
  if (v > 1) f.fail(f.node(key), key, "is a fraction of the peak and must be in (0, 1], got " + f.text(key));
  return v;
}

HardwareSpec read_hardware(const YamlDoc& doc, const std::string& default_name) {
  YamlFields f(doc, doc.root, "");
  f.only({"name", "peak_bf16_tflops", "peak_fp16_tflops", "peak_fp32_tflops", "memory_bandwidth", "memory",
          "gpus_per_node", "intra_node", "inter_node", "efficiency"});
  HardwareSpec h;
  h.name = f.text_or("name", default_name);
  h.peak_bf16_flops = f.positive_double("peak_bf16_tflops") * 1e12;
  h.peak_fp16_flops = f.has("peak_fp16_tflops") ? f.positive_double("peak_fp16_tflops") * 1e12 : h.peak_bf16_flops;
  h.peak_fp32_flops = f.has("peak_fp32_tflops") ? f.positive_double("peak_fp32_tflops") * 1e12 : h.peak_bf16_flops / 2;
  h.memory_bandwidth_bytes_per_s = parse_unit(f, "memory_bandwidth", parse_bandwidth);
  if (h.memory_bandwidth_bytes_per_s <= 0) f.fail(f.node("memory_bandwidth"), "memory_bandwidth", "must be positive");
  h.memory_bytes = parse_unit(f, "memory", parse_bytes);
  if (h.memory_bytes <= 0) f.fail(f.node("memory"), "memory", "must be positive");
  h.gpus_per_node = static_cast<int>(f.int_or("gpus_per_node", 8, 1));
  h.intra_node = read_link(f.sub("intra_node"));
  h.inter_node = read_link(f.sub("inter_node"));
  if (f.has("efficiency")) {
    const YamlFields e = f.sub("efficiency");
    e.only({"compute", "memory", "network"});
    h.efficiency.compute = fraction(e, "compute", h.efficiency.compute);
    h.efficiency.memory = fraction(e, "memory", h.efficiency.memory);
    h.efficiency.network = fraction(e, "network", h.efficiency.network);
  }
  return h;
}

std::string stem_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  std::string s = slash == std::string::npos ? path : path.substr(slash + 1);
  const std::size_t dot = s.rfind(".y");
  return dot == std::string::npos ? s : s.substr(0, dot);
}

}  // namespace

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
  return read_hardware(doc, stem_of(name_or_path));
}

HardwareSpec parse_hardware(const std::string& yaml_text, const std::string& display) {
  return read_hardware(parse_yaml(yaml_text, display), stem_of(display));
}

std::vector<std::string> shipped_hardware_names() {
  std::vector<std::string> names;
  for (const EmbeddedFile& f : embedded_hardware()) names.push_back(f.name);
  return names;
}

}  // namespace ppsim
