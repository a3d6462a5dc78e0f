#include "measure/cpu/cpu_pipeline_runner.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <latch>
#include <thread>

#include "calibrate/cpu/affinity.h"
#include "base/allocator.h"
#include "measure/cpu/mailbox.h"
#include "base/error.h"

namespace ppsim::cpu {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

CpuPipeline::CpuPipeline(const Schedule& schedule, const Dag& dag, const ModelSpec& spec, const Partition& partition,
                         int micro_batch_size, int sequence_length, std::uint64_t seed)
    : schedule_(schedule), dag_(dag), spec_(spec), tokens_(micro_batch_size * sequence_length), seed_(seed) {
  if (partition.virtual_stages() != schedule.stages())
    throw InputError("measure: the partition has " + std::to_string(partition.virtual_stages()) +
                     " virtual stages but the schedule " + std::to_string(schedule.stages()));
  stages_ = make_cpu_stages(spec, partition, sequence_length, seed);
  const OpTable& t = *dag.table;
  const std::size_t items = static_cast<std::size_t>(t.stages) * t.microbatches;
  compute_op_.assign(items * 4, kNoOp);
  transfer_op_.assign(items * 2, kNoOp);
  for (OpId v = 0; v < t.ops.size(); ++v) {
    const Op& op = t.ops[v];
    const std::size_t item = static_cast<std::size_t>(op.stage) * t.microbatches + op.microbatch;
    if (op.is_transfer) transfer_op_[item * 2 + (op.kind == ActionKind::F ? 0 : 1)] = v;
    else compute_op_[item * 4 + kind_index(op.kind)] = v;
  }
}

Timeline CpuPipeline::run_iteration(const MeasureOptions& o, bool pin) {
  const OpTable& t = *dag_.table;
  const int P = schedule_.ranks, S = schedule_.stages(), M = schedule_.microbatches;
  Timeline tl;
  tl.table = dag_.table;
  tl.source = "measured (cpu)";
  tl.start.assign(t.ops.size(), 0);
  tl.end.assign(t.ops.size(), 0);
  for (auto& s : stages_) s->zero_grads();
  std::vector<std::unique_ptr<Mailbox>> inbox;
  for (int r = 0; r < P; ++r) inbox.push_back(std::make_unique<Mailbox>(o.queue_depth));
  std::latch ready(P), go(1);
  Clock::time_point t0;
  auto ns_since = [&](Clock::time_point x) {
    return static_cast<TimeNs>(std::chrono::duration_cast<std::chrono::nanoseconds>(x - t0).count());
  };

  auto worker = [&](int r) {
    if (pin) pin_current_thread(r);
    ready.count_down();
    go.wait();
    TimeNs clock = 0;  // virtual clock: when this rank is free
    for (const Action& a : schedule_.order[r]) {
      const int s = a.stage, m = a.microbatch;
      CpuStage& stage = *stages_[s];
      const std::size_t item = static_cast<std::size_t>(s) * M + m;
      const OpId v = compute_op_[item * 4 + kind_index(a.kind)];
      auto send = [&](int kind, int to_stage, Tensor&& out) {
        const int dst = schedule_.rank_of_stage[to_stage];
        if (dst == r) {  // the next chunk lives here: no transfer
          inbox[r]->put({kind, s, m}, std::move(out), tl.end[v]);
          return;
        }
        const OpId x = transfer_op_[item * 2 + kind];
        if (o.virtual_clock) {
          tl.start[x] = tl.end[v];
          tl.end[x] = tl.start[x] + t.ops[x].duration;
          inbox[dst]->put({kind, s, m}, std::move(out), tl.end[x]);
          return;
        }
        const auto start = Clock::now();
        Tensor copy = out;  // the bytes a link would move
        const auto end = Clock::now();  // before publishing: the receiver may start right after
        inbox[dst]->put({kind, s, m}, std::move(copy));
        tl.start[x] = ns_since(start);
        tl.end[x] = ns_since(end);
      };
      // Runs the op's work and records its times (real, or virtual after `inputs_ready`).
      auto timed = [&](TimeNs inputs_ready, auto&& work) {
        if (o.virtual_clock) {
          tl.start[v] = std::max(clock, inputs_ready);
          tl.end[v] = clock = tl.start[v] + t.ops[v].duration;
          return;
        }
        const auto start = Clock::now();
        work();
        const auto end = Clock::now();
        tl.start[v] = ns_since(start);
        tl.end[v] = ns_since(end);
      };
      switch (a.kind) {
        case ActionKind::F: {
          Tensor in, out;
          TimeNs arrived = 0;
          if (s > 0) in = inbox[r]->take({0, s - 1, m}, &arrived);
          timed(arrived, [&] {
            const Tokens ids = s == 0 ? microbatch_tokens(spec_, m, tokens_, seed_) : Tokens();
            const Tokens targets = stage.has_head() ? microbatch_targets(spec_, m, tokens_, seed_) : Tokens();
            out = stage.forward(m, s > 0 ? &in : nullptr, ids, targets);
          });
          if (s + 1 < S) send(0, s + 1, std::move(out));
          break;
        }
        case ActionKind::B:
        case ActionKind::BW: {
          Tensor grad, dx;
          TimeNs arrived = 0;
          if (s + 1 < S) grad = inbox[r]->take({1, s + 1, m}, &arrived);
          timed(arrived, [&] {
            dx = stage.backward_input(m, s + 1 < S ? &grad : nullptr);
            if (a.kind == ActionKind::BW) stage.backward_weight(m);
          });
          if (s > 0) send(1, s - 1, std::move(dx));
          break;
        }
        case ActionKind::W: {
          timed(0, [&] { stage.backward_weight(m); });
          break;
        }
      }
    }
  };

  std::vector<std::thread> threads;
  for (int r = 0; r < P; ++r) threads.emplace_back(worker, r);
  ready.wait();
  t0 = Clock::now();
  go.count_down();
  for (auto& th : threads) th.join();
  return tl;
}

MeasuredRun CpuPipeline::run(const MeasureOptions& o, const std::function<void(int)>& before_iteration) {
  keep_freed_memory_for_reuse();
  const int cores = usable_cores();
  const bool pin = o.pin_threads && schedule_.ranks <= cores;
  set_threads(1);
  MeasuredRun result;
  result.pinned = pin;
  result.notes = std::to_string(schedule_.ranks) + " worker threads on " + std::to_string(cores) + " cores" +
                 (pin ? ", one core each" : ", not pinned (fewer cores than ranks)");
  if (o.virtual_clock)
    result.notes = std::to_string(schedule_.ranks) + " worker threads on a virtual clock: op times from the DAG, no layers run";
  for (int i = 0; i < o.warmup; ++i) run_iteration(o, pin);
  std::vector<Timeline> runs;
  for (int i = 0; i < std::max(1, o.iterations); ++i) {
    if (before_iteration) {
      before_iteration(i);
      set_threads(1);
    }
    runs.push_back(run_iteration(o, pin));
    const Timeline& tl = runs.back();
    result.iteration_makespans.push_back(*std::max_element(tl.end.begin(), tl.end.end()));
  }
  std::vector<std::size_t> order(runs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return result.iteration_makespans[a] < result.iteration_makespans[b]; });
  result.reported_iteration = order[order.size() / 2];
  result.timeline = std::move(runs[result.reported_iteration]);
  return result;
}

void CpuPipeline::run_reference() {
  set_threads(1);
  const int S = schedule_.stages(), M = schedule_.microbatches;
  for (auto& s : stages_) s->zero_grads();
  for (int m = 0; m < M; ++m) {
    Tensor h;
    const Tokens ids = microbatch_tokens(spec_, m, tokens_, seed_);
    const Tokens targets = microbatch_targets(spec_, m, tokens_, seed_);
    for (int s = 0; s < S; ++s) h = stages_[s]->forward(m, s > 0 ? &h : nullptr, ids, targets);
    Tensor g;
    for (int s = S - 1; s >= 0; --s) g = stages_[s]->backward_input(m, s + 1 < S ? &g : nullptr);
    for (int s = 0; s < S; ++s) stages_[s]->backward_weight(m);
  }
}

}  // namespace ppsim::cpu
