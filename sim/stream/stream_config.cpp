#include "sim/stream/stream_config.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace ppsim {
namespace {

// The tail of the error for a per-stage list of the wrong length.
std::string per_stage(int stages) {
  return "stages is " + std::to_string(stages) + " (give one value, or one per stage)";
}

constexpr std::int64_t kMaxItems = 100'000'000;  // a typo guard: ~4 GB of item records at P = 4

// times: {forward: one value or one per stage, transfer}.
void read_times(const YamlMap& root, StreamConfig& c) {
  if (!root.has("times"))
    root.fail_at("times", "missing required key (forward: one time per stage, transfer), or give 'model:'");
  const YamlMap t = root.sub("times");
  t.only({"forward", "transfer"});
  c.forward = t.value("forward").one_or_each(static_cast<std::size_t>(c.stages), per_stage(c.stages),
                                            [](const YamlValue& v) { return v.duration(); });
  if (t.has("transfer")) {
    const YamlValue x = t.value("transfer");
    if (!x.is_list()) {
      c.transfer = x.duration();
      return;
    }
    c.hops = x.one_or_each(static_cast<std::size_t>(c.stages - 1),
                           std::to_string(c.stages) + " stages have " + std::to_string(c.stages - 1) +
                               " boundaries (give one value, or one per boundary)",
                           [](const YamlValue& v) { return v.duration(); });
  }
}

}  // namespace

const std::vector<const char*>& stream_only_keys() {
  static const std::vector<const char*> keys = {"items", "warmup_items", "max_outstanding", "queue_capacity",
                                                "arrivals", "batch"};
  return keys;
}

JitterSpec read_jitter(const YamlMap& j) {
  j.only({"distribution", "cv"});
  JitterSpec s;
  s.distribution = j.choice("distribution", Names<Distribution>{{"deterministic", Distribution::Deterministic},
                                                                {"exponential", Distribution::Exponential},
                                                                {"normal", Distribution::Normal},
                                                                {"lognormal", Distribution::Lognormal},
                                                                {"gamma", Distribution::Gamma},
                                                                {"profile", Distribution::Profile}});
  switch (s.distribution) {
    // The cv key applies "where the distribution takes one" (the contract): deterministic (cv 0),
    // exponential (always 1) and profile (each op's own spread) take none, so a given cv is checked
    // as a number and left aside; the report shows the cv used.
    case Distribution::Deterministic:
    case Distribution::Profile:
      if (j.has("cv")) j.value("cv").number(0.0, 10.0);
      break;
    case Distribution::Exponential:
      s.cv = 1;
      if (j.has("cv")) j.value("cv").number(0.0, 10.0);
      break;
    default:
      if (!j.has("cv")) j.fail_at("cv", "missing required key: the coefficient of variation of distribution " +
                                            std::string(distribution_name(s.distribution)) + " (std / mean, >= 0)");
      s.cv = j.value("cv").number(0.0, 10.0);
  }
  return s;
}

TimeNs StreamConfig::total_hops() const {
  TimeNs sum = 0;
  for (int k = 0; k + 1 < stages; ++k) sum += hop(k);
  return sum;
}

TimeNs batch_time(const StreamConfig& c, int k, int b) {
  if (!c.batch.factors.empty())
    return static_cast<TimeNs>(std::llround(static_cast<double>(c.forward[k]) * c.batch.factors[b - 1]));
  if (b == 1) return c.forward[k];
  const double f = c.batch.fixed_fraction;
  return static_cast<TimeNs>(std::llround(static_cast<double>(c.forward[k]) * (f + (1 - f) * b)));
}

