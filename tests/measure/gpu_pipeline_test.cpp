// `ppsim measure --device cuda`: the GPU pipeline runner. The issue-order tests run everywhere (pure
// host code): they replay each rank's order under the GPU's rules (one compute and one
// communication stream per rank, each FIFO; a send/recv completes only when both ends are at the
// head of their communication streams) and check that nothing deadlocks. The GPU tests skip, with
// the reason, when too few GPUs are visible (always on the development machine): 2 for one rank
// per GPU, 1 for ranks sharing a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <iterator>

#include "calibrate/backends.h"
#include "measure/cuda/gpu_pipeline_runner.h"
#include "calibrate/cuda/sm_partitions.h"
#include "models/model_loader.h"
#include "schedules/registry.h"
#include "sim/dag.h"
#include "base/error.h"
#include "sim/op_costs.h"

namespace ppsim {
namespace {

struct Case {
  const char* kind;
  int P, M, V;
};

// Replays `order` with stream semantics; returns the ops that completed.
std::size_t replay(const Dag& dag, const std::vector<std::vector<OpId>>& order) {
  const OpTable& t = *dag.table;
  std::vector<InputCount> pending;
  in_degrees(dag, pending);
  std::vector<std::deque<OpId>> compute(t.ranks), comm(t.ranks);
  for (int r = 0; r < t.ranks; ++r)
    for (OpId v : order[r]) (t.ops[v].is_transfer ? comm[r] : compute[r]).push_back(v);
  std::size_t done = 0;
  auto finish = [&](OpId v) {
    ++done;
    dag.for_each_successor(v, [&](OpId w) { --pending[w]; });
  };
  for (bool progress = true; progress;) {
    progress = false;
    for (int r = 0; r < t.ranks; ++r) {
      if (!compute[r].empty() && pending[compute[r].front()] == 0) {
        finish(compute[r].front());
        compute[r].pop_front();
        progress = true;
      }
      if (!comm[r].empty()) {
        const OpId x = comm[r].front();
        const Resource& link = t.resources[t.ops[x].resource];
        auto& a = comm[link.src];
        auto& b = comm[link.dst];
        if (pending[x] == 0 && !a.empty() && !b.empty() && a.front() == x && b.front() == x) {
          finish(x);
          a.pop_front();
          b.pop_front();
          progress = true;
        }
      }
    }
  }
  return done;
}

TEST(GpuPipeline, IssueOrderMatchesOnBothEndsAndCannotDeadlock) {
  for (const Case& c : {Case{"gpipe", 2, 4, 1}, Case{"1f1b", 4, 8, 1}, Case{"zb-h1", 2, 4, 1}, Case{"zb-h1", 4, 8, 1},
                        Case{"zb-h2", 3, 6, 1}, Case{"interleaved-1f1b", 2, 4, 2}, Case{"interleaved-1f1b", 4, 8, 2}}) {
    const Schedule s = generate_schedule(c.kind, {c.P, c.M, c.V});
    for (const OpCosts& costs : {uniform_costs(c.P * c.V, 1, 1, 1, 1), uniform_costs(c.P * c.V, 1000, 900, 500, 3000)}) {
      const Dag dag = build_dag(s, costs);
      const OpTable& t = *dag.table;
      const auto order = gpu::issue_order(dag);
      ASSERT_EQ(order.size(), static_cast<std::size_t>(c.P));
      for (int r = 0; r < c.P; ++r) {
        // Compute ops in schedule order; every transfer this rank takes part in, once.
        std::vector<OpId> compute;
        std::size_t transfers = 0;
        for (OpId v : order[r]) {
          if (!t.ops[v].is_transfer) compute.push_back(v);
          else ++transfers;
        }
        ASSERT_EQ(compute.size(), t.rank_begin[r + 1] - t.rank_begin[r]) << c.kind;
        for (std::size_t i = 0; i < compute.size(); ++i) EXPECT_EQ(compute[i], t.rank_begin[r] + i) << c.kind;
        std::size_t expected = 0;
        for (OpId v = t.compute_ops(); v < t.ops.size(); ++v) {
          const Resource& link = t.resources[t.ops[v].resource];
          expected += link.src == r || link.dst == r;
        }
        EXPECT_EQ(transfers, expected) << c.kind;
      }
      // Between any two ranks, both post their transfers in the same order.
      for (int a = 0; a < c.P; ++a)
        for (int b = a + 1; b < c.P; ++b) {
          auto between = [&](int r) {
            std::vector<OpId> x;
            for (OpId v : order[r])
              if (t.ops[v].is_transfer) {
                const Resource& link = t.resources[t.ops[v].resource];
                if ((link.src == a && link.dst == b) || (link.src == b && link.dst == a)) x.push_back(v);
              }
            return x;
          };
          EXPECT_EQ(between(a), between(b)) << c.kind << " ranks " << a << ", " << b;
        }
      EXPECT_EQ(replay(dag, order), t.ops.size()) << c.kind << ": the issue order deadlocks";
    }
  }
}

// The global order behind it (what one host thread issues when ranks share a GPU): every op once,
// every DAG edge pointing forward, and each rank's order is its restriction.
TEST(GpuPipeline, GlobalIssueOrderIsALinearExtensionOfTheDag) {
  for (const Case& c : {Case{"1f1b", 4, 8, 1}, Case{"zb-h2", 3, 6, 1}, Case{"interleaved-1f1b", 2, 4, 2}}) {
    const Schedule s = generate_schedule(c.kind, {c.P, c.M, c.V});
    const Dag dag = build_dag(s, uniform_costs(c.P * c.V, 1000, 900, 500, 3000));
    const OpTable& t = *dag.table;
    const auto global = gpu::global_issue_order(dag);
    ASSERT_EQ(global.size(), t.ops.size()) << c.kind;
    std::vector<std::size_t> position(t.ops.size(), t.ops.size());
    for (std::size_t i = 0; i < global.size(); ++i) {
      ASSERT_EQ(position[global[i]], t.ops.size()) << c.kind << ": op issued twice";
      position[global[i]] = i;
    }
    for (OpId v = 0; v < t.ops.size(); ++v)
      dag.for_each_successor(v, [&](OpId w) { EXPECT_LT(position[v], position[w]) << c.kind; });
    const auto per_rank = gpu::issue_order(dag);
    for (int r = 0; r < c.P; ++r) {
      std::vector<OpId> mine;
      for (OpId v : global) {
        const Op& op = t.ops[v];
        const bool takes_part = op.is_transfer ? (t.resources[op.resource].src == r || t.resources[op.resource].dst == r)
                                               : op.resource == r;
        if (takes_part) mine.push_back(v);
      }
      EXPECT_EQ(mine, per_rank[r]) << c.kind << " rank " << r;
    }
  }
}

// Equal SM partitions for ranks sharing one GPU (the driver gives the granularity: 8 and 8 on
// Hopper).
TEST(SmPartitions, SizeIsTheLargestAlignedEqualShare) {
  EXPECT_EQ(cuda::sm_partition_size(132, 8, 8, 1), 128);  // H100 SXM: one partition, aligned down
  EXPECT_EQ(cuda::sm_partition_size(132, 8, 8, 2), 64);
  EXPECT_EQ(cuda::sm_partition_size(132, 8, 8, 4), 32);
  EXPECT_EQ(cuda::sm_partition_size(132, 8, 8, 8), 16);
  EXPECT_EQ(cuda::sm_partition_size(132, 8, 8, 16), 8);
  EXPECT_EQ(cuda::sm_partition_size(132, 8, 8, 17), 0);   // 7 SMs each is below the minimum
  EXPECT_EQ(cuda::sm_partition_size(108, 4, 2, 3), 36);   // A100: multiples of 2, at least 4
  EXPECT_EQ(cuda::sm_partition_size(108, 4, 2, 5), 20);   // 21.6 -> 20
  EXPECT_EQ(cuda::sm_partition_size(80, 2, 0, 3), 26);    // alignment 0 counts as 1
  EXPECT_EQ(cuda::sm_partition_size(0, 8, 8, 2), 0);
  EXPECT_EQ(cuda::sm_partition_size(132, 8, 8, 0), 0);
  for (int count = 1; count <= 16; ++count) {
    const int size = cuda::sm_partition_size(132, 8, 8, count);
    EXPECT_EQ(size % 8, 0);
    EXPECT_LE(size * count, 132);
    EXPECT_GT((size + 8) * count, 132) << "a larger aligned share would still fit, count " << count;
  }
}

// On a GPU: the partitions are disjoint and each one's work stays on its own SMs.
TEST(SmPartitions, WorkStaysOnItsOwnSms) {
#ifndef PPSIM_WITH_CUDA
  GTEST_SKIP() << "built without CUDA";
#else
  std::string why;
  if (visible_gpu_count(why) < 1) GTEST_SKIP() << "needs a GPU, none visible" << (why.empty() ? "" : ": " + why);
  cuda::SmPartitions parts(0, 2);
  ASSERT_EQ(parts.count(), 2);
  ASSERT_GT(parts.sms_per_partition(), 0);
  EXPECT_LE(2 * parts.sms_per_partition(), parts.device_sms());
  // Slack of 2 SMs: on Hopper, once a module using dynamic parallelism is loaded, green contexts may
  // share 2 extra SMs (cuda.h, green contexts).
  constexpr int kSharedSlack = 2;
  std::vector<std::vector<int>> used;
  for (int i = 0; i < 2; ++i) {
    used.push_back(cuda::sm_ids_used(parts.create_stream(i), 8 * parts.device_sms()));
    EXPECT_LE(static_cast<int>(used.back().size()), parts.sms_per_partition() + kSharedSlack) << "partition " << i;
    EXPECT_GE(static_cast<int>(used.back().size()), parts.sms_per_partition() / 2) << "partition " << i;
  }
  std::vector<int> both;
  std::set_intersection(used[0].begin(), used[0].end(), used[1].begin(), used[1].end(), std::back_inserter(both));
  EXPECT_LE(static_cast<int>(both.size()), kSharedSlack) << both.size() << " SMs ran work of both partitions";
  // A whole-GPU partition count that cannot be met is an InputError naming the SM count.
  try {
    cuda::SmPartitions too_many(0, parts.device_sms());
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(parts.device_sms()) + " SMs"), std::string::npos) << e.what();
  }
#endif
}

