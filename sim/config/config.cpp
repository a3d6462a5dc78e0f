#include "sim/config/config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "models/profile.h"
#include "schedules/registry.h"
#include "sim/config/default_example.h"
#include "base/error.h"

namespace ppsim {
namespace {

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}
  const std::string& source() const { return source_; }

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key, const std::string& msg) const {
    std::ostringstream os;
    os << source_;
    if (node.IsDefined() && node.Mark().line >= 0) os << ':' << node.Mark().line + 1 << ':' << node.Mark().column + 1;
    os << ": " << key << ": " << msg;
    throw InputError(os.str());
  }

  void check_keys(const YAML::Node& map, const std::string& where, const std::set<std::string>& valid) const {
    for (const auto& kv : map) {
      const std::string k = kv.first.Scalar();
      if (!valid.count(k)) {
        std::string list;
        for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
        fail(kv.first, where.empty() ? k : where + "." + k, "unknown key (valid keys: " + list + ")");
      }
    }
  }

  std::string scalar(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) fail(node, key, "must be a single value");
    return node.Scalar();
  }

  int non_negative_int(const YAML::Node& node, const std::string& key) const {
    const std::string text = scalar(node, key);
    if (text == "0") return 0;
    return positive_int(node, key);
  }

  int positive_int(const YAML::Node& node, const std::string& key) const {
    const std::string text = scalar(node, key);
    long long v = 0;
    std::size_t used = 0;
    try {
      v = std::stoll(text, &used);
    } catch (...) {
      used = 0;
    }
    if (used == 0 || used != text.size()) fail(node, key, "must be a positive integer (got '" + text + "')");
    if (v <= 0) fail(node, key, "must be a positive integer (got " + text + ")");
    if (v > 1'000'000) fail(node, key, "is too large (got " + text + ", at most 1000000)");
    return static_cast<int>(v);
  }

  TimeNs duration(const YAML::Node& node, const std::string& key) const {
    const std::string text = scalar(node, key);
    try {
      return parse_duration(text, key);
    } catch (const InputError& e) {
      fail(node, key, std::string(e.what()).substr(key.size() + 2));
    }
  }

  // A scalar (same on every rank) or a list of exactly `ranks` values.
  std::vector<TimeNs> per_rank(const YAML::Node& node, const std::string& key, int ranks) const {
    if (node.IsSequence()) {
      if (static_cast<int>(node.size()) != ranks)
        fail(node, key, "has " + std::to_string(node.size()) + " values but stages is " + std::to_string(ranks) +
                            " (give one value, or one per rank)");
      std::vector<TimeNs> v;
      for (std::size_t i = 0; i < node.size(); ++i) v.push_back(duration(node[i], key + "[" + std::to_string(i) + "]"));
      return v;
    }
    return std::vector<TimeNs>(ranks, duration(node, key));
  }

 private:
  std::string source_;
};

std::string resolve(const std::string& base_dir, const std::string& rel) {
  return std::filesystem::path(rel).is_absolute() ? rel : (std::filesystem::path(base_dir) / rel).string();
}

// A shipped name stays a name; anything that looks like a file is resolved against the YAML's folder.
std::string name_or_path(const std::string& base_dir, const std::string& v) {
  const bool looks_like_file = v.find('/') != std::string::npos || v.ends_with(".yaml") || v.ends_with(".yml");
  return looks_like_file ? resolve(base_dir, v) : v;
}

