#include "measure/cpu/cpu_pipeline_runner.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <latch>
#include <mutex>
#include <thread>

#include "calibrate/cpu/affinity.h"
#include "base/allocator.h"
#include "measure/detail/mailbox.h"
#include "base/error.h"

namespace ppsim::cpu {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

CpuPipeline::CpuPipeline(const Schedule& schedule, const Dag& dag, const ModelSpec& spec, const Partition& partition,
                         int micro_batch_size, int sequence_length, std::uint64_t seed)
    : schedule_(schedule), dag_(dag), flow_(dag), spec_(spec), tokens_(micro_batch_size * sequence_length), seed_(seed) {
  const int copies = schedule.copies();
  if (partition.virtual_stages() * copies != schedule.stages())
    throw InputError("measure: the partition has " + std::to_string(partition.virtual_stages()) +
                     " virtual stages but the schedule " + std::to_string(schedule.stages()));
  stages_ = make_cpu_stages(spec, partition, sequence_length, seed, copies);
}

Timeline CpuPipeline::run_iteration(const MeasureOptions& o, bool pin) {
  const OpTable& t = *dag_.table;
  const int P = schedule_.ranks;
  Timeline tl;
  tl.table = dag_.table;
  tl.source = "measured (cpu)";
  tl.start.assign(t.ops.size(), 0);
  tl.end.assign(t.ops.size(), 0);
  for (auto& s : stages_) s->zero_grads();
  RunAbort abort;
  std::vector<std::unique_ptr<Mailbox>> inbox;
  for (int r = 0; r < P; ++r) inbox.push_back(std::make_unique<Mailbox>(o.queue_depth, abort));
  std::latch ready(P), go(1);
  Clock::time_point t0;
  auto ns_since = [&](Clock::time_point x) {
    return static_cast<TimeNs>(std::chrono::duration_cast<std::chrono::nanoseconds>(x - t0).count());
  };
  const auto patience = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.timeout_s));
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto fail = [&](std::exception_ptr e) {
    {
      std::lock_guard lock(error_mutex);
      if (!first_error) first_error = e;
    }
    abort.aborted = true;
    for (auto& box : inbox) box->wake();
  };
  // A wait that did not end in time stops the run; one ended by another rank's failure just stops.
  auto check = [&](Mailbox::Wait w, int r, OpId v, const std::string& what) {
    if (w == Mailbox::Wait::Done) return true;
    if (w == Mailbox::Wait::TimedOut)
      throw RunError("measure --device cpu: rank " + std::to_string(r) + " waited " + format_duration(
                         static_cast<TimeNs>(o.timeout_s * 1e9)) + " at " + describe_op(t, v) + " for " + what +
                     " and gave up (--timeout); the ranks were stopped");
    return false;
  };

  // The tensor an op consumes (an activation for F, a gradient for a backward), if any.
  struct Input {
    Delivery delivery;
    bool present = false;
  };
  auto take_inputs = [&](int r, OpId v, Input& in, TimeNs& ready_ns) {
    for (const Handoff& h : flow_.inputs(v)) {
      const std::string what = "the " + std::string(h.payload == Payload::Activation ? "activation" : "gradient") +
                               " from " + describe_op(t, h.producer);
      if (!check(inbox[r]->take(h.producer, in.delivery, Clock::now() + patience), r, v, what)) return false;
      in.present = true;
      ready_ns = std::max(ready_ns, in.delivery.ready_ns);
    }
    return true;
  };
  // Runs op v's layers on its input; returns what it hands on.
  auto compute = [&](OpId v, Input& in) {
    const Op& op = t.ops[v];
    const int m = op.microbatch;
    CpuStage& stage = *stages_[op.stage];
    Tensor* x = in.present ? &in.delivery.tensor : nullptr;
    switch (op.kind) {
      case ActionKind::F: {
        const Tokens ids = x ? Tokens() : microbatch_tokens(spec_, m, tokens_, seed_);
        const Tokens targets = stage.has_head() ? microbatch_targets(spec_, m, tokens_, seed_) : Tokens();
        return stage.forward(m, x, ids, targets);
      }
      case ActionKind::B:
      case ActionKind::BW: {
        Tensor dx = stage.backward_input(m, x);
        if (op.kind == ActionKind::BW) stage.backward_weight(m);
        return dx;
      }
      case ActionKind::W:
        stage.backward_weight(m);
        break;
    }
    return Tensor();
  };
  // Virtual clock: when each link is next free. A link carries one rank's sends only, so the sending
  // rank's thread alone touches its entry (first come, first served, as the engine's links).
  std::vector<TimeNs> link_free(t.resources.size(), 0);
  auto send_outputs = [&](int r, OpId v, Tensor& out) {
    const auto outputs = flow_.outputs(v);
    for (const Handoff& h : outputs) {
      const int dst = t.ops[h.consumer].resource;
      if (h.transfer == kNoOp) {  // the next chunk lives on this rank: no transfer
        Delivery d{&h == &outputs.back() ? std::move(out) : out, tl.end[v]};
        if (!check(inbox[r]->put(v, std::move(d), Clock::now() + patience), r, v, "room in its own inbox")) return false;
        continue;
      }
      if (r == o.stall_rank) continue;  // the injected fault: this rank never sends
      Delivery d;
      if (o.virtual_clock) {
        TimeNs& free_at = link_free[t.ops[h.transfer].resource];
        tl.start[h.transfer] = std::max(tl.end[v], free_at);
        tl.end[h.transfer] = d.ready_ns = free_at = tl.start[h.transfer] + t.ops[h.transfer].duration;
        d.tensor = out;
      } else {
        const auto start = Clock::now();
        d.tensor = out;  // the bytes a link would move
        const auto end = Clock::now();  // before publishing: the receiver may start right after
        tl.start[h.transfer] = ns_since(start);
        tl.end[h.transfer] = ns_since(end);
      }
      if (!check(inbox[dst]->put(v, std::move(d), Clock::now() + patience), r, v,
                 "room in rank " + std::to_string(dst) + "'s inbox"))
        return false;
    }
    return true;
  };

  // A rank runs units in order: one op, or an overlapped F&B (its F and the backward after it),
  // which starts once both halves' inputs are in. On the CPU the halves run one after the other;
  // the unit's time is recorded on its F, as the DAG has it, and its backward takes none.
  auto worker = [&](int r) {
    if (pin) pin_current_thread(r);
    ready.count_down();
    go.wait();
    TimeNs clock = 0;  // virtual clock: when this rank is free
    for (OpId v = t.rank_begin[r]; v < t.rank_begin[r + 1]; ++v) {
      const OpId last = t.ops[v].overlapped ? v + 1 : v;
      Input in[2];
      TimeNs inputs_ready = 0;
      for (OpId u = v; u <= last; ++u)
        if (!take_inputs(r, u, in[u - v], inputs_ready)) return;
      Tensor out[2];
      if (o.virtual_clock) {
        tl.start[v] = std::max(clock, inputs_ready);
        tl.end[v] = clock = tl.start[v] + t.ops[v].duration;
      } else {
        const auto start = Clock::now();
        for (OpId u = v; u <= last; ++u) out[u - v] = compute(u, in[u - v]);
        const auto end = Clock::now();
        tl.start[v] = ns_since(start);
        tl.end[v] = ns_since(end);
      }
      if (last != v) tl.start[last] = tl.end[last] = tl.end[v];
      for (OpId u = v; u <= last; ++u)
        if (!send_outputs(r, u, out[u - v])) return;
      v = last;
    }
  };

  std::vector<std::thread> threads;
  for (int r = 0; r < P; ++r)
    threads.emplace_back([&, r] {
      try {
        worker(r);
      } catch (...) {
        fail(std::current_exception());
      }
    });
  ready.wait();
  t0 = Clock::now();
  go.count_down();
  for (auto& th : threads) th.join();
  if (first_error) std::rethrow_exception(first_error);
  return tl;
}

MeasuredRun CpuPipeline::run(const MeasureOptions& o, const std::function<void(int)>& before_iteration) {
  keep_freed_memory_for_reuse();
  const int cores = usable_cores();
  const bool pin = o.pin_threads && schedule_.ranks <= cores;
  set_threads(1);
  std::function<void(int)> before;
  if (before_iteration)
    before = [&](int i) {
      before_iteration(i);
      set_threads(1);
    };
  MeasuredRun result = run_iterations(o, [&] { return run_iteration(o, pin); }, before);
  result.notes = std::to_string(schedule_.ranks) + " worker threads on " + std::to_string(cores) + " cores" +
                 (pin ? ", one core each" : ", not pinned (fewer cores than ranks)");
  if (o.virtual_clock)
    result.notes = std::to_string(schedule_.ranks) + " worker threads on a virtual clock: op times from the DAG, no layers run";
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