// The opposite order on one rank (sends after everything else) must be caught by the replay, so
// the test above would notice a rule that deadlocks.
TEST(GpuPipeline, ReplayDetectsAMismatchedOrder) {
  const Schedule s = generate_schedule("1f1b", {2, 4, 1});
  const Dag dag = build_dag(s, uniform_costs(2, 1, 1, 1, 1));
  auto order = gpu::issue_order(dag);
  std::stable_partition(order[0].begin(), order[0].end(), [&](OpId v) { return !dag.table->ops[v].is_transfer; });
  std::reverse(order[1].begin(), order[1].end());
  EXPECT_LT(replay(dag, order), dag.table->ops.size());
}

int visible_gpus(std::string& why) { return visible_gpu_count(why); }

TEST(GpuPipeline, FewerGpusThanRanksIsAClearError) {
  std::string why;
  const int n = visible_gpus(why);
  const int P = n + 1;  // always one too many
  const Schedule s = generate_schedule("1f1b", {P, 2 * P, 1});
  const Dag dag = build_dag(s, uniform_costs(P, 1, 1, 1, 1));
  const ModelSpec spec = load_model("tiny");
  Partition part;
  part.layers_per_stage.assign(P, 0);
  for (int i = 0; i < spec.layers; ++i) ++part.layers_per_stage[i % P];
  try {
    MeasureOptions o;
    o.device = "cuda";
    gpu::GpuPipeline pipe(s, dag, spec, part, 1, 16, o);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    if (cuda_backend_built() && msg.find("built without") == std::string::npos) {
      EXPECT_NE(msg.find("needs " + std::to_string(P) + " GPUs (one per rank), " + std::to_string(n) + " visible"),
                std::string::npos)
          << msg;
    } else {
      EXPECT_NE(msg.find("without CUDA"), std::string::npos) << msg;
    }
  }
}

