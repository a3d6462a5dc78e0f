#pragma once
// schedule: stream (issue 15): items (requests, frames) flowing forward through P stages. The keys
// are a contract, extended but never renamed:
//   schedule: stream
//   stages: 3
//   items: 20000            # items measured
//   warmup_items: 500       # run first, left out of the statistics (default 0)
//   max_outstanding: 2      # closed loop: at most N items admitted and not finished; absent = no cap
//   queue_capacity: 1       # items that may wait in front of each stage (one value or one per
//                           # stage); absent = unbounded; blocking after service
//   arrivals: {interval: 4ms, process: poisson}   # open loop (poisson | fixed)
//   times: {forward: [2ms, 3ms, 1ms], transfer: 0.2ms}   # transfer: one value, or one per boundary
//   jitter: {distribution: lognormal, cv: 0.2}    # absent = deterministic
//   batch: {max: 4, time_model: linear, fixed_fraction: 0.5}   # a stage serves up to max waiting
//                           # items as one op; absent = one at a time
//   batch: {max: 4, time_model: table, factors: [1, 1.6, 2.1, 2.5]}   # t(b) = t(1) factors[b-1]
//   seed: 1
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/time.h"
#include "base/yaml_reader.h"
#include "sim/jitter.h"

namespace ppsim {

enum class ArrivalProcess : std::uint8_t { Poisson, Fixed };

struct Arrivals {
  TimeNs interval = 0;  // mean time between arrivals
  ArrivalProcess process = ArrivalProcess::Poisson;
};

constexpr std::int64_t kUnbounded = -1;

// Batching (StreamDiffusion's Stream Batch, vLLM's batches): an idle stage takes up to `max` waiting
// items as one op. Its time grows with the batch b by the linear model
//   t(b) = t(1) (f + (1 - f) b),   f = fixed_fraction
// (f of one item's time is fixed cost, such as reading the weights, paid once per batch).
// With `time_model: table`, `factors[b - 1]` gives t(b) / t(1) directly (one per batch size, as a
// measurement gives them).
struct BatchSpec {
  int max = 1;
  double fixed_fraction = 0.5;
  std::vector<double> factors;  // time_model: table; empty for linear
};

struct StreamConfig {
  int stages = 0;
  std::int64_t items = 0;
  std::int64_t warmup_items = 0;
  std::optional<int> max_outstanding;          // absent: no cap
  std::vector<std::int64_t> queue_capacity;    // per stage; kUnbounded where absent
  std::optional<Arrivals> arrivals;            // absent: closed loop / saturated source
  std::vector<TimeNs> forward;                 // per stage: mean service time
  TimeNs transfer = 0;                         // one hop between two stages
  std::vector<TimeNs> hops;                    // per boundary k -> k+1 (P - 1); empty: `transfer` each
  TimeNs hop(int k) const { return hops.empty() ? transfer : hops[static_cast<std::size_t>(k)]; }
  TimeNs total_hops() const;                   // every hop of one item's way
  JitterSpec jitter;
  std::uint64_t seed = 1;
  BatchSpec batch;
  std::string times_source = "explicit times";  // or the cost model's sources
};

// The mean time of stage k serving a batch of b items.
TimeNs batch_time(const StreamConfig& config, int k, int b);

// The keys only a stream config takes, and the training keys a stream config refuses.
const std::vector<const char*>& stream_only_keys();

// Reads a `schedule: stream` config whose top-level mapping is `root`. With `model_times`, the
// stage times come from the cost model (sim/stream/stream_model_times.h): `times:` is absent, the
// model keys are allowed (the caller reads them) and `forward` is left at 0 until resolved.
StreamConfig read_stream_config(const YamlMap& root, bool model_times = false);

// `jitter:` (shared with training configs): distribution and cv, checked together.
JitterSpec read_jitter(const YamlMap& jitter);

}  // namespace ppsim
