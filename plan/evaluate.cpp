#include "plan/evaluate.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "base/error.h"
#include "sim/simulation.h"
#include "sim/simulator.h"

namespace ppsim {
namespace {

bool interleaved_kind(const std::string& s) {
  return s == "interleaved-1f1b" || s == "interleaved-zb" || s == "looped-bfs";
}

// The cost model depends on the placement of virtual stages on ranks and the candidate's
// micro-batch and parallelism, not on the schedule's order or M: the cache key.
std::string cost_key(const Candidate& c, const Schedule& layout) {
  std::string k;
  for (int r : layout.rank_of_stage) {
    k += std::to_string(r);
    k += ',';
  }
  for (int v : {layout.chunks, layout.copies(), c.micro_batch_size, c.tensor_parallel, static_cast<int>(c.sequence_parallel),
                c.data_parallel, c.zero, static_cast<int>(c.recompute)}) {
    k += '|';
    k += std::to_string(v);
  }
  return k;
}

// One cache entry, built once by whichever thread asks first; the others wait for it.
struct CostSlot {
  std::once_flag once;
  std::shared_ptr<const ModelCosts> costs;
  std::string error;  // the InputError that building them threw
};

class CostCache {
 public:
  std::shared_ptr<const ModelCosts> get(const std::string& key, const ModelConfig& model, const Schedule& layout,
                                        std::string& error) {
    std::shared_ptr<CostSlot> slot;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      std::shared_ptr<CostSlot>& s = slots_[key];
      if (!s) s = std::make_shared<CostSlot>();
      slot = s;
    }
    std::call_once(slot->once, [&] {
      built_.fetch_add(1);
      try {
        slot->costs = std::make_shared<const ModelCosts>(build_model_costs(model, layout));
      } catch (const InputError& e) {
        slot->error = e.what();
      }
    });
    error = slot->error;
    return slot->costs;
  }
  std::int64_t built() const { return built_.load(); }

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<CostSlot>> slots_;
  std::atomic<std::int64_t> built_{0};
};

struct Outcome {
  std::optional<CandidateResult> result;
  const char* skipped = nullptr;
};

Outcome evaluate_one(const PlanConfig& plan, const Candidate& c, CostCache& cache, Simulator& simulator) {
  Outcome o;
  const SimulationConfig config = simulation_config(plan, c);
  Schedule layout;
  try {
    layout = layout_schedule(config);
  } catch (const InputError&) {
    o.skipped = interleaved_kind(c.schedule)                           ? "interleaving_constraint"
                : c.schedule == "dualpipe" || c.schedule == "dualpipe-v" ? "dualpipe_constraint"
                                                                       : "schedule_constraint";
    return o;
  }
  std::string error;
  const std::shared_ptr<const ModelCosts> cached = cache.get(cost_key(c, layout), *config.model, layout, error);
  if (!cached) {
    o.skipped = "cost_model_rejected";
    return o;
  }
  ModelCosts costs = *cached;
  // Simulated whatever its memory: a candidate that does not fit still shows what it would take
  // (the Pareto front); simulate itself refuses one whose parameters alone exceed the limit.
  costs.memory_limit_bytes = std::numeric_limits<std::int64_t>::max();
  const SimulationResult r = run_model_simulation(config, layout, std::move(costs), simulator);
  CandidateResult x;
  x.config = c;
  x.iteration_time_ns = r.metrics.iteration_ns;
  x.makespan_ns = r.metrics.makespan_ns;
  x.largest_busy_ns = r.metrics.largest_busy_ns;
  x.exposed_data_parallel_ns = r.metrics.exposed_data_parallel_ns;
  x.exposed_optimizer_ns = r.metrics.exposed_optimizer_ns;
  x.bubble_fraction = r.metrics.bubble_fraction;
  x.tokens_per_s = r.model_metrics->tokens_per_s;
  x.mfu = r.model_metrics->mfu;
  x.hfu = r.model_metrics->hfu;
  for (const RankModelMetrics& rank : r.model_metrics->ranks)
    x.peak_memory_bytes = std::max(x.peak_memory_bytes, rank.peak_memory_bytes);
  x.fits = x.peak_memory_bytes <= plan.memory_limit_bytes;
  o.result = x;
  return o;
}

}  // namespace

Evaluation evaluate_candidates(const PlanConfig& plan, const std::vector<Candidate>& candidates,
                               const EvaluateOptions& options) {
  CostCache cache;
  std::vector<Outcome> outcomes(candidates.size());
  std::atomic<std::size_t> next{0}, done{0};
  std::mutex mutex;
  std::condition_variable finished;
  std::exception_ptr failure;
  auto work = [&] {
    Simulator simulator;  // one per thread: its memory is reused from candidate to candidate
    for (std::size_t i = next.fetch_add(1); i < candidates.size(); i = next.fetch_add(1)) {
      try {
        outcomes[i] = evaluate_one(plan, candidates[i], cache, simulator);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!failure) failure = std::current_exception();
        next.store(candidates.size());
      }
      if (done.fetch_add(1) + 1 == candidates.size()) {
        std::lock_guard<std::mutex> lock(mutex);
        finished.notify_all();
      }
    }
  };
  const int threads = std::max(1, std::min<int>(options.threads, static_cast<int>(candidates.size())));
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(work);
  if (options.progress) {
    std::unique_lock<std::mutex> lock(mutex);
    while (done.load() < candidates.size() && !failure) {
      finished.wait_for(lock, std::chrono::milliseconds(100));
      lock.unlock();
      options.progress(done.load(), candidates.size());
      lock.lock();
    }
  }
  for (std::thread& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);

  Evaluation e;
  for (Outcome& o : outcomes) {
    if (o.result) e.results.push_back(std::move(*o.result));
    else e.skipped[o.skipped] += 1;
  }
  e.cost_models_built = cache.built();
  return e;
}

}  // namespace ppsim
