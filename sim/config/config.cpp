#include "sim/config/config.h"

#include <algorithm>
#include <filesystem>

#include "base/yaml_reader.h"
#include "models/model_loader.h"
#include "schedules/registry.h"
#include "sim/config/default_example.h"

namespace ppsim {
namespace {

constexpr int kMaxCount = 1'000'000;  // stages, micro-batches, chunks, blocks per stage: a typo guard

std::string resolve(const std::string& base_dir, const std::string& rel) {
  return std::filesystem::path(rel).is_absolute() ? rel : (std::filesystem::path(base_dir) / rel).string();
}

// A shipped name stays a name; anything that looks like a file is resolved against the YAML's folder.
std::string name_or_path(const std::string& base_dir, const std::string& v) {
  const bool looks_like_file = v.find('/') != std::string::npos || v.ends_with(".yaml") || v.ends_with(".yml");
  return looks_like_file ? resolve(base_dir, v) : v;
}

// A scalar (the same on every rank) or a list of exactly `ranks` values.
std::vector<TimeNs> per_rank(const YamlMap& times, const std::string& key, int ranks) {
  return times.value(key).one_or_each(static_cast<std::size_t>(ranks),
                                      "stages is " + std::to_string(ranks) + " (give one value, or one per rank)",
                                      [](const YamlValue& v) { return v.duration(); });
}

ExplicitTimes read_times(const YamlMap& times, int ranks) {
  times.only({"forward", "backward_input", "backward_weight", "transfer", "overlap_f_b"});
  ExplicitTimes t;
  t.forward = per_rank(times, "forward", ranks);
  t.backward_input = per_rank(times, "backward_input", ranks);
  t.backward_weight = per_rank(times, "backward_weight", ranks);
  if (times.has("transfer")) t.transfer = times.duration("transfer");
  if (times.has("overlap_f_b")) t.overlap_f_b = per_rank(times, "overlap_f_b", ranks);
  return t;
}

// `auto`, a list of blocks per virtual stage, or a mapping that also places the embedding and the
// head: {layers: [...], embedding_stage: 0, head_stage: 7}.
void read_partition(const YamlMap& root, const std::string& file, ModelConfig& m) {
  if (!root.has("partition")) {
    m.partition_where = file + ": partition (auto)";
    return;
  }
  const YamlValue p = root.value("partition");
  m.partition_where = p.where();
  YamlValue layers = p;
  if (p.is_map()) {
    const YamlMap placed = p.map();
    placed.only({"layers", "embedding_stage", "head_stage"});
    layers = placed.value("layers");
    m.embedding_stage = placed.integer_or("embedding_stage", m.embedding_stage, 0, kMaxCount);
    m.head_stage = placed.integer_or("head_stage", m.head_stage, 0, kMaxCount);
    if (layers.is_text("auto") && (placed.has("embedding_stage") || placed.has("head_stage")))
      p.fail("auto keeps the embedding on the first and the head on the last virtual stage; "
             "give an explicit 'layers:' list to place them elsewhere");
  }
  if (layers.is_text("auto")) return;  // m.partition_auto stays true
  if (!layers.is_list())
    layers.fail("must be 'auto', a list of blocks per virtual stage such as [8, 8, 8, 8], or "
                "{layers: [...], embedding_stage: S, head_stage: S} (got " + layers.got() + ")");
  m.partition_auto = false;
  for (const YamlValue& blocks : layers.items()) m.partition.push_back(blocks.integer(0, kMaxCount));
}

ModelConfig read_model_keys(const YamlMap& root, const std::string& file, const std::string& base_dir) {
  ModelConfig m;
  m.model = name_or_path(base_dir, root.text("model"));
  m.hardware_defaulted = !root.has("hardware");
  if (root.has("hardware")) m.hardware = name_or_path(base_dir, root.text("hardware"));
  if (root.has("profile")) m.profile = resolve(base_dir, root.text("profile"));
  m.profile_statistic = root.choice_or("profile_statistic", m.profile_statistic,
                                       {{"mean", ProfileStatistic::Mean}, {"median", ProfileStatistic::Median}});
  m.micro_batch_size = root.integer_or("micro_batch_size", m.micro_batch_size, 1, kMaxCount);
  m.sequence_length = root.integer_or("sequence_length", m.sequence_length, 1, kMaxCount);
  m.dtype = root.choice_or("dtype", m.dtype, kDTypeNames);
  m.recompute = root.choice_or("recompute", m.recompute, kRecomputeNames);
  read_partition(root, file, m);
  if (root.has("memory_limit")) m.memory_limit_bytes = root.bytes("memory_limit");
  if (root.has("efficiency")) m.efficiency = read_efficiency(root.sub("efficiency"));
  m.link = root.choice_or("link", m.link,
                          {{"auto", LinkChoice::Auto}, {"intra_node", LinkChoice::IntraNode},
                           {"inter_node", LinkChoice::InterNode}});
  m.link_given = root.has("link");
  return m;
}

// tensor_parallel, sequence_parallel, data_parallel, zero, placement, grad_reduce_overlap.
Parallelism read_parallelism(const YamlMap& root) {
  Parallelism p;
  p.tensor = root.integer_or("tensor_parallel", 1, 1, kMaxCount);
  p.sequence = root.boolean_or("sequence_parallel", false);
  p.data = root.integer_or("data_parallel", 1, 1, kMaxCount);
  p.zero = root.integer_or("zero", 0, 0, 3);
  p.grad_reduce_overlap = root.boolean_or("grad_reduce_overlap", true);
  if (p.sequence && p.tensor == 1)
    root.value("sequence_parallel").fail("splits the sequence over the tensor-parallel GPUs: it needs tensor_parallel > 1");
  if (p.zero > 0 && p.data == 1)
    root.value("zero").fail("shards over data-parallel replicas: zero " + std::to_string(p.zero) +
                            " needs data_parallel > 1");
  if (root.has("placement")) {
    const YamlValue v = root.value("placement");
    p.placement.clear();
    for (const YamlValue& item : v.items())
      p.placement.push_back(item.choice(Names<ParallelDim>{
          {"tensor", ParallelDim::Tensor}, {"pipeline", ParallelDim::Pipeline}, {"data", ParallelDim::Data}}));
    std::vector<ParallelDim> sorted = p.placement;
    std::sort(sorted.begin(), sorted.end());
    if (sorted != std::vector<ParallelDim>{ParallelDim::Tensor, ParallelDim::Pipeline, ParallelDim::Data})
      v.fail("must name tensor, pipeline and data once each, innermost first (e.g. [tensor, pipeline, data])");
  }
  return p;
}

// The checks that need the model and the GPU: t divides what Megatron splits, and a tensor-parallel
// group that spans nodes says which link it uses.
void check_parallelism(const YamlMap& root, const ModelConfig& m, int ranks) {
  const Parallelism& p = m.parallel;
  if (p.tensor > 1) {
    const ModelSpec spec = load_model(m.model);
    for (const auto& [name, value] : {std::pair<const char*, int>{"heads", spec.heads}, {"kv_heads", spec.kv_heads},
                                      {"hidden", spec.hidden}, {"ffn_hidden", spec.ffn_hidden}})
      if (value % p.tensor != 0)
        root.value("tensor_parallel").fail("must divide the model's " + std::string(name) + " (" + spec.name + ": " +
                                           std::to_string(value) + "; tensor_parallel: " + std::to_string(p.tensor) + ")");
    const HardwareSpec hw = load_hardware(m.hardware);
    if (p.tensor > hw.gpus_per_node && !m.link_given)
      root.value("tensor_parallel").fail(std::to_string(p.tensor) + " GPUs per layer span more than a node of " +
                                         hw.name + " (" + std::to_string(hw.gpus_per_node) +
                                         " GPUs): set link: intra_node or inter_node for their collectives");
  }
  if (p.zero >= 2 && ranks > 1)
    root.value("zero").fail("zero " + std::to_string(p.zero) + " shards the gradients, which pipeline parallelism "
                            "accumulates over micro-batches: DeepSpeed and Megatron refuse the pair; use zero: 1 "
                            "(the distributed optimizer) with stages > 1");
}

// jitter:, straggler:, replications: and seed: on a training schedule; absent without jitter or straggler.
std::optional<ReplicationSpec> read_replication(const YamlMap& root, int ranks) {
  if (!root.has("jitter") && !root.has("straggler")) {
    for (const char* k : {"replications", "seed"})
      if (root.has(k)) root.value(k).fail("needs 'jitter:' or 'straggler:' (it configures their replays)");
    return std::nullopt;
  }
  ReplicationSpec r;
  if (root.has("jitter")) r.jitter = read_jitter(root.sub("jitter"));
  if (r.jitter.distribution == Distribution::Profile && !root.has("profile"))
    root.sub("jitter").value("distribution").fail("profile samples each op from the calibration profile's spread: "
                                                  "it needs 'profile:' (with 'model:')");
  if (root.has("straggler")) {
    const YamlMap s = root.sub("straggler");
    s.only({"rank", "slowdown"});
    r.straggler = Straggler{s.integer("rank", 0, ranks - 1), s.positive_number("slowdown")};
  }
  // Deterministic times replay the same way every time: one replication is all there is.
  r.replications = root.integer_or("replications", r.jitter.deterministic() ? 1 : 100, 1, 1'000'000);
  if (root.has("seed")) r.seed = static_cast<std::uint64_t>(root.integer<std::int64_t>("seed", 0));
  return r;
}

// The training keys a stream config refuses: every top-level key but the ones both share.
constexpr const char* kTrainingOnlyKeys[] = {
    "microbatches", "chunks", "order_csv", "model", "hardware", "profile", "profile_statistic", "micro_batch_size",
    "sequence_length", "dtype", "recompute", "partition", "memory_limit", "efficiency", "link", "in_flight_limit",
    "w_stash_fraction", "tensor_parallel", "sequence_parallel", "data_parallel", "zero", "global_batch_size",
    "placement", "grad_reduce_overlap"};

// The model keys a stream takes in place of `times:` (one item = one micro-batch, forward only).
bool stream_model_key(const std::string& k) {
  for (const char* m : {"model", "hardware", "profile", "profile_statistic", "micro_batch_size", "sequence_length",
                        "dtype", "partition", "efficiency", "link"})
    if (k == m) return true;
  return false;
}

SimulationConfig read_stream(const YamlMap& root, const YamlDoc& doc, const std::string& base_dir) {
  const bool model = root.has("model");
  for (const char* k : kTrainingOnlyKeys)
    if (root.has(k) && !(model && stream_model_key(k)))
      root.value(k).fail("is a training key; schedule: stream takes stages, items, warmup_items, max_outstanding, "
                         "queue_capacity, arrivals, times (forward, transfer) or model: with its cost-model keys, jitter, seed and batch");
  if (root.has("times") && root.value("times").is_map())
    for (const char* k : {"backward_input", "backward_weight", "overlap_f_b"})
      if (root.sub("times").has(k))
        root.sub("times").value(k).fail("is a training op; a stream runs forward only (times: forward, transfer)");
  SimulationConfig c;
  c.source = doc.display;
  c.base_dir = base_dir;
  c.schedule = "stream";
  if (model) {
    if (root.has("times"))
      root.value("model").fail("give either 'times:' (explicit per-stage times) or 'model:' (times from the cost "
                               "model), not both");
    c.model = read_model_keys(root, doc.display, base_dir);
  }
  c.stream = read_stream_config(root, model);
  c.ranks = c.stream->stages;
  return c;
}

SimulationConfig read_config(const YamlDoc& doc, const std::string& base_dir) {
  const YamlMap root(doc);
  if (root.has("schedule") && root.value("schedule").is_text("stream")) return read_stream(root, doc, base_dir);
  for (const char* k : stream_only_keys())
    if (root.has(k))
      root.value(k).fail("is only used with schedule: stream (schedule is " + root.text_or("schedule", "not given") + ")");
  root.only({"schedule", "stages", "microbatches", "chunks", "times", "order_csv", "model", "hardware", "profile",
             "profile_statistic", "micro_batch_size", "sequence_length", "dtype", "recompute", "partition",
             "memory_limit", "efficiency", "link", "in_flight_limit", "w_stash_fraction", "tensor_parallel",
             "sequence_parallel", "data_parallel", "zero", "global_batch_size", "placement", "grad_reduce_overlap",
             "jitter", "replications", "straggler", "seed"});
  SimulationConfig c;
  c.source = doc.display;
  c.base_dir = base_dir;
  std::vector<std::string> schedules;
  for (const ScheduleKind& k : schedule_kinds()) schedules.push_back(k.name);
  schedules.push_back("zb-auto");
  schedules.push_back("custom");
  schedules.push_back("stream");
  c.schedule = root.choice("schedule", schedules);
  c.ranks = root.integer("stages", 1, kMaxCount);
  if (!root.has("global_batch_size")) c.microbatches = root.integer("microbatches", 1, kMaxCount);
  c.chunks = root.integer_or("chunks", c.chunks, 1, kMaxCount);
  c.replication = read_replication(root, c.ranks);

  if (c.schedule == "zb-auto") {
    if (c.chunks != 1) root.value("chunks").fail("schedule zb-auto runs one stage per rank: chunks must be 1 (got " + std::to_string(c.chunks) + ")");
    c.in_flight_limit = root.integer_or("in_flight_limit", c.ranks, 1, kMaxCount);
    if (root.has("w_stash_fraction")) c.w_stash_fraction = root.fraction("w_stash_fraction");
  } else {
    for (const char* k : {"in_flight_limit", "w_stash_fraction"})
      if (root.has(k)) root.value(k).fail("is only used with schedule: zb-auto (schedule is " + c.schedule + ")");
  }

  if (c.schedule == "custom") {
    if (!root.has("order_csv"))
      root.fail_at("order_csv", "missing required key with schedule: custom (a CSV of per-rank orders)");
    c.order_csv = resolve(base_dir, root.text("order_csv"));
  } else if (root.has("order_csv")) {
    root.value("order_csv").fail("is only used with schedule: custom (schedule is " + c.schedule + ")");
  }

  if (root.has("times") && root.has("model"))
    root.value("model").fail(
        "give either 'times:' (explicit per-op times) or 'model:' (times from the cost model), not both");
  const Parallelism parallel = read_parallelism(root);
  if (root.has("global_batch_size")) {
    // M = global_batch_size / (d * micro_batch_size): a step's sequences over the replicas.
    c.global_batch_size = root.integer<std::int64_t>("global_batch_size", 1, std::int64_t{1} << 40);
    const std::int64_t mbs = root.integer_or("micro_batch_size", 1, 1, kMaxCount);
    const std::int64_t per_step = parallel.data * mbs;
    if (c.global_batch_size % per_step != 0)
      root.value("global_batch_size").fail("must divide into data_parallel x micro_batch_size = " +
                                           std::to_string(per_step) + " sequences per micro-batch step (got " +
                                           std::to_string(c.global_batch_size) + ")");
    const std::int64_t m = c.global_batch_size / per_step;
    if (m > kMaxCount) root.value("global_batch_size").fail("gives " + std::to_string(m) + " micro-batches, more than " + std::to_string(kMaxCount));
    if (root.has("microbatches") && root.integer("microbatches", 1, kMaxCount) != m)
      root.value("microbatches").fail("disagrees with global_batch_size: " + std::to_string(c.global_batch_size) +
                                      " / (data_parallel " + std::to_string(parallel.data) + " x micro_batch_size " +
                                      std::to_string(mbs) + ") = " + std::to_string(m) + " micro-batches");
    c.microbatches = static_cast<int>(m);
  }
  if (root.has("model")) {
    c.model = read_model_keys(root, doc.display, base_dir);
    c.model->parallel = parallel;
    check_parallelism(root, *c.model, c.ranks);
    return c;
  }
  for (const char* k : {"tensor_parallel", "sequence_parallel", "data_parallel", "zero", "placement", "grad_reduce_overlap"})
    c.parallel_keys_ignored = c.parallel_keys_ignored || root.has(k);
  for (const char* k : {"hardware", "profile", "profile_statistic", "sequence_length", "dtype",
                        "recompute", "partition", "memory_limit", "efficiency", "link"})
    if (root.has(k)) root.value(k).fail("needs 'model:' (it configures the cost model)");
  if (!root.has("times"))
    root.fail_at("times",
                 "missing required key (forward, backward_input, backward_weight, transfer), or give 'model:'");
  c.times = read_times(root.sub("times"), c.ranks);
  return c;
}

}  // namespace

SimulationConfig parse_config(const std::string& text, const std::string& source, const std::string& base_dir) {
  return read_config(parse_yaml(text, source), base_dir);
}

SimulationConfig load_config(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return read_config(read_yaml_file(path), dir.empty() ? "." : dir);
}

const std::string& embedded_default_example() {
  static const std::string text = kDefaultExampleYaml;
  return text;
}

}  // namespace ppsim