double max_rel(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 1e-12;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  return diff / scale;
}

// Runs each case pipelined and as the non-pipelined reference and checks that losses and weight
// gradients agree and that the measured timeline respects every dependency.
void expect_pipelined_equals_reference(std::initializer_list<Case> cases, bool share_gpu) {
  const ModelSpec spec = load_model("tiny");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.kind);
    const Schedule s = generate_schedule(c.kind, {c.P, c.M, c.V});
    const Dag dag = build_dag(s, uniform_costs(c.P * c.V, 1000, 1000, 500, 1000));
    check_acyclic(dag);
    Partition part;
    part.layers_per_stage.assign(c.P * c.V, spec.layers / (c.P * c.V));
    MeasureOptions o;
    o.device = "cuda";
    o.seed = 7;
    o.share_gpu = share_gpu;
    o.iterations = 2;
    o.warmup = 1;
    o.timeout_s = 60;
    gpu::GpuPipeline pipe(s, dag, spec, part, 2, 64, o);
    if (share_gpu) {
      EXPECT_GT(pipe.sms_per_rank(), 0);
      EXPECT_LE(pipe.sms_per_rank() * c.P, pipe.device_sms());
    } else {
      EXPECT_EQ(pipe.sms_per_rank(), 0);
    }
    const MeasuredRun run = pipe.run(o);
    std::vector<double> losses;
    std::vector<std::vector<std::vector<float>>> grads(s.stages());
    for (int m = 0; m < c.M; ++m) losses.push_back(pipe.loss(m));
    for (int st = 0; st < s.stages(); ++st)
      for (const auto& name : pipe.gradient_names(st)) grads[st].push_back(pipe.gradient(st, name));
    pipe.run_reference();
    for (int m = 0; m < c.M; ++m) {
      const double ref = pipe.loss(m);
      EXPECT_GT(ref, 1.0);  // about log(vocab) for random weights
      EXPECT_NEAR(losses[m], ref, 1e-3 * std::abs(ref)) << "micro-batch " << m;
    }
    for (int st = 0; st < s.stages(); ++st) {
      const auto names = pipe.gradient_names(st);
      for (std::size_t i = 0; i < names.size(); ++i) {
        const auto ref = pipe.gradient(st, names[i]);
        ASSERT_EQ(ref.size(), grads[st][i].size());
        // bf16 GEMM gradients accumulate in the same micro-batch order in both runs; only the
        // attention dQ atomics (fp32, any order) differ, then bf16 rounding.
        EXPECT_LT(max_rel(grads[st][i], ref), 2e-2) << "stage " << st << " " << names[i];
        if (names[i].find(".w") != std::string::npos) {
          EXPECT_GT(*std::max_element(ref.begin(), ref.end()), 0.f) << names[i];
        }
      }
    }
    // Every op timed, ranks never overlap, data dependencies hold in measured time (transfers
    // join two GPUs' clocks: allowed the alignment bound).
    const Timeline& tl = run.timeline;
    const OpTable& t = *tl.table;
    EXPECT_EQ(run.iteration_makespans.size(), 2u);
    for (OpId v = 0; v < t.ops.size(); ++v) EXPECT_LE(tl.start[v], tl.end[v]) << describe_op(t, v);
    for (int r = 0; r < t.ranks; ++r)
      for (OpId v = t.rank_begin[r] + 1; v < t.rank_begin[r + 1]; ++v) EXPECT_LE(tl.end[v - 1], tl.start[v]);
    const TimeNs slack = run.alignment_error_ns + 1000;
    for (OpId v = 0; v < t.ops.size(); ++v)
      dag.for_each_successor(v, [&](OpId w) {
        const bool cross = t.ops[v].is_transfer || t.ops[w].is_transfer;
        EXPECT_LE(tl.end[v], tl.start[w] + (cross ? slack : 0)) << describe_op(t, v) << " -> " << describe_op(t, w);
      });
    EXPECT_GT(*std::max_element(tl.end.begin(), tl.end.end()), 0);
  }
}