ModelConfig parse_model_keys(const Reader& in, const YAML::Node& root, const std::string& base_dir) {
  ModelConfig m;
  m.model = name_or_path(base_dir, in.scalar(root["model"], "model"));
  if (root["hardware"]) {
    m.hardware = name_or_path(base_dir, in.scalar(root["hardware"], "hardware"));
    m.hardware_defaulted = false;
  }
  if (root["profile"]) m.profile = resolve(base_dir, in.scalar(root["profile"], "profile"));
  if (const YAML::Node s = root["profile_statistic"]) {
    const std::string v = in.scalar(s, "profile_statistic");
    if (v == "mean") m.profile_statistic = ProfileStatistic::Mean;
    else if (v == "median") m.profile_statistic = ProfileStatistic::Median;
    else in.fail(s, "profile_statistic", "must be mean or median (got '" + v + "')");
  }
  if (root["micro_batch_size"]) m.micro_batch_size = in.positive_int(root["micro_batch_size"], "micro_batch_size");
  if (root["sequence_length"]) m.sequence_length = in.positive_int(root["sequence_length"], "sequence_length");
  if (root["dtype"]) {
    try {
      m.dtype = parse_dtype(in.scalar(root["dtype"], "dtype"), "dtype");
    } catch (const InputError& e) {
      in.fail(root["dtype"], "dtype", "must be bf16, fp16 or fp32 (got '" + root["dtype"].Scalar() + "')");
    }
  }
  if (root["recompute"]) {
    try {
      m.recompute = parse_recompute(in.scalar(root["recompute"], "recompute"), "recompute");
    } catch (const InputError& e) {
      in.fail(root["recompute"], "recompute", "must be none, selective or full (got '" + root["recompute"].Scalar() + "')");
    }
  }
  if (const YAML::Node p = root["partition"]) {
    std::ostringstream where;
    where << in.source() << ':' << p.Mark().line + 1 << ':' << p.Mark().column + 1 << ": partition";
    m.partition_where = where.str();
    // `auto`, a list of blocks per virtual stage, or a mapping that also places the embedding and
    // the head: {layers: [...], embedding_stage: 0, head_stage: 7}.
    YAML::Node layers = p;
    if (p.IsMap()) {
      in.check_keys(p, "partition", {"layers", "embedding_stage", "head_stage"});
      if (!p["layers"]) in.fail(p, "partition.layers", "is missing (a list of blocks per virtual stage)");
      layers.reset(p["layers"]);  // rebinds (operator= would overwrite the partition node)
      if (p["embedding_stage"]) m.embedding_stage = in.non_negative_int(p["embedding_stage"], "partition.embedding_stage");
      if (p["head_stage"]) m.head_stage = in.non_negative_int(p["head_stage"], "partition.head_stage");
    }
    if (layers.IsScalar() && layers.Scalar() == "auto") {
      m.partition_auto = true;
      if (p.IsMap() && (p["embedding_stage"] || p["head_stage"]))
        in.fail(p, "partition", "auto keeps the embedding on the first and the head on the last virtual stage; "
                                "give an explicit 'layers:' list to place them elsewhere");
    } else if (layers.IsSequence()) {
      m.partition_auto = false;
      for (std::size_t i = 0; i < layers.size(); ++i)
        m.partition.push_back(in.non_negative_int(layers[i], "partition[" + std::to_string(i) + "]"));
    } else {
      in.fail(p, "partition", "must be 'auto', a list of blocks per virtual stage such as [8, 8, 8, 8], or "
                              "{layers: [...], embedding_stage: S, head_stage: S}");
    }
  } else {
    m.partition_where = in.source() + ": partition (auto)";
  }
  if (root["memory_limit"]) {
    const std::string text = in.scalar(root["memory_limit"], "memory_limit");
    try {
      m.memory_limit_bytes = parse_bytes(text, "memory_limit");
    } catch (const InputError& e) {
      in.fail(root["memory_limit"], "memory_limit", std::string(e.what()).substr(std::string("memory_limit: ").size()));
    }
    if (*m.memory_limit_bytes <= 0) in.fail(root["memory_limit"], "memory_limit", "must be positive");
  }
  if (const YAML::Node e = root["efficiency"]) {
    if (!e.IsMap()) in.fail(e, "efficiency", "must be a mapping like {compute: 0.5, memory: 0.8, network: 0.8}");
    in.check_keys(e, "efficiency", {"compute", "memory", "network"});
    Efficiency eff;
    auto fraction = [&](const char* k, double& out) {
      if (!e[k]) return;
      const std::string text = in.scalar(e[k], std::string("efficiency.") + k);
      std::size_t used = 0;
      double v = 0;
      try {
        v = std::stod(text, &used);
      } catch (...) {
        used = 0;
      }
      if (used != text.size() || !(v > 0 && v <= 1))
        in.fail(e[k], std::string("efficiency.") + k, "must be a fraction in (0, 1] (got '" + text + "')");
      out = v;
    };
    fraction("compute", eff.compute);
    fraction("memory", eff.memory);
    fraction("network", eff.network);
    m.efficiency = eff;
  }
  if (root["link"]) {
    const std::string l = in.scalar(root["link"], "link");
    if (l == "auto") m.link = LinkChoice::Auto;
    else if (l == "intra_node") m.link = LinkChoice::IntraNode;
    else if (l == "inter_node") m.link = LinkChoice::InterNode;
    else in.fail(root["link"], "link", "must be auto, intra_node or inter_node (got '" + l + "')");
  }
  return m;
}

}  // namespace

