#include "models/profile.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <system_error>
#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include "base/error.h"
#include "base/yaml_reader.h"

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

Timing read_timing(const YamlMap& t) {
  Timing out;
  out.mean_ns = t.integer_or<TimeNs>("mean_ns", 0, 0);
  out.median_ns = t.integer<TimeNs>("median_ns", 0);
  out.p10_ns = t.integer<TimeNs>("p10_ns", 0);
  out.p90_ns = t.integer<TimeNs>("p90_ns", 0);
  out.flops = t.number_or("flops", 0.0);
  out.tflops = t.number_or("tflops", 0.0);
  if (out.p10_ns > out.median_ns || out.median_ns > out.p90_ns)
    t.fail("must have p10_ns <= median_ns <= p90_ns (got " + std::to_string(out.p10_ns) + ", " +
           std::to_string(out.median_ns) + ", " + std::to_string(out.p90_ns) + ")");
  return out;
}

LayerProfile read_layer(const YamlMap& l) {
  LayerProfile out;
  out.forward = read_timing(l.sub("forward"));
  out.backward_input = read_timing(l.sub("backward_input"));
  out.backward_weight = read_timing(l.sub("backward_weight"));
  out.activation_bytes = l.integer<std::int64_t>("activation_bytes", 0);
  out.gradient_bytes = l.integer<std::int64_t>("gradient_bytes", 0);
  out.stash_bytes = l.integer_or<std::int64_t>("stash_bytes", 0, 0);
  out.parameter_bytes = l.integer_or<std::int64_t>("parameter_bytes", 0, 0);
  return out;
}

TransferProfile read_transfer(const YamlMap& t) {
  TransferProfile out;
  out.measured = t.boolean("measured");
  if (!out.measured) {
    out.reason = t.text_or("reason", "");
    return out;
  }
  out.method = t.text("method");
  out.between = t.text_or("between", "");
  out.fit.alpha_s = t.number("alpha_s", 0);
  out.fit.beta_bytes_per_s = t.positive_number("beta_bytes_per_s");
  out.fit.r2 = t.number_or("r2", 0.0);
  out.fit.worst_residual_s = t.number_or("worst_residual_s", 0.0);
  out.fit.worst_relative = t.number_or("worst_relative_residual", 0.0);
  out.fit.worst_bytes = t.integer_or<std::int64_t>("worst_residual_bytes", 0, 0);
  if (t.has("samples"))
    for (const YamlMap& sample : t.list_of_maps("samples"))
      out.samples.push_back({sample.integer<std::int64_t>("bytes", 0), sample.number("seconds", 0)});
  return out;
}

KernelProfile read_kernel(const YamlMap& k) {
  KernelProfile out;
  out.layer = k.text("layer");
  out.pass = k.text("pass");
  out.name = k.text("name");
  out.timing.median_ns = k.integer<TimeNs>("median_ns", 0);
  out.timing.p10_ns = k.integer_or<TimeNs>("p10_ns", out.timing.median_ns, 0);
  out.timing.p90_ns = k.integer_or<TimeNs>("p90_ns", out.timing.median_ns, 0);
  out.timing.flops = k.number_or("flops", 0.0);
  out.timing.tflops = k.number_or("tflops", 0.0);
  if (k.has("max_relative_error")) out.max_relative_error = k.number("max_relative_error");
  return out;
}

DeviceInfo read_device(const YamlMap& d) {
  DeviceInfo out;
  out.kind = d.choice("kind", {"cpu", "cuda"});
  out.name = d.text("name");
  out.count = d.integer_or("count", 1, 0);
  out.threads = d.integer_or("threads", 1, 0);
  out.driver_version = d.text_or("driver_version", "");
  out.cuda_version = d.text_or("cuda_version", "");
  out.sm_clock_mhz = d.integer_or("sm_clock_mhz", 0, 0);
  out.memory_clock_mhz = d.integer_or("memory_clock_mhz", 0, 0);
  out.sms = d.integer_or("sms", 0, 0);  // 0: the whole GPU
  out.partitions = d.integer_or("partitions", out.sms > 0 ? 1 : 0, 0);
  out.gemm_peak_tflops = d.number_or("gemm_peak_tflops", 0.0, 0);
  if (d.has("attention")) out.attention = d.choice("attention", {"cudnn", "own"});
  out.attention_note = d.text_or("attention_note", "");
  return out;
}

// The model part of `configuration:` (what the profile's layers were timed on).
ModelSpec read_profiled_model(const YamlMap& m) {
  ModelSpec out;
  out.name = m.text("name");
  out.layers = m.integer("layers", 0);
  out.hidden = m.integer("hidden", 0);
  out.ffn_hidden = m.integer("ffn_hidden", 0);
  out.heads = m.integer("heads", 0);
  out.kv_heads = m.integer("kv_heads", 0);
  out.vocab = m.integer("vocab", 0);
  out.activation = m.choice("activation", kActivationNames);
  out.norm = m.choice("norm", kNormNames);
  out.tied_embeddings = m.boolean_or("tied_embeddings", false);
  return out;
}