TEST(GpuPipeline, PipelinedRunEqualsNonPipelinedReference) {
  std::string why;
  const int n = visible_gpus(why);
  if (n < 2) GTEST_SKIP() << "needs 2 GPUs (one per rank), " << n << " visible" << (why.empty() ? "" : ": " + why);
  expect_pipelined_equals_reference({Case{"1f1b", 2, 4, 1}, Case{"zb-h1", 2, 4, 1}}, false);
}

// Ranks on SM partitions of one GPU (green contexts), device-local copies as transfers.
TEST(GpuPipeline, SharedGpuRunEqualsNonPipelinedReference) {
  std::string why;
  const int n = visible_gpus(why);
  if (n < 1) GTEST_SKIP() << "needs a GPU, none visible" << (why.empty() ? "" : ": " + why);
  expect_pipelined_equals_reference(
      {Case{"1f1b", 2, 4, 1}, Case{"zb-h1", 2, 4, 1}, Case{"zb-h2", 2, 4, 1}, Case{"interleaved-1f1b", 2, 4, 2}}, true);
}

TEST(GpuPipeline, SharedGpuNamesOneGpuAtMost) {
  const Schedule s = generate_schedule("1f1b", {2, 4, 1});
  const Dag dag = build_dag(s, uniform_costs(2, 1, 1, 1, 1));
  const ModelSpec spec = load_model("tiny");
  Partition part;
  part.layers_per_stage = {spec.layers / 2, spec.layers - spec.layers / 2};
  try {
    MeasureOptions o;
    o.device = "cuda";
    o.gpus = {0, 1};
    o.share_gpu = true;
    gpu::GpuPipeline pipe(s, dag, spec, part, 1, 16, o);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    if (cuda_backend_built() && msg.find("built without") == std::string::npos)
      EXPECT_NE(msg.find("--gpus must name one GPU at most (2 given)"), std::string::npos) << msg;
    else
      EXPECT_NE(msg.find("without CUDA"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace ppsim
