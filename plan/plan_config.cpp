#include "plan/plan_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "base/error.h"
#include "base/yaml_reader.h"
#include "models/model_loader.h"
#include "schedules/registry.h"

namespace ppsim {
namespace {

constexpr int kMaxCount = 1'000'000;

std::string resolve(const std::string& base_dir, const std::string& rel) {
  return std::filesystem::path(rel).is_absolute() ? rel : (std::filesystem::path(base_dir) / rel).string();
}

// As simulate's config: a shipped name stays a name, anything that looks like a file is resolved.
std::string name_or_path(const std::string& base_dir, const std::string& v) {
  const bool looks_like_file = v.find('/') != std::string::npos || v.ends_with(".yaml") || v.ends_with(".yml");
  return looks_like_file ? resolve(base_dir, v) : v;
}

std::vector<int> divisors(int n) {
  std::vector<int> out;
  for (int i = 1; i <= n; ++i)
    if (n % i == 0) out.push_back(i);
  return out;
}

// A search list: present and non-empty, no value twice.
std::vector<YamlValue> search_list(const YamlMap& search, const std::string& key) {
  const YamlValue v = search.value(key);
  if (!v.is_list()) v.fail("must be a list, e.g. [1, 2, 4] (got " + v.got() + ")");
  std::vector<YamlValue> items = v.items();
  if (items.empty()) v.fail("is empty: the search space would be empty (leave the key out to search every valid value)");
  return items;
}

template <class T>
void no_repeats(const YamlMap& search, const std::string& key, const std::vector<T>& values) {
  for (std::size_t i = 0; i < values.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (values[i] == values[j]) search.value(key).items()[i].fail("repeats an earlier value");
}

std::vector<int> int_list(const YamlMap& search, const std::string& key, int min, int max) {
  std::vector<int> out;
  for (const YamlValue& item : search_list(search, key)) out.push_back(item.integer(min, max));
  no_repeats(search, key, out);
  return out;
}

void read_search(const YamlMap& root, PlanConfig& p) {
  PlanSearch& s = p.search;
  std::vector<std::string> names;
  for (const ScheduleKind& k : schedule_kinds()) names.push_back(k.name);
  for (const std::string& n : names) s.schedules.push_back(n);
  s.stages = divisors(p.gpus);
  s.tensor_parallel = divisors(p.gpus);
  for (int v = 1; v <= kMaxDefaultChunks; ++v) s.chunks.push_back(v);
  for (int b = 1; b <= kMaxDefaultMicroBatch; b *= 2) s.micro_batch_size.push_back(b);
  s.sequence_parallel = {false, true};
  s.recompute = {Recompute::None, Recompute::Selective, Recompute::Full};
  s.zero = {0, 1, 2, 3};
  if (!root.has("search")) return;
  const YamlMap search = root.sub("search");
  search.only({"schedules", "stages", "chunks", "micro_batch_size", "tensor_parallel", "sequence_parallel",
               "recompute", "zero"});
  if (search.has("schedules")) {
    names.push_back("zb-auto");  // a search of its own: only when named
    s.schedules.clear();
    for (const YamlValue& item : search_list(search, "schedules")) s.schedules.push_back(item.choice(names));
    no_repeats(search, "schedules", s.schedules);
  }
  if (search.has("stages")) s.stages = int_list(search, "stages", 1, kMaxCount);
  if (search.has("chunks")) s.chunks = int_list(search, "chunks", 1, kMaxCount);
  if (search.has("micro_batch_size")) s.micro_batch_size = int_list(search, "micro_batch_size", 1, kMaxCount);
  if (search.has("tensor_parallel")) s.tensor_parallel = int_list(search, "tensor_parallel", 1, kMaxCount);
  if (search.has("zero")) s.zero = int_list(search, "zero", 0, 3);
  if (search.has("sequence_parallel")) {
    s.sequence_parallel.clear();
    for (const YamlValue& item : search_list(search, "sequence_parallel")) s.sequence_parallel.push_back(item.boolean());
    no_repeats(search, "sequence_parallel", s.sequence_parallel);
  }
  if (search.has("recompute")) {
    s.recompute.clear();
    for (const YamlValue& item : search_list(search, "recompute")) s.recompute.push_back(item.choice(kRecomputeNames));
    no_repeats(search, "recompute", s.recompute);
  }
}

PlanConfig read_plan(const YamlDoc& doc, const std::string& base_dir) {
  const YamlMap root(doc);
  root.only({"model", "hardware", "gpus", "global_batch_size", "sequence_length", "dtype", "memory_limit", "search",
             "profile", "profile_statistic", "efficiency", "link"});
  PlanConfig p;
  p.source = doc.display;
  ModelConfig& m = p.model;
  m.model = name_or_path(base_dir, root.text("model"));
  m.hardware_defaulted = !root.has("hardware");
  if (root.has("hardware")) m.hardware = name_or_path(base_dir, root.text("hardware"));
  if (root.has("profile")) m.profile = resolve(base_dir, root.text("profile"));
  m.profile_statistic = root.choice_or("profile_statistic", m.profile_statistic,
                                       {{"mean", ProfileStatistic::Mean}, {"median", ProfileStatistic::Median}});
  m.sequence_length = root.integer_or("sequence_length", m.sequence_length, 1, kMaxCount);
  m.dtype = root.choice_or("dtype", m.dtype, kDTypeNames);
  if (root.has("efficiency")) m.efficiency = read_efficiency(root.sub("efficiency"));
  m.link = root.choice_or("link", m.link,
                          {{"auto", LinkChoice::Auto}, {"intra_node", LinkChoice::IntraNode},
                           {"inter_node", LinkChoice::InterNode}});
  m.link_given = root.has("link");
  m.partition_where = doc.display + ": partition (auto)";
  p.gpus = root.integer("gpus", 1, kMaxCount);
  p.global_batch_size = root.integer<std::int64_t>("global_batch_size", 1, std::int64_t{1} << 40);

  ModelSpec spec;
  HardwareSpec hw;
  try {
    spec = load_model(m.model);
  } catch (const InputError& e) {
    root.value("model").fail(e.what());
  }
  try {
    hw = load_hardware(m.hardware);
  } catch (const InputError& e) {
    if (root.has("hardware")) root.value("hardware").fail(e.what());
    throw;
  }
  p.model_layers = spec.layers;
  p.model_name = spec.name;
  p.hardware_name = hw.name;
  p.memory_limit_defaulted = !root.has("memory_limit");
  p.memory_limit_bytes = root.has("memory_limit")
                             ? root.bytes("memory_limit")
                             : static_cast<std::int64_t>(std::llround(static_cast<double>(hw.memory_bytes) *
                                                                      (1.0 - kMemoryReserveFraction)));
  m.memory_limit_bytes = p.memory_limit_bytes;
  read_search(root, p);

  // Some split of the GPUs must exist: t x P dividing gpus for a listed t and P.
  bool any = false;
  for (int t : p.search.tensor_parallel)
    for (int P : p.search.stages) any = any || (p.gpus % (static_cast<std::int64_t>(t) * P) == 0);
  if (!any) {
    std::string ts, ps;
    for (int t : p.search.tensor_parallel) ts += (ts.empty() ? "" : ", ") + std::to_string(t);
    for (int P : p.search.stages) ps += (ps.empty() ? "" : ", ") + std::to_string(P);
    root.value("gpus").fail("no tensor_parallel x stages of the search divides " + std::to_string(p.gpus) +
                            " GPUs (tensor_parallel [" + ts + "], stages [" + ps + "])");
  }
  return p;
}

}  // namespace

PlanConfig parse_plan_config(const std::string& text, const std::string& source, const std::string& base_dir) {
  return read_plan(parse_yaml(text, source), base_dir);
}

PlanConfig load_plan_config(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return read_plan(read_yaml_file(path), dir.empty() ? "." : dir);
}

}  // namespace ppsim