// `stage_times:` of a traced profile (docs/profile.md): per virtual stage F/B/W timings, the
// partition they were measured on, and the measured hops.
StageTimesProfile read_stage_times(const YamlMap& n) {
  StageTimesProfile st;
  st.source = n.text_or("source", "");
  const YamlMap part = n.sub("partition");
  st.layers_per_stage = part.list_of_integers<int>("layers", 0);
  st.embedding_stage = part.integer_or("embedding_stage", 0, 0);
  st.head_stage = part.integer_or("head_stage", -1, -1);
  st.backward_split = n.has("backward_split") ? n.choice("backward_split", {"measured", "flops"}) : "measured";
  const std::vector<YamlMap> stages = n.list_of_maps("stages");
  if (stages.size() != st.layers_per_stage.size())
    n.fail_at("stages", "has " + std::to_string(stages.size()) + " entries but the partition has " +
                            std::to_string(st.layers_per_stage.size()) + " stages");
  for (const YamlMap& s : stages) {
    StageTiming t;
    t.forward = read_timing(s.sub("forward"));
    t.backward_input = read_timing(s.sub("backward_input"));
    t.backward_weight = read_timing(s.sub("backward_weight"));
    t.samples = s.integer_or<std::int64_t>("samples", 0, 0);
    st.stages.push_back(t);
  }
  if (n.has("hops"))
    for (const YamlMap& h : n.list_of_maps("hops")) {
      HopTiming hop{h.integer<int>("boundary", 0), h.integer<TimeNs>("median_ns", 0), h.integer_or<std::int64_t>("samples", 0, 0)};
      if (hop.boundary + 1 >= static_cast<int>(st.stages.size()))
        h.fail_at("boundary", std::to_string(hop.boundary) + " is not between two of the " +
                                  std::to_string(st.stages.size()) + " stages");
      st.hops.push_back(hop);
    }
  return st;
}

Profile read_profile(const YamlDoc& doc) {
  const YamlMap root(doc);
  Profile p;
  p.source = doc.display;
  const YamlValue version = root.value("schema_version");
  p.schema_version = version.integer(1);
  if (p.schema_version != kProfileSchemaVersion)
    version.fail("must be " + std::to_string(kProfileSchemaVersion) + ", the version this ppsim reads (got " +
                 version.got() + ")");
  p.ppsim_version = root.text_or("ppsim_version", "");
  p.calibration_wall_s = root.number_or("calibration_wall_s", 0.0, 0);
  p.device = read_device(root.sub("device"));

  const YamlMap cfg = root.sub("configuration");
  p.model = read_profiled_model(cfg.sub("model"));
  p.micro_batch_size = cfg.integer("micro_batch_size", 0);
  p.sequence_length = cfg.integer("sequence_length", 0);
  p.dtype = cfg.choice("dtype", kDTypeNames);
  p.requested_dtype = cfg.text_or("requested_dtype", "");
  p.repeats = cfg.integer_or("repeats", 0, 0);
  p.warmup = cfg.integer_or("warmup", 0, 0);

  const YamlMap layers = root.sub("layers");
  p.embedding = read_layer(layers.sub("embedding"));
  p.block = read_layer(layers.sub("block"));
  p.head = read_layer(layers.sub("head"));
  if (root.has("kernels"))
    for (const YamlMap& k : root.list_of_maps("kernels")) p.kernels.push_back(read_kernel(k));
  p.transfer = read_transfer(root.sub("transfer"));
  if (root.has("inter_node")) p.inter_node = read_transfer(root.sub("inter_node"));
  if (root.has("stage_times")) p.stage_times = read_stage_times(root.sub("stage_times"));
  return p;
}

}  // namespace

DType parse_dtype(const std::string& text, const std::string& what) {
  for (const auto& [name, d] : kDTypeNames)
    if (text == name) return d;
  throw InputError(what + ": unknown dtype '" + text + "' (expected bf16, fp16 or fp32)");
}

std::string profile_to_yaml(const Profile& p) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "schema_version" << YAML::Value << p.schema_version;
  out << YAML::Key << "ppsim_version" << YAML::Value << p.ppsim_version;
  if (p.calibration_wall_s > 0) out << YAML::Key << "calibration_wall_s" << YAML::Value << num(p.calibration_wall_s);

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
    if (!p.device.attention.empty()) out << YAML::Key << "attention" << YAML::Value << p.device.attention;
    if (!p.device.attention_note.empty())
      out << YAML::Key << "attention_note" << YAML::Value << YAML::DoubleQuoted << p.device.attention_note;
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

Profile parse_profile(const std::string& text, const std::string& name) { return read_profile(parse_yaml(text, name)); }

Profile load_profile(const std::string& path) { return read_profile(read_yaml_file(path)); }

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
