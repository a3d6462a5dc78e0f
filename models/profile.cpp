#include "models/profile.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>
#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include "base/error.h"

namespace ppsim {
namespace {

// Shortest text that reads back as the same double.
std::string num(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

const char* activation_name(Activation a) { return a == Activation::Gelu ? "gelu" : "swiglu"; }
const char* norm_name(Norm n) { return n == Norm::LayerNorm ? "layernorm" : "rmsnorm"; }

void emit_timing(YAML::Emitter& out, const Timing& t) {
  out << YAML::Flow << YAML::BeginMap;
  if (t.mean_ns > 0) out << YAML::Key << "mean_ns" << YAML::Value << t.mean_ns;
  out << YAML::Key << "median_ns" << YAML::Value << t.median_ns;
  out << YAML::Key << "p10_ns" << YAML::Value << t.p10_ns;
  out << YAML::Key << "p90_ns" << YAML::Value << t.p90_ns;
  out << YAML::Key << "flops" << YAML::Value << num(t.flops);
  out << YAML::Key << "tflops" << YAML::Value << num(t.tflops);
  out << YAML::EndMap;
}

void emit_layer(YAML::Emitter& out, const char* name, const LayerProfile& l) {
  out << YAML::Key << name << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "forward" << YAML::Value;
  emit_timing(out, l.forward);
  out << YAML::Key << "backward_input" << YAML::Value;
  emit_timing(out, l.backward_input);
  out << YAML::Key << "backward_weight" << YAML::Value;
  emit_timing(out, l.backward_weight);
  out << YAML::Key << "activation_bytes" << YAML::Value << l.activation_bytes;
  out << YAML::Key << "gradient_bytes" << YAML::Value << l.gradient_bytes;
  out << YAML::Key << "stash_bytes" << YAML::Value << l.stash_bytes;
  out << YAML::Key << "parameter_bytes" << YAML::Value << l.parameter_bytes;
  out << YAML::EndMap;
}

void emit_transfer(YAML::Emitter& out, const char* key, const TransferProfile& t) {
  out << YAML::Key << key << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "measured" << YAML::Value << t.measured;
  if (!t.measured) {
    out << YAML::Key << "reason" << YAML::Value << YAML::DoubleQuoted << t.reason;
  } else {
    out << YAML::Key << "method" << YAML::Value << t.method;
    out << YAML::Key << "between" << YAML::Value << YAML::DoubleQuoted << t.between;
    out << YAML::Key << "alpha_s" << YAML::Value << num(t.fit.alpha_s);
    out << YAML::Key << "beta_bytes_per_s" << YAML::Value << num(t.fit.beta_bytes_per_s);
    out << YAML::Key << "r2" << YAML::Value << num(t.fit.r2);
    out << YAML::Key << "worst_residual_s" << YAML::Value << num(t.fit.worst_residual_s);
    out << YAML::Key << "worst_relative_residual" << YAML::Value << num(t.fit.worst_relative);
    out << YAML::Key << "worst_residual_bytes" << YAML::Value << t.fit.worst_bytes;
    out << YAML::Key << "samples" << YAML::Value << YAML::BeginSeq;
    for (const auto& s : t.samples) {
      out << YAML::Flow << YAML::BeginMap;
      out << YAML::Key << "bytes" << YAML::Value << s.bytes;
      out << YAML::Key << "seconds" << YAML::Value << num(s.seconds);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
}

void emit_stage_times(YAML::Emitter& out, const StageTimesProfile& st) {
  out << YAML::Key << "stage_times" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "source" << YAML::Value << YAML::DoubleQuoted << st.source;
  out << YAML::Key << "partition" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "layers" << YAML::Value << YAML::Flow << st.layers_per_stage;
  out << YAML::Key << "embedding_stage" << YAML::Value << st.embedding_stage;
  out << YAML::Key << "head_stage" << YAML::Value << st.head_stage;
  out << YAML::EndMap;
  out << YAML::Key << "backward_split" << YAML::Value << st.backward_split;
  out << YAML::Key << "stages" << YAML::Value << YAML::BeginSeq;
  for (const StageTiming& s : st.stages) {
    out << YAML::BeginMap;
    out << YAML::Key << "forward" << YAML::Value;
    emit_timing(out, s.forward);
    out << YAML::Key << "backward_input" << YAML::Value;
    emit_timing(out, s.backward_input);
    out << YAML::Key << "backward_weight" << YAML::Value;
    emit_timing(out, s.backward_weight);
    out << YAML::Key << "samples" << YAML::Value << s.samples;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "hops" << YAML::Value << YAML::BeginSeq;
  for (const HopTiming& h : st.hops) {
    out << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "boundary" << YAML::Value << h.boundary;
    out << YAML::Key << "median_ns" << YAML::Value << h.median_ns;
    out << YAML::Key << "samples" << YAML::Value << h.samples;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::EndMap;
}

// Reading with errors that name the file, the line and the key.
class Reader {
 public:
  explicit Reader(std::string name) : name_(std::move(name)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& what) const {
    const auto mark = at.Mark();
    std::string where = name_;
    if (mark.line >= 0) where += ":" + std::to_string(mark.line + 1);
    throw InputError(where + ": " + what);
  }

  YAML::Node map(const YAML::Node& parent, const std::string& key, const std::string& path) const {
    YAML::Node n = child(parent, key, path);
    if (!n.IsMap()) fail(n, "'" + path + key + "' must be a mapping");
    return n;
  }

  YAML::Node child(const YAML::Node& parent, const std::string& key, const std::string& path) const {
    if (!parent.IsMap()) fail(parent, "'" + path + "' must be a mapping");
    YAML::Node n = parent[key];
    if (!n.IsDefined()) fail(parent, "missing key '" + path + key + "'");
    return n;
  }

  template <class T>
  T get(const YAML::Node& parent, const std::string& key, const std::string& path) const {
    YAML::Node n = child(parent, key, path);
    if (!n.IsScalar()) fail(n, "'" + path + key + "' must be a scalar");
    try {
      return n.as<T>();
    } catch (const YAML::Exception&) {
      fail(n, "'" + path + key + "' has a bad value '" + n.Scalar() + "'");
    }
  }

  template <class T>
  T get_or(const YAML::Node& parent, const std::string& key, const std::string& path, T fallback) const {
    if (!parent[key].IsDefined()) return fallback;
    return get<T>(parent, key, path);
  }

  template <class T>
  T non_negative(const YAML::Node& parent, const std::string& key, const std::string& path) const {
    T v = get<T>(parent, key, path);
    if (v < 0) fail(parent[key], "'" + path + key + "' must not be negative");
    return v;
  }

 private:
  std::string name_;
};

Timing read_timing(const Reader& r, const YAML::Node& parent, const std::string& key, const std::string& path) {
  const YAML::Node n = r.map(parent, key, path);
  const std::string p = path + key + ".";
  Timing t;
  t.mean_ns = r.get_or<TimeNs>(n, "mean_ns", p, 0);
  if (t.mean_ns < 0) r.fail(n["mean_ns"], "'" + p + "mean_ns' must not be negative");
  t.median_ns = r.non_negative<TimeNs>(n, "median_ns", p);
  t.p10_ns = r.non_negative<TimeNs>(n, "p10_ns", p);
  t.p90_ns = r.non_negative<TimeNs>(n, "p90_ns", p);
  t.flops = r.get_or<double>(n, "flops", p, 0.0);
  t.tflops = r.get_or<double>(n, "tflops", p, 0.0);
  if (t.p10_ns > t.median_ns || t.median_ns > t.p90_ns)
    r.fail(n, "'" + path + key + "' must have p10_ns <= median_ns <= p90_ns");
  return t;
}

LayerProfile read_layer(const Reader& r, const YAML::Node& layers, const std::string& key) {
  const YAML::Node n = r.map(layers, key, "layers.");
  const std::string p = "layers." + key + ".";
  LayerProfile l;
  l.forward = read_timing(r, n, "forward", p);
  l.backward_input = read_timing(r, n, "backward_input", p);
  l.backward_weight = read_timing(r, n, "backward_weight", p);
  l.activation_bytes = r.non_negative<std::int64_t>(n, "activation_bytes", p);
  l.gradient_bytes = r.non_negative<std::int64_t>(n, "gradient_bytes", p);
  l.stash_bytes = r.get_or<std::int64_t>(n, "stash_bytes", p, 0);
  l.parameter_bytes = r.get_or<std::int64_t>(n, "parameter_bytes", p, 0);
  return l;
}

TransferProfile read_transfer(const Reader& r, const YAML::Node& root, const std::string& key) {
  const YAML::Node t = r.map(root, key, "");
  const std::string k = key + ".";
  TransferProfile out;
  out.measured = r.get<bool>(t, "measured", k);
  if (!out.measured) {
    out.reason = r.get_or<std::string>(t, "reason", k, "");
    return out;
  }
  out.method = r.get<std::string>(t, "method", k);
  out.between = r.get_or<std::string>(t, "between", k, "");
  out.fit.alpha_s = r.non_negative<double>(t, "alpha_s", k);
  out.fit.beta_bytes_per_s = r.get<double>(t, "beta_bytes_per_s", k);
  if (!(out.fit.beta_bytes_per_s > 0)) r.fail(t["beta_bytes_per_s"], k + "beta_bytes_per_s must be positive");
  out.fit.r2 = r.get_or<double>(t, "r2", k, 0.0);
  out.fit.worst_residual_s = r.get_or<double>(t, "worst_residual_s", k, 0.0);
  out.fit.worst_relative = r.get_or<double>(t, "worst_relative_residual", k, 0.0);
  out.fit.worst_bytes = r.get_or<std::int64_t>(t, "worst_residual_bytes", k, 0);
  if (t["samples"].IsDefined()) {
    const YAML::Node ss = t["samples"];
    if (!ss.IsSequence()) r.fail(ss, "'" + k + "samples' must be a list");
    for (std::size_t i = 0; i < ss.size(); ++i) {
      const std::string sp = k + "samples[" + std::to_string(i) + "].";
      out.samples.push_back({r.non_negative<std::int64_t>(ss[i], "bytes", sp),
                             r.non_negative<double>(ss[i], "seconds", sp)});
    }
  }
  return out;
}

StageTimesProfile read_stage_times(const Reader& r, const YAML::Node& root) {
  const YAML::Node n = r.map(root, "stage_times", "");
  const std::string p = "stage_times.";
  StageTimesProfile st;
  st.source = r.get_or<std::string>(n, "source", p, "");
  const YAML::Node part = r.map(n, "partition", p);
  const YAML::Node layers = r.child(part, "layers", p + "partition.");
  if (!layers.IsSequence()) r.fail(layers, "'" + p + "partition.layers' must be a list");
  for (std::size_t i = 0; i < layers.size(); ++i) {
    int v = -1;
    if (!layers[i].IsScalar() || !YAML::convert<int>::decode(layers[i], v) || v < 0)
      r.fail(layers[i], "'" + p + "partition.layers[" + std::to_string(i) + "]' must be a block count");
    st.layers_per_stage.push_back(v);
  }
  st.embedding_stage = r.get_or<int>(part, "embedding_stage", p + "partition.", 0);
  st.head_stage = r.get_or<int>(part, "head_stage", p + "partition.", -1);
  st.backward_split = r.get_or<std::string>(n, "backward_split", p, "measured");
  if (st.backward_split != "measured" && st.backward_split != "flops")
    r.fail(n["backward_split"], "'" + p + "backward_split' must be measured or flops, not '" + st.backward_split + "'");
  const YAML::Node stages = r.child(n, "stages", p);
  if (!stages.IsSequence()) r.fail(stages, "'" + p + "stages' must be a list");
  if (stages.size() != st.layers_per_stage.size())
    r.fail(stages, "'" + p + "stages' has " + std::to_string(stages.size()) + " entries but the partition has " +
                       std::to_string(st.layers_per_stage.size()) + " stages");
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const std::string sp = p + "stages[" + std::to_string(i) + "].";
    StageTiming s;
    s.forward = read_timing(r, stages[i], "forward", sp);
    s.backward_input = read_timing(r, stages[i], "backward_input", sp);
    s.backward_weight = read_timing(r, stages[i], "backward_weight", sp);
    s.samples = r.get_or<std::int64_t>(stages[i], "samples", sp, 0);
    st.stages.push_back(s);
  }
  if (n["hops"].IsDefined()) {
    const YAML::Node hops = n["hops"];
    if (!hops.IsSequence()) r.fail(hops, "'" + p + "hops' must be a list");
    for (std::size_t i = 0; i < hops.size(); ++i) {
      const std::string hp = p + "hops[" + std::to_string(i) + "].";
      HopTiming h{r.non_negative<int>(hops[i], "boundary", hp), r.non_negative<TimeNs>(hops[i], "median_ns", hp),
                  r.get_or<std::int64_t>(hops[i], "samples", hp, 0)};
      if (h.boundary + 1 >= static_cast<int>(st.stages.size()))
        r.fail(hops[i], "'" + hp + "boundary' " + std::to_string(h.boundary) + " is not between two of the " +
                            std::to_string(st.stages.size()) + " stages");
      st.hops.push_back(h);
    }
  }
  return st;
}

}  // namespace

DType parse_dtype(const std::string& text, const std::string& what) {
  if (text == "bf16") return DType::BF16;
  if (text == "fp16") return DType::FP16;
  if (text == "fp32") return DType::FP32;
  throw InputError(what + ": unknown dtype '" + text + "' (expected bf16, fp16 or fp32)");
}

std::string profile_to_yaml(const Profile& p) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "schema_version" << YAML::Value << p.schema_version;
  out << YAML::Key << "ppsim_version" << YAML::Value << p.ppsim_version;

  out << YAML::Key << "device" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "kind" << YAML::Value << p.device.kind;
  out << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << p.device.name;
  out << YAML::Key << "count" << YAML::Value << p.device.count;
  out << YAML::Key << "threads" << YAML::Value << p.device.threads;
  if (p.device.kind == "cuda") {
    out << YAML::Key << "driver_version" << YAML::Value << YAML::DoubleQuoted << p.device.driver_version;
    out << YAML::Key << "cuda_version" << YAML::Value << YAML::DoubleQuoted << p.device.cuda_version;
    out << YAML::Key << "sm_clock_mhz" << YAML::Value << p.device.sm_clock_mhz;
    out << YAML::Key << "memory_clock_mhz" << YAML::Value << p.device.memory_clock_mhz;
    if (p.device.sms > 0) out << YAML::Key << "sms" << YAML::Value << p.device.sms;
    if (p.device.sms > 0) out << YAML::Key << "partitions" << YAML::Value << std::max(1, p.device.partitions);
    if (p.device.gemm_peak_tflops > 0) out << YAML::Key << "gemm_peak_tflops" << YAML::Value << num(p.device.gemm_peak_tflops);
  }
  out << YAML::EndMap;

  out << YAML::Key << "configuration" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << p.model.name;
  out << YAML::Key << "layers" << YAML::Value << p.model.layers;
  out << YAML::Key << "hidden" << YAML::Value << p.model.hidden;
  out << YAML::Key << "ffn_hidden" << YAML::Value << p.model.ffn_hidden;
  out << YAML::Key << "heads" << YAML::Value << p.model.heads;
  out << YAML::Key << "kv_heads" << YAML::Value << p.model.kv_heads;
  out << YAML::Key << "vocab" << YAML::Value << p.model.vocab;
  out << YAML::Key << "activation" << YAML::Value << activation_name(p.model.activation);
  out << YAML::Key << "norm" << YAML::Value << norm_name(p.model.norm);
  out << YAML::Key << "tied_embeddings" << YAML::Value << p.model.tied_embeddings;
  out << YAML::EndMap;
  out << YAML::Key << "micro_batch_size" << YAML::Value << p.micro_batch_size;
  out << YAML::Key << "sequence_length" << YAML::Value << p.sequence_length;
  out << YAML::Key << "dtype" << YAML::Value << to_string(p.dtype);
  if (!p.requested_dtype.empty()) out << YAML::Key << "requested_dtype" << YAML::Value << p.requested_dtype;
  out << YAML::Key << "repeats" << YAML::Value << p.repeats;
  out << YAML::Key << "warmup" << YAML::Value << p.warmup;
  out << YAML::EndMap;

  out << YAML::Key << "layers" << YAML::Value << YAML::BeginMap;
  emit_layer(out, "embedding", p.embedding);
  emit_layer(out, "block", p.block);
  emit_layer(out, "head", p.head);
  out << YAML::EndMap;

  out << YAML::Key << "kernels" << YAML::Value << YAML::BeginSeq;
  for (const auto& k : p.kernels) {
    out << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "layer" << YAML::Value << k.layer;
    out << YAML::Key << "pass" << YAML::Value << k.pass;
    out << YAML::Key << "name" << YAML::Value << k.name;
    out << YAML::Key << "median_ns" << YAML::Value << k.timing.median_ns;
    out << YAML::Key << "p10_ns" << YAML::Value << k.timing.p10_ns;
    out << YAML::Key << "p90_ns" << YAML::Value << k.timing.p90_ns;
    out << YAML::Key << "flops" << YAML::Value << num(k.timing.flops);
    out << YAML::Key << "tflops" << YAML::Value << num(k.timing.tflops);
    if (k.max_relative_error) out << YAML::Key << "max_relative_error" << YAML::Value << num(*k.max_relative_error);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;

  emit_transfer(out, "transfer", p.transfer);
  if (p.inter_node) emit_transfer(out, "inter_node", *p.inter_node);
  if (p.stage_times) emit_stage_times(out, *p.stage_times);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

Profile parse_profile(const std::string& text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw InputError(name + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  const Reader r(name);
  if (!root.IsMap()) r.fail(root, "a profile must be a YAML mapping");
  Profile p;
  p.source = name;
  p.schema_version = r.get<int>(root, "schema_version", "");
  if (p.schema_version != kProfileSchemaVersion)
    r.fail(root["schema_version"], "schema_version " + std::to_string(p.schema_version) +
                                       " is not supported (this ppsim reads version " +
                                       std::to_string(kProfileSchemaVersion) + ")");
  p.ppsim_version = r.get_or<std::string>(root, "ppsim_version", "", "");

  const YAML::Node dev = r.map(root, "device", "");
  p.device.kind = r.get<std::string>(dev, "kind", "device.");
  if (p.device.kind != "cpu" && p.device.kind != "cuda")
    r.fail(dev["kind"], "device.kind must be 'cpu' or 'cuda', not '" + p.device.kind + "'");
  p.device.name = r.get<std::string>(dev, "name", "device.");
  p.device.count = r.get_or<int>(dev, "count", "device.", 1);
  p.device.threads = r.get_or<int>(dev, "threads", "device.", 1);
  p.device.driver_version = r.get_or<std::string>(dev, "driver_version", "device.", "");
  p.device.cuda_version = r.get_or<std::string>(dev, "cuda_version", "device.", "");
  p.device.sm_clock_mhz = r.get_or<int>(dev, "sm_clock_mhz", "device.", 0);
  p.device.memory_clock_mhz = r.get_or<int>(dev, "memory_clock_mhz", "device.", 0);
  p.device.sms = r.get_or<int>(dev, "sms", "device.", 0);
  if (p.device.sms < 0) r.fail(dev["sms"], "device.sms must be 0 (whole GPU) or a positive SM count");
  p.device.partitions = r.get_or<int>(dev, "partitions", "device.", p.device.sms > 0 ? 1 : 0);
  if (p.device.partitions < 0) r.fail(dev["partitions"], "device.partitions must not be negative");
  p.device.gemm_peak_tflops = r.get_or<double>(dev, "gemm_peak_tflops", "device.", 0.0);
  if (p.device.gemm_peak_tflops < 0) r.fail(dev["gemm_peak_tflops"], "device.gemm_peak_tflops must not be negative");

  const YAML::Node cfg = r.map(root, "configuration", "");
  const YAML::Node m = r.map(cfg, "model", "configuration.");
  const std::string mp = "configuration.model.";
  p.model.name = r.get<std::string>(m, "name", mp);
  p.model.layers = r.non_negative<int>(m, "layers", mp);
  p.model.hidden = r.non_negative<int>(m, "hidden", mp);
  p.model.ffn_hidden = r.non_negative<int>(m, "ffn_hidden", mp);
  p.model.heads = r.non_negative<int>(m, "heads", mp);
  p.model.kv_heads = r.non_negative<int>(m, "kv_heads", mp);
  p.model.vocab = r.non_negative<int>(m, "vocab", mp);
  const auto act = r.get<std::string>(m, "activation", mp);
  if (act == "gelu") p.model.activation = Activation::Gelu;
  else if (act == "swiglu") p.model.activation = Activation::SwiGlu;
  else r.fail(m["activation"], "'" + mp + "activation' must be gelu or swiglu, not '" + act + "'");
  const auto nrm = r.get<std::string>(m, "norm", mp);
  if (nrm == "layernorm") p.model.norm = Norm::LayerNorm;
  else if (nrm == "rmsnorm") p.model.norm = Norm::RmsNorm;
  else r.fail(m["norm"], "'" + mp + "norm' must be layernorm or rmsnorm, not '" + nrm + "'");
  p.model.tied_embeddings = r.get_or<bool>(m, "tied_embeddings", mp, false);
  p.micro_batch_size = r.non_negative<int>(cfg, "micro_batch_size", "configuration.");
  p.sequence_length = r.non_negative<int>(cfg, "sequence_length", "configuration.");
  const auto dt = r.get<std::string>(cfg, "dtype", "configuration.");
  try {
    p.dtype = parse_dtype(dt, "configuration.dtype");
  } catch (const InputError& e) {
    r.fail(cfg["dtype"], e.what());
  }
  p.requested_dtype = r.get_or<std::string>(cfg, "requested_dtype", "configuration.", "");
  p.repeats = r.get_or<int>(cfg, "repeats", "configuration.", 0);
  p.warmup = r.get_or<int>(cfg, "warmup", "configuration.", 0);

  const YAML::Node layers = r.map(root, "layers", "");
  p.embedding = read_layer(r, layers, "embedding");
  p.block = read_layer(r, layers, "block");
  p.head = read_layer(r, layers, "head");

  if (root["kernels"].IsDefined()) {
    const YAML::Node ks = root["kernels"];
    if (!ks.IsSequence()) r.fail(ks, "'kernels' must be a list");
    for (std::size_t i = 0; i < ks.size(); ++i) {
      const YAML::Node k = ks[i];
      const std::string kp = "kernels[" + std::to_string(i) + "].";
      KernelProfile kp_;
      kp_.layer = r.get<std::string>(k, "layer", kp);
      kp_.pass = r.get<std::string>(k, "pass", kp);
      kp_.name = r.get<std::string>(k, "name", kp);
      kp_.timing.median_ns = r.non_negative<TimeNs>(k, "median_ns", kp);
      kp_.timing.p10_ns = r.get_or<TimeNs>(k, "p10_ns", kp, kp_.timing.median_ns);
      kp_.timing.p90_ns = r.get_or<TimeNs>(k, "p90_ns", kp, kp_.timing.median_ns);
      kp_.timing.flops = r.get_or<double>(k, "flops", kp, 0.0);
      kp_.timing.tflops = r.get_or<double>(k, "tflops", kp, 0.0);
      if (k["max_relative_error"].IsDefined()) kp_.max_relative_error = r.get<double>(k, "max_relative_error", kp);
      p.kernels.push_back(kp_);
    }
  }

  p.transfer = read_transfer(r, root, "transfer");
  if (root["inter_node"].IsDefined()) p.inter_node = read_transfer(r, root, "inter_node");
  if (root["stage_times"].IsDefined()) p.stage_times = read_stage_times(r, root);
  return p;
}

Profile load_profile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open the profile");
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_profile(buf.str(), path);
}

void save_profile(const Profile& profile, const std::string& path) {
  const std::string text = profile_to_yaml(profile);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw InputError(path + ": cannot write the profile (cannot create " + tmp + ")");
    out << text;
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw InputError(path + ": writing the profile failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw InputError(path + ": cannot rename " + tmp + " to the profile");
  }
}

void fit_transfer(TransferProfile& t, std::vector<TransferSample> samples, std::string method, std::string between) {
  t.samples = std::move(samples);
  t.method = std::move(method);
  t.between = std::move(between);
  try {
    t.fit = fit_alpha_beta(t.samples);
    t.measured = true;
    t.reason.clear();
  } catch (const InputError& e) {
    t.fit = {};
    t.measured = false;
    t.reason = std::string("not fitted (") + e.what() + "; the machine may have been too busy to time " + t.method +
               " transfers): the simulation uses the hardware spec's link";
  }
}

const char* to_string(ProfileStatistic s) { return s == ProfileStatistic::Mean ? "mean" : "median"; }

TimeNs pick_time(const Timing& t, ProfileStatistic statistic) {
  return statistic == ProfileStatistic::Mean && t.mean_ns > 0 ? t.mean_ns : t.median_ns;
}

MeasuredLayerTimes to_layer_times(const Profile& p, ProfileStatistic statistic) {
  MeasuredLayerTimes m;
  m.statistic = statistic;
  auto pick = [&](const Timing& t) {
    m.means_missing = m.means_missing || (statistic == ProfileStatistic::Mean && t.mean_ns == 0 && t.median_ns > 0);
    return pick_time(t, statistic);
  };
  auto pass = [&](const LayerProfile& l) {
    return PassTimes{pick(l.forward), pick(l.backward_input), pick(l.backward_weight)};
  };
  m.embedding = pass(p.embedding);
  m.block = pass(p.block);
  m.head = pass(p.head);
  if (p.transfer.measured) m.link = LinkFit{p.transfer.fit.alpha_s, p.transfer.fit.beta_bytes_per_s};
  if (p.inter_node && p.inter_node->measured)
    m.inter_node_link = LinkFit{p.inter_node->fit.alpha_s, p.inter_node->fit.beta_bytes_per_s};
  m.source = p.source;
  return m;
}

}  // namespace ppsim