StreamConfig read_stream_config(const YamlMap& root, bool model_times) {
  if (model_times)
    root.only({"schedule", "stages", "items", "warmup_items", "max_outstanding", "queue_capacity", "arrivals", "jitter",
               "seed", "batch", "model", "hardware", "profile", "profile_statistic", "micro_batch_size",
               "sequence_length", "dtype", "partition", "efficiency", "link"});
  else
    root.only({"schedule", "stages", "items", "warmup_items", "max_outstanding", "queue_capacity", "arrivals", "times",
               "jitter", "seed", "batch"});
  StreamConfig c;
  c.stages = root.integer("stages", 1, 10'000);
  c.items = root.integer<std::int64_t>("items", 1, kMaxItems);
  c.warmup_items = root.integer_or<std::int64_t>("warmup_items", 0, 0, kMaxItems);
  if (root.has("max_outstanding")) c.max_outstanding = root.integer("max_outstanding", 1, 1'000'000);
  c.queue_capacity.assign(c.stages, kUnbounded);
  if (root.has("queue_capacity"))
    c.queue_capacity = root.value("queue_capacity").one_or_each(
        static_cast<std::size_t>(c.stages), per_stage(c.stages),
        [](const YamlValue& v) { return v.integer<std::int64_t>(0, kMaxItems); });
  if (root.has("arrivals")) {
    const YamlMap a = root.sub("arrivals");
    a.only({"interval", "process"});
    Arrivals arr;
    arr.interval = a.duration("interval");
    if (arr.interval <= 0) a.value("interval").fail("must be a positive time between arrivals (got " + a.value("interval").got() + ")");
    arr.process = a.choice_or("process", arr.process,
                              Names<ArrivalProcess>{{"poisson", ArrivalProcess::Poisson}, {"fixed", ArrivalProcess::Fixed}});
    c.arrivals = arr;
  }
  if (model_times) {
    c.forward.assign(c.stages, 0);
  } else {
    read_times(root, c);
  }
  if (root.has("jitter")) c.jitter = read_jitter(root.sub("jitter"));
  if (c.jitter.distribution == Distribution::Profile)
    root.sub("jitter").value("distribution").fail("profile samples each op from its calibration profile's spread, "
                                                  "which a stream does not have (its times are explicit): use it "
                                                  "on a training config with model: and profile:");
  if (root.has("batch")) {
    const YamlMap b = root.sub("batch");
    b.only({"max", "time_model", "fixed_fraction", "factors"});
    c.batch.max = b.integer("max", 1, 1'000'000);
    const std::string model = b.has("time_model") ? b.choice("time_model", {"linear", "table"}) : "linear";
    if (model == "linear") {
      if (b.has("factors")) b.value("factors").fail("is for time_model: table (time_model is linear)");
      c.batch.fixed_fraction = b.number_or("fixed_fraction", c.batch.fixed_fraction, 0.0, 1.0);
    } else {
      if (b.has("fixed_fraction")) b.value("fixed_fraction").fail("is for time_model: linear (time_model is table)");
      if (!b.has("factors"))
        b.fail_at("factors", "missing required key with time_model: table (t(b) / t(1) for b = 1 .. max)");
      const YamlValue f = b.value("factors");
      c.batch.factors = b.list_of_numbers("factors", 0.0, 1e6);
      if (static_cast<int>(c.batch.factors.size()) != c.batch.max)
        f.fail("has " + std::to_string(c.batch.factors.size()) + " values but max is " + std::to_string(c.batch.max) +
               " (one per batch size 1 .. max)");
    }
  }
  // Simulated time is int64 ns: refuse a run that could overflow it (jittered draws counted up to
  // 1000 times their mean, far past any the samplers give at these cvs).
  long double span = static_cast<long double>(c.transfer) * c.stages + (c.arrivals ? c.arrivals->interval : 0);
  for (TimeNs h : c.hops) span += static_cast<long double>(h);
  for (TimeNs f : c.forward) span += static_cast<long double>(f);
  double largest = c.batch.max;
  for (double f : c.batch.factors) largest = std::max(largest, f);
  span *= static_cast<long double>(largest);
  span *= static_cast<long double>(c.warmup_items + c.items) * (c.jitter.deterministic() ? 1 : 1000);
  if (span > 4e18L)
    root.value("items").fail("items x op times could run past the simulated clock's limit (2^63 ns, 292 years); "
                             "lower items or the op times");
  if (root.has("seed")) c.seed = static_cast<std::uint64_t>(root.integer<std::int64_t>("seed", 0));
  return c;
}

}  // namespace ppsim