SimulationConfig parse_config(const std::string& text, const std::string& source, const std::string& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw InputError(source + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                     ": malformed YAML: " + e.msg);
  }
  Reader in(source);
  if (!root.IsMap()) throw InputError(source + ": expected a mapping of keys (schedule, stages, microbatches, ...)");
  in.check_keys(root, "", {"schedule", "stages", "microbatches", "chunks", "times", "order_csv", "model", "hardware",
                           "profile", "profile_statistic", "micro_batch_size", "sequence_length", "dtype", "recompute",
                           "partition", "memory_limit", "efficiency", "link"});

  SimulationConfig c;
  c.source = source;
  c.base_dir = base_dir;
  for (const char* required : {"schedule", "stages", "microbatches"})
    if (!root[required]) throw InputError(source + ": missing required key '" + required + "'");
  c.schedule = in.scalar(root["schedule"], "schedule");
  bool known = c.schedule == "custom";
  for (const auto& k : schedule_kinds()) known = known || c.schedule == k.name;
  if (!known) in.fail(root["schedule"], "schedule", "unknown schedule '" + c.schedule + "' (valid: " + schedule_kind_names() + ")");
  c.stages = in.positive_int(root["stages"], "stages");
  c.microbatches = in.positive_int(root["microbatches"], "microbatches");
  if (root["chunks"]) c.chunks = in.positive_int(root["chunks"], "chunks");

  if (c.schedule == "custom") {
    if (!root["order_csv"]) throw InputError(source + ": schedule: custom needs 'order_csv' (a CSV of per-rank orders)");
    const std::string rel = in.scalar(root["order_csv"], "order_csv");
    c.order_csv = std::filesystem::path(rel).is_absolute() ? rel : (std::filesystem::path(base_dir) / rel).string();
  } else if (root["order_csv"]) {
    in.fail(root["order_csv"], "order_csv", "is only used with schedule: custom (schedule is " + c.schedule + ")");
  }

  if (root["times"] && root["model"])
    in.fail(root["model"], "model", "give either 'times:' (explicit per-op times) or 'model:' (times from the cost model), not both");
  if (root["model"]) {
    c.model = parse_model_keys(in, root, base_dir);
    return c;
  }
  for (const char* k : {"hardware", "profile", "profile_statistic", "micro_batch_size", "sequence_length", "dtype",
                        "recompute", "partition", "memory_limit", "efficiency", "link"})
    if (root[k]) in.fail(root[k], k, "needs 'model:' (it configures the cost model)");
  if (!root["times"])
    throw InputError(source + ": missing required key 'times' (forward, backward_input, backward_weight, transfer) or 'model'");
  const YAML::Node times = root["times"];
  if (!times.IsMap()) in.fail(times, "times", "must be a mapping with forward, backward_input, backward_weight, transfer");
  in.check_keys(times, "times", {"forward", "backward_input", "backward_weight", "transfer"});
  ExplicitTimes t;
  for (const char* k : {"forward", "backward_input", "backward_weight"})
    if (!times[k]) in.fail(times, std::string("times.") + k, "is missing");
  t.forward = in.per_rank(times["forward"], "times.forward", c.stages);
  t.backward_input = in.per_rank(times["backward_input"], "times.backward_input", c.stages);
  t.backward_weight = in.per_rank(times["backward_weight"], "times.backward_weight", c.stages);
  if (times["transfer"]) t.transfer = in.duration(times["transfer"], "times.transfer");
  c.times = t;
  return c;
}

SimulationConfig load_config(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw InputError(path + ": cannot open the file");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return parse_config(ss.str(), path, dir.empty() ? "." : dir);
}

const std::string& embedded_default_example() {
  static const std::string text = kDefaultExampleYaml;
  return text;
}

}  // namespace ppsim
